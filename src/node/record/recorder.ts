// Recorder: one camera's stream written to files that survive a crash, cut into segments at keyframes, with an
// index and retention.
//
//   const camera = new RtspCamera(url);                 // the recorder's 'frame' listener turns frame mode on
//   const rec = new Recorder(camera, { path: 'rec/{camera}/%Y%m%d-%H%M%S.mp4', name: 'door', segmentSeconds: 60,
//                                      retainSeconds: 7 * 86400 });
//   rec.on('segment', (record) => …);   // a segment was closed (its index record)
//   rec.on('error', (e) => …);          // RecordError naming the camera and the file; optional, never thrown
//   await rec.start();                  // checks the directory, starts the camera if needed, picks the stream
//   …
//   await rec.stop();                   // closes the open segment (its file complete), leaves the camera running
//
// Why a pipeline per segment, swapped in JavaScript at a keyframe: the recorder decides which frame goes in which
// file, so no frame is lost or written twice at a boundary, every file starts with a keyframe, and the index counts
// are exact. splitmuxsink would do the swap inside one pipeline, but it holds back a whole GOP before it writes, so a
// crash would lose up to a GOP (seconds to tens of seconds on cameras) instead of one fragment.
//
// Why these containers: MP4 with `fragment-duration` writes each fragment (1 s by default) as it completes, so a file
// cut by SIGKILL is readable up to its last fragment, and in 'first-moov-then-finalise' mode the closed file is a
// plain MP4 whose moov gives every player the exact duration (in the default mode the duration fields stay 0 and
// Chromium guesses short); Matroska and MPEG-TS are written as they go. filesink is
// unbuffered, so what the muxer wrote is in the kernel's hands (a killed process loses nothing it wrote).
//
// Isolation: each camera's recorder has its own pipelines; an error in one (caps refused, disk full) ends that
// recorder's segment with a RecordError naming camera and path, and nothing else.

import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import type { MediaStream } from '../../core/media/stream.js';
import type { RtspCamera } from '../rtsp/camera.js';
import { codecConfigFromSdp, frameCodecOf, type CodecConfig, type Frame } from '../../core/media/frames.js';
import { frameFormat, GstError, launchQuote } from '../gst/caps.js';
import { GstSink, gstAvailable } from '../gst/sink.js';
import { RecordError } from './errors.js';
import { SegmentIndex, segmentsToDelete, type SegmentReason, type SegmentRecord } from './segment-index.js';
import { checkTemplate, fixedDirectory, indexDirectory, numbered, renderTemplate, safeName, TemplateError, type Container } from './template.js';

/** Default MP4 fragment length: a crash loses at most about this much (plus the frames in flight). */
export const DEFAULT_FRAGMENT_MS = 1_000;
/** Longest fragment allowed: the recorder promises to lose at most ~2 s. */
export const MAX_FRAGMENT_MS = 2_000;
/** Default wait after a failed segment (disk full, I/O error) before the next keyframe opens a new file. */
export const DEFAULT_RETRY_MS = 5_000;
/** Default bound of a segment pipeline's queue, in bytes (several seconds of H.264). */
export const DEFAULT_RECORD_QUEUE_BYTES = 8 * 1024 * 1024;

/** Libuv's default pool size (UV_THREADPOOL_SIZE unset). */
const DEFAULT_UV_THREADS = 4;
/**
 * Recorder pipelines alive in this process (segments, segments closing, snapshots): each holds a libuv pool thread
 * for its bus poll until it stops.
 */
let livePipelines = 0;

/** Closes a counted sink (EOS, then stop) and stops counting it. */
function closeCounted(sink: GstSink): Promise<void> {
  return sink.close().finally(() => { livePipelines--; });
}

