// What `wasm-rtsp` reports: the exit codes, the final summary (human, or --json) with its per-camera and per-stream
// counters, the --json-progress lines, the TTY status line, and how an error reads in all of them.

import type { PoolStats } from '../../core/pool.js';
import type { GstSinkStats } from '../gst/index.js';
import { UsageError } from './args.js';
import type { Camera, CameraState, Pipeline } from './camera.js';
import type { RecordingSummary } from './record.js';

/** Exit code: stopped by the user (Ctrl-C, SIGTERM) or --duration with at least one camera played. */
export const EXIT_OK = 0;
/** Exit code: an unexpected error. */
export const EXIT_ERROR = 1;
/** Exit code: bad usage (options, URLs, memory that cannot fit). */
export const EXIT_USAGE = 2;
/** Exit code: no camera played (or all gave up, one failing). */
export const EXIT_RTSP = 3;
/** Exit code: GStreamer failure (missing, bad pipeline, error on the bus). */
export const EXIT_GSTREAMER = 4;

/** The error that decided the exit code, in --json. `camera` is the URL without credentials. */
export interface SummaryError {
  code: string;
  message: string;
  camera?: string;
  /** The file concerned (a recording's RecordError). */
  path?: string;
}

/** The final summary (`--json`): per camera, per stream, the pools, the sink, the exit code and its reason. */
export interface Summary {
  durationS: number;
  /** 'duration', 'SIGINT', 'SIGTERM', 'cameras-ended', 'gstreamer-error', 'usage', 'error'. */
  exitReason: string;
  exitCode: number;
  error?: SummaryError;
  cameras: CameraSummary[];
  streams: Array<{
    url: string;
    /** The camera's name. */
    camera: string;
    id: number;
    type: string;
    encodingName: string;
    /** What the stream's branch takes: access units depayloaded in wasm, or RTP packets. */
    input: 'frames' | 'packets';
    /** RTP packets that arrived (counted before any drop). */
    packets: number;
    /** Units (frames for a frame stream, else packets) that arrived: pushed + every drop. */
    received: number;
    pushed: number;
    bytes: number;
    lost: number;
    reordered: number;
    duplicates: number;
    /** Units dropped, by reason (frames for a frame stream: loss, waitingForKeyframe, queueFull, …). */
    dropped: Record<string, number>;
    /** A frame stream's packets dropped before depayloading (duplicates, pool exhausted, parse errors, …). */
    packetDrops?: Record<string, number>;
    /** Buffers that reached the pipeline's counted sink (decoded frames with the default pipeline). */
    sinkBuffers?: number;
  }>;
  pools: Array<{ url: string; camera: string } & PoolStats>;
  sink?: GstSinkStats;
  /** One entry per pipeline when late cameras got pipelines of their own (sink is the first). */
  sinks?: GstSinkStats[];
  process: { rssBytes: number; heapUsedBytes: number };
}

/** A camera in the summary. */
export interface CameraSummary {
  /** Its name (the config file's, or the URL without credentials for a command-line camera). */
  name: string;
  /** The URL without credentials. */
  url: string;
  /** The worker process that ran it (--workers). */
  worker?: number;
  /** A reload removed it (or replaced it: the new one is listed too). */
  removed?: boolean;
  index: number;
  state: CameraState;
  played: boolean;
  reconnects: number;
  /** Which pipeline its streams went to (index into `sinks`), absent when it never got one. */
  pipeline?: number;
  /** Its recording (--record): the recorder's counters and the segments this run wrote. */
  recording?: RecordingSummary;
  error?: SummaryError;
}

