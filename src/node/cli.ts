#!/usr/bin/env node
// The `wasm-rtsp` command: RTSP cameras into GStreamer through the wasm core.
//
//   wasm-rtsp <rtsp-url>... [--transport tcp|udp] [--pipeline '<launch after appsrc>' | --record out.mp4]
//             [--duration seconds] [--timeout seconds] [--pool-limit MB] [--json] [--json-progress]
//   wasm-rtsp --demo          the local GStreamer test server, ten seconds of decoded H.264
//
// Each camera is on its own: one that fails is reported and the others play on. The pipeline needs every stream's
// caps (from the SDP) before it starts, so it is built once every camera has answered DESCRIBE or failed, or when
// --timeout runs out, with the cameras that answered; a camera that answers later gets a pipeline of its own.
//
// Exit codes: 0 stopped by the user (Ctrl-C, SIGTERM) or --duration with at least one camera played, 1 unexpected
// error, 2 bad usage (options, URLs, memory that cannot fit), 3 no camera played (connect, auth, stream failures),
// 4 GStreamer failure (missing, bad pipeline, error on the bus).

import { readFileSync } from 'node:fs';
import { EventEmitter, setMaxListeners } from 'node:events';
import { createCore } from './core.js';
import type { Core } from '../core/core.js';
import { RtspClient, type ClientStats, type MediaStream } from './rtsp/client.js';
import type { PoolStats } from '../core/pool.js';
import type { RtpPacket } from './rtsp/packet.js';
import { createGstSink, gstAvailable, type GstBranch, type GstSink, type GstSinkStats } from './gst/index.js';
import { startDemoServer, type DemoServer } from './demo/server.js';
import { parseRtspUrl, redactUrl } from '../core/rtsp/url.js';
import { DEMO_SECONDS, parseCommandLine, planCores, UsageError, USAGE, type Args } from './cli-args.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_RTSP = 3;
export const EXIT_GSTREAMER = 4;
/** How often --json-progress prints and the TTY status line refreshes. */
const PROGRESS_INTERVAL_MS = 1000;
/** How long the shutdown waits for TEARDOWN replies (the requests are sent at once either way). */
const TEARDOWN_WAIT_MS = 500;
/** How long the shutdown waits for the pipeline to drain (EOS) before stopping it. */
const EOS_WAIT_MS = 3000;

/** The error that decided the exit code, in --json. `camera` is the URL without credentials. */
export interface SummaryError {
  code: string;
  message: string;
  camera?: string;
}

/** The final summary (`--json`): per camera, per stream, the pools, the sink, the exit code and its reason. */
export interface Summary {
  durationS: number;
  /** 'duration', 'SIGINT', 'SIGTERM', 'cameras-ended', 'no-camera', 'gstreamer-error', 'usage', 'error'. */
  exitReason: string;
  exitCode: number;
  error?: SummaryError;
  cameras: CameraSummary[];
  streams: Array<{
    url: string;
    id: number;
    type: string;
    encodingName: string;
    /** Packets that arrived: pushed + every drop. */
    received: number;
    pushed: number;
    bytes: number;
    lost: number;
    reordered: number;
    duplicates: number;
    dropped: Record<string, number>;
    /** Buffers that reached the pipeline's counted sink (decoded frames with the default pipeline). */
    sinkBuffers?: number;
  }>;
  pools: Array<{ url: string } & PoolStats>;
  sink?: GstSinkStats;
  /** One entry per pipeline when late cameras got pipelines of their own (sink is the first). */
  sinks?: GstSinkStats[];
  process: { rssBytes: number; heapUsedBytes: number };
}

/** A camera in the summary. */
export interface CameraSummary {
  url: string;
  index: number;
  state: CameraState;
  played: boolean;
  reconnects: number;
  /** Which pipeline its streams went to (index into `sinks`), absent when it never got one. */
  pipeline?: number;
  error?: SummaryError;
}

