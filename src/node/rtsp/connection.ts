// One RTSP control connection over TCP, read straight into wasm memory.
//
// The socket reads (net.connect's `onread`) land in a 64 KiB pool slot, the "read slot". The wasm demuxer scans what
// arrived and reports interleaved frames (RFC 2326 §10.12) and RTSP messages in place. A frame is handed on as
// (slot handle, address, length): the consumer takes a reference on the slot only when it keeps the packet, so frames
// are never copied. When the read slot runs out of room, the partial item at its end moves once to the start of a
// fresh slot (or of the same slot, when no packet still references it). RTSP messages are rare (a few per session)
// and are copied out before they leave the read callback, so a reply can be read after the slot is reused.
//
// RTSPS (TLS) takes the same path: tls.connect honours `onread` too (Node ≥ 15), so OpenSSL decrypts straight into
// the read slot — no extra copy over plain TCP.
//
// With a read interval (the default), the reads move to the process-wide read tick once media flows: read(2) on the
// socket's descriptor into the same place (read-tick.ts, tickRead); the handshake and TLS stay on `onread`.

import net from 'node:net';
import tls from 'node:tls';
import type { Core } from '../../core/core.js';
import type { InterleavedDemuxer } from '../../core/demuxer.js';
import type { PacketPool } from '../../core/pool.js';
import { EV_KIND_ERROR, EV_KIND_FRAME, EV_KIND_MESSAGE, RTP_RECORD_BYTES } from '../../core/layout.js';
import { statusName } from '../../core/status.js';
import { parseRtspMessage, type RtspMessage } from '../../core/rtsp/message.js';
import { serializeRequest } from '../../core/rtsp/serialize.js';
import { RtspError } from '../../core/rtsp/errors.js';
import { receivedPacket, type ReceivedPacket } from '../../core/media/packet.js';
import {
  EventInterval, NOTHING_BUFFERED, readFd, readTickFor, socketFd, TICK_SATURATED_BYTES, tickClock, type TickReader,
} from './read-tick.js';

/** Size of a read slot: the pool's largest bucket. */
const READ_SLOT_BYTES = 65536;
/** Rotate the read slot when less than this is free at its end and no item is pending. */
const MIN_READ_BYTES = 4096;
/**
 * Where reads land in a read slot nobody else holds: the partial item a read ends with (a piece of one RTP packet,
 * usually) moves to end here, so every read goes to the same place and the socket gets the same cached view each
 * time (a new view per read was most of the path's garbage: issue 12). A longer partial item, or a slot a consumer
 * retained packets in, takes the general path (reads appended, a view made per read).
 */
const READ_AT = 8192;
/** "HTTP/": the start of an answer from a web server on an RTSP URL's port. */
const FOREIGN_PREFIX = Uint8Array.of(0x48, 0x54, 0x54, 0x50, 0x2f);

/** How often a connection paused for want of a read slot checks the pool again. */
const EXHAUSTED_RETRY_MS = 5;
/** RTP over TCP uses a 16-bit length: 65535 octets of packet after the 4-octet frame header. */
const FRAME_HEADER_BYTES = 4;
const TARGET_SLOT = 0;
const TARGET_LARGE = 1;
const TARGET_SPILL = 2;

/**
 * Default read interval (RtspClientOptions.readIntervalMs), chosen by measurement (README, "Read interval"): at 50 ms
 * the command's CPU per camera at 64 cameras fell to about 0.2× rtspsrc's (0 ms: ~0.6×, 20 ms: ~0.4×, 100 ms: no
 * better than 50), for at most 50 ms of added latency — rtspsrc's own jitterbuffer adds 2000 ms by default.
 */
