// `wasm-rtsp --record` end to end: the built command (dist/node/cli/index.js) in a child process, a Recorder per
// camera, real GStreamer pipelines and files read back box by box, against GStreamer's RTSP server on 127.0.0.1.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { readMp4 } from './gst/mp4.js';
import { readFmp4 } from './record/fmp4.js';
import { until } from './until.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
let server: RtspTestServer;
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-cli-record-'));
let dirs = 0;
/** A fresh folder per test: start-up checks look at what exists. */
const fresh = () => {
  const d = join(tmp, `t${dirs++}`);
  mkdirSync(d);
  return d;
};

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  server = await startRtspServer({ sessionTimeout: 10 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });
}


interface IndexLine { path: string; camera: string; stream: string; state: string; startMs: number; durationMs: number | null; frames: number; keyframes: number; reason: string; gapBeforeMs: number }

/** The last record of each path in a camera's index (its state), in order. */
function readIndex(file: string): IndexLine[] {
  const byPath = new Map<string, IndexLine>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as IndexLine;
    byPath.delete(r.path);
    byPath.set(r.path, r);
  }
  return [...byPath.values()];
}

/** Processes whose command line mentions `text` (a test's own folder): none may outlive a killed command. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

describe('wasm-rtsp --record', () => {
  it('records two cameras named by #name= into files of their own, rotated by --segment, listed in the index, --json and /status', async () => {
    const dir = fresh();
    const child = spawn(process.execPath, [CLI, `${server.url('/h264')}#name=door`, `${server.url('/h264')}#name=yard`,
      '--record', join(dir, 'cam.mp4'), '--segment', '1', '--duration', '4.5', '--json', '--metrics-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const port = await until('the metrics port', () => Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err)?.[1]) || undefined);
      // /status names each camera's file being written.
      const status = await until('both recording files in /status', async () => {
        const s = await (await fetch(`http://127.0.0.1:${port}/status`)).json() as { cameras: Array<{ name: string; recording: string | null }> };
        return s.cameras.every((c) => c.recording !== null) && s.cameras.length === 2 ? s : undefined;
      });
      expect(status.cameras.map((c) => c.name).sort()).toEqual(['door', 'yard']);
      for (const c of status.cameras) expect(c.recording).toMatch(new RegExp(`cam-${c.name}(-\\d+)?\\.mp4$`));
    } finally {
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      expect(await exited, err).toBe(0);
      clearTimeout(t);
    }
    const summary = JSON.parse(out);
    for (const name of ['door', 'yard']) {
      // -{camera} before the extension: no file shared, none called cam.mp4.
      const index = readIndex(join(dir, `${name}.video0.index.jsonl`));
      expect(index.length, err).toBeGreaterThanOrEqual(3);
      expect(index.every((r) => r.state === 'closed' && r.camera === name)).toBe(true);
      expect(index[0]!.path).toBe(join(dir, `cam-${name}.mp4`));
      expect(index.slice(1).every((r) => r.reason === 'rotate' && r.gapBeforeMs === 0)).toBe(true);
      let samples = 0;
      for (const r of index) {
        const [track] = readMp4(r.path);
        // Every closed file complete: its moov lists exactly the frames the index counted, from a keyframe.
        expect(track!.samples).toBe(r.frames);
        expect(Math.abs(track!.durationSeconds * 1000 - r.durationMs!)).toBeLessThan(40);
        samples += track!.samples;
      }
      // Rotated segments are whole seconds of 30 fps: 1 s each (keyframes every 30 frames).
      for (const r of index.slice(0, -1)) expect(r.durationMs).toBeCloseTo(1000, 0);
      const cam = summary.cameras.find((c: { name: string }) => c.name === name);
      expect(cam.recording.segments.map((s: { path: string }) => s.path)).toEqual(index.map((r) => r.path));
      expect(cam.recording.framesWritten).toBe(samples);
      const stream = summary.streams.find((s: { camera: string }) => s.camera === name);
      expect(stream.pushed).toBe(samples);
      expect(stream.received).toBe(stream.pushed + Object.values(stream.dropped as Record<string, number>).reduce((a, n) => a + n, 0));
    }
    expect(existsSync(join(dir, 'cam.mp4'))).toBe(false);
  });

  it('SIGKILL of the command recording two cameras: closed segments complete, open ones readable to their last fragment, nothing left running', async () => {
    const dir = fresh();
    const child: ChildProcess = spawn(process.execPath, [CLI, `${server.url('/h264')}#name=k1`, `${server.url('/h264')}#name=k2`,
      '--record', join(dir, '{camera}/%H%M%S.mp4'), '--segment', '2'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, UV_THREADPOOL_SIZE: '' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise((r) => child.once('exit', r));
    // rec/{camera}/…: only rec must exist; each camera's folder is made by its recorder.
    const indexOf = (name: string) => join(dir, name, `${name}.video0.index.jsonl`);
    // Two closed segments each and well into the third: then kill.
    await until('two closed segments per camera', () => ['k1', 'k2'].every((n) => existsSync(indexOf(n)) &&
      readIndex(indexOf(n)).filter((r) => r.state === 'closed').length >= 2), 40_000).catch((e) => {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${err}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;
    // The command re-ran itself with its thread pool sized; that child dies with it.
    await until('no process of the command left', () => processesWith(dir).length === 0, 10_000);
    for (const name of ['k1', 'k2']) {
      const index = readIndex(indexOf(name));
      const closed = index.filter((r) => r.state === 'closed');
      const open = index.filter((r) => r.state === 'open');
      expect(closed.length).toBeGreaterThanOrEqual(2);
      expect(open).toHaveLength(1);
      for (const r of closed) {
        const [track] = readMp4(r.path);
        expect(track!.samples).toBe(r.frames);
      }
      const cut = readFmp4(open[0]!.path);
      const recordedS = (killedAt - open[0]!.startMs) / 1000;
      expect(cut.codec).toBe('avc1');
      expect(cut.fragments[0]!.startsWithSync).toBe(true);
      expect(cut.durationSeconds, `${name}: ${recordedS} s recorded`).toBeGreaterThanOrEqual(recordedS - 2);
    }
  });

  it('a raw camera into .mp4 fails alone with a typed error naming it and the path; the other camera records', async () => {
    const dir = fresh();
    const r = await cli([`${server.url('/raw')}#name=rawcam`, `${server.url('/h264')}#name=good`, '--record', join(dir, 'rec.mp4'),
      '--duration', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rawcam: failed: .*\.mp4 cannot hold stream 0 \(RAW\).*\[UNSUPPORTED_STREAM\]/);
    const summary = JSON.parse(r.stdout);
    const raw = summary.cameras.find((c: { name: string }) => c.name === 'rawcam');
    expect(raw.state).toBe('failed');
    expect(raw.error).toMatchObject({ code: 'UNSUPPORTED_STREAM', camera: 'rawcam', path: join(dir, 'rec-rawcam.mp4') });
    const good = summary.cameras.find((c: { name: string }) => c.name === 'good');
    expect(good.error).toBeUndefined();
    const [track] = readMp4(join(dir, 'rec-good.mp4'));
    expect(track!.samples).toBe(good.recording.framesWritten);
    expect(track!.samples).toBeGreaterThan(30);
    expect(existsSync(join(dir, 'rec-rawcam.mp4'))).toBe(false);
  });

  it('refuses an existing file (exit 2, camera and path named) and replaces it with --overwrite', async () => {
    const dir = fresh();
    const out = join(dir, 'x.mkv');
    writeFileSync(out, 'precious');
    const refused = await cli([`${server.url('/h264')}#name=door`, '--record', out, '--duration', '2', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`camera door: ${out} exists`);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'FILE_EXISTS', camera: 'door', path: out });
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const replaced = await cli([`${server.url('/h264')}#name=door`, '--record', out, '--overwrite', '--duration', '2']);
    expect(replaced.code, replaced.stderr).toBe(0);
    // Matroska's EBML header, not the old bytes.
    expect(readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  });

  it.each([
    ['an extension without a container', (d: string) => join(d, 'x.avi'), /BAD_EXTENSION/],
    ['a missing directory', (d: string) => join(d, 'nope', 'x.mp4'), /camera door: the directory .*nope.* does not exist.*\[NO_DIRECTORY\]/],
    ['a directory where no file can be created', () => '/proc/x.mp4', /camera door: cannot create files in \/proc.*\[UNWRITABLE\]/],
  ])('exits 2 at start-up for %s', async (_what, path, message) => {
    const r = await cli([`${server.url('/h264')}#name=door`, '--record', path(fresh()), '--duration', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('--pipeline takes {camera} and {stream}: a file sink there writes one file per camera', async () => {
    const dir = fresh();
    const r = await cli([`${server.url('/h264')}#name=a`, `${server.url('/h264')}#name=b`,
      '--pipeline', `h264parse ! matroskamux ! filesink location=${join(dir, '{camera}-{stream}.mkv')}`, '--duration', '2']);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['a-video0.mkv', 'b-video0.mkv']) expect(statSync(join(dir, f)).size).toBeGreaterThan(1000);
  });
});
