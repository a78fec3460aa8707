// RtspCamera: one camera kept playing unattended. It owns an RtspClient and, whenever that session fails (connect
// error, an error status at start, the connection dropping, a silent stream, a keep-alive answered 454), tears it
// down and starts a new one after an exponential backoff with jitter. Each camera is independent: a camera that is
// down never holds up another, and comes back alone.
//
//   import { RtspCamera, coreBytesFor, createCore } from 'wasm-rtsp';
//
//   const camera = new RtspCamera(url, { transport: 'udp', poolLimitBytes });     // options: RtspCameraOptions
//   camera.on('packet', (p) => sink.push(p.stream.id, p));    // stream ids are stable across reconnects
//   camera.on('reconnecting', ({ reason, attempt, delayMs }) => log(reason.code, attempt, delayMs));
//   camera.on('reconnected', ({ attempts, downtimeMs }) => log('back'));
//   camera.on('error', (e) => log(e.code));   // every failure (retried unless fatal); optional, never thrown
//   camera.on('close', (reason?) => ...);    // once, when the camera ends: close(), its signal, a fatal error
//   const streams = await camera.start();    // the first session plays (rejects only if the camera ends first)
//   ...
//   await camera.close();                     // ends the wait, the session (TEARDOWN) and every timer at once
//
// N cameras on one core: `const core = await createCore({ memoryBytes: coreBytesFor({ cameras: N, poolLimitBytes }) })`
// and `new RtspCamera(url, { core, poolLimitBytes })` for each (memory.ts). Without `core`, a camera makes one of
// its own, sized the same way, and keeps it across reconnects (each session's pool is freed when it ends, so packets
// retained from a session become invalid when it is replaced).
//
// Events: 'packet', 'frame', 'rtcp', 'stats', 'poolExhausted' (forwarded from the current client), 'error', 'reconnecting'
// ({ reason, attempt, delayMs }), 'reconnected' ({ attempts, downtimeMs, streams }), 'fallback' ({ from, to, reason }:
// UDP got nothing, TCP from now on), 'close' (reason: the fatal RtspError, or undefined after close()).

import { EventEmitter } from 'node:events';
import type { Core } from '../../core/core.js';
import type { StreamStats } from '../../core/stats.js';
import { createCore } from '../core.js';
import { RtspClient, type ClientStats, type MediaStream, type RtspClientOptions } from './client.js';
import { RtspError } from '../../core/rtsp/errors.js';
import { coreBytesFor, DEFAULT_POOL_LIMIT_BYTES, frameReserveBytes } from '../../core/media/sizing.js';

/** Default first retry delay. */
export const DEFAULT_INITIAL_DELAY_MS = 1_000;
/** Default longest retry delay. */
export const DEFAULT_MAX_DELAY_MS = 30_000;
/** Default growth of the delay per failed attempt. */
export const DEFAULT_BACKOFF_FACTOR = 2;
/** Default jitter: each delay is spread uniformly over ±20 % (cameras that failed together do not retry together). */
export const DEFAULT_JITTER = 0.2;
/** Default media timeout of a camera's sessions (no RTP on a stream for this long → reconnect). */
export const DEFAULT_MEDIA_TIMEOUT_MS = 10_000;
/** Events of the client passed on unchanged (the hot 'packet' path included). */
const FORWARDED_EVENTS = ['packet', 'frame', 'rtcp', 'stats', 'poolExhausted'] as const;
/** Codes that no retry can fix. */
const ALWAYS_FATAL = new Set(['BAD_OPTION', 'UNSUPPORTED', 'SDP_CHANGED']);

/** Options of an RtspCamera: those of its RtspClient (`signal` ends the camera), plus the retry policy. */
export interface RtspCameraOptions extends RtspClientOptions {
  /** Delay before the first retry; default DEFAULT_INITIAL_DELAY_MS. */
  initialDelayMs?: number;
  /** Longest delay between retries; default DEFAULT_MAX_DELAY_MS. */
  maxDelayMs?: number;
  /** Delay growth per consecutive failure (≥ 1); default DEFAULT_BACKOFF_FACTOR. */
  factor?: number;
  /** Spread of each delay, a fraction in [0, 1]: delay × (1 ± jitter); default DEFAULT_JITTER. */
  jitter?: number;
  /** Consecutive failed attempts before the camera gives up (closes with the last error); default Infinity. */
  maxAttempts?: number;
  /** Error statuses that end the camera instead of being retried (e.g. [404, 401]); default none. */
  fatalStatusCodes?: readonly number[];
  /** Switch to TCP for good when UDP delivers nothing after PLAY (UDP_TIMEOUT); default true. */
  udpFallback?: boolean;
}

