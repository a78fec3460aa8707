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
import { RtspCamera } from '../../../src/node/index.js';
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
      // Closed: a plain MP4, every sample in the moov's tables.
      expect(mp4.boxes).toEqual(['ftyp', 'free', 'mdat', 'moov']);
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
    // 5.7 s of MP4: two closed 2 s segments and one open for 1.7 s, its first fragments written (moov, then a moof
    // per 0.5 s GOP): the rotation waits for a keyframe, every 0.5 s.
    await waitUntil(() => written[0]! >= 5.7 * FPS || child.exitCode !== null, 30_000, `frames in the child (stderr: ${stderr.slice(-500)})`);
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
      // The open file: the first fragment in the moov, then mdat+moof pairs; at most the fragment being written is lost.
      const mp4 = readFmp4(s.path);
      expect(mp4.boxes.slice(0, 4)).toEqual(['ftyp', 'free', 'mdat', 'moov']);
      expect(mp4.boxes).toContain('moof');
      expect(mp4.cutFragments).toBe(0);
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

describe('Recorder retention', () => {
  it('deletes a camera\'s oldest closed segments by age and by size, never the open one, and drops them from the index', async () => {
    const cam = camera();
    const sub = join(dir, 'retain');
    mkdirSync(sub);
    const byAge = recorder(cam, { path: join(sub, 'age-%H%M%S.mp4'), name: 'age', segmentSeconds: 1, retainSeconds: 1.5 });
    const RETAIN_BYTES = 600_000;
    const bySize = recorder(cam, { path: join(sub, 'size-%H%M%S.mkv'), name: 'size', segmentSeconds: 1, retainBytes: RETAIN_BYTES });
    // At every deletion: the open segment is still there, and what is deleted is the oldest of what is left.
    const problems: string[] = [];
    for (const { rec, log } of [byAge, bySize]) {
      rec.on('deleted', (d: SegmentRecord) => {
        const open = rec.stats().path;
        if (open === d.path) problems.push(`deleted the open segment ${d.path}`);
        if (open && !existsSync(open)) problems.push(`the open segment ${open} is gone`);
        if (existsSync(d.path)) problems.push(`${d.path} still exists`);
        const older = log.closed.filter((c) => c.startMs < d.startMs && !log.deleted.some((x) => x.path === c.path));
        if (older.length > 0) problems.push(`${d.path} deleted before the older ${older.map((o) => o.path).join(', ')}`);
        if (rec === byAge.rec && d.startMs + d.durationMs! >= Date.now() - 1500) problems.push(`${d.path} ended less than 1.5 s ago`);
      });
    }
    await byAge.rec.start();
    await bySize.rec.start();
    await waitUntil(() => byAge.log.deleted.length >= 2 && bySize.log.deleted.length >= 2, 30_000, 'two deletions by each limit');
    await byAge.rec.stop();
    await bySize.rec.stop();
    expect(problems).toEqual([]);
    expect([...byAge.log.errors, ...bySize.log.errors]).toEqual([]);
    for (const { rec, log } of [byAge, bySize]) {
      // Deleted in the order they were recorded: always the oldest.
      expect(log.deleted.map((d) => d.path)).toEqual(log.closed.slice(0, log.deleted.length).map((c) => c.path));
      // The index lists what is left and nothing else; it was rewritten without the deleted ones.
      const left = latest(indexLines(rec.indexPath!));
      expect(left.map((s) => s.path)).toEqual(log.closed.slice(log.deleted.length).map((c) => c.path));
      for (const d of log.deleted) expect(readFileSync(rec.indexPath!, 'utf8')).not.toContain(d.path);
      for (const s of left) expect(statSync(s.path).size).toBe(s.bytes);
      expect(rec.segments().map((s) => s.path)).toEqual(left.map((s) => s.path));
    }
    // By size: what is left fits (or is one segment larger than the limit by itself).
    const left = bySize.rec.segments();
    const total = left.reduce((n, s) => n + s.bytes!, 0);
    expect(total <= RETAIN_BYTES || left.length === 1).toBe(true);
    if (process.env.RECORD_FIGURES) console.log(JSON.stringify({ sizes: bySize.log.closed.map((c) => c.bytes) }));
  }, 60_000);
});

