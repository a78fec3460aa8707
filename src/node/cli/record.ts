// The command's recordings (--record, or `record:` in a config file): a Recorder per camera (src/node/record), so
// each camera records alone — its own pipelines, its own files, its own errors — and what the command checks before
// any camera connects, reports in --json and /status, and counts in the summary.
//
// Before a camera connects, its template's extension, directory and first file are checked (checkRecording): a
// mistake there is the user's, reported at once with exit 2, not an hour later. Once the camera plays, its Recorder
// starts; an error that ends the recording (a stream the container refuses) fails that camera alone.

import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Recorder, RecordError, checkTemplate, fixedDirectory, renderTemplate, type RecorderStats, type SegmentRecord } from '../record/index.js';
import { TemplateError } from '../record/template.js';
import { loadConfig, type CameraSpec } from '../fleet/config.js';
import { parseCommandLine } from './args.js';
import type { Camera } from './camera.js';

/**
 * RecordError codes that are the user's to fix before starting (template, directory, existing file): at start-up
 * they end the command with exit 2, naming camera and path.
 */
export const START_UP_RECORD_CODES: ReadonlySet<string> = new Set(['BAD_OPTION', 'BAD_TEMPLATE', 'BAD_EXTENSION', 'NO_DIRECTORY', 'UNWRITABLE', 'FILE_EXISTS']);

/** The camera's name in its recording's files and errors ({camera}). */
export function recordName(spec: CameraSpec): string {
  return spec.record?.camera ?? spec.name;
}

/**
 * Checks a camera's recording before it connects: the template (fields, extension), its directory (exists, a file
 * can be created in it: a probe file, since root ignores mode bits) and, for a template without {stream}, that the
 * first file is free unless `overwrite`. Returns the RecordError, or undefined when all is well. (With {stream} in
 * the template the first name is known once the camera answered: its Recorder checks then.)
 */
