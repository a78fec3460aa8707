// UDP transport of one stream (RFC 2326 §12.39 client_port): an even/odd RTP/RTCP socket pair, each datagram copied
// once into a pool slot (Node's dgram always hands over a fresh Buffer of its own, so one copy is the floor), parsed
// there, put back in sequence order by the stream's reorder buffer (src/core/media/reorder.ts) and handed to the
// stream's receiver. The session (client.ts) owns the sockets' lifetime; this file only wires them.

import dgram from 'node:dgram';
import type { Core } from '../../core/core.js';
import type { PacketPool } from '../../core/pool.js';
import { RtspError } from '../../core/rtsp/errors.js';
import { receivedPacket, type ReceivedPacket } from '../../core/media/packet.js';
import type { StreamReceiver } from '../../core/media/receiver.js';
import { ReorderBuffer, type ReorderOptions } from '../../core/media/reorder.js';
import { unmapIPv4 } from './connection.js';

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

/** One stream's UDP path: datagram → pool slot → parse → reorder → receiver. */
export class UdpStreamInput {
  private readonly received: ReceivedPacket = receivedPacket();
  private readonly reorder: ReorderBuffer | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `server` is the address the RTSP connection reached (datagrams from elsewhere are refused); `recordPtr` an RTP
   * record in core memory this input may overwrite (one per session is enough: delivery is synchronous).
   */
  constructor(private readonly core: Core, private readonly pool: PacketPool, private readonly receiver: StreamReceiver,
    sockets: PortPair, server: string, private readonly recordPtr: number, reorder: ReorderOptions | false | undefined,
    private readonly handlers: UdpInputHandlers) {
    this.reorder = reorder === false ? undefined : this.createReorderBuffer(reorder ?? {});
    sockets.rtp.on('message', (msg, rinfo) => {
      // dgram reports IPv4 senders on a udp6 socket as ::ffff:a.b.c.d.
      if (unmapIPv4(rinfo.address) !== server) handlers.onForeign();
      else this.onDatagram(msg);
    });
    sockets.rtcp.on('message', (msg) => handlers.onRtcp(msg));
    for (const s of [sockets.rtp, sockets.rtcp]) {
      s.on('error', (e) => handlers.onError(new RtspError('CONNECTION_CLOSED', `UDP socket error: ${e.message}`, { cause: e })));
    }
  }

  private onDatagram(msg: Buffer): void {
    const receiver = this.receiver;
    if (msg.length > MAX_DATAGRAM_BYTES) {
      receiver.drop('oversized');
      return;
    }
    const pool = this.pool;
    const h = pool.acquireHandle(msg.length);
    if (h < 0) {
      receiver.drop('poolExhausted');
      return;
    }
    const ptr = pool.lastPtr;
    const u8 = this.core.u8;
    u8.set(msg, ptr); // the one copy UDP needs
    const received = this.parse(h, ptr, msg.length);
    const reorder = this.reorder;
    if (reorder !== undefined && received.status === 0) {
      const seq = (u8[ptr + 2]! << 8) | u8[ptr + 3]!;
      if (!reorder.inOrder(seq)) {
        reorder.push(seq, h, ptr, msg.length, Date.now()); // held in its slot, or handed on, or dropped
        return;
      }
      reorder.passed(seq);
    }
    receiver.receive(received, Date.now());
    pool.releaseHandle(h);
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

  /** Packets still held for reordering are never handed on: their slots go back, the timer stops. */
  close(): void {
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