/** The error as the summary reports it: a stable code, the message, the camera's name. */
export function errorOf(e: unknown, camera?: Camera): SummaryError {
  const code = e instanceof UsageError ? 'USAGE'
    : e instanceof Error && typeof (e as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : 'ERROR';
  const { path, camera: named } = (e ?? {}) as { path?: unknown; camera?: unknown };
  return {
    code, message: messageOf(e), ...(camera ? { camera: camera.name } : typeof named === 'string' ? { camera: named } : {}),
    ...(typeof path === 'string' ? { path } : {}),
  };
}

/** The error's message, with GStreamer's debug text: its message is often just "Internal data stream error." while
 * the cause (not-negotiated, …) is in the debug text. */
export function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const debug = (e as { context?: { debug?: unknown } }).context?.debug;
  return typeof debug === 'string' && debug !== '' ? `${e.message} (${debug.replace(/\s+/g, ' ').trim()})` : e.message;
}

/** The error for a log line: its message and, when it has one, its code. */
export function describe(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code !== undefined ? `${messageOf(e)} [${String(code)}]` : messageOf(e);
}

/** One line of --json-progress: a camera's state and counters at time `t` (seconds since start). */
export interface ProgressLine {
  type: 'progress';
  t: number;
  /** The camera's name. */
  camera: string;
  /** The worker process that runs it (--workers). */
  worker?: number;
  index: number;
  state: CameraState;
  packets: number;
  /** Buffers that reached the counted sink (decoded frames with the default pipeline); absent without a pipeline. */
  frames?: number;
  lost: number;
  /** Packets dropped, every reason (pool exhausted, parse errors, queue full, before its pipeline, …). */
  drops: number;
  /** Sessions that came back after a failure. */
  reconnects: number;
  /** Failed attempts and failed sessions. */
  failures: number;
}

/** The --json-progress lines of one tick: one per camera. */
export function progressLines(cameras: Camera[], pipelines: Pipeline[], started: number, worker?: number): string {
  const t = Math.round((Date.now() - started) / 100) / 10;
  // Each pipeline's stats once per call, and each camera's branches found through one map: read per camera, a
  // pipeline of 256 branches was read 256 times a second (three GStreamer properties per branch each time), the
  // costliest thing the command did at 256 cameras with --json-progress.
  const fed = new Map<Camera, Array<{ branches: GstSinkStats['branches']; firstBranch: number }>>();
  for (const p of pipelines) {
    if (p.cameras.length === 0) continue;
    const branches = p.sink.stats().branches;
    for (const m of p.cameras) {
      let list = fed.get(m.camera);
      if (list === undefined) fed.set(m.camera, (list = []));
      list.push({ branches, firstBranch: m.firstBranch });
    }
  }
  let out = '';
  for (const cam of cameras) {
    const st = cam.stats();
    let packets = 0;
    let lost = 0;
    let drops = 0;
    for (const s of st.streams) {
      packets += s.packets;
      lost += s.lost;
      drops += Object.values(s.dropped).reduce((x, n) => x + n, 0);
    }
    drops += cam.beforePipelineDrops;
    for (const n of cam.beforeLatestKeyframeDrops.values()) drops += n;
    let frames: number | undefined;
    for (const m of fed.get(cam) ?? []) {
      for (let i = 0; i < cam.streams.length; i++) {
        const branch = m.branches[m.firstBranch + i];
        if (!branch) continue;
        drops += branch.queueDroppedPackets + branch.rejectedPackets;
        if (branch.sinkBuffers !== undefined) frames = (frames ?? 0) + branch.sinkBuffers;
      }
    }
    const line: ProgressLine = {
      type: 'progress', t, camera: cam.name, index: cam.index, ...(worker !== undefined ? { worker } : {}), state: cam.state, packets,
      ...(frames !== undefined ? { frames } : {}), lost, drops, reconnects: st.reconnects, failures: st.failures,
    };
    out += JSON.stringify(line) + '\n';
  }
  return out;
}

