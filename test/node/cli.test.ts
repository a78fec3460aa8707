// The `wasm-rtsp` command end to end: the built CLI (dist/node/cli/index.js, made by `npm test`'s build step) in a child
// process, against GStreamer's RTSP server on 127.0.0.1, into real GStreamer pipelines.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { readMp4 } from './gst/mp4.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
let server: RtspTestServer;
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-cli-'));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  server = await startRtspServer({ sessionTimeout: 10, rawWidth: 640, rawHeight: 480, rawFramerate: 30 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function cli(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

interface SummaryStream {
  input: 'frames' | 'packets'; packets: number; received: number; pushed: number; lost: number; dropped: Record<string, number>;
  sinkBuffers?: number; encodingName: string;
}

function balanced(s: SummaryStream): boolean {
  return s.received === s.pushed + Object.values(s.dropped).reduce((a, n) => a + n, 0);
}

describe('wasm-rtsp command', () => {
  for (const transport of ['tcp', 'udp']) {
    it(`decodes H.264 over ${transport} in frame mode: one buffer per access unit, nothing lost, --json balances`, async () => {
      const r = await cli([server.url('/h264'), '--transport', transport, '--duration', '3', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.exitReason).toBe('duration');
      const [s] = summary.streams as SummaryStream[];
      expect(s.encodingName).toBe('H264');
      expect(s.input).toBe('frames');
      expect(s.packets).toBeGreaterThan(50);
      expect(s.received).toBeGreaterThan(30); // 30 fps for ~3 s
      expect(s.lost).toBe(0);
      expect(balanced(s)).toBe(true);
      // Only frames before the first keyframe may be left out (a branch starts at a keyframe), and they are counted.
      expect(s.pushed).toBe(s.received - (s.dropped.waitingForKeyframe ?? 0));
      expect(summary.sink.branches[0].pushedFrames).toBe(s.pushed);
      expect(summary.sink.branches[0].pushedPackets).toBe(0);
      expect(s.sinkBuffers).toBe(s.pushed); // every access unit decoded into one picture
      expect(summary.pools[0].inUse).toBe(0);
    });
  }

  it('--rtp pushes RTP packets for GStreamer to depayload, as before frame mode', async () => {
    const r = await cli([server.url('/h264'), '--rtp', '--duration', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [s] = JSON.parse(r.stdout).streams as SummaryStream[];
    expect(s.input).toBe('packets');
    expect(s.received).toBe(s.packets);
    expect(s.pushed).toBe(s.received);
    expect(balanced(s)).toBe(true);
    expect(s.sinkBuffers).toBeGreaterThan(30);
  });

  it('records frames into an MP4 whose samples are exactly the pushed access units, keyframes as sync samples', async () => {
    const out = join(tmp, 'frames.mp4');
    const r = await cli([server.url('/h264'), '--record', out, '--duration', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    const [s] = summary.streams as SummaryStream[];
    expect(s.input).toBe('frames');
    const [track] = readMp4(out);
    expect(track!.codec).toBe('avc1');
    expect(track!.samples).toBe(s.pushed);
    // The server's keyframe interval is 30 frames: a sync sample at the start and about one a second after it.
    expect(track!.syncSamples).toBeGreaterThanOrEqual(Math.floor(s.pushed / 30));
    expect(track!.syncSamples).toBeLessThan(track!.samples);
    // Durations come from the RTP timestamps: pushed frames at 30 fps.
    expect(Math.abs(track!.durationSeconds - s.pushed / 30)).toBeLessThan(0.15);
  });

  it('--metrics-port serves Prometheus metrics of the running cameras', async () => {
    const child = spawn(process.execPath, [CLI, server.url('/h264'), '--metrics-port', '0', '--duration', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const end = Date.now() + 20_000;
      let port: number | undefined;
      while (port === undefined && Date.now() < end) {
        port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)?.[1]) || undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(port, stderr).toBeDefined();
      let frames = 0;
      let text = '';
      while (frames < 10 && Date.now() < end) {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        frames = Number(/^wasm_rtsp_frames_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(frames).toBeGreaterThanOrEqual(10);
      expect(text).toMatch(/^wasm_rtsp_sink_buffers_pushed_total\{pipeline="0",branch="0",encoding="H264"\} \d+$/m);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  });

  for (const [path, codec] of [['/h264', 'H\\.264'], ['/h265', 'H\\.265']] as const) {
    it(`records ${path} into a playable MP4 that gst-discoverer-1.0 accepts, with the expected duration`, async () => {
      expect(server.mounts).toContain(path);
      const out = join(tmp, `out${path.slice(1)}.mp4`);
      const r = await cli([server.url(path), '--record', out, '--duration', '3', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const info = await new Promise<string>((resolve, reject) => {
        execFile('gst-discoverer-1.0', [out], { timeout: 30_000 }, (e, stdout) => (e ? reject(new Error(`${e.message}\n${stdout}`)) : resolve(stdout)));
      });
      expect(info).toMatch(new RegExp(`video #\\d+: ${codec}`));
      const m = /Duration: (\d+):(\d+):(\d+\.\d+)/.exec(info);
      expect(m, info).not.toBeNull();
      const seconds = Number(m![1]) * 3600 + Number(m![2]) * 60 + Number(m![3]);
      expect(seconds).toBeGreaterThan(2);
      expect(seconds).toBeLessThan(4.5);
    });
  }

  it('exits 0 on Ctrl-C (SIGINT) after a TEARDOWN the server sees', async () => {
    const from = server.events.length;
    const child = spawn(process.execPath, [CLI, server.url('/h264'), '--json', '--json-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const lines = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; packets?: number });
    // Ctrl-C once packets are flowing (the progress lines say so; bounded), not after a fixed sleep.
    const end = Date.now() + 20_000;
    while (!lines().some((l) => l.type === 'progress' && (l.packets ?? 0) > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    await server.waitFor((e) => e.event === 'teardown', 5000, from);
    const summary = lines().find((l) => l.type === 'summary') as unknown as { exitReason: string; streams: SummaryStream[] };
    expect(summary.exitReason).toBe('SIGINT');
    expect(summary.streams[0]!.packets).toBeGreaterThan(0);
    expect(balanced(summary.streams[0]!)).toBe(true);
  });

  it('plays several URLs in one process, each with its own pool, into one pipeline', async () => {
    const r = await cli([server.url('/h264'), server.url('/h264'), server.url('/raw'), '--duration', '3', '--json'], 90_000);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.streams).toHaveLength(3);
    expect(summary.pools).toHaveLength(3);
    expect(summary.sink.branches).toHaveLength(3);
    for (const s of summary.streams as SummaryStream[]) {
      expect(s.received).toBeGreaterThan(0);
      expect(s.lost).toBe(0);
      expect(balanced(s)).toBe(true);
    }
  });

  it('keeps memory bounded behind a slow pipeline, every drop counted', async () => {
    // Raw 640x480 video (~10 MB/s) into a sink that takes 5 ms per buffer: far slower than the stream.
    // RTP packets (--rtp), so the pipeline takes thousands of buffers a second.
    const r = await cli([server.url('/raw'), '--rtp', '--pipeline', 'identity sleep-time=5000 ! fakesink name=sink0', '--queue-limit', '256',
      '--pool-limit', '1', '--duration', '4', '--json'], 90_000);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    const [s] = summary.streams as SummaryStream[];
    expect(s.received).toBeGreaterThan(5000);
    expect(balanced(s)).toBe(true);
    expect(summary.pools[0].bytesHighWater).toBeLessThanOrEqual(1 << 20);
    expect(summary.process.rssBytes).toBeLessThan(400 << 20);
    const b = summary.sink.branches[0];
    // Most packets could not be pushed: every one of them is counted, as queueFull.
    expect(s.dropped.queueFull).toBeGreaterThan(s.received / 2);
    // The queue stayed near its bound, so appsrc's leaky backstop never dropped anything silently: after the EOS
    // drain, every pushed packet reached the (1:1) sink.
    expect(b.sinkBuffers).toBe(s.pushed);
  });

  it.each([
    [['--transport', 'sctp', 'rtsp://127.0.0.1/x'], 2],
    [['http://127.0.0.1/x'], 2],
    [['--duration', 'soon', 'rtsp://127.0.0.1/x'], 2],
    [['--record', 'a.mp4', '--pipeline', 'fakesink', 'rtsp://127.0.0.1/x'], 2],
    [['--retries', '0.5', 'rtsp://127.0.0.1/x'], 2],
    [['--pool-limit', '257', 'rtsp://127.0.0.1/x'], 2],
    [['--timeout', '0', 'rtsp://127.0.0.1/x'], 2],
    [['--demo', 'rtsp://127.0.0.1/x'], 2],
    [['--credentials-file', '/nonexistent/creds', 'rtsp://127.0.0.1/x'], 2],
    [['rtsp://127.0.0.1:1/x', '--duration', '1'], 3],
  ])('exits with a meaningful code: %j → %i', async (args, code) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(/^wasm-rtsp: /m);
  });

  it('a 404 stream exits 3 with the status in the message', async () => {
    const r = await cli([server.url('/nope'), '--duration', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/404/);
  });

  it('runs the demo (npm start) out of the box: its own server, decoded frames, a summary', async () => {
    const r = await cli(['--demo', '--duration', '2', '--json'], 90_000);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.streams[0].sinkBuffers).toBeGreaterThan(10);
    expect(summary.streams[0].lost).toBe(0);
  });
});