export const DEFAULT_READ_INTERVAL_MS = 50;
/** Longest read interval accepted: the kernel must buffer that long, and RTSP replies wait for the next tick too. */
export const MAX_READ_INTERVAL_MS = 1000;
/** Reads of one socket per tick at most (56 KiB each): a bound on one tick's work, far above any camera's bitrate. */
const MAX_READS_PER_TICK = 64;

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 peers) as plain `a.b.c.d`. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** TLS settings of an rtsps:// connection (RtspClientOptions.tls). */
export interface RtspTlsOptions {
  /** Trusted CA certificate(s), PEM; default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server's certificate chain and name (default true). false accepts any certificate: tests only. */
  rejectUnauthorized?: boolean;
  /**
   * Pin one certificate by its SHA-256 fingerprint (hex, colons and case free: as `openssl x509 -fingerprint
   * -sha256` prints it): that certificate is accepted even self-signed, and any other one is refused (TLS error),
   * even a valid one. Checked when the handshake completes, before any request is sent.
   */
  fingerprint256?: string;
}

/** A fingerprint as uppercase hex without separators. */
export function normalizeFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/**
 * Where a received packet lies in core memory, as its transport found it: one value from the socket to the consumer,
 * reused for every packet (valid during the call that hands it over).
 */
/** What the connection hands to its owner. All calls are synchronous, from the socket's read callback. */
export interface ConnectionHandlers {
  /** An interleaved frame (one reused value: see ReceivedPacket). */
  onFrame(packet: ReceivedPacket): void;
  /** A request sent by the server (GET_PARAMETER, OPTIONS, ANNOUNCE, …). */
  onServerRequest(message: RtspMessage): void;
  /** The connection ended (error set when it was not closed by us). */
  onClose(error: Error | undefined): void;
  /** A read slot could not be had: the socket pauses until the consumer releases packets. */
  onPoolExhausted(): void;
}

interface Pending {
  resolve(m: RtspMessage): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
  method: string;
}

/** Counters of one connection (bytes and messages; frames are counted by the demuxer and the streams). */
export interface ConnectionStats {
  bytesRead: number;
  readCalls: number;
  slotRotations: number;
  bytesMoved: number;
  largeFrames: number;
  protocolErrors: number;
  exhaustedPauses: number;
  /** Times the connection moved to the read tick (at the first media frame, and back after leaving it). */
  tickJoins: number;
  /** Times the connection left the read tick for reads at every event (a tick brought TICK_SATURATED_BYTES). */
  tickLeaves: number;
}

/** An RTSP/TCP connection whose reads go into wasm memory; see the file comment. */
export class RtspConnection implements TickReader {
  private socket: net.Socket | undefined;
  private readHandle = 0;
  private readPtr = 0;
  private fill = 0;
  private scanFrom = 0;
  private cseq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private closeError: Error | undefined;
  /** Fails the connect() in progress, if any (close() during connect rejects it at once with ABORTED). */
  private failConnect: ((e: Error) => void) | undefined;
  // Large-frame mode: a frame longer than a read slot can hold with its header goes to a slot of its own.
  private largeHandle = 0;
  private largePtr = 0;
  private largeLength = 0;
  private largeHave = 0;
  private largeChannel = 0;
  private largeRecord = 0;
  private pausedForPool = false;
  /** Where the buffer last given to the socket points: the read slot, a large frame's slot, or the spill area. */
  private target = TARGET_SLOT;
  private spillPtr = 0;
  private spillFill = 0;
  /** The region the next read fills (aimRead). */
  private readAt = 0;
  private readLength = 0;
  /** Views of [slot + READ_AT, slot end) per read slot address, made once (rebuilt if the memory's buffer changes). */
  private readonly readViews = new Map<number, Uint8Array>();
  /** The value every onFrame call hands over, refilled for each frame. */
  private readonly received = receivedPacket();
  readonly stats: ConnectionStats = {
    bytesRead: 0, readCalls: 0, slotRotations: 0, bytesMoved: 0, largeFrames: 0, protocolErrors: 0, exhaustedPauses: 0,
    tickJoins: 0, tickLeaves: 0,
  };