/** The final summary, once the cameras and pipelines have stopped. */
export function summarize(cameras: Camera[], pipelines: Pipeline[], started: number, exitReason: string, exitCode: number,
  error: SummaryError | undefined, worker?: number): Summary {
  const sinkStats = pipelines.map((p) => p.sink.stats());
  const streams: Summary['streams'] = [];
  const pools: Summary['pools'] = [];
  const cameraSummaries: CameraSummary[] = [];
  for (const c of cameras) {
    const st = c.stats();
    if (st.pool) pools.push({ url: c.url, camera: c.name, ...st.pool });
    const pi = pipelines.findIndex((p) => p.cameras.some((m) => m.camera === c));
    const first = pi >= 0 ? pipelines[pi]!.cameras.find((m) => m.camera === c)!.firstBranch : 0;
    cameraSummaries.push({
      name: c.name, url: c.url, index: c.index, state: c.state, played: c.played, reconnects: st.reconnects,
      ...(worker !== undefined ? { worker } : {}), ...(c.removed ? { removed: true } : {}),
      ...(pi >= 0 ? { pipeline: pi } : {}),
      ...(c.recording ? { recording: c.recording.summary() } : {}),
      ...(c.lastError !== undefined ? { error: errorOf(c.lastError, c) } : {}),
    });
    for (const s of st.streams) {
      const now = pi >= 0 ? sinkStats[pi]!.branches[first + s.id] : undefined;
      const past = c.pastBranches.get(s.id);
      // The current pipeline's counts plus those of pipelines the camera left (one stopped by another camera's error).
      const b = now && past ? {
        ...now, pushedPackets: now.pushedPackets + past.pushedPackets, pushedFrames: now.pushedFrames + past.pushedFrames,
        rejectedPackets: now.rejectedPackets + past.rejectedPackets, queueDroppedPackets: now.queueDroppedPackets + past.queueDroppedPackets,
        sinkBuffers: now.sinkBuffers === undefined ? undefined : now.sinkBuffers + past.sinkBuffers,
      } : now ?? (past ? { ...past, sinkBuffers: past.sinkBuffers } : undefined);
      // Camera-level (not per stream): counted on its first stream.
      const beforePipeline = s === st.streams[0] ? c.beforePipelineDrops : 0;
      // Frames kept before the pipeline existed that a newer keyframe made useless (its branch starts at a keyframe).
      const beforeLatestKeyframe = c.beforeLatestKeyframeDrops.get(s.id) ?? 0;
      const sinkDrops = { queueFull: b?.queueDroppedPackets ?? 0, sinkClosed: b?.rejectedPackets ?? 0, beforePipeline, beforeLatestKeyframe };
      const base = {
        url: c.url, camera: c.name, id: s.id, type: s.type, encodingName: s.encodingName, packets: s.packets, bytes: s.bytes,
        lost: s.lost, reordered: s.reordered, duplicates: s.duplicates, sinkBuffers: b?.sinkBuffers,
      };
      if (c.records) {
        streams.push(recordedStream(c, s, base));
      } else if (c.wentAsFrames(s.id) && s.frames) {
        // Frames balance in frames: each one the depayloader completed or dropped is pushed or counted as dropped.
        const f = s.frames;
        const dropped: Record<string, number> = { ...f.dropped, ...sinkDrops, queueFull: sinkDrops.queueFull + f.queueFull };
        const pushed = b?.pushedFrames ?? 0;
        streams.push({ ...base, input: 'frames', received: pushed + sum(dropped), pushed, dropped, packetDrops: { ...s.dropped } });
      } else {
        const dropped: Record<string, number> = { ...s.dropped, ...sinkDrops, queueFull: s.dropped.queueFull + sinkDrops.queueFull };
        const pushed = b?.pushedPackets ?? 0;
        streams.push({ ...base, input: 'packets', received: pushed + sum(dropped), pushed, dropped });
      }
    }
  }
  const mem = process.memoryUsage();
  return {
    durationS: (Date.now() - started) / 1000,
    exitReason,
    exitCode,
    ...(error && exitCode !== EXIT_OK ? { error } : {}),
    cameras: cameraSummaries,
    streams,
    pools,
    sink: sinkStats[0],
    ...(sinkStats.length > 1 ? { sinks: sinkStats } : {}),
    process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
  };
}