/** Options of a Recorder. */
export interface RecorderOptions {
  /** Path template: `{camera}`, `{stream}`, strftime fields (%Y %m %d %H %M %S %y %j %z %s %%) in the segment's start time. The extension picks the container. */
  path: string;
  /** The camera's name for `{camera}` and the index; default from the camera's URL (host_port_path). */
  name?: string;
  /** Stream id to record; default the first H.264/H.265 video stream, else the first stream the container takes. */
  stream?: number;
  /** Start a new file at the first keyframe after this many seconds; default: one file until stop(). */
  segmentSeconds?: number;
  /** Delete this camera's closed segments that ended longer ago than this. */
  retainSeconds?: number;
  /** Delete this camera's oldest closed segments while all of them (the open one included) take more than this. */
  retainBytes?: number;
  /** Replace existing files; default false: a name in use gets `-1`, `-2`, … (and the first file must be free). */
  overwrite?: boolean;
  /** MP4 fragment length in ms (1–MAX_FRAGMENT_MS); default DEFAULT_FRAGMENT_MS. */
  fragmentMs?: number;
  /** Times in file names in UTC instead of local time. */
  utc?: boolean;
  /** The index file; default `<camera>.<stream>.index.jsonl` in the template's directory before its first time field. */
  indexPath?: string;
  /** Wait after a failed segment before the next one; default DEFAULT_RETRY_MS. */
  retryMs?: number;
  /** Bound of each segment pipeline's queue; default DEFAULT_RECORD_QUEUE_BYTES. */
  maxQueueBytes?: number;
  /** Write a JPEG of a keyframe at most every this many seconds (only keyframes are decoded); default none. */
  snapshotSeconds?: number;
  /**
   * Snapshot path template (.jpg/.jpeg; same fields as `path`); default `<camera>.<stream>.jpg` next to the index,
   * replaced atomically by each new snapshot (a template with time fields keeps one file per snapshot).
   */
  snapshotPath?: string;
}

/** Where a recorder is. */
export type RecorderState = 'new' | 'starting' | 'recording' | 'stopping' | 'stopped';

/** Counters of a recorder. */
export interface RecorderStats {
  state: RecorderState;
  camera: string;
  /** The open segment's file, if any. */
  path: string | undefined;
  /** Segments opened since start(). */
  segments: number;
  /** Frames of the recorded stream that reached the recorder. */
  framesReceived: number;
  /** Frames written (handed to a segment's pipeline): the samples of all segments together. */
  framesWritten: number;
  /** Frames not written while waiting for a keyframe (at start, after an outage, after a failed segment). */
  framesSkipped: number;
  /** Frames not written because a pipeline's queue was full (up to the next keyframe). */
  framesDropped: number;
  bytesWritten: number;
  errors: number;
  /** Segments deleted by retention. */
  deleted: number;
}

/** A segment being written. */
interface OpenSegment {
  record: SegmentRecord;
  sink: GstSink;
  session: number;
  startPts: number;
  lastPts: number;
  lastInterval: number;
  /** A frame was dropped: skip to the next keyframe (a P-frame after a hole would not decode). */
  waitKeyframe: boolean;
  failed: RecordError | undefined;
}

/**
 * See the file comment. Events: 'segmentOpen' / 'segment' / 'deleted' (SegmentRecord), 'snapshot' ({ path, timeMs,
 * bytes }), 'error' (RecordError), 'warning' (RecordError 'THREAD_POOL'), 'close' (RecordError | undefined).
 */
export class Recorder extends EventEmitter {
  /** The camera's name as used in paths and the index. */
  readonly name: string;
  private readonly camera: RtspCamera;
  private readonly template: string;
  private readonly container: Container;
  private readonly options: RecorderOptions;
  private readonly fragmentMs: number;
  private readonly retryMs: number;
  private readonly maxQueueBytes: number;
  private state: RecorderState = 'new';
  private stream: MediaStream | undefined;
  private streamName = '';
  private index: SegmentIndex | undefined;
  private segment: OpenSegment | undefined;
  private readonly closing = new Set<Promise<void>>();
  private readonly openPaths = new Set<string>();
  /** Bumped at every outage / new session: frames of a new session restart their PTS. */
  private session = 0;
  private nextReason: SegmentReason = 'start';
  /** End (wall ms) of the last segment closed, to measure the gap before the next. */
  private lastEndMs: number | undefined;
  /** The segment just closed by rotation, when the next one continues it (same session): chained start. */
  private chain: { session: number; endPts: number; endMs: number; clock: 'sender' | 'arrival' } | undefined;
  private retryAt = 0;
  private readonly counters = { segments: 0, framesReceived: 0, framesWritten: 0, framesSkipped: 0, framesDropped: 0, bytesWritten: 0, errors: 0, deleted: 0 };
  private readonly pushed: { data: Uint8Array; pts: number; stream: MediaStream } = { data: new Uint8Array(0), pts: 0, stream: undefined as unknown as MediaStream };
  private readonly onFrame = (frame: Frame) => this.frame(frame);
  private readonly onOutage = () => this.outage();
  private readonly onCameraClose = () => void this.stop();
  private stopPromise: Promise<void> | undefined;
  private nextSnapshotAt = 0;
  private snapshotting: Promise<void> | undefined;
  private snapshotTemplate: string | undefined;
  private closeReason: RecordError | undefined;
  private threadWarned = false;

