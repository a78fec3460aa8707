// Recorder against GStreamer's RTSP server, with real pipelines and real files read back box by box: rotation with
// exact sample counts and a keyframe at every start, an index that adds up, retention, an outage as a gap, the typed
// errors of bad paths, and one camera's failure leaving another's recording alone.
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspCamera, type Frame } from '../../../src/node/index.js';
import { Recorder, RecordError, type RecorderOptions, type SegmentRecord } from '../../../src/node/record/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { readFmp4 } from './fmp4.js';

const FPS = 30;
/** Keyframe every 15 frames (0.5 s): rotations land close to their target. */
const KEY_INT = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RtspTestServer;
let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  server = await startRtspServer({ framerate: FPS, extraArgs: ['--key-int', String(KEY_INT)] });
  dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-rec-'));
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A camera in frame mode, closed after the file. */
function camera(url = server.url('/h264')): RtspCamera {
  const cam = new RtspCamera(url, { frames: true, transport: 'tcp', initialDelayMs: 100, maxDelayMs: 500, jitter: 0 });
  cam.on('error', () => undefined);
  cleanups.push(() => cam.close());
  return cam;
}

/** A recorder collecting its events. */
function recorder(cam: RtspCamera, options: RecorderOptions) {
  const rec = new Recorder(cam, options);
  const log = { opened: [] as SegmentRecord[], closed: [] as SegmentRecord[], deleted: [] as SegmentRecord[], errors: [] as RecordError[] };
  rec.on('segmentOpen', (r: SegmentRecord) => log.opened.push(r));
  rec.on('segment', (r: SegmentRecord) => log.closed.push(r));
  rec.on('deleted', (r: SegmentRecord) => log.deleted.push(r));
  rec.on('error', (e: RecordError) => log.errors.push(e));
  cleanups.push(() => rec.stop());
  return { rec, log };
}

/** The index's lines, parsed. */
function indexLines(file: string): SegmentRecord[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SegmentRecord);
}

/** The last record of every path. */
function latest(lines: SegmentRecord[]): SegmentRecord[] {
  const m = new Map<string, SegmentRecord>();
  for (const l of lines) {
    m.delete(l.path);
    m.set(l.path, l);
  }
  return [...m.values()];
}

describe('Recorder', () => {
  it('rotates over ≥ 3 fragmented MP4 segments: samples equal frames written, a keyframe at every start, durations from PTS, the index adds up', async () => {
    const cam = camera();
    const sub = join(dir, 'rotate');
    mkdirSync(sub);
    const { rec, log } = recorder(cam, { path: join(sub, '{camera}/%Y%m%d-%H%M%S-{stream}.mp4'), name: 'cam/one', segmentSeconds: 1 });
    await rec.start();
    await waitUntil(() => log.opened.length >= 4, 20_000, 'a fourth segment');
    await rec.stop();
    expect(log.errors).toEqual([]);
    const stats = rec.stats();
    const index = rec.indexPath!;
    expect(index).toBe(join(sub, 'cam_one', 'cam_one.video0.index.jsonl'));
    const segs = latest(indexLines(index));
    expect(segs.length).toBeGreaterThanOrEqual(4);
    expect(segs.map((s) => s.state)).toEqual(segs.map(() => 'closed'));
    expect(log.closed.map((s) => s.path)).toEqual(segs.map((s) => s.path));
    let samples = 0;
    for (const [i, s] of segs.entries()) {
      expect(s.path).toMatch(/cam_one\/\d{8}-\d{6}(-\d+)?-video0\.mp4$/);
      expect(s.reason).toBe(i === 0 ? 'start' : 'rotate');
      const mp4 = readFmp4(s.path);
      expect(mp4.codec).toBe('avc1');
      expect(mp4.trailingBytes).toBe(0);
      expect(mp4.boxes.slice(0, 2)).toEqual(['ftyp', 'moov']);
      // Box by box: the file holds exactly the frames the index says, and starts with a keyframe.
      expect(mp4.samples).toBe(s.frames);
      expect(mp4.fragments[0]!.startsWithSync).toBe(true);
      expect(mp4.fragments.reduce((n, f) => n + f.syncSamples, 0)).toBe(s.keyframes);
      expect(s.bytes).toBe(statSync(s.path).size);
      // Durations from PTS: whole frames at 30 fps, ≥ 1 s (a rotation waits for a keyframe) and < 1 s + a GOP.
      expect(s.durationMs! * FPS / 1000).toBeCloseTo(Math.round(s.durationMs! * FPS / 1000), 3);
      if (i < segs.length - 1) {
        expect(s.durationMs).toBeGreaterThanOrEqual(1000);
        expect(s.durationMs).toBeLessThan(1000 + (KEY_INT / FPS) * 1000 + 1);
        expect(s.frames).toBe(Math.round(s.durationMs! * FPS / 1000));
        // The next one starts where this one ends, without a gap.
        expect(segs[i + 1]!.startMs).toBeCloseTo(s.startMs + s.durationMs!, 6);
        expect(segs[i + 1]!.gapBeforeMs).toBe(0);
      }
      // The file's own durations agree with the index (the last sample's duration is the muxer's guess).
      expect(Math.abs(mp4.durationSeconds * 1000 - s.durationMs!)).toBeLessThanOrEqual(1000 / FPS + 1);
      samples += mp4.samples;
    }
    expect(samples).toBe(stats.framesWritten);
    expect(stats.framesDropped).toBe(0);
    expect(stats.segments).toBe(segs.length);
    // Every frame after the first keyframe was written: received = skipped (before it) + written.
    expect(stats.framesReceived).toBe(stats.framesSkipped + stats.framesWritten);
    expect(stats.framesSkipped).toBeLessThan(KEY_INT);
    // The files also play in GStreamer: every sample decodes.
    expect(await decodedFrames(segs[1]!.path)).toBe(segs[1]!.frames);
  }, 60_000);
});

