#!/usr/bin/env node
// The `wasm-rtsp` command: RTSP cameras into GStreamer through the wasm core.
//
//   wasm-rtsp <rtsp-url>... [--transport tcp|udp] [--pipeline '<launch after appsrc>' | --record out.mp4]
//             [--duration s] [--timeout s] [--pool-limit MB] [--retries N|inf] [--json] [--json-progress] …
//   wasm-rtsp --demo          the local GStreamer test server, ten seconds of decoded H.264
// (the options: USAGE in cli-args.ts; the behaviour: README, "The command").
//
// Frame mode by default: H.264/H.265/raw/AAC are depayloaded in wasm and pushed one access unit per buffer
// (`video/x-h264,stream-format=avc,alignment=au` with codec_data, …), so GStreamer runs no RTP depayloader and no
// start-code scan; a stream whose SDP lacks its codec configuration, or any stream with --rtp, goes as RTP packets.
//
// Each camera is an RtspCamera: it connects, fails, retries and reconnects on its own, into the same pipeline
// branch, and its sessions are torn down on every exit path. The pipeline needs every stream's caps (from the SDP)
// before it starts, so it is built once every camera has played or failed once, or when --timeout runs out, with the
// cameras that answered (their first packets wait in their pools); a camera that answers later gets a pipeline of
// its own. Ctrl-C/SIGTERM abort everything at once through one AbortSignal.
//
// Exit codes: 0 stopped by the user (Ctrl-C, SIGTERM) or --duration with at least one camera played, 1 unexpected
// error, 2 bad usage (options, URLs, memory that cannot fit), 3 no camera played (or all gave up, one failing),
// 4 GStreamer failure (missing, bad pipeline, error on the bus).

