// UDP transport of one stream (RFC 2326 §12.39 client_port): an even/odd RTP/RTCP socket pair, each datagram copied
// once into a pool slot, parsed there, put back in sequence order by the stream's reorder buffer
// (src/core/media/reorder.ts) and handed to the stream's receiver. The session (client.ts) owns the sockets' lifetime.
//
// With a read interval (RtspClientOptions.readIntervalMs), the RTP socket is read like a TCP connection: once the
// server's first datagram came (through dgram, which makes a Buffer and an rinfo object per datagram and wakes the
// process for each burst), the socket is connected to that sender (the kernel then drops anyone else's datagrams),
// leaves epoll and is read by the process-wide read tick with read(2) on its descriptor, into a landing area in wasm
// memory: one wake-up per interval for every socket, no allocation per datagram (an empty queue answers with an
// EAGAIN error, one per socket per tick). A tick that brings 64 KiB sends the socket back to dgram's events, as busy
// TCP connections go (the kernel buffer must hold an interval); an interval at events under 32 KiB returns it.

import dgram from 'node:dgram';
import type { Core } from '../../core/core.js';
import type { PacketPool } from '../../core/pool.js';
import { RtspError } from '../../core/rtsp/errors.js';
import { receivedPacket, type ReceivedPacket } from '../../core/media/packet.js';
import type { StreamReceiver } from '../../core/media/receiver.js';
import { ReorderBuffer, type ReorderOptions } from '../../core/media/reorder.js';
import { unmapIPv4 } from './connection.js';
import {
  EventInterval, NOTHING_BUFFERED, readFd, readTickFor, TICK_SATURATED_BYTES, tickClock, type TickReader,
} from './read-tick.js';

/** Kernel receive buffer asked for each UDP RTP socket (raw video can burst tens of thousands of packets a second). */
export const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Largest UDP datagram accepted (bigger ones are dropped as 'oversized'). */
export const MAX_DATAGRAM_BYTES = 65536;

/** An RTP socket and the RTCP socket on the next port. */
export interface PortPair {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  ports: { rtp: number; rtcp: number };
}

/** What a stream's UDP input reports to its session. */
export interface UdpInputHandlers {
  /** A datagram from an address that is not the server's. */
  onForeign(): void;
  /** An RTCP compound packet of the stream. */
  onRtcp(bytes: Uint8Array): void;
  onError(error: RtspError): void;
  /** False once the session is closing: no latency timer is armed then. */
  isOpen(): boolean;
}

/** Datagrams read from one socket per tick at most (a bound on one tick's work; a busy socket leaves the tick). */
const MAX_DATAGRAMS_PER_TICK = 256;

/** How a stream's RTP socket was read (in ClientStats.udp, summed over the session's streams). */
export interface UdpReadStats {
  /** Times an RTP socket moved to the read tick (after the server's first datagram, and back after leaving it). */
  tickJoins: number;
  /** Times it left the tick for dgram's events (a tick brought 64 KiB). */
  tickLeaves: number;
  /** Datagrams read by the tick (the rest came as dgram events). */
  tickDatagrams: number;
}

/** Adds `from`'s counts to `into` (a session's totals over its streams). */
export function addUdpReadStats(into: UdpReadStats, from: UdpReadStats): UdpReadStats {
  into.tickJoins += from.tickJoins;
  into.tickLeaves += from.tickLeaves;
  into.tickDatagrams += from.tickDatagrams;
  return into;
}

/** The part of dgram's internal UDP handle the tick uses (Node has no public API to stop receiving or read the fd). */
interface UdpHandle {
  fd?: unknown;
  recvStart?: () => number;
  recvStop?: () => number;
}

/** One stream's UDP path: datagram → pool slot → parse → reorder → receiver. */
export class UdpStreamInput implements TickReader {
  private readonly received: ReceivedPacket = receivedPacket();
  private readonly reorder: ReorderBuffer | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly stats: UdpReadStats = { tickJoins: 0, tickLeaves: 0, tickDatagrams: 0 };
  private closed = false;
  /** Read tick state: connecting to the sender, on the tick (fd ≥ 0), or back on events (leftTick, events). */
  private joining = false;
  private ticking = false;
  private fd = -1;
  /** 64 KiB of core memory a tick read lands in (a datagram's length is known only once read), made at the first join. */
  private landingPtr = 0;
  private leftTick = false;
  private readonly events: EventInterval;
  private readonly rtp: dgram.Socket;