  /**
   * With a read interval: the socket is read at every readable event until the first media frame (the handshake's
   * replies come at once), then by the process's read tick with read(2) on its descriptor (read-tick.ts). TLS has no
   * descriptor to read directly and stays on events.
   */
  private readonly intervalMs: number;
  /** Still on events, to move to the tick at the first media frame. */
  private wantTick: boolean;
  private ticking = false;
  private fd = -1;
  private sawFrame = false;
  /** Off the tick for want of throughput (see TICK_SATURATED_BYTES), and what its intervals at events bring. */
  private leftTick = false;
  private readonly events: EventInterval;
  /** spillFill when the spill area was handed to Node as its read buffer at the move to the tick (nextReadBuffer). */
  private parkedSpill = -1;

  constructor(
    private readonly core: Core,
    private readonly pool: PacketPool,
    private readonly demuxer: InterleavedDemuxer,
    private readonly handlers: ConnectionHandlers,
    readIntervalMs = 0,
  ) {
    this.intervalMs = readIntervalMs;
    this.wantTick = readIntervalMs > 0;
    this.events = new EventInterval(readIntervalMs);
  }

  /** @internal The read tick: reads what the kernel buffered since the last one (unless the pool has no room). */
  tickRead(): void {
    let got = 0;
    for (let i = 0; i < MAX_READS_PER_TICK; i++) {
      if (this.closed || this.pausedForPool) break;
      this.aimRead();
      const wanted = this.readLength;
      let n: number;
      try {
        n = readFd(this.fd, this.core.views(), this.readAt, this.readLength);
      } catch (e) {
        this.shutdown(new RtspError('CONNECTION_CLOSED', `connection error: ${(e as Error).message}`, { cause: e }));
        return;
      }
      if (n === NOTHING_BUFFERED) break;
      if (n === 0) {
        this.shutdown(new RtspError('CONNECTION_CLOSED', 'the server closed the connection'));
        return;
      }
      got += n;
      this.onRead(n);
      // A read that did not fill its buffer emptied the kernel's.
      if (n < wanted) break;
    }
    if (got >= TICK_SATURATED_BYTES) this.leaveTick();
  }

  /**
   * From the tick back to reads at every event (the connection is too busy for the tick). Node still holds the read
   * buffer it asked for when the tick took over: the spill area (nextReadBuffer), so its first read lands there and is
   * moved into the read slot like a read made while the pool was exhausted.
   */
  private leaveTick(): void {
    // Not in the middle of a frame too large for the read slot: its bytes go to a slot of their own, and the spill
    // area only ever drains into the read slot. A later tick leaves instead.
    if (!this.ticking || this.closed || this.pausedForPool || this.largeHandle > 0 || this.spillFill !== this.parkedSpill) return;
    readTickFor(this.intervalMs).delete(this);
    this.ticking = false;
    this.leftTick = true;
    this.stats.tickLeaves++;
    this.target = TARGET_SPILL;
    this.events.restart(tickClock.now());
    this.socket?.resume();
  }

  /** Moves the socket to the tick, once media flows; false when it has no descriptor to read (TLS): it stays on events. */
  private startTicking(): boolean {
    this.wantTick = false;
    const fd = this.socket === undefined ? -1 : socketFd(this.socket);
    if (fd < 0) return false;
    this.fd = fd;
    this.ticking = true;
    this.leftTick = false;
    this.stats.tickJoins++;
    readTickFor(this.intervalMs).add(this);
    return true;
  }