import { readFileSync } from 'node:fs';
import { EventEmitter, setMaxListeners } from 'node:events';
import { createCore } from './core.js';
import type { Core } from '../core/core.js';
import type { ClientStats, MediaStream } from './rtsp/client.js';
import { RtspCamera, type ReconnectedEvent, type ReconnectingEvent } from './rtsp/camera.js';
import type { PoolStats } from '../core/pool.js';
import type { RetainedPacket, RtpPacket } from './rtsp/packet.js';
import { codecConfigFromSdp, frameCodecOf, type Frame, type FrameStats, type RetainedFrame } from './rtsp/frames.js';
import { createGstSink, frameFormat, gstAvailable, type GstBranch, type GstSink, type GstSinkStats } from './gst/index.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { startDemoServer, type DemoServer } from './demo/server.js';
import { parseRtspUrl, redactUrl } from '../core/rtsp/url.js';
import { DEMO_SECONDS, parseCommandLine, planCores, UsageError, USAGE, type Args } from './cli-args.js';
import { runRelay } from './relay/cli.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_RTSP = 3;
export const EXIT_GSTREAMER = 4;
/** How often --json-progress prints and the TTY status line refreshes. */
const PROGRESS_INTERVAL_MS = 1000;
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
  /** 'duration', 'SIGINT', 'SIGTERM', 'cameras-ended', 'gstreamer-error', 'usage', 'error'. */
  exitReason: string;
  exitCode: number;
  error?: SummaryError;
  cameras: CameraSummary[];
  streams: Array<{
    url: string;
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

/** Where a camera is: connecting (first attempt), playing, reconnecting (after a failure), failed (gave up),
 * stopped (by us). */
export type CameraState = 'connecting' | 'playing' | 'reconnecting' | 'failed' | 'stopped';

/** Per-stream counters of one camera over all its sessions so far. */
type StreamTotals = ClientStats['streams'][number];

/** Packets a camera keeps (retained in its pool) between its first PLAY and its pipeline's start. */
const MAX_PENDING_PACKETS = 4096;

/** Frames a camera keeps (copied into its core, within the retained-frame budget) before its pipeline's start. */
const MAX_PENDING_FRAMES = 512;

/**
 * Where a camera's media goes: packets and frames on the hot path (valid during the call), and those retained
 * between the first PLAY and the pipeline's start.
 */
interface MediaTarget {
  packet(p: RtpPacket): void;
  retained(p: RetainedPacket): void;
  frame(f: Frame): void;
  retainedFrame(f: RetainedFrame): void;
}

/**
 * A camera of the command: an RtspCamera (connect, play, reconnect with backoff, media timeout, TEARDOWN on every
 * exit) plus what the command needs around it: a name, a state for progress lines, per-reason counters summed over
 * sessions, and the packets of its first moments kept until its pipeline exists.
 */
class Camera extends EventEmitter {
  readonly label: string;
  readonly rtsp: RtspCamera;
  state: CameraState = 'connecting';
  played = false;
  lastError: unknown;
  /** Streams of the first session (stable across reconnects: RtspCamera ends a camera whose SDP changes). */
  streams: readonly MediaStream[] = [];
  /** Resolves once the first attempt has ended: playing, or failed. */
  readonly firstAnswer: Promise<void>;
  private answered!: () => void;
  private target: MediaTarget | undefined;
  private readonly pending: RetainedPacket[] = [];
  private readonly pendingFrames: RetainedFrame[] = [];
  /** Per stream id: whether it goes as frames (decided once from its SDP; ids are stable across sessions). */
  private readonly frameInput = new Map<number, boolean>();
  private readonly rtpOnly: boolean;
  /** Packets that arrived before the pipeline and did not fit in `pending`, or whose session ended before it. */
  beforePipelineDrops = 0;
  /** Per stream id, the counters of ended sessions (each session's client starts from zero). */
  private readonly past = new Map<number, StreamTotals>();
  private readonly folded = new WeakSet<ClientStats>();

  constructor(readonly index: number, url: string, core: Core, args: Args, signal: AbortSignal, duplicate: boolean) {
    super();
    this.rtpOnly = args.rtp;
    this.rtsp = new RtspCamera(url, {
      core, transport: args.transport, poolLimitBytes: args.poolLimitBytes, signal,
      // Frame mode: depayload in wasm only the streams that go as frames; a branch starts at a keyframe.
      frames: args.rtp ? undefined : { waitForKeyframe: true, streams: (s) => this.usesFrames(s) },
      tls: args.tlsFingerprint || args.tlsCaFile ? {
        fingerprint256: args.tlsFingerprint,
        ca: args.tlsCaFile ? readFileSync(args.tlsCaFile, 'utf8') : undefined,
      } : undefined,
      requestTimeoutMs: args.timeoutMs, connectTimeoutMs: args.timeoutMs, mediaTimeoutMs: args.mediaTimeoutMs,
      initialDelayMs: args.retryDelayMs, maxDelayMs: args.retryMaxDelayMs,
      maxAttempts: args.retries === Infinity ? Infinity : args.retries + 1,
    });
    // The URL without credentials names the camera everywhere; the same URL twice gets its position too.
    this.label = this.rtsp.url + (duplicate ? ` (#${index + 1})` : '');
    this.firstAnswer = new Promise((r) => (this.answered = r));
    this.rtsp.on('packet', (p: RtpPacket) => this.onPacket(p));
    if (!args.rtp) this.rtsp.on('frame', (f: Frame) => this.onFrame(f));
    this.rtsp.on('error', (e: unknown) => (this.lastError = e));
    this.rtsp.on('reconnecting', (e: ReconnectingEvent) => {
      this.fold();
      this.lastError = e.reason;
      this.setState('reconnecting', `${describe(e.reason)}; retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(1)} s`);
      this.answered();
    });
    this.rtsp.on('reconnected', (e: ReconnectedEvent) => {
      this.setState('playing', `reconnected after ${e.attempts} attempt${e.attempts === 1 ? '' : 's'} (down ${(e.downtimeMs / 1000).toFixed(1)} s)`);
    });
    this.rtsp.on('fallback', (e: { reason: unknown }) => {
      this.fold();
      this.emit('note', `no RTP over UDP (${describe(e.reason)}): TCP from now on`);
    });
    this.rtsp.on('close', (reason: unknown) => {
      this.fold();
      this.dropPending();
      if (reason !== undefined) {
        this.lastError = reason;
        // The line names the camera already.
        const text = describe(reason);
        this.setState('failed', text.startsWith(`${this.rtsp.url}: `) ? text.slice(this.rtsp.url.length + 2) : text);
      }
      this.answered();
    });
  }

  /** Starts the camera; the first PLAY goes out at once, its packets wait (bounded) for attach(). */
  start(): void {
    this.rtsp.start().then((streams) => {
      this.streams = streams;
      this.played = true;
      this.emit('firstPlay');
      this.setState('playing', `playing, ${streams.length} stream${streams.length === 1 ? '' : 's'}: ${streams.map((s) => s.encodingName).join(', ')}`);
      this.answered();
    }, () => { /* ended before it played: 'close' said why */ });
  }

  /**
   * Whether `stream` goes to its branch as frames: frame mode is on, the wasm depayloader knows the codec and the SDP
   * gives what the appsrc caps need (codec_data); otherwise its RTP packets go, for GStreamer to depayload.
   */
  usesFrames(stream: MediaStream): boolean {
    let yes = this.frameInput.get(stream.id);
    if (yes === undefined) {
      yes = false;
      if (!this.rtpOnly && frameCodecOf(stream.encodingName) !== undefined) {
        try {
          frameFormat(codecConfigFromSdp(stream), stream);
          yes = true;
        } catch { /* no codec configuration in the SDP: RTP */ }
      }
      this.frameInput.set(stream.id, yes);
    }
    return yes;
  }

  /** Whether stream `id` was decided to go as frames (see usesFrames). */
  wentAsFrames(id: number): boolean {
    return this.frameInput.get(id) ?? false;
  }

  /** From now on media goes to `target`; what was kept since the first PLAY goes first, in order. */
  attach(target: MediaTarget): void {
    this.target = target;
    for (const f of this.pendingFrames.splice(0)) {
      try {
        target.retainedFrame(f);
      } catch {
        this.beforePipelineDrops++;
      }
      try { f.release(); } catch { /* released with its core block */ }
    }
    for (const r of this.pending.splice(0)) {
      try {
        target.retained(r);
      } catch {
        this.beforePipelineDrops++; // its session ended before the pipeline (the lease is gone with the pool)
      }
      try { r.release(); } catch { /* released with its pool */ }
    }
  }

  private onFrame(f: Frame): void {
    if (!this.usesFrames(f.stream)) return;
    if (this.target) {
      this.target.frame(f);
      return;
    }
    if (this.pendingFrames.length >= MAX_PENDING_FRAMES) {
      this.beforePipelineDrops++;
      return;
    }
    try {
      this.pendingFrames.push(f.retain());
    } catch {
      this.beforePipelineDrops++; // the retained-frame budget is full
    }
  }

  private onPacket(p: RtpPacket): void {
    if (this.usesFrames(p.stream)) return; // its frames go instead
    if (this.target) {
      this.target.packet(p);
    } else if (this.pending.length < MAX_PENDING_PACKETS) {
      this.pending.push(p.retain());
    } else {
      this.beforePipelineDrops++;
    }
  }

  private dropPending(): void {
    this.beforePipelineDrops += this.pending.length + this.pendingFrames.length;
    for (const r of [...this.pending.splice(0), ...this.pendingFrames.splice(0)]) {
      try { r.release(); } catch { /* released with its pool */ }
    }
  }

  /** Adds the last ended session's counters to `past`, once per session. */
  private fold(): void {
    const cs = this.rtsp.stats().client;
    if (!cs || this.folded.has(cs) || this.rtsp.currentClient) return;
    this.folded.add(cs);
    for (const s of cs.streams) {
      const p = this.past.get(s.id);
      this.past.set(s.id, p ? addStreamStats(p, s) : { ...s, dropped: { ...s.dropped }, ...(s.frames ? { frames: addFrameStats(s.frames, zeroFrames(s.frames)) } : {}) });
    }
  }

  /** Counters over every session so far, per stream, and the current (else last) pool. */
  stats(): { streams: StreamTotals[]; pool?: PoolStats; reconnects: number; failures: number } {
    const cam = this.rtsp.stats();
    const live = this.rtsp.currentClient?.stats();
    const ids = new Set([...this.past.keys(), ...(live?.streams.map((s) => s.id) ?? [])]);
    const streams: StreamTotals[] = [];
    for (const id of [...ids].sort((x, y) => x - y)) {
      const p = this.past.get(id);
      const l = live?.streams.find((s) => s.id === id);
      streams.push(p && l ? addStreamStats(p, l) : (p ?? l)!);
    }
    return { streams, pool: live?.pool ?? cam.client?.pool, reconnects: cam.reconnects, failures: cam.failures };
  }

  /** Ends the camera: a connect or retry wait ends at once, a set-up session gets its TEARDOWN. */
  async stop(): Promise<void> {
    if (this.state !== 'failed') this.state = 'stopped';
    await this.rtsp.close();
    this.fold();
    this.dropPending();
  }

  private setState(state: CameraState, reason: string): void {
    if (this.state === 'stopped') return;
    this.state = state;
    this.emit('state', state, reason);
  }
}

function addCounts<T extends Record<string, number>>(a: T, b: T): T {
  const sum = { ...a } as Record<string, number>;
  for (const [k, n] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + n;
  return sum as T;
}

function addFrameStats(a: FrameStats & { queueFull: number }, b: FrameStats & { queueFull: number }): FrameStats & { queueFull: number } {
  const { dropped: da, ...ca } = a;
  const { dropped: db, ...cb } = b;
  return { ...addCounts(ca, cb), dropped: addCounts(da, db) };
}

function addStreamStats(a: StreamTotals, b: StreamTotals): StreamTotals {
  const frames = a.frames && b.frames ? addFrameStats(a.frames, b.frames) : (b.frames ?? a.frames);
  return {
    ...b, packets: a.packets + b.packets, bytes: a.bytes + b.bytes, lost: a.lost + b.lost, reordered: a.reordered + b.reordered,
    duplicates: a.duplicates + b.duplicates, dropped: addCounts(a.dropped, b.dropped), ...(frames ? { frames } : {}),
  };
}

/** Resolves when `p` does or `signal` aborts, whichever is first. */
function raceAbort(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** A GStreamer pipeline with the cameras whose streams it takes (branch `firstBranch + stream id`). */
interface Pipeline {
  sink: GstSink;
  cameras: Array<{ camera: Camera; firstBranch: number }>;
}

/** A copy of `f` with every counter 0 (the first fold of a session's frame counters copies them through it). */
function zeroFrames(f: FrameStats & { queueFull: number }): FrameStats & { queueFull: number } {
  const zero = <T extends Record<string, number>>(o: T) => Object.fromEntries(Object.keys(o).map((k) => [k, 0])) as T;
  const { dropped, ...counts } = f;
  return { ...zero(counts), dropped: zero(dropped) } as FrameStats & { queueFull: number };
}

/**
 * The hot path of one camera into its pipeline: a view of wasm memory (a frame, or a packet) into the stream's
 * appsrc, which copies it; then the slot goes back to the pool. A refused push is counted by the sink (queue near
 * its bound, sink stopped).
 */
function connectToPipeline(camera: Camera, sink: GstSink, firstBranch: number): void {
  camera.attach({
    packet: (p: RtpPacket) => {
      sink.push(firstBranch + p.stream.id, p);
    },
    frame: (f: Frame) => {
      sink.pushFrame(firstBranch + f.stream.id, f);
    },
    // Media of the first moments, kept until the pipeline existed.
    retained: (p: RetainedPacket) => {
      sink.pushBytes(firstBranch + p.stream.id, p.lease.view);
    },
    retainedFrame: (f: RetainedFrame) => {
      sink.pushFrame(firstBranch + f.stream.id, f);
    },
  });
}

function errorOf(e: unknown, camera?: Camera): SummaryError {
  const code = e instanceof UsageError ? 'USAGE'
    : e instanceof Error && typeof (e as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : 'ERROR';
  return { code, message: messageOf(e), ...(camera ? { camera: camera.label } : {}) };
}

/** The error's message, with GStreamer's debug text: its message is often just "Internal data stream error." while
 * the cause (not-negotiated, …) is in the debug text. */
function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const debug = (e as { context?: { debug?: unknown } }).context?.debug;
  return typeof debug === 'string' && debug !== '' ? `${e.message} (${debug.replace(/\s+/g, ' ').trim()})` : e.message;
}

function describe(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code !== undefined ? `${messageOf(e)} [${String(code)}]` : messageOf(e);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command; returns the exit code (the caller exits). */
export async function run(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (argv[0] === 'relay') return runRelay(argv.slice(1), io);
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
  let metrics: { port: number; close(): Promise<void> } | undefined;
  // Ctrl-C / SIGTERM: everything waiting (connects, requests, the first-answer wait) gives up at once.
  const stopController = new AbortController();
  let stopRequested: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stopRequested = (reason) => {
    if (!stopController.signal.aborted) stopController.abort(reason);
    resolve(reason);
  }));
  // Every camera listens on it (cameras × a few listeners is no leak).
  setMaxListeners(0, stopController.signal);
  // A second signal while shutting down (TEARDOWN replies, the pipeline drain) leaves at once.
  const onSignal = (name: string) => () => {
    if (stopController.signal.aborted) {
      log(`${name} again: exiting without waiting for the shutdown`);
      process.exit(EXIT_OK);
    }
    stopRequested(name);
  };
  const onSigint = onSignal('SIGINT');
  const onSigterm = onSignal('SIGTERM');
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
        cameras.push(new Camera(next, urls[next]!, cores[ci]!, a, stopController.signal, duplicate));
      }
    });
    for (const cam of cameras) {
      cam.on('state', (state: CameraState, reason: string) => {
        // Printed with or without a terminal: a camera that stalls or drops is visible in any log.
        log(`${cam.label}: ${state === 'playing' ? reason : `${state}: ${reason}`}`);
        if (state === 'failed' && !error) error = errorOf(cam.lastError, cam);
      });
      cam.on('note', (text: string) => log(`${cam.label}: ${text}`));
    }
    const startPipeline = (p: Pipeline) => {
      p.sink.on('error', (e) => {
        const cam = cameraOfElement(p, (e as { element?: string }).element);
        log(`${cam ? cam.label + ': ' : ''}GStreamer: ${describe(e)}`);
        if (exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
        exitCode = EXIT_GSTREAMER;
        stopRequested('gstreamer-error');
      });
      p.sink.on('warning', (e) => log(`GStreamer warning: ${describe(e)}`));
      p.sink.start();
      pipelines.push(p);
    };
    if (a.metricsPort !== undefined) {
      const registry = createMetrics({
        cameras: () => cameras.map((c) => ({ camera: c.label, stats: c.stats(), reconnects: c.stats().reconnects })),
        sinks: () => pipelines.map((p) => p.sink.stats()),
      });
      try {
        metrics = await serveMetrics(registry, { port: a.metricsPort, host: a.metricsHost });
      } catch (e) {
        throw new UsageError(`--metrics-port ${a.metricsPort}: cannot listen on ${a.metricsHost} (${(e as Error).message})`, { option: '--metrics-port' });
      }
      if (!a.json) log(`metrics on http://${a.metricsHost}:${metrics.port}/metrics`);
    }
    for (const cam of cameras) cam.start();
    lastRate = { t: Date.now(), packets: 0, bytes: 0 };
    if (io.err.isTTY && !a.json && !a.jsonProgress) {
      statusTimer = setInterval(() => io.err.write('\r' + statusLine(cameras, started) + '\x1b[K'), PROGRESS_INTERVAL_MS);
    }
    if (a.jsonProgress) progressTimer = setInterval(() => io.out.write(progressLines(cameras, pipelines, started)), PROGRESS_INTERVAL_MS);

    // The pipeline needs every stream's caps: wait (at most --timeout) until every camera has answered or failed once,
    // then build it with the cameras that answered. The others keep retrying; each gets a pipeline of its own when it
    // answers.
    const firstWait = AbortSignal.any([stopController.signal, AbortSignal.timeout(a.timeoutMs)]);
    await raceAbort(Promise.all(cameras.map((c) => c.firstAnswer)).then(() => {}), firstWait);
    if (stopController.signal.aborted) {
      exitReason = await stopped;
      return (exitCode = EXIT_OK);
    }
    const ready = cameras.filter((c) => c.streams.length > 0);
    for (const cam of cameras) {
      if (ready.includes(cam) || cam.state === 'failed') continue;
      log(`${cam.label}: not playing (${cam.lastError !== undefined ? describe(cam.lastError) : `no answer within --timeout ${a.timeoutMs / 1000} s`}); ` +
        'it keeps trying and gets a pipeline of its own when it answers');
      cam.once('firstPlay', () => {
        if (stopController.signal.aborted) return;
        try {
          startPipeline(buildPipeline([cam], a, pipelines.length));
        } catch (e) {
          log(`${cam.label}: GStreamer: ${describe(e)}`);
          if (exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
          exitCode = EXIT_GSTREAMER;
          stopRequested('gstreamer-error');
        }
      });
    }
    if (ready.length > 0) {
      try {
        startPipeline(buildPipeline(ready, a, pipelines.length));
      } catch (e) {
        log(`GStreamer: ${describe(e)}`);
        error = errorOf(e);
        exitReason = 'gstreamer-error';
        return (exitCode = EXIT_GSTREAMER);
      }
    }
    // Every camera on its own: the run goes on while one may still play; it ends when all have given up.
    const checkEnded = () => {
      if (cameras.every((c) => c.state === 'failed' || c.state === 'stopped')) stopRequested('cameras-ended');
    };
    for (const cam of cameras) cam.on('state', checkEnded);
    checkEnded();
    // --duration counts from here: the pipeline is up (or the wait for first answers is over).
    const timer = durationS === undefined ? undefined : setTimeout(() => stopRequested('duration'), durationS * 1000);
    exitReason = await stopped;
    if (timer) clearTimeout(timer);
    if (exitCode === EXIT_GSTREAMER) return exitCode;
    if (userStopped(exitReason)) return (exitCode = EXIT_OK);
    const played = cameras.some((c) => c.played);
    if (!played) {
      const failed = cameras.find((c) => c.lastError !== undefined);
      if (!error && failed) error = errorOf(failed.lastError, failed);
      return (exitCode = EXIT_RTSP);
    }
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
    // TEARDOWN first (no new packets), then drain the pipelines, then stop them.
    await Promise.all(cameras.map((c) => c.stop()));
    await Promise.all(pipelines.map((p) => p.sink.close({ timeoutMs: userStopped(exitReason) ? Math.min(EOS_WAIT_MS, 800) : EOS_WAIT_MS })));
    const summary = summarize(cameras, pipelines, started, exitReason, exitCode, error);
    if (a.json) io.out.write(a.jsonProgress ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : JSON.stringify(summary, null, 2) + '\n');
    else if (cameras.some((c) => c.streams.length > 0)) io.err.write(humanSummary(summary));
    await metrics?.close();
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
      branches.push({
        stream, input: camera.usesFrames(stream) ? 'frames' : 'packets',
        tail: a.record ? 'record' : a.pipeline ? { launch: a.pipeline } : 'decode',
      });
    }
  }
  // A pipeline built later (for a camera that answered late) records into a file of its own.
  const location = a.record && index > 0 ? a.record.replace(/(\.[^./\\]*)?$/, (ext) => `-${index}${ext}`) : a.record;
  const sink = createGstSink({ branches, maxQueueBytes: a.queueLimitBytes, record: location ? { location } : undefined });
  for (const m of members) connectToPipeline(m.camera, sink, m.firstBranch);
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
  /** Packets dropped, every reason (pool exhausted, parse errors, queue full, before its pipeline, …). */
  drops: number;
  /** Sessions that came back after a failure. */
  reconnects: number;
  /** Failed attempts and failed sessions. */
  failures: number;
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
    drops += cam.beforePipelineDrops;
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
      ...(frames !== undefined ? { frames } : {}), lost, drops, reconnects: st.reconnects, failures: st.failures,
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
      url: c.label, index: c.index, state: c.state, played: c.played, reconnects: st.reconnects,
      ...(pi >= 0 ? { pipeline: pi } : {}),
      ...(c.lastError !== undefined ? { error: errorOf(c.lastError, c) } : {}),
    });
    for (const s of st.streams) {
      const b = pi >= 0 ? sinkStats[pi]!.branches[first + s.id] : undefined;
      // Camera-level (not per stream): counted on its first stream.
      const beforePipeline = s === st.streams[0] ? c.beforePipelineDrops : 0;
      const sinkDrops = { queueFull: b?.queueDroppedPackets ?? 0, sinkClosed: b?.rejectedPackets ?? 0, beforePipeline };
      const base = {
        url: c.label, id: s.id, type: s.type, encodingName: s.encodingName, packets: s.packets, bytes: s.bytes,
        lost: s.lost, reordered: s.reordered, duplicates: s.duplicates, sinkBuffers: b?.sinkBuffers,
      };
      if (c.wentAsFrames(s.id) && s.frames) {
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

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((x, n) => x + n, 0);
}

function humanSummary(s: Summary): string {
  const lines = [`wasm-rtsp: ${s.exitReason} after ${s.durationS.toFixed(1)} s (exit ${s.exitCode})`];
  for (const c of s.cameras) {
    lines.push(`  ${c.url}: ${c.played ? 'played' : 'never played'}, ${c.state}, ${c.reconnects} reconnects` +
      (c.error ? `, last error: ${c.error.message} [${c.error.code}]` : ''));
  }
  for (const st of s.streams) {
    const drops = Object.entries(st.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const unit = st.input === 'frames' ? 'frames' : 'packets';
    lines.push(`  ${redactUrl(st.url)} #${st.id} ${st.type} ${st.encodingName}: ${st.packets} packets (${(st.bytes / 1e6).toFixed(1)} MB), lost ${st.lost}, reordered ${st.reordered}; ` +
      `${st.received} ${unit}, pushed ${st.pushed}, dropped: ${drops}` +
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