  constructor(camera: RtspCamera, options: RecorderOptions) {
    super();
    this.camera = camera;
    this.options = { ...options };
    this.name = safeName(options?.name ?? defaultName(camera?.url ?? ''));
    const bad = (message: string, context?: Record<string, unknown>) => new RecordError('BAD_OPTION', message, { camera: this.name, context });
    if (!camera || typeof camera.on !== 'function' || typeof camera.start !== 'function') throw bad('Recorder needs an RtspCamera');
    try {
      this.container = checkTemplate(options?.path);
    } catch (e) {
      if (e instanceof TemplateError) throw new RecordError(e.code, e.message, { camera: this.name, path: options?.path });
      throw e;
    }
    this.template = options.path;
    const positive = (key: keyof RecorderOptions, max = Number.MAX_SAFE_INTEGER) => {
      const v = options[key];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max)) {
        throw bad(`${key} must be a number in (0, ${max}], not ${String(v)}`, { [key]: v });
      }
    };
    positive('segmentSeconds');
    positive('retainSeconds');
    positive('retainBytes');
    positive('fragmentMs', MAX_FRAGMENT_MS);
    positive('retryMs');
    positive('maxQueueBytes');
    positive('snapshotSeconds');
    if (options.snapshotPath !== undefined) {
      try {
        checkTemplate(options.snapshotPath.replace(/\.jpe?g$/i, '.mp4'));
      } catch (e) {
        if (e instanceof TemplateError) throw new RecordError(e.code, e.message, { camera: this.name, path: options.snapshotPath });
        throw e;
      }
      if (!/\.jpe?g$/i.test(options.snapshotPath)) {
        throw new RecordError('BAD_EXTENSION', `snapshotPath must end in .jpg or .jpeg, not ${JSON.stringify(options.snapshotPath)}`,
          { camera: this.name, path: options.snapshotPath });
      }
    }
    if (options.stream !== undefined && !(Number.isInteger(options.stream) && options.stream >= 0)) throw bad(`stream must be a stream id, not ${String(options.stream)}`);
    this.fragmentMs = Math.round(options.fragmentMs ?? DEFAULT_FRAGMENT_MS);
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.maxQueueBytes = Math.round(options.maxQueueBytes ?? DEFAULT_RECORD_QUEUE_BYTES);
  }

  /** Where the recorder is. */
  get currentState(): RecorderState {
    return this.state;
  }

  /** The index file (known once start() resolved). */
  get indexPath(): string | undefined {
    return this.index?.file;
  }

  /** The stream recorded (known once start() resolved). */
  get recordedStream(): MediaStream | undefined {
    return this.stream;
  }

  /** The index's live segments (this run's and earlier runs'), oldest first. */
  segments(): SegmentRecord[] {
    return this.index?.segments() ?? [];
  }

  /**
   * Checks the directory (NO_DIRECTORY, UNWRITABLE) before anything else, starts the camera if it is not started and
   * waits for its streams, picks the stream (NO_STREAM, UNSUPPORTED_STREAM), checks that the first file is free
   * (FILE_EXISTS) and loads the index. Frames are recorded from the first keyframe after this resolves. Rejects with a
   * RecordError (the recorder is then stopped); a camera that closes before it plays rejects with its RtspError.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new RecordError('STATE', `start() called in state ${this.state}`, { camera: this.name });
    this.state = 'starting';
    try {
      const available = gstAvailable();
      if (!available.ok) throw new RecordError('GST_UNAVAILABLE', available.message, { camera: this.name });
      this.checkDirectory(fixedDirectory(this.template));
      this.camera.on('frame', this.onFrame);
      this.camera.on('reconnecting', this.onOutage);
      this.camera.once('close', this.onCameraClose);
      const streams = this.camera.streams.length > 0 ? this.camera.streams : await this.camera.start();
      this.stream = this.pickStream(streams);
      this.streamName = `${this.stream.type}${this.stream.id}`;
      const fields = { camera: this.name, stream: this.streamName };
      const first = renderTemplate(this.template, fields, Date.now(), this.options.utc);
      if (!this.options.overwrite && exists(first)) {
        throw new RecordError('FILE_EXISTS', `camera ${this.name}: ${first} exists; pass overwrite: true to replace it, or choose another path`,
          { camera: this.name, path: first });
      }
      const indexFile = this.options.indexPath ?? join(indexDirectory(this.template, fields), `${this.name}.${this.streamName}.index.jsonl`);
      try {
        mkdirSync(dirname(indexFile), { recursive: true });
        this.index = new SegmentIndex(indexFile);
        this.index.closeCrashed((p) => this.openPaths.has(p));
        const last = this.index.segments().at(-1);
        if (last && last.durationMs !== null) this.lastEndMs = last.startMs + last.durationMs;
      } catch (cause) {
        throw new RecordError('UNWRITABLE', `camera ${this.name}: cannot use the index ${indexFile}: ${(cause as Error).message}`,
          { camera: this.name, path: indexFile, cause });
      }
      if (this.options.snapshotSeconds !== undefined) {
        this.snapshotTemplate = this.options.snapshotPath ?? join(dirname(indexFile), `${this.name}.${this.streamName}.jpg`);
      }
      if (this.state !== 'starting') throw new RecordError('STATE', `camera ${this.name}: the recorder was stopped while starting`,
        { camera: this.name });
      this.state = 'recording';
      this.applyRetention();
    } catch (e) {
      this.detach();
      this.state = 'stopped';
      throw e;
    }
  }

  /**
   * Stops recording: the open segment is closed (EOS: its file complete and indexed), the recorder stops listening to
   * the camera (which it does not close). Idempotent; 'close' is emitted once.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  /** Counters of the recorder. */
  stats(): RecorderStats {
    return { state: this.state, camera: this.name, path: this.segment?.record.path, ...this.counters };
  }

  private async shutdown(): Promise<void> {
    const was = this.state;
    this.state = 'stopping';
    this.detach();
    if (this.segment) this.closeSegment(this.segment, undefined);
    while (this.closing.size > 0) await Promise.all([...this.closing]);
    await this.snapshotting;
    if (was !== 'new' && was !== 'starting') this.applyRetention();
    this.state = 'stopped';
    this.emit('close', this.closeReason);
  }

  private detach(): void {
    this.camera.off('frame', this.onFrame);
    this.camera.off('reconnecting', this.onOutage);
    this.camera.off('close', this.onCameraClose);
  }

  private checkDirectory(dir: string): void {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch { /* missing */ }
    if (!isDir) {
      throw new RecordError('NO_DIRECTORY', `camera ${this.name}: the directory ${dir} of ${this.template} does not exist (create it first)`,
        { camera: this.name, path: dir });
    }
    // Creating a file is the only test that holds for every case (root ignores mode bits; read-only mounts; ACLs).
    const probe = join(dir, `.wasm-rtsp-probe-${process.pid}-${Date.now()}`);
    try {
      closeSync(openSync(probe, 'wx'));
      unlinkSync(probe);
    } catch (cause) {
      throw new RecordError('UNWRITABLE', `camera ${this.name}: cannot create files in ${dir}: ${(cause as Error).message}`,
        { camera: this.name, path: dir, cause });
    }
  }

  private pickStream(streams: readonly MediaStream[]): MediaStream {
    const takes = (s: MediaStream) => this.container.codecs.includes(frameCodecOf(s.encodingName) ?? '');
    if (this.options.stream !== undefined) {
      const s = streams.find((x) => x.id === this.options.stream);
      if (!s) throw new RecordError('NO_STREAM', `camera ${this.name} has no stream ${this.options.stream} (it has ${streams.map((x) => x.id).join(', ') || 'none'})`,
        { camera: this.name });
      if (!takes(s)) throw this.unsupported(s);
      return s;
    }
    const video = streams.find((s) => s.type === 'video' && ['H264', 'H265'].includes(frameCodecOf(s.encodingName) ?? ''));
    if (video && takes(video)) return video;
    const any = streams.find(takes);
    if (any) return any;
    if (streams[0]) throw this.unsupported(streams[0]);
    throw new RecordError('NO_STREAM', `camera ${this.name} has no stream`, { camera: this.name });
  }

  private unsupported(s: MediaStream): RecordError {
    const path = renderTemplate(this.template, { camera: this.name, stream: `${s.type}${s.id}` }, Date.now(), this.options.utc);
    return new RecordError('UNSUPPORTED_STREAM', `camera ${this.name}: ${this.container.extension} cannot hold stream ${s.id} (${s.encodingName}); ` +
      `it takes ${this.container.codecs.join(', ')}`, { camera: this.name, path, context: { encodingName: s.encodingName } });
  }

  /** The 'reconnecting' event: the session is gone; the open segment ends with its last frame. */
  private outage(): void {
    this.session++;
    this.nextReason = 'reconnect';
    if (this.segment) this.closeSegment(this.segment, undefined);
  }

  /** Every frame of the camera (all streams): the hot path. */
  private frame(frame: Frame): void {
    if (this.state !== 'recording' || frame.stream.id !== this.stream!.id) return;
    this.counters.framesReceived++;
    if (this.snapshotTemplate !== undefined && frame.keyframe && !this.snapshotting && Date.now() >= this.nextSnapshotAt) this.snapshot(frame);
    let seg = this.segment;
    // A new session restarts PTS at 0; 'reconnecting' normally said so already.
    if (seg && frame.pts < seg.lastPts) {
      this.outage();
      seg = undefined;
    }
    if (seg && frame.keyframe) {
      const rotate = this.options.segmentSeconds !== undefined && frame.pts - seg.startPts >= this.options.segmentSeconds * frame.stream.clockRate;
      if (rotate || frame.configChanged) {
        this.nextReason = rotate ? 'rotate' : 'config';
        this.closeSegment(seg, frame.pts);
        seg = undefined;
      }
    }
    if (!seg) {
      if (!frame.keyframe || Date.now() < this.retryAt) {
        this.counters.framesSkipped++;
        return;
      }
      seg = this.openSegment(frame);
      if (!seg) {
        this.counters.framesSkipped++; // no file to write it to: retried at a keyframe after retryMs
        return;
      }
    }
    if (seg.waitKeyframe) {
      if (!frame.keyframe) {
        this.counters.framesDropped++;
        seg.record.droppedFrames++;
        return;
      }
      seg.waitKeyframe = false;
    }
    const data = frame.data;
    this.pushed.data = data;
    this.pushed.pts = frame.pts - seg.startPts;
    this.pushed.stream = frame.stream;
    if (!seg.sink.pushFrame(0, this.pushed)) {
      this.counters.framesDropped++;
      seg.record.droppedFrames++;
      seg.waitKeyframe = true;
      return;
    }
    const r = seg.record;
    r.frames++;
    if (frame.keyframe) r.keyframes++;
    if (frame.discontinuity) r.discontinuities++;
    if (r.frames > 1) seg.lastInterval = frame.pts - seg.lastPts;
    seg.lastPts = frame.pts;
    this.counters.framesWritten++;
    this.counters.bytesWritten += data.byteLength;
  }

  /** Opens a segment starting with `frame` (a keyframe); undefined when its file or pipeline cannot be made. */
  private openSegment(frame: Frame): OpenSegment | undefined {
    const stream = frame.stream;
    const chain = this.chain && this.chain.session === this.session ? this.chain : undefined;
    this.chain = undefined;
    let startMs: number;
    let clock: 'sender' | 'arrival';
    let gapBeforeMs = 0;
    if (chain) {
      // Rotation: this file continues the last one exactly (same session, PTS of the same clock).
      startMs = chain.endMs;
      clock = chain.clock;
    } else {
      clock = frame.wallClockTimeMs !== undefined ? 'sender' : 'arrival';
      startMs = frame.wallClockTimeMs ?? Date.now();
      if (this.lastEndMs !== undefined) gapBeforeMs = Math.max(0, startMs - this.lastEndMs);
    }
    const reason = this.nextReason;
    const fields = { camera: this.name, stream: this.streamName };
    let path = renderTemplate(this.template, fields, startMs, this.options.utc);
    try {
      mkdirSync(dirname(path), { recursive: true });
      // 'wx' reserves the name atomically: a file that appeared meanwhile is never replaced. `overwrite` replaces
      // files from before, never a segment this camera's index still lists (a fixed name with segments).
      const base = path;
      for (let n = 1; ; n++) {
        try {
          closeSync(openSync(path, this.options.overwrite && !this.index!.get(path) ? 'w' : 'wx'));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 10_000) throw e;
          path = numbered(base, n);
        }
      }
    } catch (cause) {
      this.fail(new RecordError('WRITE_FAILED', `camera ${this.name}: cannot create ${path}: ${(cause as Error).message}`,
        { camera: this.name, path, cause }));
      return undefined;
    }
    const config: CodecConfig | undefined = frame.config ?? codecConfigFromSdp(stream);
    let sink: GstSink;
    try {
      const parse = frameFormat(config, stream).recordParse;
      sink = new GstSink({
        branches: [{ stream, input: 'frames', config, ptsOrigin: 'zero', countElement: 'file', tail: { launch: this.tailLaunch(parse, path) } }],
        maxQueueBytes: this.maxQueueBytes,
      });
      this.checkThreads();
    } catch (cause) {
      removeQuietly(path);
      const code = cause instanceof GstError && cause.code === 'GST_UNSUPPORTED' ? 'UNSUPPORTED_STREAM' : 'PIPELINE';
      this.fail(new RecordError(code, `camera ${this.name}: cannot record ${path}: ${(cause as Error).message}`,
        { camera: this.name, path, cause }), code === 'UNSUPPORTED_STREAM');
      return undefined;
    }
    const record: SegmentRecord = {
      path, camera: this.name, stream: this.streamName, state: 'open', start: new Date(startMs).toISOString(), startMs, clock,
      durationMs: null, bytes: null, frames: 0, keyframes: 0, gapBeforeMs, discontinuities: 0, droppedFrames: 0, reason,
    };
    const seg: OpenSegment = { record, sink, session: this.session, startPts: frame.pts, lastPts: frame.pts, lastInterval: 0, waitKeyframe: false, failed: undefined };
    sink.on('error', (e: GstError) => this.segmentError(seg, e));
    sink.on('warning', () => undefined);
    try {
      sink.start();
    } catch (cause) {
      void closeCounted(sink).catch(() => undefined);
      removeQuietly(path);
      this.fail(new RecordError('PIPELINE', `camera ${this.name}: cannot start the pipeline for ${path}: ${(cause as Error).message}`,
        { camera: this.name, path, cause }));
      return undefined;
    }
    this.segment = seg;
    this.openPaths.add(path);
    this.counters.segments++;
    this.nextReason = 'rotate';
    try {
      this.index!.put({ ...record });
    } catch (cause) {
      this.fail(new RecordError('WRITE_FAILED', `camera ${this.name}: cannot write the index ${this.index!.file}: ${(cause as Error).message}`,
        { camera: this.name, path: this.index!.file, cause }), false, false);
    }
    this.emit('segmentOpen', { ...record });
    return seg;
  }

  /**
   * A JPEG of keyframe `frame`: a short pipeline of its own decodes this one frame (an IDR decodes alone) and writes
   * a temporary file, renamed over the snapshot when complete, so a reader never sees half a JPEG. Failures are
   * reported ('SNAPSHOT_FAILED') and leave the recording alone.
   */
  private snapshot(frame: Frame): void {
    this.nextSnapshotAt = Date.now() + this.options.snapshotSeconds! * 1000;
    const timeMs = frame.wallClockTimeMs ?? Date.now();
    const path = renderTemplate(this.snapshotTemplate!, { camera: this.name, stream: this.streamName }, timeMs, this.options.utc);
    const tmp = `${path}.tmp-${process.pid}`;
    let sink: GstSink | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      const config = frame.config ?? codecConfigFromSdp(frame.stream);
      const decode = frameFormat(config, frame.stream).decode;
      sink = new GstSink({
        branches: [{ stream: frame.stream, input: 'frames', config, ptsOrigin: 'zero', countElement: 'file',
          tail: { launch: `${decode ? decode + ' ! ' : ''}videoconvert ! jpegenc snapshot=true ! filesink name=file location=${launchQuote(tmp)} async=false` } }],
      });
      this.checkThreads();
      sink.on('warning', () => undefined);
      let failed: GstError | undefined;
      sink.on('error', (e: GstError) => { failed ??= e; });
      sink.start();
      this.pushed.data = frame.data;
      this.pushed.pts = 0;
      this.pushed.stream = frame.stream;
      sink.pushFrame(0, this.pushed);
      this.snapshotting = closeCounted(sink).then(() => {
        let size = 0;
        try { size = statSync(tmp).size; } catch { /* not written */ }
        if (failed || size === 0) throw failed ?? new Error('no JPEG was written');
        renameSync(tmp, path);
        this.emit('snapshot', { path, timeMs, bytes: size });
      }).catch((cause: unknown) => {
        removeQuietly(tmp);
        this.fail(new RecordError('SNAPSHOT_FAILED', `camera ${this.name}: snapshot ${path} failed: ${(cause as Error)?.message ?? String(cause)}`,
          { camera: this.name, path, cause }), false, false);
      }).finally(() => { this.snapshotting = undefined; });
    } catch (cause) {
      if (sink) void closeCounted(sink).catch(() => undefined);
      removeQuietly(tmp);
      this.fail(new RecordError('SNAPSHOT_FAILED', `camera ${this.name}: snapshot ${path} failed: ${(cause as Error)?.message ?? String(cause)}`,
        { camera: this.name, path, cause }), false, false);
    }
  }

  /**
   * Counts a new pipeline among the live ones (closeCounted stops counting it) and warns once ('warning', RecordError
   * 'THREAD_POOL') when they reach libuv's pool size: a bus poll waiting for a thread cannot see EOS, so a closing segment would wait for its
   * timeout and lose its last fragment. The fix is UV_THREADPOOL_SIZE, set before the pool is first used.
   */
  private checkThreads(): void {
    livePipelines++;
    const threads = Number(process.env.UV_THREADPOOL_SIZE) || DEFAULT_UV_THREADS;
    if (livePipelines < threads || this.threadWarned) return;
    this.threadWarned = true;
    const warning = new RecordError('THREAD_POOL', `camera ${this.name}: ${livePipelines} recording pipelines hold libuv's ${threads} pool threads ` +
      `(one each for its bus); set UV_THREADPOOL_SIZE to at least ${2 * livePipelines + 4} before the pool is first used`, {
      camera: this.name, context: { livePipelines, threads },
    });
    if (this.listenerCount('warning') > 0) this.emit('warning', warning);
  }

  /** The launch text after appsrc: parser, muxer, unbuffered filesink. */
  private tailLaunch(parse: string, path: string): string {
    const file = `filesink name=file location=${launchQuote(path)} buffer-mode=unbuffered sync=false async=false`;
    switch (this.container.extension) {
      case '.mp4':
        // first-moov-then-finalise: fragments while recording (a crash loses only the one being written), and at EOS
        // the file becomes a plain MP4 with a full moov (exact duration, seekable in every player).
        return `${parse ? parse + ' ! ' : ''}mp4mux fragment-duration=${this.fragmentMs} fragment-mode=first-moov-then-finalise ! ${file}`;
      case '.mkv':
        return `${parse ? parse + ' ! ' : ''}matroskamux ! ${file}`;
      case '.ts':
        // SPS/PPS before every keyframe: each file, and each point a crash cut, decodes from its keyframes alone.
        return `${parse ? parse + (parse.startsWith('h26') ? ' config-interval=-1' : '') + ' ! ' : ''}mpegtsmux ! ${file}`;
    }
  }

  /**
   * Ends `seg`: EOS through its pipeline (the muxer writes its last fragment and index), then its 'closed' record.
   * `endPts`: the PTS of the frame that starts the next segment of the same session (exact duration); otherwise the
   * last frame's PTS plus one frame interval.
   */
  private closeSegment(seg: OpenSegment, endPts: number | undefined): void {
    if (this.segment === seg) this.segment = undefined;
    const rate = this.stream!.clockRate;
    const endTicks = endPts ?? seg.lastPts + seg.lastInterval;
    const durationMs = ((endTicks - seg.startPts) * 1000) / rate;
    seg.record.durationMs = durationMs;
    const endMs = seg.record.startMs + durationMs;
    this.lastEndMs = endMs;
    this.chain = endPts !== undefined ? { session: seg.session, endPts, endMs, clock: seg.record.clock } : undefined;
    const done = closeCounted(seg.sink).catch(() => undefined).then(() => this.finishSegment(seg));
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }

  private finishSegment(seg: OpenSegment): void {
    const r = seg.record;
    this.openPaths.delete(r.path);
    let bytes = 0;
    try { bytes = statSync(r.path).size; } catch { /* removed meanwhile */ }
    const record: SegmentRecord = { ...r, state: seg.failed ? 'failed' : 'closed', bytes };
    if (seg.failed) record.error = { code: seg.failed.code, message: seg.failed.message };
    try {
      if (seg.failed && (bytes === 0 || seg.failed.code === 'STREAM_REFUSED')) {
        // No media reached the file (refused caps fail before the first sample; a muxer may have written its header):
        // no empty file is left to look like a recording, and its frames were not written.
        removeQuietly(r.path);
        this.counters.framesWritten -= r.frames;
        this.index!.put({ ...record, state: 'deleted' });
      } else {
        this.index!.put(record);
        this.emit('segment', record);
      }
    } catch (cause) {
      this.fail(new RecordError('WRITE_FAILED', `camera ${this.name}: cannot write the index ${this.index!.file}: ${(cause as Error).message}`,
        { camera: this.name, path: this.index!.file, cause }), false, false);
    }
    this.applyRetention();
  }

  /** A GStreamer error in a segment's pipeline (the sink has stopped it). */
  private segmentError(seg: OpenSegment, e: GstError): void {
    const text = `${e.message} ${String(e.context?.debug ?? '')}`;
    const code = e.element === 'file' ? 'WRITE_FAILED' : /not-negotiated|not negotiated|caps/i.test(text) ? 'STREAM_REFUSED' : 'PIPELINE';
    const error = new RecordError(code, `camera ${this.name}: recording ${seg.record.path} failed: ${e.message}`,
      { camera: this.name, path: seg.record.path, cause: e, context: { element: e.element } });
    seg.failed = error;
    // A segment that fails while it closes (its EOS) does not hold up the one recording now.
    const current = this.segment === seg;
    if (current) this.closeSegment(seg, undefined);
    this.fail(error, code === 'STREAM_REFUSED', current);
  }

  /**
   * Reports `error`. A segment failure (`segment`) makes the recorder wait `retryMs` before it opens a new file; a
   * fatal one stops it; an index write failure only reports.
   */
  private fail(error: RecordError, fatal = false, segment = true): void {
    this.counters.errors++;
    if (segment) {
      this.retryAt = Date.now() + this.retryMs;
      this.nextReason = 'resume';
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (fatal) {
      this.closeReason = error;
      void this.stop();
    }
  }

  /** Deletes what the retention limits say, never the open segment nor one being closed. */
  private applyRetention(): void {
    const { retainSeconds, retainBytes } = this.options;
    if (!this.index || (retainSeconds === undefined && retainBytes === undefined)) return;
    let openBytes = 0;
    for (const p of this.openPaths) {
      try { openBytes += statSync(p).size; } catch { /* not yet */ }
    }
    const doomed = segmentsToDelete(this.index.segments().filter((s) => !this.openPaths.has(s.path)), { retainSeconds, retainBytes }, Date.now(), openBytes);
    if (doomed.length === 0) return;
    try {
      for (const s of doomed) {
        removeQuietly(s.path);
        this.index.put({ ...s, state: 'deleted' });
        this.counters.deleted++;
        this.emit('deleted', { ...s, state: 'deleted' });
      }
      this.index.compact();
    } catch (cause) {
      this.fail(new RecordError('WRITE_FAILED', `camera ${this.name}: retention could not update ${this.index.file}: ${(cause as Error).message}`,
        { camera: this.name, path: this.index.file, cause }), false, false);
    }
  }
}

/** A camera name from its URL: host_port_path with unsafe characters replaced. */
function defaultName(url: string): string {
  try {
    const u = new URL(url);
    return safeName(`${u.hostname}${u.port ? '_' + u.port : ''}${u.pathname.replace(/\//g, '_')}`.replace(/_+$/, ''));
  } catch {
    return 'camera';
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}