  /**
   * `server` is the address the RTSP connection reached (datagrams from elsewhere are refused); `recordPtr` an RTP
   * record in core memory this input may overwrite (one per session is enough: delivery is synchronous).
   */
  constructor(private readonly core: Core, private readonly pool: PacketPool, private readonly receiver: StreamReceiver,
    sockets: PortPair, server: string, private readonly recordPtr: number, reorder: ReorderOptions | false | undefined,
    private readonly handlers: UdpInputHandlers, private readonly intervalMs = 0) {
    this.reorder = reorder === false ? undefined : this.createReorderBuffer(reorder ?? {});
    this.rtp = sockets.rtp;
    this.events = new EventInterval(intervalMs);
    sockets.rtp.on('message', (msg, rinfo) => {
      // dgram reports IPv4 senders on a udp6 socket as ::ffff:a.b.c.d.
      if (unmapIPv4(rinfo.address) !== server) {
        handlers.onForeign();
        return;
      }
      this.onDatagram(msg);
      if (this.intervalMs > 0 && !this.ticking) this.eventRead(msg.length, rinfo);
    });
    sockets.rtcp.on('message', (msg) => handlers.onRtcp(msg));
    for (const s of [sockets.rtp, sockets.rtcp]) {
      s.on('error', (e) => handlers.onError(new RtspError('CONNECTION_CLOSED', `UDP socket error: ${e.message}`, { cause: e })));
    }
  }

  private onDatagram(msg: Buffer): void {
    if (msg.length > MAX_DATAGRAM_BYTES) {
      this.receiver.drop('oversized');
      return;
    }
    const h = this.pool.acquireHandle(msg.length);
    if (h < 0) {
      this.receiver.drop('poolExhausted');
      return;
    }
    this.core.u8.set(msg, this.pool.lastPtr); // the one copy UDP needs
    this.deliver(h, this.pool.lastPtr, msg.length, Date.now());
  }

  /** A datagram in pool slot `h`: parse, reorder, receive, release. */
  private deliver(h: number, ptr: number, length: number, nowMs: number): void {
    const u8 = this.core.u8;
    const received = this.parse(h, ptr, length);
    const reorder = this.reorder;
    if (reorder !== undefined && received.status === 0) {
      const seq = (u8[ptr + 2]! << 8) | u8[ptr + 3]!;
      if (!reorder.inOrder(seq)) {
        reorder.push(seq, h, ptr, length, nowMs); // held in its slot, or handed on, or dropped
        return;
      }
      reorder.passed(seq);
    }
    received.arrivalMs = nowMs;
    this.receiver.receive(received);
    this.pool.releaseHandle(h);
  }

  /** A datagram that came as a dgram event: the first one moves the socket to the tick; a busy interval keeps it off. */
  private eventRead(bytes: number, rinfo: dgram.RemoteInfo): void {
    if (!this.leftTick) {
      if (!this.joining) this.connectAndJoin(rinfo);
      return;
    }
    if (this.events.read(bytes, Date.now())) this.joinTick();
  }

  /** Connects the RTP socket to the server's sender (rinfo), then reads it on the tick; stays on events if it cannot. */
  private connectAndJoin(rinfo: dgram.RemoteInfo): void {
    if (process.platform === 'win32') return;
    this.joining = true;
    try {
      this.rtp.connect(rinfo.port, rinfo.address, (err?: Error) => {
        if (err === undefined || err === null) this.joinTick();
      });
    } catch {
      // Already connected, or closed meanwhile: stays on events.
    }
  }

  /**
   * dgram's UDP handle, from the socket's internal state: `socket._handle` would print Node's DEP0112 deprecation
   * warning to the user's stderr. Undefined where Node keeps it elsewhere (the socket then stays on events).
   */
  private handle(): UdpHandle | undefined {
    const socket = this.rtp as unknown as Record<symbol, { handle?: UdpHandle } | undefined>;
    const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
    return state === undefined ? undefined : socket[state]?.handle ?? undefined;
  }

  /** Off epoll and onto the tick (no-op once closed, or where the handle has no descriptor to read). */
  private joinTick(): void {
    if (this.closed || this.ticking) return;
    const handle = this.handle();
    const fd = handle?.fd;
    if (typeof fd !== 'number' || fd < 0 || typeof handle?.recvStop !== 'function' || typeof handle.recvStart !== 'function') return;
    if (this.landingPtr === 0) {
      try {
        this.landingPtr = this.core.alloc(MAX_DATAGRAM_BYTES, 'UDP landing area');
      } catch {
        return; // a core too full for 64 KiB more (a shared one, sized tight): the socket stays on events
      }
    }
    handle.recvStop();
    this.fd = fd;
    this.ticking = true;
    this.leftTick = false;
    this.stats.tickJoins++;
    readTickFor(this.intervalMs).add(this);
  }