/** Where a camera is: connecting (first attempt), playing, reconnecting, failed (gave up), stopped (by us). */
export type CameraState = 'connecting' | 'ready' | 'playing' | 'reconnecting' | 'failed' | 'stopped';

/** A camera of the command: one RTSP session on its own core slot, with its state and its errors. */
class Camera extends EventEmitter {
  readonly label: string;
  state: CameraState = 'connecting';
  played = false;
  reconnects = 0;
  lastError: unknown;
  private readonly client: RtspClient;

  constructor(readonly index: number, url: string, core: Core, args: Args, duplicate: boolean) {
    super();
    // The URL without credentials names the camera everywhere; the same URL twice gets its position too.
    this.label = String(parseRtspUrl(url)) + (duplicate ? ` (#${index + 1})` : '');
    this.client = new RtspClient(url, {
      transport: args.transport, core, poolLimitBytes: args.poolLimitBytes,
      requestTimeoutMs: args.timeoutMs, connectTimeoutMs: args.timeoutMs,
    });
    this.client.on('error', (e) => this.fail(e));
    this.client.on('close', () => {
      if (this.state === 'playing') this.fail(new Error('the server ended the session'));
    });
  }

  get streams(): readonly MediaStream[] {
    return this.client.streams;
  }

  /** OPTIONS/DESCRIBE/SETUP; 'ready' (streams known) or 'failed'. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
      this.setState('ready', `${this.streams.length} stream${this.streams.length === 1 ? '' : 's'}: ${this.streams.map((s) => s.encodingName).join(', ')}`);
    } catch (e) {
      this.fail(e);
    }
  }

  async play(): Promise<void> {
    if (this.state !== 'ready') return;
    try {
      await this.client.play();
      this.played = true;
      this.setState('playing', 'playing');
    } catch (e) {
      this.fail(e);
    }
  }

  onPacket(handler: (p: RtpPacket) => void): void {
    this.client.on('packet', handler);
  }

  stats(): ClientStats {
    return this.client.stats();
  }

  async stop(signal: AbortSignal): Promise<void> {
    const was = this.state;
    if (was !== 'failed') this.state = 'stopped';
    await this.client.close({ signal });
  }

  private fail(e: unknown): void {
    if (this.state === 'stopped' || this.state === 'failed') return;
    this.lastError = e;
    this.setState('failed', describe(e));
  }

  private setState(state: CameraState, reason: string): void {
    this.state = state;
    this.emit('state', state, reason);
  }
}

/** A GStreamer pipeline with the cameras whose streams it takes (branch `firstBranch + stream id`). */
interface Pipeline {
  sink: GstSink;
  cameras: Array<{ camera: Camera; firstBranch: number }>;
}

/**
 * The hot path of one camera into its pipeline: a view of wasm memory into the stream's appsrc (which copies it),
 * then the slot goes back to the pool. A refused push is counted by the sink (queue near its bound, sink stopped).
 */
function connectPacketsToPipeline(camera: Camera, sink: GstSink, firstBranch: number): void {
  camera.onPacket((p: RtpPacket) => {
    sink.push(firstBranch + p.stream.id, p);
  });
}

function errorOf(e: unknown, camera?: Camera): SummaryError {
  const code = e instanceof UsageError ? 'USAGE'
    : e instanceof Error && typeof (e as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : 'ERROR';
  return { code, message: e instanceof Error ? e.message : String(e), ...(camera ? { camera: camera.label } : {}) };
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let text = e.message;
  // GStreamer's message is often "Internal data stream error."; the cause (not-negotiated, …) is in the debug text.
  const debug = (e as { context?: { debug?: unknown } }).context?.debug;
  if (typeof debug === 'string' && debug !== '') text += ` (${debug.replace(/\s+/g, ' ').trim()})`;
  const code = (e as { code?: unknown }).code;
  return code !== undefined ? `${text} [${String(code)}]` : text;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command; returns the exit code (the caller exits). */
export async function run(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  let args: Args | 'help' | 'version';
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    io.err.write(`wasm-rtsp: ${(e as Error).message}\n${USAGE}\n`);
    if (argv.includes('--json')) io.out.write(JSON.stringify({ exitReason: 'usage', exitCode: EXIT_USAGE, error: errorOf(e) }, null, 2) + '\n');
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.out.write(USAGE + '\n');
    return EXIT_OK;
  }
  if (args === 'version') {
    io.out.write(`wasm-rtsp ${version()}\n`);
    return EXIT_OK;
  }
  const a = args;
  const log = (line: string) => io.err.write(`wasm-rtsp: ${line}\n`);
  const gst = gstAvailable();
  if (!gst.ok) {
    log(`GStreamer is not available: ${gst.message}`);
    if (a.json) io.out.write(JSON.stringify({ exitReason: 'gstreamer-error', exitCode: EXIT_GSTREAMER, error: { code: 'GST_UNAVAILABLE', message: gst.message } }, null, 2) + '\n');
    return EXIT_GSTREAMER;
  }

  let demo: DemoServer | undefined;
  const cameras: Camera[] = [];
  const pipelines: Pipeline[] = [];
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let progressTimer: ReturnType<typeof setInterval> | undefined;
  // Ctrl-C / SIGTERM: everything waiting (connects, requests, the first-answer wait) gives up at once.
  const stopController = new AbortController();
  let stopRequested: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stopRequested = (reason) => {
    if (!stopController.signal.aborted) stopController.abort(reason);
    resolve(reason);
  }));
  // Every camera listens on it (cameras × a few listeners is no leak).
  setMaxListeners(0, stopController.signal);
  const onSigint = () => stopRequested('SIGINT');
  const onSigterm = () => stopRequested('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let exitCode = EXIT_OK;
  let exitReason = 'error';
  let error: SummaryError | undefined;
  const started = Date.now();
  const userStopped = (r: string) => r === 'SIGINT' || r === 'SIGTERM';

  try {
    let urls = a.urls;
    let durationS = a.durationS;
    if (a.demo) {
      if (!a.json) log('demo — starting the local GStreamer RTSP test server…');
      demo = await startDemoServer();
      urls = [demo.url('/h264')];
      durationS ??= DEMO_SECONDS;
      if (!a.json) log(`demo — playing ${urls[0]} over ${a.transport} for ${durationS} s`);
    }
    // wasm memory sized for every camera's pool; cameras grouped into cores when one 4 GiB memory is not enough.
    const plan = planCores(urls.length, a.poolLimitBytes);
    const cores: Core[] = [];
    for (const c of plan.cores) {
      try {
        cores.push(await createCore({ memoryBytes: c.memoryBytes }));
      } catch (e) {
        throw new UsageError(`cannot reserve ${(c.memoryBytes / 2 ** 20).toFixed(0)} MiB of wasm memory for ${c.cameras} camera(s) ` +
          `(${(e as Error).message}): lower --pool-limit or run fewer cameras per process`, { option: '--pool-limit' });
      }
    }
    let next = 0;
    plan.cores.forEach((c, ci) => {
      for (let i = 0; i < c.cameras; i++, next++) {
        const plain = String(parseRtspUrl(urls[next]!));
        const duplicate = urls.filter((u) => String(parseRtspUrl(u)) === plain).length > 1;
        cameras.push(new Camera(next, urls[next]!, cores[ci]!, a, duplicate));
      }
    });
    for (const cam of cameras) {
      cam.on('state', (state: CameraState, reason: string) => {
        log(`${cam.label}: ${state === 'failed' ? 'failed: ' : state === 'ready' ? 'connected, ' : ''}${state === 'failed' || state === 'ready' ? reason : state}`);
        if (state === 'failed' && !error) error = errorOf(cam.lastError, cam);
      });
    }

    // Wait for every camera's first answer (or failure), at most --timeout, then build the pipeline.
    await Promise.race([Promise.all(cameras.map((c) => c.connect())), stopped]);
    if (stopController.signal.aborted) {
      exitReason = await stopped;
      return (exitCode = EXIT_OK);
    }
    const ready = cameras.filter((c) => c.state === 'ready');
    if (ready.length === 0) {
      exitReason = 'no-camera';
      return (exitCode = EXIT_RTSP);
    }
    try {
      pipelines.push(buildPipeline(ready, a, pipelines.length));
    } catch (e) {
      log(`GStreamer: ${describe(e)}`);
      error = errorOf(e);
      exitReason = 'gstreamer-error';
      return (exitCode = EXIT_GSTREAMER);
    }
    for (const p of pipelines) {
      p.sink.on('error', (e) => {
        const cam = cameraOfElement(p, (e as { element?: string }).element);
        log(`${cam ? cam.label + ': ' : ''}GStreamer: ${describe(e)}`);
        if (!error || exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
        exitCode = EXIT_GSTREAMER;
        stopRequested('gstreamer-error');
      });
      p.sink.on('warning', (e) => log(`GStreamer warning: ${describe(e)}`));
      p.sink.start();
    }
    await Promise.race([Promise.all(ready.map((c) => c.play())), stopped]);
    // Every camera on its own: the run goes on while one plays; it ends when none is left.
    const checkEnded = () => {
      if (cameras.every((c) => c.state === 'failed' || c.state === 'stopped')) stopRequested('cameras-ended');
    };
    for (const cam of cameras) cam.on('state', checkEnded);
    checkEnded();
    lastRate = { t: Date.now(), packets: 0, bytes: 0 };
    if (io.err.isTTY && !a.json && !a.jsonProgress) {
      statusTimer = setInterval(() => io.err.write('\r' + statusLine(cameras, started) + '\x1b[K'), PROGRESS_INTERVAL_MS);
    }
    if (a.jsonProgress) progressTimer = setInterval(() => io.out.write(progressLines(cameras, pipelines, started)), PROGRESS_INTERVAL_MS);
    const timer = durationS === undefined ? undefined : setTimeout(() => stopRequested('duration'), durationS * 1000);
    exitReason = await stopped;
    if (timer) clearTimeout(timer);
    if (exitCode === EXIT_GSTREAMER) return exitCode;
    if (userStopped(exitReason)) return (exitCode = EXIT_OK);
    const played = cameras.some((c) => c.played);
    if (!played) return (exitCode = EXIT_RTSP);
    // Ended by --duration: fine. All cameras ended by themselves: a failure if any of them failed.
    return (exitCode = exitReason === 'cameras-ended' && cameras.some((c) => c.state === 'failed') ? EXIT_RTSP : EXIT_OK);
  } catch (e) {
    if (e instanceof UsageError) {
      log(e.message);
      exitReason = 'usage';
      error = errorOf(e);
      return (exitCode = EXIT_USAGE);
    }
    log(describe(e));
    error = errorOf(e);
    return (exitCode = EXIT_ERROR);
  } finally {
    if (statusTimer) {
      clearInterval(statusTimer);
      io.err.write('\n');
    }
    if (progressTimer) clearInterval(progressTimer);
    // TEARDOWN first (no new packets; sent at once, replies awaited briefly), then drain the pipelines, then stop.
    const teardownWait = AbortSignal.timeout(TEARDOWN_WAIT_MS);
    await Promise.all(cameras.map((c) => c.stop(teardownWait)));
    await Promise.all(pipelines.map((p) => p.sink.close({ timeoutMs: userStopped(exitReason) ? Math.min(EOS_WAIT_MS, 800) : EOS_WAIT_MS })));
    const summary = summarize(cameras, pipelines, started, exitReason, exitCode, error);
    if (a.json) io.out.write(a.jsonProgress ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : JSON.stringify(summary, null, 2) + '\n');
    else if (cameras.some((c) => c.streams.length > 0)) io.err.write(humanSummary(summary));
    await demo?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

/** One pipeline with a branch per stream of each camera (the binding's bus polling holds one thread per pipeline). */
function buildPipeline(cams: Camera[], a: Args, index: number): Pipeline {
  const branches: GstBranch[] = [];
  const members: Pipeline['cameras'] = [];
  for (const camera of cams) {
    members.push({ camera, firstBranch: branches.length });
    for (const stream of camera.streams) {
      branches.push({ stream, tail: a.record ? 'record' : a.pipeline ? { launch: a.pipeline } : 'decode' });
    }
  }
  // A pipeline built later (for a camera that answered late) records into a file of its own.
  const location = a.record && index > 0 ? a.record.replace(/(\.[^./\\]*)?$/, (ext) => `-${index}${ext}`) : a.record;
  const sink = createGstSink({ branches, maxQueueBytes: a.queueLimitBytes, record: location ? { location } : undefined });
  for (const m of members) connectPacketsToPipeline(m.camera, sink, m.firstBranch);
  return { sink, cameras: members };
}

/** The camera whose branch holds element `src<N>`/`sink<N>`, if the element is one of those. */
function cameraOfElement(p: Pipeline, element: string | undefined): Camera | undefined {
  const m = /^(?:src|sink)(\d+)$/.exec(element ?? '');
  if (!m) return undefined;
  const branch = Number(m[1]);
  let found: Camera | undefined;
  for (const c of p.cameras) if (c.firstBranch <= branch) found = c.camera;
  return found;
}

function statusLine(cameras: Camera[], started: number): string {
  let packets = 0;
  let bytes = 0;
  let lost = 0;
  let inUse = 0;
  let highWater = 0;
  for (const c of cameras) {
    const st = c.stats();
    for (const s of st.streams) {
      packets += s.packets;
      bytes += s.bytes;
      lost += s.lost;
    }
    inUse += st.pool?.inUse ?? 0;
    highWater += st.pool?.highWater ?? 0;
  }
  const playing = cameras.filter((c) => c.state === 'playing').length;
  const rate = rateOf(packets, bytes);
  const mem = process.memoryUsage();
  const secs = (Date.now() - started) / 1000;
  return `${secs.toFixed(0)} s  ${playing}/${cameras.length} playing  ${rate.pps.toFixed(0)} pkt/s  ${rate.mbps.toFixed(2)} Mbit/s  lost ${lost}  ` +
    `pool ${inUse}/${highWater} slots  heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB  rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB`;
}

let lastRate = { t: 0, packets: 0, bytes: 0 };
function rateOf(packets: number, bytes: number): { pps: number; mbps: number } {
  const t = Date.now();
  const dt = (t - lastRate.t) / 1000;
  const r = lastRate.t === 0 || dt <= 0 ? { pps: 0, mbps: 0 } : { pps: (packets - lastRate.packets) / dt, mbps: ((bytes - lastRate.bytes) * 8) / dt / 1e6 };
  lastRate = { t, packets, bytes };
  return r;
}

/** One line of --json-progress: a camera's state and counters at time `t` (seconds since start). */
export interface ProgressLine {
  type: 'progress';
  t: number;
  camera: string;
  index: number;
  state: CameraState;
  packets: number;
  /** Buffers that reached the counted sink (decoded frames with the default pipeline); absent without a pipeline. */
  frames?: number;
  lost: number;
  /** Packets dropped, every reason (pool exhausted, parse errors, queue full, …). */
  drops: number;
  reconnects: number;
}

function progressLines(cameras: Camera[], pipelines: Pipeline[], started: number): string {
  const t = Math.round((Date.now() - started) / 100) / 10;
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
    let frames: number | undefined;
    for (const p of pipelines) {
      const m = p.cameras.find((x) => x.camera === cam);
      if (!m) continue;
      const b = p.sink.stats().branches;
      for (let i = 0; i < cam.streams.length; i++) {
        const branch = b[m.firstBranch + i];
        if (!branch) continue;
        drops += branch.queueDroppedPackets + branch.rejectedPackets;
        if (branch.sinkBuffers !== undefined) frames = (frames ?? 0) + branch.sinkBuffers;
      }
    }
    const line: ProgressLine = {
      type: 'progress', t, camera: cam.label, index: cam.index, state: cam.state, packets,
      ...(frames !== undefined ? { frames } : {}), lost, drops, reconnects: cam.reconnects,
    };
    out += JSON.stringify(line) + '\n';
  }
  return out;
}

function summarize(cameras: Camera[], pipelines: Pipeline[], started: number, exitReason: string, exitCode: number,
  error: SummaryError | undefined): Summary {
  const sinkStats = pipelines.map((p) => p.sink.stats());
  const streams: Summary['streams'] = [];
  const pools: Summary['pools'] = [];
  const cameraSummaries: CameraSummary[] = [];
  for (const c of cameras) {
    const st = c.stats();
    if (st.pool) pools.push({ url: c.label, ...st.pool });
    const pi = pipelines.findIndex((p) => p.cameras.some((m) => m.camera === c));
    const first = pi >= 0 ? pipelines[pi]!.cameras.find((m) => m.camera === c)!.firstBranch : 0;
    cameraSummaries.push({
      url: c.label, index: c.index, state: c.state, played: c.played, reconnects: c.reconnects,
      ...(pi >= 0 ? { pipeline: pi } : {}),
      ...(c.lastError !== undefined ? { error: errorOf(c.lastError, c) } : {}),
    });
    for (const s of st.streams) {
      const b = pi >= 0 ? sinkStats[pi]!.branches[first + s.id] : undefined;
      const dropped: Record<string, number> = {
        ...s.dropped,
        queueFull: s.dropped.queueFull + (b?.queueDroppedPackets ?? 0),
        sinkClosed: b?.rejectedPackets ?? 0,
      };
      const pushed = b?.pushedPackets ?? 0;
      streams.push({
        url: c.label,
        id: s.id,
        type: s.type,
        encodingName: s.encodingName,
        received: pushed + Object.values(dropped).reduce((x, n) => x + n, 0),
        pushed,
        bytes: s.bytes,
        lost: s.lost,
        reordered: s.reordered,
        duplicates: s.duplicates,
        dropped,
        sinkBuffers: b?.sinkBuffers,
      });
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

function humanSummary(s: Summary): string {
  const lines = [`wasm-rtsp: ${s.exitReason} after ${s.durationS.toFixed(1)} s (exit ${s.exitCode})`];
  for (const c of s.cameras) {
    lines.push(`  ${c.url}: ${c.played ? 'played' : 'never played'}, ${c.state}, ${c.reconnects} reconnects` +
      (c.error ? `, last error: ${c.error.message} [${c.error.code}]` : ''));
  }
  for (const st of s.streams) {
    const drops = Object.entries(st.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    lines.push(`  ${redactUrl(st.url)} #${st.id} ${st.type} ${st.encodingName}: ${st.received} packets (${(st.bytes / 1e6).toFixed(1)} MB), pushed ${st.pushed}, lost ${st.lost}, reordered ${st.reordered}, dropped: ${drops}` +
      (st.sinkBuffers !== undefined ? `, ${st.sinkBuffers} buffers reached the sink` : ''));
  }
  for (const p of s.pools) lines.push(`  pool ${p.url}: high-water ${p.highWater} slots (${(p.bytesHighWater / 1024).toFixed(0)} KiB) of ${(p.limitBytes / 2 ** 20).toFixed(1)} MiB, exhausted ${p.exhaustions}`);
  lines.push(`  process: rss ${(s.process.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(s.process.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`);
  return lines.join('\n') + '\n';
}

// Run when executed directly (the package's bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:cli\.(?:js|ts)|wasm-rtsp)$/.test(invoked)) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(EXIT_ERROR);
    },
  );
}