/**
 * A recording camera's stream in the summary. The recorded one: frames written into files are `pushed`; frames the
 * recorder did not write are dropped by reason (`beforeRecording`: before its recorder started; `recorderSkipped`:
 * waiting for a keyframe at the start, after an outage or a failed file; `queueFull`; `recordFailed`: written into a
 * file that was removed because its stream was refused). The other streams are not recorded: `notRecorded`.
 */
function recordedStream(c: Camera, s: ReturnType<Camera['stats']>['streams'][number], base: Omit<Summary['streams'][number], 'input' | 'received' | 'pushed' | 'dropped'>): Summary['streams'][number] {
  const rec = c.recording?.recorder;
  const st = rec?.stats();
  const recorded = rec?.recordedStream?.id === s.id && st !== undefined;
  if (s.frames) {
    const f = s.frames;
    if (recorded) {
      const failed = Math.max(0, st.framesReceived - st.framesWritten - st.framesSkipped - st.framesDropped);
      const dropped: Record<string, number> = {
        ...f.dropped, queueFull: f.queueFull + st.framesDropped, beforeRecording: Math.max(0, f.delivered - st.framesReceived),
        recorderSkipped: st.framesSkipped, recordFailed: failed,
      };
      return { ...base, input: 'frames', received: st.framesWritten + sum(dropped), pushed: st.framesWritten, dropped, packetDrops: { ...s.dropped } };
    }
    const dropped: Record<string, number> = { ...f.dropped, queueFull: f.queueFull, notRecorded: f.delivered };
    return { ...base, input: 'frames', received: sum(dropped), pushed: 0, dropped, packetDrops: { ...s.dropped } };
  }
  const dropped: Record<string, number> = { ...s.dropped };
  dropped.notRecorded = Math.max(0, s.packets - sum(dropped));
  return { ...base, input: 'packets', received: sum(dropped), pushed: 0, dropped };
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((x, n) => x + n, 0);
}

/** The final summary for a person (stderr, without --json). */
export function humanSummary(s: Summary): string {
  const lines = [`wasm-rtsp: ${s.exitReason} after ${s.durationS.toFixed(1)} s (exit ${s.exitCode})`];
  for (const c of s.cameras) {
    lines.push(`  ${c.name}: ${c.played ? 'played' : 'never played'}, ${c.state}, ${c.reconnects} reconnects` +
      (c.error ? `, last error: ${c.error.message} [${c.error.code}]` : ''));
    const r = c.recording;
    if (r) {
      const closed = r.segments.filter((x) => x.state === 'closed');
      lines.push(`  ${c.name}: recorded ${r.framesWritten} frames (${(r.bytesWritten / 1e6).toFixed(1)} MB) in ${closed.length} closed segment${closed.length === 1 ? '' : 's'}` +
        `${r.segments.length > 0 ? `, last ${r.segments.at(-1)!.path}` : ''}; index ${r.index ?? 'none'}${r.errors ? `; ${r.errors} errors` : ''}`);
    }
  }
  for (const st of s.streams) {
    const drops = Object.entries(st.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const unit = st.input === 'frames' ? 'frames' : 'packets';
    lines.push(`  ${st.camera} #${st.id} ${st.type} ${st.encodingName}: ${st.packets} packets (${(st.bytes / 1e6).toFixed(1)} MB), lost ${st.lost}, reordered ${st.reordered}; ` +
      `${st.received} ${unit}, pushed ${st.pushed}, dropped: ${drops}` +
      (st.sinkBuffers !== undefined ? `, ${st.sinkBuffers} buffers reached the sink` : ''));
  }
  for (const p of s.pools) lines.push(`  pool ${p.camera}: high-water ${p.highWater} slots (${(p.bytesHighWater / 1024).toFixed(0)} KiB) of ${(p.limitBytes / 2 ** 20).toFixed(1)} MiB, exhausted ${p.exhaustions}`);
  lines.push(`  process: rss ${(s.process.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(s.process.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`);
  return lines.join('\n') + '\n';
}