/** Frames GStreamer decodes from `file` (demuxer by extension). */
export async function decodedFrames(file: string): Promise<number> {
  const demux = file.endsWith('.mp4') ? 'qtdemux' : file.endsWith('.mkv') ? 'matroskademux' : 'tsdemux';
  const { stdout } = await promisify(execFile)('gst-launch-1.0', ['-v', 'filesrc', `location=${file}`, '!', demux, '!', 'h264parse', '!', 'avdec_h264', '!',
    'fakesink', 'silent=false'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l.includes('fakesink0: last-message = chain')).length;
}

void existsSync; void readdirSync; void writeFileSync; void ({} as Frame);

describe('Recorder killed with SIGKILL', () => {
  it('leaves closed segments complete and open files readable up to their last fragment (≥ written − 2 s)', async () => {
    const sub = join(dir, 'crash');
    mkdirSync(sub);
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), server.url('/h264'), sub], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '12' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    cleanups.push(() => { child.kill('SIGKILL'); });
    let written: number[] = [];
    let index: string[] = [];
    const errors: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { written?: number[]; index?: string[]; error?: string };
      if (m.written) written = m.written;
      if (m.index) index = m.index;
      if (m.error) errors.push(line);
    });
    // 5.3 s of MP4: two closed 2 s segments and one open (the rotation waits for a keyframe, every 0.5 s).
    await waitUntil(() => written[0]! >= 5.3 * FPS || child.exitCode !== null, 30_000, `frames in the child (stderr: ${stderr.slice(-500)})`);
    const atKill = [...written];
    child.kill('SIGKILL');
    await exited;
    expect(errors).toEqual([]);
    const mp4Index = latest(indexLines(index[0]!));
    const closed = mp4Index.filter((s) => s.state === 'closed');
    const open = mp4Index.filter((s) => s.state === 'open');
    expect(closed.length).toBeGreaterThanOrEqual(2);
    expect(open.length).toBeGreaterThanOrEqual(1);
    let samples = 0;
    for (const s of closed) {
      const mp4 = readFmp4(s.path);
      expect(mp4.samples).toBe(s.frames);
      expect(mp4.trailingBytes).toBe(0);
      samples += mp4.samples;
    }
    for (const s of open) {
      // The open file: its header, then whole moof+mdat pairs; at most the fragment being written is cut.
      const mp4 = readFmp4(s.path);
      expect(mp4.boxes.slice(0, 2)).toEqual(['ftyp', 'moov']);
      expect(mp4.fragments.length).toBeGreaterThanOrEqual(1);
      expect(mp4.fragments[0]!.startsWithSync).toBe(true);
      samples += mp4.samples;
      // GStreamer reads it too, every complete sample.
      expect(await decodedFrames(s.path)).toBe(mp4.samples);
    }
    // Lost at most ~2 s: the fragment in flight (1 s) and the frames in the pipeline.
    expect(samples).toBeGreaterThanOrEqual(atKill[0]! - 2 * FPS);
    const figures: Record<string, unknown> = { mp4: { writtenAtKill: atKill[0], samplesInFiles: samples } };
    // Matroska and MPEG-TS, written as they go: decodable up to the cut.
    for (const [i, file] of [[1, join(sub, 'crash.mkv')], [2, join(sub, 'crash.ts')]] as const) {
      const frames = await decodedFrames(file);
      expect(frames, file).toBeGreaterThanOrEqual(atKill[i]! - 2 * FPS);
      expect(frames, file).toBeLessThanOrEqual(atKill[i]! + FPS);
      figures[file.endsWith('.mkv') ? 'mkv' : 'ts'] = { writtenAtKill: atKill[i], decoded: frames };
    }
    if (process.env.RECORD_FIGURES) console.log(JSON.stringify(figures));

    // The next run marks the segment the dead process left open as crashed, with its size on disk.
    const cam = camera();
    const { rec } = recorder(cam, { path: `${sub}/crash-%H%M%S.mp4`, name: 'mp4', segmentSeconds: 2 });
    await rec.start();
    await rec.stop();
    const after = latest(indexLines(index[0]!));
    for (const s of open) {
      expect(after.find((r) => r.path === s.path)).toMatchObject({ state: 'closed', crashed: true, bytes: statSync(s.path).size });
    }
  }, 90_000);
});