describe('Recorder through an outage', () => {
  it('closes the segment when the camera goes, starts a new one when it comes back, and the index records the gap', async () => {
    let own = await startRtspServer({ framerate: FPS, extraArgs: ['--key-int', String(KEY_INT)] });
    const port = own.port;
    cleanups.push(() => own.stop());
    const cam = camera(own.url('/h264'));
    const sub = join(dir, 'outage');
    mkdirSync(sub);
    const { rec, log } = recorder(cam, { path: join(sub, 'out-%H%M%S.mp4'), name: 'out' });
    // Arrival of every frame the recorder wrote (this listener runs after the recorder's).
    const arrivals: number[] = [];
    let reconnected = 0;
    let refused = 0;
    cam.on('reconnected', () => reconnected++);
    cam.on('reconnecting', (e: { reason: { code: string } }) => { if (e.reason.code === 'CONNECT_FAILED') refused++; });
    await rec.start();
    cam.on('frame', () => {
      if (rec.stats().framesWritten > arrivals.length) arrivals.push(Date.now());
    });
    await waitUntil(() => rec.stats().framesWritten >= 2 * FPS, 15_000, '2 s recorded');
    await own.stop();
    // Gone for good once a connection is refused (a server shutting down may still serve a short session first).
    await waitUntil(() => refused > 0 && rec.stats().path === undefined, 15_000, 'the segment closed by the outage');
    const before = log.opened.length;
    await sleep(1500);
    own = await startRtspServer({ framerate: FPS, extraArgs: ['--key-int', String(KEY_INT)], port });
    await waitUntil(() => reconnected > 0 && log.opened.length > before, 20_000, 'a segment after the reconnect');
    const resumedAt = rec.stats().framesWritten;
    await waitUntil(() => rec.stats().framesWritten >= resumedAt + 2 * FPS, 15_000, '2 s more');
    await rec.stop();
    expect(log.errors).toEqual([]);
    const segs = latest(indexLines(rec.indexPath!));
    expect(segs.length).toBe(before + 1);
    expect(segs.map((s) => [s.state, s.reason])).toEqual(segs.map((_, i) => ['closed', i === 0 ? 'start' : 'reconnect']));
    // The gap covers the outage: the server was gone ≥ 1.5 s, plus the camera's retry delay.
    const last = segs.at(-1)!;
    const previous = segs.at(-2)!;
    expect(last.gapBeforeMs).toBeGreaterThan(1500);
    expect(last.startMs).toBeCloseTo(previous.startMs + previous.durationMs! + last.gapBeforeMs, 6);
    for (const s of segs) expect(readFmp4(s.path).samples).toBe(s.frames);
    expect(segs.reduce((n, s) => n + s.frames, 0)).toBe(rec.stats().framesWritten);
    // Durations + gaps against this host's clock: first written frame to one interval past the last.
    const timeline = segs.reduce((n, s) => n + s.durationMs! + s.gapBeforeMs, 0);
    const wall = arrivals.at(-1)! - arrivals[0]! + 1000 / FPS;
    if (process.env.RECORD_FIGURES) console.log(JSON.stringify({ timeline, wall, gap: last.gapBeforeMs, clocks: segs.map((s) => s.clock) }));
    expect(Math.abs(timeline - wall)).toBeLessThanOrEqual(2 * (1000 / FPS));
  }, 90_000);
});