export function checkRecording(spec: CameraSpec, nowMs = Date.now()): RecordError | undefined {
  const record = spec.record;
  if (!record) return undefined;
  const camera = recordName(spec);
  try {
    checkTemplate(record.path);
  } catch (e) {
    if (e instanceof TemplateError) return new RecordError(e.code, `camera ${camera}: ${e.message}`, { camera, path: record.path });
    throw e;
  }
  const dir = fixedDirectory(record.path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch { /* missing */ }
  if (!isDir) {
    return new RecordError('NO_DIRECTORY', `camera ${camera}: the directory ${dir} of ${record.path} does not exist (create it first)`, { camera, path: dir });
  }
  const probe = join(dir, `.wasm-rtsp-probe-${process.pid}-${nowMs}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (cause) {
    return new RecordError('UNWRITABLE', `camera ${camera}: cannot create files in ${dir}: ${(cause as Error).message}`, { camera, path: dir, cause });
  }
  if (!record.overwrite && !record.path.includes('{stream}')) {
    const first = renderTemplate(record.path, { camera, stream: '' }, nowMs);
    let exists = false;
    try {
      exists = statSync(first).isFile();
    } catch { /* free */ }
    if (exists) {
      return new RecordError('FILE_EXISTS', `camera ${camera}: ${first} exists; pass --overwrite (overwrite: true in a config file) to replace it, ` +
        'or choose another path', { camera, path: first });
    }
  }
  return undefined;
}

/** A segment of this run as --json lists it. */
export interface SegmentSummary {
  path: string;
  stream: string;
  /** 'open' only for a segment a shutdown could not close in time. */
  state: SegmentRecord['state'];
  start: string;
  durationMs: number | null;
  bytes: number | null;
  frames: number;
  keyframes: number;
  gapBeforeMs: number;
  reason: SegmentRecord['reason'];
  error?: { code: string; message: string };
}

/** A camera's recording in the --json summary: the recorder's counters (RecorderStats) and this run's segments. */
export interface RecordingSummary extends Omit<RecorderStats, 'camera' | 'path' | 'segments'> {
  /** The template it records to ({camera} filled in). */
  template: string;
  /** Its index file (JSON lines), once the recorder started. */
  index: string | null;
  /** The stream recorded (`video0`), once the recorder started. */
  stream: string | null;
  /** Segments opened since the recorder started (RecorderStats.segments). */
  segmentsOpened: number;
  /** The segments this run wrote, in order, with their last state (from the recorder's events: its index's records). */
  segments: SegmentSummary[];
}

/** A camera's recorder with what the command keeps of it: this run's segments, in order. */
export class CameraRecording {
  readonly recorder: Recorder;
  private readonly segments = new Map<string, SegmentRecord>();

  constructor(readonly camera: Camera, readonly template: string) {
    const r = camera.spec.record!;
    this.recorder = new Recorder(camera.rtsp, {
      path: r.path, name: recordName(camera.spec), overwrite: r.overwrite,
      ...(r.segmentMs !== undefined ? { segmentSeconds: r.segmentMs / 1000 } : {}),
      ...(r.retainMs !== undefined ? { retainSeconds: r.retainMs / 1000 } : {}),
      ...(r.retainBytes !== undefined ? { retainBytes: r.retainBytes } : {}),
      ...(r.snapshotIntervalMs !== undefined ? { snapshotSeconds: r.snapshotIntervalMs / 1000 } : {}),
      ...(r.snapshotPath !== undefined ? { snapshotPath: r.snapshotPath } : {}),
    });
    const keep = (s: SegmentRecord) => this.segments.set(s.path, s);
    this.recorder.on('segmentOpen', keep);
    this.recorder.on('segment', keep);
    this.recorder.on('deleted', (s: SegmentRecord) => {
      if (this.segments.has(s.path)) keep(s);
    });
  }

  /** The file being written now, if any. */
  get currentFile(): string | undefined {
    return this.recorder.stats().path;
  }

  /** What --json says about the recording. */
  summary(): RecordingSummary {
    const { camera: _camera, path: _path, segments: segmentsOpened, ...counters } = this.recorder.stats();
    const stream = this.recorder.recordedStream;
    return {
      template: this.template, index: this.recorder.indexPath ?? null, stream: stream ? `${stream.type}${stream.id}` : null,
      ...counters, segmentsOpened,
      segments: [...this.segments.values()].map((s) => ({
        path: s.path, stream: s.stream, state: s.state, start: s.start, durationMs: s.durationMs, bytes: s.bytes, frames: s.frames,
        keyframes: s.keyframes, gapBeforeMs: s.gapBeforeMs, reason: s.reason, ...(s.error ? { error: s.error } : {}),
      })),
    };
  }
}

/** Most libuv pool threads the command asks for (libuv's own limit is 1024). */
export const MAX_THREAD_POOL_SIZE = 256;
/** Set in the environment of the command re-run with its pool sized (see threadPoolSizeFor): it is not sized again. */
export const POOL_SIZED_ENV = 'WASM_RTSP_POOL_SIZED';

/**
 * The libuv pool size a run needs, or undefined when it needs nothing (no recording, the user set UV_THREADPOOL_SIZE,
 * a worker or an already re-run command, a command line or file that does not parse: the run reports that). Each
 * recording pipeline's bus poll holds one pool thread while it runs, and a camera has two for a moment while a
 * segment closes: 2 × recording cameras + 4 (Node's default 4 for everything else: DNS lookups, fs), at most
 * MAX_THREAD_POOL_SIZE.
 */
export function threadPoolSizeFor(argv: string[], env: NodeJS.ProcessEnv): number | undefined {
  if ((env.UV_THREADPOOL_SIZE ?? '') !== '' || env[POOL_SIZED_ENV] !== undefined) return undefined;
  let recording = 0;
  try {
    const a = parseCommandLine(argv, env);
    if (a === 'help' || a === 'version' || a.workerOf) return undefined;
    if (a.configFile !== undefined) recording = loadConfig(a.configFile, { env }).cameras.filter((c) => c.record).length;
    else if (a.record !== undefined) recording = a.demo ? 1 : a.urls.length;
  } catch {
    return undefined;
  }
  return recording === 0 ? undefined : Math.min(MAX_THREAD_POOL_SIZE, 2 * recording + 4);
}