  /** Back to dgram's events (too busy for the tick, or the socket failed). */
  private leaveTick(): void {
    if (!this.ticking) return;
    readTickFor(this.intervalMs).delete(this);
    this.ticking = false;
    this.fd = -1;
    if (this.closed) return;
    this.leftTick = true;
    this.stats.tickLeaves++;
    this.events.restart(tickClock.now());
    this.handle()?.recvStart?.();
  }

  /** @internal The read tick: every datagram queued since the last one, each into a pool slot of its size. */
  tickRead(): void {
    const nowMs = tickClock.running ? tickClock.nowMs : Date.now();
    let bytes = 0;
    for (let i = 0; i < MAX_DATAGRAMS_PER_TICK && this.ticking; i++) {
      let n: number;
      try {
        n = readFd(this.fd, this.core.views(), this.landingPtr, MAX_DATAGRAM_BYTES);
      } catch (e) {
        // An ICMP port unreachable answering something sent from this socket: not about what we receive.
        if ((e as { code?: string }).code === 'ECONNREFUSED') continue;
        this.leaveTick();
        this.handlers.onError(new RtspError('CONNECTION_CLOSED', `UDP socket error: ${(e as Error).message}`, { cause: e }));
        return;
      }
      if (n === NOTHING_BUFFERED) break;
      bytes += n;
      this.stats.tickDatagrams++;
      // read(2) gives no sender and no truncation flag: the socket is connected (the kernel keeps others' datagrams
      // out) and the landing area holds the largest datagram there is.
      const h = this.pool.acquireHandle(n);
      if (h < 0) {
        this.receiver.drop('poolExhausted');
        continue;
      }
      const ptr = this.pool.lastPtr;
      this.core.u8.copyWithin(ptr, this.landingPtr, this.landingPtr + n);
      this.deliver(h, ptr, n, nowMs);
    }
    if (bytes >= TICK_SATURATED_BYTES) this.leaveTick();
  }

  /** Parses the datagram in slot `handle` into the record: the reused ReceivedPacket that describes it. */
  private parse(handle: number, ptr: number, length: number): ReceivedPacket {
    const r = this.received;
    r.handle = handle;
    r.ptr = ptr;
    r.length = length;
    r.recordPtr = this.recordPtr;
    r.status = this.core.parseRtpAt(ptr, length, this.recordPtr);
    return r;
  }

  private createReorderBuffer(options: ReorderOptions): ReorderBuffer {
    const { pool, receiver } = this;
    return new ReorderBuffer(options, {
      emit: (handle, ptr, length, held) => {
        // A packet handed on from the buffer: parse it again into the record (it was overwritten meanwhile).
        const received = this.parse(handle, ptr, length);
        if (held) receiver.statistics.reordered++;
        receiver.receive(received, Date.now());
        pool.releaseHandle(handle);
      },
      discard: (handle, reason) => {
        receiver.drop(reason);
        pool.releaseHandle(handle);
      },
      schedule: (ms) => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        if (ms > 0 && this.handlers.isOpen()) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.reorder?.expire(Date.now());
          }, ms);
          this.timer.unref?.();
        }
      },
    });
  }

  /**
   * Packets still held for reordering are never handed on: their slots go back, the timer stops. Call before the
   * sockets close: the tick must stop reading a descriptor before it is closed (its number may be reused at once).
   */
  close(): void {
    this.closed = true;
    this.leaveTick();
    if (this.landingPtr !== 0) this.core.free(this.landingPtr);
    this.landingPtr = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.reorder?.clear((h) => this.pool.releaseHandle(h));
  }
}

/** Binds an even RTP port and the next odd one for RTCP (RFC 3550 §11), retrying on collisions. */
export async function bindPortPair(type: 'udp4' | 'udp6', recvBufferSize: number): Promise<PortPair> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 20000);
    const rtp = dgram.createSocket({ type, recvBufferSize: recvBufferSize > 0 ? recvBufferSize : undefined });
    const rtcp = dgram.createSocket(type);
    try {
      await bind(rtp, port);
      await bind(rtcp, port + 1);
      return { rtp, rtcp, ports: { rtp: port, rtcp: port + 1 } };
    } catch {
      rtp.close();
      rtcp.close();
    }
  }
  throw new RtspError('CONNECT_FAILED', 'no free even/odd UDP port pair found for RTP/RTCP');
}

function bind(socket: dgram.Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
}