  /**
   * Opens the TCP connection (TLS when `tlsOptions` is given: rtsps://); rejects with RtspError('CONNECT_FAILED' |
   * 'TIMEOUT' | 'ABORTED' | 'TLS').
   */
  connect(host: string, port: number, timeoutMs: number, signal?: AbortSignal, lookup?: net.LookupFunction, tlsOptions?: RtspTlsOptions): Promise<void> {
    const h = this.pool.acquireHandle(READ_SLOT_BYTES);
    if (h < 0) {
      return Promise.reject(new RtspError('CONNECT_FAILED', `no read buffer: the packet pool is exhausted (${statusName(h)})`));
    }
    this.readHandle = h;
    this.readPtr = this.pool.lastPtr;
    this.fill = this.scanFrom = READ_AT;
    this.largeRecord = this.core.alloc(RTP_RECORD_BYTES + MIN_READ_BYTES, 'RTP record and spill area');
    this.spillPtr = this.largeRecord + RTP_RECORD_BYTES;
    return new Promise((resolve, reject) => {
      const onread = { buffer: () => this.nextReadBuffer(), callback: (n: number) => this.onRead(n) };
      const pin = tlsOptions?.fingerprint256 === undefined ? undefined : normalizeFingerprint(tlsOptions.fingerprint256);
      const socket: net.Socket = tlsOptions
        ? tls.connect({
          host,
          port,
          servername: net.isIP(host) ? undefined : host,
          ca: tlsOptions.ca,
          // A pinned certificate is checked below instead (Node verifies the chain before checkServerIdentity, so a
          // self-signed one never reaches it).
          rejectUnauthorized: pin === undefined ? tlsOptions.rejectUnauthorized !== false : false,
          lookup,
          onread,
        } as tls.ConnectionOptions)
        : net.connect({ host, port, noDelay: true, lookup, onread });
      this.socket = socket;
      const timer = setTimeout(() => fail(new RtspError('TIMEOUT', `connecting to ${host}:${port} timed out after ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => fail(new RtspError('ABORTED', 'connect aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.failConnect = undefined;
      };
      const fail = (e: Error) => {
        done();
        socket.destroy();
        reject(e);
      };
      this.failConnect = fail;
      if (signal?.aborted) onAbort();
      socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
        if (tlsOptions) {
          const tlsSocket = socket as tls.TLSSocket;
          if (pin !== undefined) {
            const got = tlsSocket.getPeerCertificate().fingerprint256 ?? '';
            if (normalizeFingerprint(got) !== pin) {
              fail(new RtspError('TLS', `the server's certificate is not the pinned one (SHA-256 ${got || 'none'})`, {
                context: { host, port, fingerprint256: got },
              }));
              return;
            }
          }
          socket.setNoDelay(true);
        }
        done();
        socket.removeListener('error', onConnectError);
        socket.on('error', (e) => this.shutdown(new RtspError('CONNECTION_CLOSED', `connection error: ${e.message}`, { cause: e })));
        socket.on('close', () => this.shutdown(this.closed ? undefined : new RtspError('CONNECTION_CLOSED', 'the server closed the connection')));
        resolve();
      });
      const onConnectError = (e: Error) => {
        const code = (e as { code?: string }).code ?? '';
        if (tlsOptions && (/CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|^ERR_TLS|^ERR_SSL/.test(code) || e.message.includes('SSL'))) {
          fail(new RtspError('TLS', `TLS with ${host}:${port} failed: ${e.message}`, { cause: e, context: { host, port, reason: code } }));
          return;
        }
        fail(new RtspError('CONNECT_FAILED', `cannot connect to ${host}:${port}: ${e.message}`, { cause: e, context: { host, port } }));
      };
      socket.once('error', onConnectError);
    });
  }

  /** Sends a request and resolves with its reply (any status); rejects on timeout or a closed connection. */
  request(method: string, uri: string, headers: Record<string, string>, timeoutMs: number, body?: Uint8Array): Promise<RtspMessage> {
    if (this.closed || !this.socket) return Promise.reject(this.closeError ?? new RtspError('CLOSED', 'the connection is closed'));
    const cseq = ++this.cseq;
    const bytes = serializeRequest({ method, uri, cseq, headers, body });
    return new Promise<RtspMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cseq);
        reject(new RtspError('TIMEOUT', `${method} got no reply within ${timeoutMs} ms`, { context: { method, cseq } }));
      }, timeoutMs);
      this.pending.set(cseq, { resolve, reject, timer, method });
      this.socket!.write(bytes);
    });
  }

  /** Sends raw bytes (an interleaved RTCP frame, a reply to a server request). */
  write(bytes: Uint8Array): void {
    if (!this.closed && this.socket) this.socket.write(bytes);
  }

  /**
   * Fails a connect() in progress and every request waiting for its reply with RtspError('ABORTED'), at once; the
   * connection stays open (a TEARDOWN can still be sent on it). A late reply to an aborted request is dropped.
   */
  abortPending(): void {
    this.failConnect?.(new RtspError('ABORTED', 'connect aborted: the client is closing'));
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RtspError('ABORTED', `${p.method} aborted: the client is closing`, { context: { method: p.method } }));
    }
    this.pending.clear();
  }

  /** Closes the socket and releases the read slot. Idempotent. */
  close(): void {
    this.shutdown(undefined);
  }

  /** The server's IP address as connected (a host name in the URL resolved), without an IPv4-mapped prefix. */
  get remoteAddress(): string | undefined {
    const a = this.socket?.remoteAddress;
    return a === undefined ? undefined : unmapIPv4(a);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Ends the connection. `error` undefined means closed by us: a connect() in progress and every request waiting for
   * its reply fail at once with ABORTED (no timer is left to run out); later requests fail with CLOSED.
   */
  private shutdown(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error ?? new RtspError('CLOSED', 'the connection is closed');
    this.failConnect?.(error ?? new RtspError('ABORTED', 'connect aborted: the connection was closed'));
    this.socket?.destroy();
    if (this.ticking) readTickFor(this.intervalMs).delete(this);
    this.ticking = false;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error ?? new RtspError('ABORTED', `${p.method} aborted: the connection was closed before its reply`, { context: { method: p.method } }));
    }
    this.pending.clear();
    if (this.readHandle > 0) this.pool.releaseHandle(this.readHandle);
    if (this.largeHandle > 0) this.pool.releaseHandle(this.largeHandle);
    this.readHandle = this.largeHandle = 0;
    if (this.largeRecord) this.core.free(this.largeRecord);
    this.largeRecord = 0;
    this.handlers.onClose(error);
  }

  /**
   * Where the next socket read lands: the free end of the read slot, the rest of a large frame, or — while the socket
   * is paused because the pool had no slot — a small spill area (Node asks for the next buffer right after each read,
   * before the pause takes effect, and keeps it until the next read, so it must be a valid one).
   */
  private nextReadBuffer(): Uint8Array {
    // Called by Node right after the read that moved the socket to the tick: Node keeps this buffer until its next
    // read, which happens only if the connection leaves the tick (leaveTick). The spill area is the one place the tick's
    // own reads never write to.
    if (this.ticking) {
      this.parkedSpill = this.spillFill;
      return this.spillView(this.core.views());
    }
    return this.readBuffer();
  }

  private readBuffer(): Uint8Array {
    const u8 = this.core.views();
    if (this.aimRead() === TARGET_SLOT && this.fill === READ_AT) return this.readView(u8);
    return u8.subarray(this.readAt, this.readAt + this.readLength);
  }

  /**
   * Where the next read lands, as `readAt`/`readLength` (and `target`): the rest of a large frame, the spill area while
   * the pool has no slot, else the free end of the read slot. The tick reads there without making a view.
   */
  private aimRead(): number {
    if (this.largeHandle > 0) {
      this.readAt = this.largePtr + this.largeHave;
      this.readLength = this.largeLength - this.largeHave;
      return (this.target = TARGET_LARGE);
    }
    if (this.pausedForPool) {
      this.readAt = this.spillPtr + this.spillFill;
      this.readLength = MIN_READ_BYTES - this.spillFill;
      return (this.target = TARGET_SPILL);
    }
    this.readAt = this.readPtr + this.fill;
    this.readLength = READ_SLOT_BYTES - this.fill;
    return (this.target = TARGET_SLOT);
  }

  /** The free end of the spill area, as the next read's target. */
  private spillView(u8: Uint8Array): Uint8Array {
    this.target = TARGET_SPILL;
    return u8.subarray(this.spillPtr + this.spillFill, this.spillPtr + MIN_READ_BYTES);
  }

  /** The cached view of the read slot from READ_AT to its end. */
  private readView(u8: Uint8Array): Uint8Array {
    let view = this.readViews.get(this.readPtr);
    // A detached view has length 0 (see Core.views).
    if (view === undefined || view.length === 0) {
      view = u8.subarray(this.readPtr + READ_AT, this.readPtr + READ_SLOT_BYTES);
      this.readViews.set(this.readPtr, view);
    }
    return view;
  }

  private onRead(n: number): boolean {
    if (this.closed) return false;
    this.stats.bytesRead += n;
    this.stats.readCalls++;
    if (this.target === TARGET_LARGE) {
      this.largeHave += n;
      if (this.largeHave === this.largeLength) this.finishLargeFrame();
    } else if (this.target === TARGET_SPILL) {
      this.spillFill += n;
      if (!this.pausedForPool) this.drainSpill();
    } else {
      this.fill += n;
      this.process();
    }
    // Media flows: from now on the tick reads (returning false stops the event reads).
    if (this.sawFrame && this.wantTick && !this.closed && this.startTicking()) return false;
    // Off the tick for throughput: back to it after an interval that brought little.
    // The read's arrival time, as scan() took it (no second clock reading per read).
    if (this.leftTick && !this.closed && this.events.read(n, this.received.arrivalMs) && !this.pausedForPool && this.startTicking()) {
      return false;
    }
    return !this.pausedForPool;
  }

  /** Scans what arrived, then makes room for the next read (pausing the socket if the pool has no slot). */
  private process(): void {
    this.scan();
    if (!this.closed && !this.makeRoom()) this.pauseForPool();
  }

  /** Moves bytes that landed in the spill area into the read slot (which has room for them: see makeRoom). */
  private drainSpill(): void {
    if (this.spillFill === 0) return;
    const u8 = this.core.u8;
    u8.copyWithin(this.readPtr + this.fill, this.spillPtr, this.spillPtr + this.spillFill);
    this.stats.bytesMoved += this.spillFill;
    this.fill += this.spillFill;
    this.spillFill = 0;
    this.process();
  }

  private scan(): void {
    // Before media flows, an answer in another protocol (an HTTP server on the URL's port) is said as such: the
    // demuxer would skip it as garbage, and the request would wait for its timeout.
    if (!this.sawFrame && this.fill - this.scanFrom >= FOREIGN_PREFIX.length && this.foreignAnswer()) return;
    const d = this.demuxer;
    // Everything one read brought arrived at once. On the tick, the tick's one clock reading serves every connection
    // (read from its field here: a double returned by a call V8 does not inline would be boxed). At event reads each
    // read takes its own: Date.now() is a new heap number on every call in Node 20, the one allocation left per read
    // (~16 B, bench/alloc_perf.ts).
    this.received.arrivalMs = tickClock.running ? tickClock.nowMs : Date.now();
    for (;;) {
      const base = this.readPtr + this.scanFrom;
      const n = d.scan(base, this.fill - this.scanFrom);
      for (let i = 0; i < n && !this.closed; i++) {
        const kind = d.kind(i);
        if (kind === EV_KIND_FRAME) {
          this.sawFrame = true;
          const r = this.received;
          r.channel = d.channel(i);
          r.handle = this.readHandle;
          r.ptr = base + d.start(i);
          r.length = d.length(i);
          r.recordPtr = d.recordPtr(i);
          r.status = d.status(i);
          this.handlers.onFrame(r);
        } else if (kind === EV_KIND_MESSAGE) {
          const start = base + d.start(i);
          this.onMessage(this.core.u8.slice(start, start + d.length(i) + d.body(i)));
        } else if (kind === EV_KIND_ERROR) {
          this.stats.protocolErrors++;
          this.shutdown(new RtspError('PROTOCOL', `the server sent a malformed RTSP message: ${statusName(d.status(i))}`, {
            context: { status: statusName(d.status(i)) },
          }));
          return;
        }
      }
      this.scanFrom += d.consumed;
      if (n < d.maxEvents || this.closed) return;
    }
  }

  /**
   * When the unscanned bytes open with another protocol's status line (`HTTP/1.1 400 …`), the connection ends with
   * NOT_RTSP, the message parser's words (the version, the status line) and its error as the cause. True when the
   * scan must stop there: the connection ended, or such a line is still arriving.
   */
  private foreignAnswer(): boolean {
    const u8 = this.core.u8;
    const at = this.readPtr + this.scanFrom;
    for (let i = 0; i < FOREIGN_PREFIX.length; i++) if (u8[at + i] !== FOREIGN_PREFIX[i]) return false;
    // Its start line decides: wait for the whole line (its first 2 KiB at most) before judging.
    const available = Math.min(this.fill - this.scanFrom, 2048);
    let lineEnd = -1;
    for (let i = 0; i + 1 < available; i++) if (u8[at + i] === 0x0d && u8[at + i + 1] === 0x0a) { lineEnd = i; break; }
    if (lineEnd < 0 && available < 2048) return true;
    const startLine = new TextDecoder().decode(u8.subarray(at, at + (lineEnd < 0 ? available : lineEnd)));
    let reason = 'the server answered in another protocol, not RTSP/1.0: is the URL\'s port an RTSP server (not an HTTP one)?';
    let cause: unknown;
    try {
      parseRtspMessage(new TextEncoder().encode(`${startLine}\r\n\r\n`));
    } catch (e) {
      cause = e;
      reason = (e as Error).message;
    }
    this.stats.protocolErrors++;
    this.shutdown(new RtspError('NOT_RTSP', reason, {
      cause, context: { startLine: startLine.slice(0, 80) },
    }));
    return true;
  }

  private onMessage(bytes: Uint8Array): void {
    let message: RtspMessage;
    try {
      message = parseRtspMessage(bytes);
    } catch (cause) {
      this.stats.protocolErrors++;
      this.shutdown(new RtspError('PROTOCOL', `unparsable RTSP message from the server: ${(cause as Error).message}`, { cause }));
      return;
    }
    if (message.kind === 'request') {
      this.handlers.onServerRequest(message);
      return;
    }
    const cseqText = message.headers.get('cseq');
    let cseq = cseqText === undefined ? Number.NaN : Number.parseInt(cseqText, 10);
    // Some cameras omit CSeq: give that reply to the oldest request waiting. A reply whose CSeq matches no waiting
    // request is a late answer to one that timed out: dropped, never given to another request.
    if (Number.isNaN(cseq) && this.pending.size > 0) cseq = Math.min(...this.pending.keys());
    const p = this.pending.get(cseq);
    if (!p) return;
    this.pending.delete(cseq);
    clearTimeout(p.timer);
    p.resolve(message);
  }

  /**
   * After a scan: make sure the pending item can complete inside a slot and the next read has MIN_READ_BYTES of room.
   * Returns false when that needs a slot the pool cannot give.
   */
  private makeRoom(): boolean {
    const pending = this.fill - this.scanFrom;
    const u8 = this.core.u8;
    let needed = pending + MIN_READ_BYTES;
    if (pending >= FRAME_HEADER_BYTES && u8[this.readPtr + this.scanFrom] === 0x24) {
      const length = (u8[this.readPtr + this.scanFrom + 2] << 8) | u8[this.readPtr + this.scanFrom + 3];
      if (length + FRAME_HEADER_BYTES > READ_SLOT_BYTES) return this.startLargeFrame(length);
      needed = Math.max(needed, length + FRAME_HEADER_BYTES);
    }
    // The usual case: nobody else holds the slot and the partial item is short: it moves to end at READ_AT, where the
    // next read lands (one cached view for every read).
    if (pending <= READ_AT && READ_AT - pending + needed <= READ_SLOT_BYTES && this.pool.checkHandle(this.readHandle) === 1) {
      if (pending > 0 && this.scanFrom !== READ_AT - pending) {
        u8.copyWithin(this.readPtr + READ_AT - pending, this.readPtr + this.scanFrom, this.readPtr + this.fill);
        this.stats.bytesMoved += pending;
      }
      this.scanFrom = READ_AT - pending;
      this.fill = READ_AT;
      return true;
    }
    if (this.scanFrom + needed <= READ_SLOT_BYTES) return true;
    // Move the pending item to the start of a slot: this slot if nobody else holds it, else a fresh one.
    if (this.pool.checkHandle(this.readHandle) === 1) {
      if (pending > 0) u8.copyWithin(this.readPtr, this.readPtr + this.scanFrom, this.readPtr + this.fill);
    } else {
      const h = this.pool.acquireHandle(READ_SLOT_BYTES);
      if (h < 0) return false;
      const ptr = this.pool.lastPtr;
      if (pending > 0) u8.copyWithin(ptr, this.readPtr + this.scanFrom, this.readPtr + this.fill);
      this.pool.releaseHandle(this.readHandle);
      this.readHandle = h;
      this.readPtr = ptr;
      this.stats.slotRotations++;
    }
    this.stats.bytesMoved += pending;
    this.fill = pending;
    this.scanFrom = 0;
    return true;
  }

  /** Every slot is held by the consumer: stop reading (TCP pushes back on the server) until one comes back. */
  private pauseForPool(): void {
    if (this.pausedForPool) return;
    this.pausedForPool = true;
    this.stats.exhaustedPauses++;
    this.handlers.onPoolExhausted();
    this.socket?.pause();
    setTimeout(this.retryRoom, EXHAUSTED_RETRY_MS);
  }

  private readonly retryRoom = (): void => {
    if (this.closed) return;
    if (!this.makeRoom()) {
      setTimeout(this.retryRoom, EXHAUSTED_RETRY_MS);
      return;
    }
    this.pausedForPool = false;
    this.drainSpill();
    if (!this.pausedForPool && !this.ticking) this.socket?.resume();
  };

  private startLargeFrame(length: number): boolean {
    const h = this.pool.acquireHandle(length);
    if (h < 0) return false;
    this.stats.largeFrames++;
    const u8 = this.core.u8;
    const at = this.readPtr + this.scanFrom;
    this.largeHandle = h;
    this.largePtr = this.pool.lastPtr;
    this.largeLength = length;
    this.largeChannel = u8[at + 1];
    this.largeHave = this.fill - this.scanFrom - FRAME_HEADER_BYTES;
    u8.copyWithin(this.largePtr, at + FRAME_HEADER_BYTES, this.readPtr + this.fill);
    this.stats.bytesMoved += this.largeHave;
    // The frame's bytes now live in their own slot: the read slot restarts empty, the demuxer forgets the partial item.
    this.fill = this.scanFrom;
    this.demuxer.reset();
    if (this.largeHave === this.largeLength) this.finishLargeFrame();
    return true;
  }

  private finishLargeFrame(): void {
    const h = this.largeHandle;
    const rtp = this.demuxer.isRtpChannel(this.largeChannel);
    const r = this.received;
    r.channel = this.largeChannel;
    r.handle = h;
    r.ptr = this.largePtr;
    r.length = this.largeLength;
    r.recordPtr = rtp ? this.largeRecord : 0;
    r.status = rtp ? this.core.parseRtpAt(this.largePtr, this.largeLength, this.largeRecord) : 1;
    r.arrivalMs = tickClock.running ? tickClock.nowMs : Date.now();
    this.largeHandle = 0;
    this.handlers.onFrame(r);
    this.pool.releaseHandle(h);
    if (!this.closed && !this.makeRoom()) this.pauseForPool();
  }
}