/** What 'reconnecting' carries. */
export interface ReconnectingEvent {
  /** Why the last attempt or session ended. */
  reason: RtspError;
  /** Consecutive failures so far (1 for the first). */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
}

/** What 'reconnected' carries. */
export interface ReconnectedEvent {
  /** Attempts it took since the session that failed (≥ 1). */
  attempts: number;
  /** From the failure to the new session playing. */
  downtimeMs: number;
  streams: readonly MediaStream[];
}

/** Where a camera is. */
export type CameraState = 'idle' | 'connecting' | 'playing' | 'waiting' | 'closed';

/** Statistics of a camera: its own counters, the current (or last) session's, and totals over all sessions. */
export interface CameraStats {
  state: CameraState;
  transport: 'tcp' | 'udp';
  /** Sessions that reached PLAY. */
  sessions: number;
  /** Sessions that came back after a failure. */
  reconnects: number;
  /** Failed attempts and failed sessions. */
  failures: number;
  /** UDP → TCP switches. */
  fallbacks: number;
  /** Consecutive failures now (0 while a session delivers). */
  attempt: number;
  lastError?: { code: string; message: string };
  /** The current session's client statistics (or the last one's). */
  client?: ClientStats;
  /** Per stream id, summed over every session. */
  totals: Array<{ id: number; packets: number; bytes: number; lost: number; dropped: number }>;
}

/** A camera kept playing: see the file comment. */
export class RtspCamera extends EventEmitter {
  /** The URL as given, without credentials. */
  readonly url: string;
  private readonly rawUrl: string;
  private readonly options: RtspCameraOptions;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly maxAttempts: number;
  private transport: 'tcp' | 'udp';
  private state: CameraState = 'idle';
  private core: Core | undefined;
  private client: RtspClient | undefined;
  private lastClientStats: ClientStats | undefined;
  private shape: string | undefined;
  private running: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private waitTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly started: { promise: Promise<readonly MediaStream[]>; resolve(s: readonly MediaStream[]): void; reject(e: Error): void; settled: boolean };
  private readonly counters = { sessions: 0, reconnects: 0, failures: 0, fallbacks: 0, attempt: 0 };
  private lastError: RtspError | undefined;
  private readonly totals = new Map<number, { packets: number; bytes: number; lost: number; dropped: number }>();
  /**
   * Forwarders of client events that someone listens to on the camera, by event name: attached to every client from
   * then on. Only those: a client may do work only when its event has listeners (frame assembly for 'frame').
   */
  private readonly forwarders = new Map<string, (arg: unknown) => void>();

  constructor(url: string, options: RtspCameraOptions = {}) {
    super();
    this.options = options;
    // The client checks the URL and its own options now (it is not connected: nothing to clean up).
    const probe = new RtspClient(url, this.clientOptions(options.transport ?? 'tcp'));
    this.url = probe.url;
    this.rawUrl = url;
    this.transport = options.transport ?? 'tcp';
    this.initialDelayMs = number('initialDelayMs', options.initialDelayMs, DEFAULT_INITIAL_DELAY_MS, 0);
    this.maxDelayMs = number('maxDelayMs', options.maxDelayMs, DEFAULT_MAX_DELAY_MS, 0);
    this.factor = number('factor', options.factor, DEFAULT_BACKOFF_FACTOR, 1);
    this.jitter = number('jitter', options.jitter, DEFAULT_JITTER, 0, 1);
    this.maxAttempts = options.maxAttempts ?? Infinity;
    if (!(this.maxAttempts >= 1) || (this.maxAttempts !== Infinity && !Number.isInteger(this.maxAttempts))) {
      throw new RtspError('BAD_OPTION', `maxAttempts must be an integer ≥ 1 or Infinity, not ${String(options.maxAttempts)}`, { context: { maxAttempts: options.maxAttempts } });
    }
    let resolve!: (s: readonly MediaStream[]) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<readonly MediaStream[]>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => undefined); // start() callers see the rejection; nobody else must
    this.started = { promise, resolve, reject, settled: false };
    this.on('newListener', (name: string | symbol) => {
      if (typeof name !== 'string' || this.forwarders.has(name) || !(FORWARDED_EVENTS as readonly string[]).includes(name)) return;
      // One argument each (no rest array on the per-packet path).
      const forward = (arg: unknown) => this.emit(name, arg);
      this.forwarders.set(name, forward);
      this.client?.on(name, forward);
    });
    if (options.signal?.aborted) void this.close();
    else options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /**
   * Starts the camera (idempotent): resolves with the streams once the first session plays; rejects only when the
   * camera ends before that (a fatal error, maxAttempts, or close()/the signal: ABORTED). Retries go on meanwhile.
   */
  start(): Promise<readonly MediaStream[]> {
    if (!this.running && !this.closed) this.running = this.run();
    return this.started.promise;
  }