describe('Recorder errors', () => {
  const rejection = async (p: Promise<unknown>) => p.then(() => { throw new Error('resolved'); }, (e: unknown) => e as RecordError);

  it('refuses an extension without a container and unknown template fields when it is made (BAD_EXTENSION, BAD_TEMPLATE)', () => {
    const cam = camera();
    for (const [path, code] of [['rec.avi', 'BAD_EXTENSION'], ['rec', 'BAD_EXTENSION'], ['rec-%Q.mp4', 'BAD_TEMPLATE'], ['{cam}.mp4', 'BAD_TEMPLATE']] as const) {
      let error: unknown;
      try {
        new Recorder(cam, { path, name: 'door' });
      } catch (e) {
        error = e;
      }
      expect(error, path).toBeInstanceOf(RecordError);
      expect(error, path).toMatchObject({ code, camera: 'door', path });
    }
    expect(() => new Recorder(cam, { path: 'a.mp4', fragmentMs: 5000 })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => new Recorder(cam, { path: 'a.mp4', segmentSeconds: 0 })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('refuses a missing or unwritable directory at start, before it waits for the camera (NO_DIRECTORY, UNWRITABLE)', async () => {
    // A camera that never answers: the check must not wait for it.
    const cam = camera('rtsp://127.0.0.1:9/none');
    const missing = await rejection(new Recorder(cam, { path: join(dir, 'no/such/dir/x.mp4'), name: 'door' }).start());
    expect(missing).toMatchObject({ code: 'NO_DIRECTORY', camera: 'door', path: join(dir, 'no/such/dir') });
    // /proc refuses new files even to root (mode bits alone would not stop root).
    const unwritable = await rejection(new Recorder(cam, { path: '/proc/{camera}-%H.mp4', name: 'door' }).start());
    expect(unwritable).toMatchObject({ code: 'UNWRITABLE', camera: 'door', path: '/proc' });
    expect(cam.currentState).toBe('idle');
  });

  it('never replaces an existing file unless overwrite is on; later names in use get -1, -2', async () => {
    const sub = join(dir, 'exists');
    mkdirSync(sub);
    const file = join(sub, 'fixed.mp4');
    writeFileSync(file, 'precious');
    const cam = camera();
    const refused = await rejection(new Recorder(cam, { path: file, name: 'door' }).start());
    expect(refused).toMatchObject({ code: 'FILE_EXISTS', camera: 'door', path: file });
    expect(readFileSync(file, 'utf8')).toBe('precious');

    const { rec, log } = recorder(cam, { path: file, name: 'door', overwrite: true, segmentSeconds: 1 });
    await rec.start();
    await waitUntil(() => log.closed.length >= 1, 15_000, 'a segment');
    await rec.stop();
    expect(log.errors).toEqual([]);
    expect(readFmp4(file).samples).toBe(log.closed[0]!.frames);

    // A fixed name with segments, overwrite off: each new segment takes the next free name.
    const other = join(sub, 'seq.mp4');
    const seq = recorder(cam, { path: other, name: 'seq', segmentSeconds: 1 });
    await seq.rec.start();
    await waitUntil(() => seq.log.opened.length >= 3, 15_000, 'three segments');
    await seq.rec.stop();
    expect(seq.log.closed.map((s) => s.path)).toEqual([other, join(sub, 'seq-1.mp4'), join(sub, 'seq-2.mp4'), ...seq.log.closed.slice(3).map((_, i) => join(sub, `seq-${i + 3}.mp4`))]);
    for (const s of seq.log.closed) expect(readFmp4(s.path).samples).toBe(s.frames);
  }, 60_000);

  it('refuses at start a stream the container cannot hold (UNSUPPORTED_STREAM), and stops on caps GStreamer refuses (STREAM_REFUSED)', async () => {
    const raw = await startRtspServer({ rawWidth: 64, rawHeight: 48, rawFramerate: 10, rawFormat: 'RGBA' });
    cleanups.push(() => raw.stop());
    const cam = camera(raw.url('/raw'));
    const sub = join(dir, 'refused');
    mkdirSync(sub);
    const unsupported = await rejection(new Recorder(cam, { path: join(sub, '{camera}.mp4'), name: 'raw' }).start());
    expect(unsupported).toMatchObject({ code: 'UNSUPPORTED_STREAM', camera: 'raw', path: join(sub, 'raw.mp4') });
    // Matroska takes raw video, but not RGBA: GStreamer refuses the caps once frames flow.
    const { rec, log } = recorder(cam, { path: join(sub, '{camera}.mkv'), name: 'raw' });
    const closed = new Promise<RecordError | undefined>((r) => rec.once('close', r));
    await rec.start();
    const reason = await closed;
    expect(reason).toBeInstanceOf(RecordError);
    expect(reason).toMatchObject({ code: 'STREAM_REFUSED', camera: 'raw', path: join(sub, 'raw.mkv') });
    expect(log.errors.map((e) => e.code)).toEqual(['STREAM_REFUSED']);
    expect(rec.currentState).toBe('stopped');
    // Nothing reached the file: no empty file is left behind, and the index says so.
    expect(existsSync(join(sub, 'raw.mkv'))).toBe(false);
    expect(rec.segments()).toEqual([]);
    expect(rec.stats().framesWritten).toBe(0);
  }, 60_000);

  it('a write failure (file size limit, as a full disk) stops that camera\'s file with WRITE_FAILED; another camera records on', async () => {
    const sub = join(dir, 'full');
    mkdirSync(sub);
    // 1 s segments are ~240 kB here: under the 600 kB limit; the single file passes it after ~2.5 s.
    const child = spawn('bash', ['-c', 'trap "" XFSZ; ulimit -f 600; exec "$0" "$@"', process.execPath, '--import', 'tsx',
      join(import.meta.dirname, 'full-child.ts'), server.url('/h264'), sub], { env: { ...process.env, UV_THREADPOOL_SIZE: '12' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    cleanups.push(() => { child.kill('SIGKILL'); });
    let stats: Array<{ framesWritten: number; segments: number }> = [];
    let index: string[] = [];
    const errors: Array<{ camera: string; path: string; code: string; message: string }> = [];
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line);
      if (m.stats) stats = m.stats;
      if (m.index) index = m.index;
      if (m.error) errors.push(m.error);
    });
    await waitUntil(() => errors.length > 0 || child.exitCode !== null, 30_000, `the write failure (stderr: ${stderr.slice(-500)})`);
    const smallAtError = stats[0]?.framesWritten ?? 0;
    await waitUntil(() => (stats[0]?.framesWritten ?? 0) >= smallAtError + 2 * FPS || child.exitCode !== null, 15_000, 'the other camera going on');
    child.kill('SIGKILL');
    await exited;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ camera: 'big', path: join(sub, 'big.mp4'), code: 'WRITE_FAILED' });
    expect(errors[0]!.message).toMatch(/camera big: recording .*big\.mp4 failed/);
    // The failed file: its header and whole fragments up to the failure, readable; the index says it failed.
    const bigMp4 = readFmp4(join(sub, 'big.mp4'));
    expect(bigMp4.fragments.length).toBeGreaterThanOrEqual(2);
    expect(bigMp4.fragments[0]!.startsWithSync).toBe(true);
    // (qtdemux also decodes the samples that reached a cut fragment's mdat.)
    const decoded = await decodedFrames(join(sub, 'big.mp4'));
    expect(decoded).toBeGreaterThanOrEqual(bigMp4.samples);
    expect(decoded).toBeLessThanOrEqual(bigMp4.samples + FPS);
    expect(latest(indexLines(index[1]!))).toMatchObject([{ path: join(sub, 'big.mp4'), state: 'failed', error: { code: 'WRITE_FAILED' } }]);
    // The other camera went on: more segments after the failure, each complete.
    const small = latest(indexLines(index[0]!)).filter((s) => s.state === 'closed');
    expect(small.length).toBeGreaterThanOrEqual(3);
    for (const s of small) expect(readFmp4(s.path).samples).toBe(s.frames);
  }, 90_000);
});

/** Width and height from a JPEG's SOFn segment; throws unless the bytes are a whole JPEG (SOI … EOI). */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes.at(-2) !== 0xff || bytes.at(-1) !== 0xd9) throw new Error('not a whole JPEG');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 2; at + 4 < bytes.length;) {
    const marker = bytes[at + 1]!;
    const length = v.getUint16(at + 2);
    if (marker >= 0xc0 && marker <= 0xc3) return { height: v.getUint16(at + 5), width: v.getUint16(at + 7) };
    at += 2 + length;
  }
  throw new Error('no SOF segment');
}

