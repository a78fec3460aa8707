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
import { RtspError } from './rtsp/errors.js';
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

/** Where a camera is: connecting (first attempt), ready (streams known, waiting for its pipeline), playing,
 * reconnecting (waiting before the next attempt), failed (gave up), stopped (by us). */
export type CameraState = 'connecting' | 'ready' | 'playing' | 'reconnecting' | 'failed' | 'stopped';

/** Reconnect policy of every camera (from the command line). */
interface RetryPolicy {
  /** Consecutive failed attempts after which a camera gives up (Infinity: never). */
  retries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  /** A playing camera with no RTP packet for this long is reconnected. */
  mediaTimeoutMs: number;
}

type StreamTotals = ClientStats['streams'][number];

/**
 * A camera of the command: a supervisor that connects, plays, and on any failure closes (TEARDOWN when a session was
 * set up) and tries again after a growing delay, into the same pipeline branch. Its streams are those of the first
 * successful DESCRIBE; a later answer with other streams counts as a failure.
 */
class Camera extends EventEmitter {
  readonly label: string;
  state: CameraState = 'connecting';
  played = false;
  reconnects = 0;
  lastError: unknown;
  /** Streams of the first successful DESCRIBE (the pipeline's branches are built from them). */
  streams: readonly MediaStream[] = [];
  /** Resolves once the first attempt has ended: streams known, or failed. */
  readonly firstAnswer: Promise<void>;
  private answered!: () => void;
  private client: RtspClient | undefined;
  private readonly loop = new AbortController();
  private gate: Promise<void>;
  private openGate!: () => void;
  private packetHandler: ((p: RtpPacket) => void) | undefined;
  /** Per stream id, the counters of earlier sessions (each session's client starts from zero). */
  private readonly past = new Map<number, StreamTotals>();
  private lastPool: PoolStats | undefined;
  private running: Promise<void> | undefined;

  constructor(readonly index: number, private readonly url: string, private readonly core: Core, private readonly args: Args,
    private readonly policy: RetryPolicy, duplicate: boolean) {
    super();
    // The URL without credentials names the camera everywhere; the same URL twice gets its position too.
    this.label = String(parseRtspUrl(url)) + (duplicate ? ` (#${index + 1})` : '');
    this.firstAnswer = new Promise((r) => (this.answered = r));
    this.gate = new Promise((r) => (this.openGate = r));
    setMaxListeners(0, this.loop.signal);
  }

  /** Where its packets go; then its first PLAY may go out (the pipeline is up, or there will be none). */
  attach(handler: ((p: RtpPacket) => void) | undefined): void {
    this.packetHandler = handler;
    this.openGate();
  }

  /** Starts the connect/play/retry loop. */
  start(): void {
    this.running ??= this.run();
  }