  /** The current session's streams (ids and shape stay the same across sessions); empty before the first. */
  get streams(): readonly MediaStream[] {
    return this.client?.streams ?? [];
  }

  /** The current session's client (replaced on every reconnect). */
  get currentClient(): RtspClient | undefined {
    return this.client;
  }

  get currentState(): CameraState {
    return this.state;
  }

  /** Counters of the camera and of its sessions. */
  stats(): CameraStats {
    const live = this.client?.stats();
    const client = live && live.streams.length > 0 ? live : this.lastClientStats ?? live;
    const totals = new Map(this.totals);
    for (const s of live?.streams ?? []) {
      const t = totals.get(s.id) ?? { packets: 0, bytes: 0, lost: 0, dropped: 0 };
      totals.set(s.id, { packets: t.packets + s.packets, bytes: t.bytes + s.bytes, lost: t.lost + s.lost, dropped: t.dropped + sumDropped(s) });
    }
    return {
      state: this.state,
      transport: this.transport,
      ...this.counters,
      lastError: this.lastError ? { code: this.lastError.code, message: this.lastError.message } : undefined,
      client,
      totals: [...totals].sort((a, b) => a[0] - b[0]).map(([id, t]) => ({ id, ...t })),
    };
  }

  /**
   * Ends the camera: the backoff wait, a connect in progress and every pending request end at once; a session that
   * was set up is torn down (bounded by the client's TEARDOWN timeout). Idempotent; 'close' is emitted once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown(undefined);
    return this.closing;
  }

  private async shutdown(reason: RtspError | undefined): Promise<void> {
    this.closed = true;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.wake?.();
    const client = this.client;
    if (client) await client.close();
    await this.running;
    this.state = 'closed';
    if (!this.started.settled) {
      this.started.settled = true;
      this.started.reject(reason ?? new RtspError('ABORTED', `the camera ${this.url} was closed before it played`));
    }
    this.emit('close', reason);
  }

  private clientOptions(transport: 'tcp' | 'udp'): RtspClientOptions {
    const { initialDelayMs, maxDelayMs, factor, jitter, maxAttempts, fatalStatusCodes, udpFallback, signal, ...rest } = this.options ?? {};
    return { ...rest, transport, core: this.core ?? rest.core, mediaTimeoutMs: rest.mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS };
  }

  private async run(): Promise<void> {
    let failedAt = 0;
    let attemptsSinceFailure = 0;
    try {
      this.core = this.options.core ?? await createCore({
        memoryBytes: coreBytesFor({
          cameras: 1,
          poolLimitBytes: this.options.poolLimitBytes ?? DEFAULT_POOL_LIMIT_BYTES,
          frameAssemblyBytes: frameReserveBytes(typeof this.options.frames === 'object' ? this.options.frames : {}),
        }),
      });
    } catch (e) {
      void this.finish(asRtspError(e));
      return;
    }
    while (!this.closed) {
      const client = new RtspClient(this.rawUrl, this.clientOptions(this.transport));
      this.client = client;
      for (const [name, forward] of this.forwarders) client.on(name, forward);
      client.on('error', (e: unknown) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
      const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.once('packet', () => { this.counters.attempt = 0; });
      let reason: RtspError | undefined;
      this.state = 'connecting';
      attemptsSinceFailure++;
      try {
        const streams = await client.connect();
        this.checkShape(streams);
        await client.play();
        this.state = 'playing';
        this.counters.sessions++;
        if (!this.started.settled) {
          this.started.settled = true;
          this.started.resolve(streams);
        } else if (failedAt > 0) {
          this.counters.reconnects++;
          this.emit('reconnected', { attempts: attemptsSinceFailure, downtimeMs: Date.now() - failedAt, streams } satisfies ReconnectedEvent);
        }
        await ended;
        reason = client.closeReason;
      } catch (e) {
        reason = asRtspError(e);
        // A failure of connect()/play() was not emitted by the client: the camera tells.
        if (!this.closed && this.listenerCount('error') > 0) this.emit('error', reason);
      }
      await client.close(); // TEARDOWN of whatever was set up, on every path
      this.accumulate(client);
      if (this.closed) return;
      reason ??= new RtspError('CONNECTION_CLOSED', 'the session ended');
      this.lastError = reason;
      this.counters.failures++;
      if (failedAt === 0 || this.counters.attempt === 0) {
        failedAt = Date.now();
        attemptsSinceFailure = 0;
      }
      if (this.isFatal(reason)) {
        void this.finish(reason);
        return;
      }
      if (reason.code === 'UDP_TIMEOUT' && this.transport === 'udp' && this.options.udpFallback !== false) {
        this.transport = 'tcp';
        this.counters.fallbacks++;
        this.emit('fallback', { from: 'udp', to: 'tcp', reason });
        continue; // at once: the server works, the path for UDP does not
      }
      this.counters.attempt++;
      if (this.counters.attempt >= this.maxAttempts) {
        void this.finish(new RtspError(reason.code, `${this.url}: gave up after ${this.counters.attempt} attempts: ${reason.message}`, {
          cause: reason, statusCode: reason.statusCode, context: { attempts: this.counters.attempt },
        }));
        return;
      }
      const delayMs = this.delayFor(this.counters.attempt);
      this.state = 'waiting';
      this.emit('reconnecting', { reason, attempt: this.counters.attempt, delayMs } satisfies ReconnectingEvent);
      await this.wait(delayMs);
    }
  }

  /** The camera ends on its own (fatal error or attempts exhausted). */
  private async finish(reason: RtspError): Promise<void> {
    if (this.listenerCount('error') > 0 && reason.code !== 'ABORTED') this.emit('error', reason);
    this.closing ??= this.shutdown(reason);
    await this.closing;
  }

