// The packet a consumer sees. On the hot path one RtpPacket object per client is reused for every packet: it is
// valid only during the handler call, and nothing is allocated unless the consumer asks (view, payload, retain).

import type { Core } from '../core.js';
import { Lease, type PacketPool } from '../pool.js';
import { readRtpRecord, RtpRecordView, type RtpHeader } from '../rtp.js';
import type { MediaStream } from './stream.js';

/**
 * A packet as its transport hands it over, in core memory: the one value that travels from the connection or the UDP
 * socket to the stream's receiver. Reused (one per connection, one per UDP path): valid during the call only.
 */
export interface ReceivedPacket {
  /** Interleaved channel (TCP); -1 for a UDP datagram. */
  channel: number;
  /** The pool slot holding the bytes: retain it to keep the packet past the call. */
  handle: number;
  /** Address and length of the packet in core memory. */
  ptr: number;
  length: number;
  /** The packet's RTP record when it was parsed as RTP (0 when not). */
  recordPtr: number;
  /** RTP parse status: 0 = valid, < 0 = an RTP_* error, 1 = not parsed (an RTCP channel). */
  status: number;
  /**
   * Local arrival time (ms since the Unix epoch). A field rather than an argument: a double passed to a function
   * that is not inlined is boxed, one heap number per packet (issue 12).
   */
  arrivalMs: number;
}

/** A ReceivedPacket with every field 0 (-1 for the channel; arrivalMs a double from the start), to be filled and reused. */
export function receivedPacket(): ReceivedPacket {
  return { channel: -1, handle: 0, ptr: 0, length: 0, recordPtr: 0, status: 1, arrivalMs: 0.5 };
}

/** An RTP packet kept past its handler: a lease on its bytes plus a copy of its parsed header. */
export interface RetainedPacket {
  readonly stream: MediaStream;
  /** The packet's bytes in wasm memory; `lease.view` throws once released. */
  readonly lease: Lease;
  readonly header: RtpHeader;
  readonly arrivalTimeMs: number;
  readonly wallClockTimeMs: number | undefined;
  /** Releases the bytes (idempotent-safe: a second call throws LeaseReleasedError, as leases do). */
  release(): void;
}

/** The packet handed to `on('packet')` handlers: reused, valid only during the call; `retain()` to keep it. */
export class RtpPacket {
  /** The stream this packet belongs to. */
  stream!: MediaStream;
  /** Address and length of the whole RTP packet in the core's memory. */
  byteOffset = 0;
  length = 0;
  /** Local arrival time (ms since the Unix epoch). */
  arrivalTimeMs = Number.NaN; // a double field from the start: no map change (and deopt) at the first packet
  /** Sender wall-clock time of this packet from the last RTCP sender report, or undefined before the first SR. */
  get wallClockTimeMs(): number | undefined {
    return Number.isNaN(this.wallClockMs) ? undefined : this.wallClockMs;
  }
  /** @internal wallClockTimeMs as a double field (NaN: none): a number | undefined field boxes every double stored. */
  wallClockMs = Number.NaN;
  /** The parsed header, read lazily from the wasm record (no object per packet). */
  readonly header: RtpRecordView;
  /** @internal */ handle = 0;
  /** @internal */ recordPtr = 0;
  /** @internal */ live = false;

  constructor(private readonly core: Core, private readonly pool: PacketPool) {
    this.header = new RtpRecordView(core);
  }

  /** The whole packet, as a view of wasm memory (valid during the handler call). */
  get view(): Uint8Array {
    this.assertLive('view');
    return this.core.view(this.byteOffset, this.length);
  }

  /** The payload (after header, CSRCs and extension; without padding), as a view of wasm memory. */
  get payload(): Uint8Array {
    this.assertLive('payload');
    return this.core.view(this.byteOffset + this.header.payloadOffset, this.header.payloadLength);
  }

  /** Keeps the packet past the handler: takes a reference on its slot and copies the header into an object. */
  retain(): RetainedPacket {
    this.assertLive('retain');
    const status = this.pool.retainHandle(this.handle);
    if (status < 0) throw this.pool.statusError(status, { op: 'retain', handle: this.handle });
    const lease = new Lease(this.pool, this.handle, this.byteOffset, this.length);
    const header = readRtpRecord(this.core, this.recordPtr, lease.view);
    return {
      stream: this.stream,
      lease,
      header,
      arrivalTimeMs: this.arrivalTimeMs,
      wallClockTimeMs: this.wallClockTimeMs,
      release: () => lease.release(),
    };
  }

  private assertLive(op: string): void {
    if (!this.live) {
      throw new RangeError(`RtpPacket.${op} used after its handler returned; call retain() inside the handler to keep a packet`);
    }
  }
}