  private async run(): Promise<void> {
    const signal = this.loop.signal;
    let failures = 0;
    while (!signal.aborted) {
      const client = new RtspClient(this.url, {
        transport: this.args.transport, core: this.core, poolLimitBytes: this.args.poolLimitBytes,
        requestTimeoutMs: this.args.timeoutMs, connectTimeoutMs: this.args.timeoutMs, signal,
      });
      this.client = client;
      let failure: unknown;
      try {
        await client.connect();
        if (this.streams.length === 0) {
          this.streams = client.streams;
          this.setState('ready', `${client.streams.length} stream${client.streams.length === 1 ? '' : 's'}: ${client.streams.map((s) => s.encodingName).join(', ')}`);
          this.answered();
          await raceAbort(this.gate, signal);
        } else if (!sameStreams(this.streams, client.streams)) {
          throw new RtspError('STREAMS_CHANGED', `the camera now offers ${client.streams.map((s) => s.encodingName).join(', ')} ` +
            `instead of ${this.streams.map((s) => s.encodingName).join(', ')}; its pipeline branch cannot take that`);
        }
        if (signal.aborted) break;
        client.on('packet', (p: RtpPacket) => this.packetHandler?.(p));
        await client.play();
        const wasReconnect = this.played;
        this.played = true;
        failures = 0;
        this.setState('playing', wasReconnect ? 'reconnected' : 'playing');
        failure = await this.whilePlaying(client, signal);
      } catch (e) {
        failure = e;
      }
      await client.close({ signal: AbortSignal.timeout(TEARDOWN_WAIT_MS) });
      this.keepTotals(client);
      this.client = undefined;
      if (signal.aborted) break;
      this.lastError = failure;
      this.answered();
      failures++;
      if (failures > this.policy.retries) {
        this.setState('failed', `gave up after ${failures} failed attempt${failures === 1 ? '' : 's'}: ${describe(failure)}`);
        return;
      }
      const delay = Math.min(this.policy.retryMaxDelayMs, this.policy.retryDelayMs * 2 ** Math.min(failures - 1, 20));
      this.setState('reconnecting', `${describe(failure)}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay, signal);
      if (!signal.aborted) this.reconnects++;
    }
  }

  /** Resolves with the reason the session ended: closed by the server, an error, or no media for too long. */
  private whilePlaying(client: RtspClient, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve) => {
      let lastPackets = -1;
      let lastChange = Date.now();
      const finish = (reason: unknown) => {
        clearInterval(watch);
        signal.removeEventListener('abort', onAbort);
        resolve(reason);
      };
      const onAbort = () => finish(undefined);
      const watch = setInterval(() => {
        const packets = client.stats().streams.reduce((a, s) => a + s.packets, 0);
        if (packets !== lastPackets) {
          lastPackets = packets;
          lastChange = Date.now();
        } else if (Date.now() - lastChange >= this.policy.mediaTimeoutMs) {
          finish(new RtspError('MEDIA_TIMEOUT', `no RTP packet for ${(this.policy.mediaTimeoutMs / 1000).toFixed(1)} s`));
        }
      }, Math.min(1000, this.policy.mediaTimeoutMs / 2));
      signal.addEventListener('abort', onAbort, { once: true });
      client.once('close', () => finish(new RtspError('CONNECTION_CLOSED', 'the server ended the session')));
      // Errors while playing (a socket error, a packet handler that threw) end this session; the loop reconnects.
      client.on('error', (e) => finish(e));
    });
  }

  private keepTotals(client: RtspClient): void {
    const st = client.stats();
    if (st.pool) this.lastPool = st.pool;
    for (const s of st.streams) {
      const p = this.past.get(s.id);
      this.past.set(s.id, p ? addStreamStats(p, s) : { ...s, dropped: { ...s.dropped } });
    }
  }

  /** Counters over every session so far, per stream, and the current (else last) pool. */
  stats(): { streams: StreamTotals[]; pool?: PoolStats } {
    const live = this.client?.stats();
    const ids = new Set([...this.past.keys(), ...(live?.streams.map((s) => s.id) ?? [])]);
    const streams: StreamTotals[] = [];
    for (const id of [...ids].sort((x, y) => x - y)) {
      const p = this.past.get(id);
      const l = live?.streams.find((s) => s.id === id);
      streams.push(p && l ? addStreamStats(p, l) : (p ?? l)!);
    }
    return { streams, pool: live?.pool ?? this.lastPool };
  }

  /** Ends the loop; a set-up session gets its TEARDOWN (replies awaited until `signal`). */
  async stop(signal: AbortSignal): Promise<void> {
    if (this.state !== 'failed') this.state = 'stopped';
    // close() first, so the TEARDOWN wait is bounded by `signal`; the abort then ends a connect or a retry wait.
    const closing = this.client?.close({ signal });
    this.loop.abort();
    await closing;
    await this.running;
  }

  private setState(state: CameraState, reason: string): void {
    if (this.state === 'stopped') return;
    this.state = state;
    this.emit('state', state, reason);
  }
}

function addStreamStats(a: StreamTotals, b: StreamTotals): StreamTotals {
  const dropped = { ...a.dropped };
  for (const [k, n] of Object.entries(b.dropped)) dropped[k as keyof typeof dropped] = (dropped[k as keyof typeof dropped] ?? 0) + n;
  return {
    ...b, packets: a.packets + b.packets, bytes: a.bytes + b.bytes, lost: a.lost + b.lost, reordered: a.reordered + b.reordered,
    duplicates: a.duplicates + b.duplicates, dropped,
  };
}

/** Same media in the same order with the same payload: the branches built for `a` can take `b`'s packets. */
function sameStreams(a: readonly MediaStream[], b: readonly MediaStream[]): boolean {
  return a.length === b.length && a.every((s, i) => s.encodingName === b[i]!.encodingName && s.clockRate === b[i]!.clockRate
    && s.payloadType === b[i]!.payloadType && s.type === b[i]!.type);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
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

/**
 * The hot path of one camera into its pipeline: a view of wasm memory into the stream's appsrc (which copies it),
 * then the slot goes back to the pool. A refused push is counted by the sink (queue near its bound, sink stopped).
 */
function connectPacketsToPipeline(camera: Camera, sink: GstSink, firstBranch: number): void {
  camera.attach((p: RtpPacket) => {
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
        cameras.push(new Camera(next, urls[next]!, cores[ci]!, a, a, duplicate));
      }
    });
    for (const cam of cameras) {
      cam.on('state', (state: CameraState, reason: string) => {
        // Printed with or without a terminal: a camera that stalls or drops is visible in any log.
        const what = state === 'ready' ? `connected, ${reason}` : state === 'playing' ? reason : `${state}: ${reason}`;
        log(`${cam.label}: ${what}`);
        if (state === 'failed' && !error) error = errorOf(cam.lastError, cam);
      });
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
      cam.once('state', function onLate(this: Camera, state: CameraState) {
        if (state !== 'ready') {
          if (state !== 'failed' && state !== 'stopped') cam.once('state', onLate);
          return;
        }
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