  /** Exponential backoff: initial × factor^(attempt−1), at most maxDelayMs, spread by ±jitter. */
  delayFor(attempt: number): number {
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * this.factor ** (attempt - 1));
    const spread = base * this.jitter * (2 * Math.random() - 1);
    return Math.max(0, Math.min(this.maxDelayMs, Math.round(base + spread)));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.waitTimer = setTimeout(() => {
        this.waitTimer = undefined;
        this.wake?.();
      }, ms);
    });
  }

  private isFatal(e: RtspError): boolean {
    if (ALWAYS_FATAL.has(e.code)) return true;
    const codes = this.options.fatalStatusCodes ?? [];
    return e.statusCode !== undefined && codes.includes(e.statusCode);
  }

  /** Same SDP → same stream ids: a consumer keeps feeding the same branches. A changed shape is fatal (SDP_CHANGED). */
  private checkShape(streams: readonly MediaStream[]): void {
    const shape = streams.map((s) => `${s.id}:${s.type}/${s.encodingName}/${s.clockRate}/${s.payloadType}/${s.channels ?? ''}`).join(' ');
    if (this.shape === undefined) {
      this.shape = shape;
      return;
    }
    if (shape !== this.shape) {
      throw new RtspError('SDP_CHANGED', `${this.url}: the camera now offers different streams (${shape}) than at first (${this.shape})`, {
        context: { before: this.shape, now: shape },
      });
    }
  }

  private accumulate(client: RtspClient): void {
    const stats = client.stats();
    this.lastClientStats = stats;
    for (const s of stats.streams) {
      const t = this.totals.get(s.id) ?? { packets: 0, bytes: 0, lost: 0, dropped: 0 };
      t.packets += s.packets;
      t.bytes += s.bytes;
      t.lost += s.lost;
      t.dropped += sumDropped(s);
      this.totals.set(s.id, t);
    }
    if (this.client === client) this.client = undefined;
  }
}

function sumDropped(s: StreamStats): number {
  let n = 0;
  for (const v of Object.values(s.dropped)) n += v;
  return n;
}

function asRtspError(e: unknown): RtspError {
  if (e instanceof RtspError) return e;
  const code = (e as { code?: unknown })?.code;
  return new RtspError(typeof code === 'string' ? code : 'INTERNAL', (e as Error)?.message ?? String(e), { cause: e });
}

function number(name: string, value: number | undefined, fallback: number, min: number, max = Infinity): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RtspError('BAD_OPTION', `${name} must be a number from ${min}${max === Infinity ? '' : ` to ${max}`}, not ${String(value)}`, { context: { [name]: value } });
  }
  return v;
}
