// GstSink frame branches: access units from the client's frame mode into real pipelines — decoded without an RTP
// depayloader or a byte-scanning parser, and recorded into MP4 that gst-discoverer checks (duration, frames, keyframes).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient, type Frame } from '../../../src/node/index.js';
import { createGstSink, GstSink, type GstError, type GstBranch } from '../../../src/node/gst/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { readMp4 } from './mp4.js';

const available = GstSink.available();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FPS = 30;

let server: RtspTestServer;
let dir: string;

beforeAll(async () => {
  server = await startRtspServer({ framerate: FPS, extraArgs: ['--key-int', '15'], rawWidth: 320, rawHeight: 240, rawFramerate: FPS });
  dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-gstframes-'));
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Plays `path` in frame mode into a sink built by `branch`, until `frames` frames were pushed; closes both. */
async function run(path: string, frames: number, branch: (b: GstBranch) => GstBranch, record?: string) {
  const client = new RtspClient(server.url(path), { transport: 'tcp', frames: true });
  await client.connect();
  const sink = createGstSink({
    branches: client.streams.map((stream) => branch({ stream, input: 'frames' })),
    record: record ? { location: record } : undefined,
  });
  const errors: GstError[] = [];
  sink.on('error', (e: GstError) => errors.push(e));
  sink.start();
  let pushed = 0;
  let keyframes = 0;
  client.on('frame', (f: Frame) => {
    // Start at a keyframe, as a recorder must.
    if (pushed === 0 && !f.keyframe) return;
    if (!sink.pushFrame(f.stream.id, f)) return;
    pushed++;
    if (f.keyframe) keyframes++;
  });
  await client.play();
  const end = Date.now() + 30_000;
  while (pushed < frames && Date.now() < end && errors.length === 0) await sleep(20);
  await client.close();
  await sink.close();
  return { client: client.stats(), sink: sink.stats(), errors, pushed, keyframes, launch: sink.launch };
}

async function discover(file: string): Promise<string> {
  const { stdout } = await promisify(execFile)('gst-discoverer-1.0', ['-v', file], { timeout: 30_000 });
  return stdout;
}

function durationSeconds(text: string): number {
  const m = /Duration: (\d+):(\d+):(\d+\.\d+)/.exec(text);
  if (!m) throw new Error(`no duration in:\n${text}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

describe.skipIf(!available.ok)('GstSink frame branches', () => {
  for (const [path, caps, decoder] of [['/h264', 'stream-format=(string)avc', 'avdec_h264'], ['/h265', 'stream-format=(string)hvc1', 'avdec_h265']] as const) {
    it(`decodes ${path} frames pushed as ${caps}, alignment=au with codec_data: one decoded picture per frame`, async () => {
      const r = await run(path, 60, (b) => b);
      expect(r.errors).toEqual([]);
      expect(r.launch).toContain(caps);
      expect(r.launch).toContain('codec_data=(buffer)01');
      expect(r.launch).toContain(`! ${decoder} ! fakesink`);
      expect(r.launch).not.toMatch(/rtph26[45]depay|h26[45]parse/);
      const b = r.sink.branches[0]!;
      expect(b.pushedFrames).toBe(r.pushed);
      expect(b.pushedPackets).toBe(0);
      expect(b.queueDroppedPackets + b.rejectedPackets).toBe(0);
      // EOS drains the decoder: every frame pushed comes out as a picture.
      expect(b.sinkBuffers).toBe(r.pushed);
    });
  }

  it('pushes raw video frames as video/x-raw (no depayloader, no decoder)', async () => {
    const r = await run('/raw', 30, (b) => b);
    expect(r.errors).toEqual([]);
    expect(r.launch).toContain('video/x-raw, format=(string)UYVY, width=(int)320, height=(int)240');
    expect(r.sink.branches[0]!.sinkBuffers).toBe(r.pushed);
  });

  it('decodes AAC access units pushed as audio/mpeg, stream-format=raw with the AudioSpecificConfig', async () => {
    const r = await run('/aac', 60, (b) => b);
    expect(r.errors).toEqual([]);
    expect(r.launch).toContain('audio/mpeg, mpegversion=(int)4, stream-format=(string)raw, rate=(int)44100, channels=(int)1, codec_data=(buffer)');
    expect(r.launch).toContain('! avdec_aac ! fakesink');
    expect(r.sink.branches[0]!.pushedFrames).toBe(r.pushed);
    expect(r.sink.branches[0]!.sinkBuffers).toBe(r.pushed);
  });

  for (const path of ['/h264', '/h265']) {
    it(`records ${path} frames into an MP4 with the right duration, frame count and keyframes`, async () => {
      const file = join(dir, `frames${path.slice(1)}.mp4`);
      const frames = 3 * FPS;
      const r = await run(path, frames, (b) => ({ ...b, tail: 'record' }), file);
      expect(r.errors).toEqual([]);
      expect(statSync(file).size).toBeGreaterThan(1000);
      const info = await discover(file);
      // PTS from the RTP timestamps: 90 frames at 30 fps last 3 s (within a frame or two).
      expect(Math.abs(durationSeconds(info) - r.pushed / FPS)).toBeLessThan(0.15);
      expect(info).toMatch(path === '/h264' ? /H\.264/ : /H\.265/);
      // Frame by frame from the file's own tables: one sample per pushed frame, every keyframe a sync sample.
      const [track, ...others] = readMp4(file);
      expect(others).toEqual([]);
      expect(track!.codec).toBe(path === '/h264' ? 'avc1' : 'hvc1');
      expect(track!.samples).toBe(r.pushed);
      expect(track!.syncSamples).toBe(r.keyframes);
      expect(track!.syncSamples).toBeGreaterThanOrEqual(Math.floor(r.pushed / 15));
      expect(track!.syncSamples).toBeLessThan(track!.samples);
    });
  }

  it('refuses a frame branch it cannot describe, and pushFrame on a packet branch', async () => {
    const stream = { type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: {} };
    expect(() => createGstSink({ branches: [{ stream, input: 'frames' }] })).toThrow(expect.objectContaining({ code: 'GST_UNSUPPORTED' }));
    const sink = createGstSink({ branches: [{ stream: { ...stream, fmtp: { 'packetization-mode': '1' } } }] });
    sink.on('error', () => {});
    sink.start();
    const frame = { data: new Uint8Array(8), pts: 0, stream: { clockRate: 90000 } } as unknown as Frame;
    expect(() => sink.pushFrame(0, frame)).toThrow(expect.objectContaining({ code: 'GST_BAD_ARGUMENT' }));
    await sink.close();
  });
});