describe('Recorder snapshots', () => {
  it('writes a JPEG of a keyframe every snapshotSeconds, replaced atomically, or one per snapshot with a dated template', async () => {
    const cam = camera();
    const sub = join(dir, 'snap');
    mkdirSync(sub);
    const latestOnly = recorder(cam, { path: join(sub, '{camera}/%H%M%S.mp4'), name: 'snap', snapshotSeconds: 1 });
    const dated = recorder(cam, { path: join(sub, 'd-%H%M%S.ts'), name: 'dated', snapshotSeconds: 1, snapshotPath: join(sub, 'shots/{camera}-%H%M%S.jpg') });
    const shots: Array<{ path: string; timeMs: number; bytes: number }> = [];
    const datedShots: typeof shots = [];
    latestOnly.rec.on('snapshot', (s) => shots.push(s));
    dated.rec.on('snapshot', (s) => datedShots.push(s));
    await latestOnly.rec.start();
    await dated.rec.start();
    await waitUntil(() => shots.length >= 3 && datedShots.length >= 3, 20_000, 'three snapshots each');
    await latestOnly.rec.stop();
    await dated.rec.stop();
    expect([...latestOnly.log.errors, ...dated.log.errors]).toEqual([]);
    // One file, the latest, next to the index; no temporary file left.
    expect(new Set(shots.map((s) => s.path))).toEqual(new Set([join(sub, 'snap', 'snap.video0.jpg')]));
    expect(readdirSync(join(sub, 'snap')).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(jpegSize(readFileSync(shots[0]!.path))).toEqual({ width: 320, height: 240 });
    // At most one a second.
    for (let i = 1; i < shots.length; i++) expect(shots[i]!.timeMs - shots[i - 1]!.timeMs).toBeGreaterThanOrEqual(900);
    // Dated: a file per snapshot, each a whole 320×240 JPEG.
    const files = readdirSync(join(sub, 'shots'));
    expect(files.length).toBe(new Set(datedShots.map((s) => s.path)).size);
    for (const f of files) expect(jpegSize(readFileSync(join(sub, 'shots', f)))).toEqual({ width: 320, height: 240 });
    // Snapshots do not disturb the recording: every frame written is in the files.
    expect(latestOnly.rec.stats().framesDropped).toBe(0);
    expect(latestOnly.log.closed.reduce((n, s) => n + readFmp4(s.path).samples, 0)).toBe(latestOnly.rec.stats().framesWritten);
  }, 60_000);
});

describe('Recorder threads', () => {
  it('warns once (THREAD_POOL) when its pipelines reach the libuv pool size it reads from UV_THREADPOOL_SIZE', async () => {
    const cam = camera();
    const sub = join(dir, 'threads');
    mkdirSync(sub);
    const saved = process.env.UV_THREADPOOL_SIZE;
    // Only the recorder's check reads it now (libuv sized its pool at start): 1 makes the first pipeline reach it.
    process.env.UV_THREADPOOL_SIZE = '1';
    try {
      const { rec, log } = recorder(cam, { path: join(sub, 't-%H%M%S.mp4'), name: 'threads', segmentSeconds: 1 });
      const warnings: RecordError[] = [];
      rec.on('warning', (w: RecordError) => warnings.push(w));
      await rec.start();
      await waitUntil(() => log.opened.length >= 2, 15_000, 'two segments');
      await rec.stop();
      expect(warnings.map((w) => [w.code, w.camera])).toEqual([['THREAD_POOL', 'threads']]);
      expect(warnings[0]!.message).toMatch(/set UV_THREADPOOL_SIZE to at least \d+/);
      expect(log.errors).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = saved;
    }
  }, 60_000);
});

describe('Recorder, other codecs', () => {
  it('records H.265 (hvc1) in MP4 segments, and AAC (mp4a, the /aac camera) with its duration from 1024-sample units', async () => {
    expect(server.mounts).toEqual(expect.arrayContaining(['/h265', '/aac']));
    const sub = join(dir, 'codecs');
    mkdirSync(sub);
    const hevc = recorder(camera(server.url('/h265')), { path: join(sub, 'hevc-%H%M%S.mp4'), name: 'hevc', segmentSeconds: 1 });
    const aac = recorder(camera(server.url('/aac')), { path: join(sub, 'aac-%H%M%S.mp4'), name: 'aac' });
    await hevc.rec.start();
    await aac.rec.start();
    expect(hevc.rec.recordedStream!.encodingName).toBe('H265');
    expect(aac.rec.recordedStream!.encodingName).toBe('MPEG4-GENERIC');
    await waitUntil(() => hevc.log.opened.length >= 3 && aac.rec.stats().framesWritten >= 80, 20_000, 'H.265 segments and AAC frames');
    await hevc.rec.stop();
    await aac.rec.stop();
    expect([...hevc.log.errors, ...aac.log.errors]).toEqual([]);
    for (const s of hevc.log.closed) {
      const mp4 = readFmp4(s.path);
      expect(mp4.codec).toBe('hvc1');
      expect(mp4.samples).toBe(s.frames);
      expect(mp4.fragments[0]!.startsWithSync).toBe(true);
    }
    // AAC: every access unit is a sync sample; 1024 samples each at 44.1 kHz.
    const [audio] = aac.log.closed;
    const m4a = readFmp4(audio!.path);
    expect(m4a.codec).toBe('mp4a');
    expect(m4a.samples).toBe(audio!.frames);
    expect(audio!.frames).toBe(aac.rec.stats().framesWritten);
    expect(audio!.durationMs).toBeCloseTo((audio!.frames * 1024 * 1000) / 44_100, 0);
  }, 60_000);
});
