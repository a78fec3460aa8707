// The host side of the interleaved RTSP/RTP demuxer (RFC 2326 §10.12, RFC 7826 §14; the scan itself is
// assembly/demux.ts). Two ways in: a zero-allocation low-level API for hosts that read the socket straight into wasm
// memory (`scan` over [base, base + length), then per-event getters), and `push` for byte chunks from anywhere (a
// WebSocket in a browser), which copies into an internal buffer in wasm memory and calls back with views.
// Portable: no Node globals here.

import type { CoreMemory } from './memory.js';
import { WasmRtspError, hexDump } from './errors.js';
import { coreStatusError } from './status.js';
import {
  CHANNEL_ACCEPT, CHANNEL_RTP, DEMUX_BYTES, DEMUX_CONSUMED, DEMUX_EVENT_BYTES, DEMUX_FRAMES, DEMUX_GARBAGE_BYTES,
  DEMUX_MESSAGES, DEMUX_RESYNCS, DEMUX_RTP_ERRORS, EV_BODY, EV_CHANNEL, EV_KIND, EV_KIND_ERROR, EV_KIND_FRAME,
  EV_KIND_MESSAGE, EV_LENGTH, EV_START, EV_STATUS, RTP_RECORD_BYTES, DEMUX_MIN_HEADER_BYTES, DEMUX_MAX_LIMIT_BYTES,
} from './layout.js';

/** Default limit of an RTSP message's start line and headers, in octets. */
export const DEFAULT_MAX_HEADER_BYTES = 16384;
/** Default limit of an RTSP message's body (an SDP, a GET_PARAMETER reply), in octets. */
export const DEFAULT_MAX_BODY_BYTES = 65536;
/** Default number of events one scan may report. */
export const DEFAULT_MAX_EVENTS = 256;
/** Smallest header limit the core accepts (the core's DEMUX_MIN_HEADER_BYTES). */
export const MIN_HEADER_BYTES = DEMUX_MIN_HEADER_BYTES;
/** Largest header or body limit the core accepts, 16 MiB (the core's DEMUX_MAX_LIMIT_BYTES). */
export const MAX_LIMIT_BYTES = DEMUX_MAX_LIMIT_BYTES;
/** Most events one scan may report. */
export const MAX_EVENTS = 65536;
/** The largest interleaved frame: '$', channel, 16-bit length and 65535 octets. */
export const MAX_FRAME_BYTES = 65539;
/** Octets `push` copies into wasm memory per scan. */
export const PUSH_READ_BYTES = 65536;

/** Kind of an event, as reported by `kind(i)` (EV_KIND_* of the ABI). */
export const DemuxEventKind = { FRAME: EV_KIND_FRAME, MESSAGE: EV_KIND_MESSAGE, ERROR: EV_KIND_ERROR } as const;

/** Options of `core.createDemuxer`. */
export interface DemuxerOptions {
  /** Longest start line + headers + empty line of an RTSP message, in octets (default 16384). */
  maxHeaderBytes?: number;
  /** Longest RTSP message body, in octets (default 65536). */
  maxBodyBytes?: number;
  /** Most events reported by one scan (default 256). */
  maxEvents?: number;
  /** Expected channels; once any is given, a '$' on another channel is garbage. `rtp: true` parses RTP headers. */
  channels?: Array<{ channel: number; rtp?: boolean }>;
}

/** An error of the demuxer: a wasm status (`code` is its name, e.g. 'DEMUX_HEADER_TOO_LARGE') or a misuse. */
export class DemuxError extends WasmRtspError {}

/** One item found by `push`. Views are valid only during the callback: copy what you keep. */
export type DemuxEvent =
  | { kind: 'frame'; channel: number; data: Uint8Array; status: number }
  | { kind: 'message'; data: Uint8Array; headerLength: number; bodyLength: number }
  | { kind: 'error'; error: DemuxError };

/** Running totals of a demuxer. */
export interface DemuxStats {
  frames: number;
  messages: number;
  garbageBytes: number;
  bytes: number;
  rtpErrors: number;
  resyncs: number;
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DemuxError('BAD_OPTION', `${name} must be an integer between ${min} and ${max}`, { context: { [name]: value } });
  }
  return v;
}

/**
 * A demuxer of one RTSP-over-TCP connection: finds interleaved frames and RTSP messages in the bytes, reporting
 * where they are without copying them.
 */
export class InterleavedDemuxer {
  /** The core whose memory holds this demuxer's state and buffers. */
  readonly core: CoreMemory;
  /** Header limit in octets. */
  readonly maxHeaderBytes: number;
  /** Body limit in octets. */
  readonly maxBodyBytes: number;
  /** Most events per scan. */
  readonly maxEvents: number;
  /** Address of the state in wasm memory (its head is the DEMUX_* statistics). */
  private state: number;
  /** Address of the event records. */
  private readonly events: number;
  /** Address of the RTP records (event i's at records + i × RTP_RECORD_BYTES). */
  private readonly records: number;
  /** Address and size of push's buffer; `tail` octets at its start are a carried partial item. */
  private buffer = 0;
  private bufferBytes = 0;
  private tail = 0;
  private pushing = false;
  private destroyed = false;
  /** Mirror of the core's channel flags, for hosts that handle a frame outside the scan. */
  private readonly channelFlags = new Uint8Array(256);

  constructor(core: CoreMemory, options: DemuxerOptions = {}) {
    this.core = core;
    this.maxHeaderBytes = intOption('maxHeaderBytes', options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, MIN_HEADER_BYTES, MAX_LIMIT_BYTES);
    this.maxBodyBytes = intOption('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 0, MAX_LIMIT_BYTES);
    this.maxEvents = intOption('maxEvents', options.maxEvents, DEFAULT_MAX_EVENTS, 1, MAX_EVENTS);
    const channels = options.channels ?? [];
    if (!Array.isArray(channels)) throw new DemuxError('BAD_OPTION', 'channels must be an array', { context: { channels } });
    for (const c of channels) {
      if (c === null || typeof c !== 'object' || !Number.isInteger(c.channel) || c.channel < 0 || c.channel > 255) {
        throw new DemuxError('BAD_OPTION', 'each channel must be { channel: 0..255, rtp?: boolean }', { context: { channel: c } });
      }
    }
    core.assertUsable();
    const state = core.exports.demux_create(this.maxHeaderBytes, this.maxBodyBytes) >>> 0;
    if (state === 0) {
      throw new DemuxError('ERR_OUT_OF_MEMORY', `no room for a demuxer in the core's fixed memory; raise memoryBytes`, {
        context: { memoryBytes: core.memoryBytes, reservedBytes: core.reservedBytes },
      });
    }
    this.state = state;
    try {
      this.events = core.alloc(this.maxEvents * DEMUX_EVENT_BYTES, 'demuxer event array');
      try {
        this.records = core.alloc(this.maxEvents * RTP_RECORD_BYTES, 'demuxer RTP record array');
      } catch (e) {
        core.free(this.events);
        throw e;
      }
    } catch (e) {
      core.exports.demux_destroy(state);
      throw e;
    }
    for (const c of channels) this.setChannel(c.channel, { rtp: c.rtp });
  }

  private live(): void {
    if (this.destroyed) throw new DemuxError('DESTROYED', 'this demuxer was destroyed');
  }

  /** Marks `channel` as expected (frames on channels never set become garbage) and, with `rtp`, parses its RTP headers. */
  setChannel(channel: number, options: { rtp?: boolean; accept?: boolean } = {}): void {
    this.live();
    if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
      throw new DemuxError('BAD_OPTION', 'channel must be an integer between 0 and 255', { context: { channel } });
    }
    const flags = (options.accept === false ? 0 : CHANNEL_ACCEPT) | (options.rtp ? CHANNEL_RTP : 0);
    const status = this.core.exports.demux_set_channel(this.state, channel, flags);
    if (status !== 0) throw this.statusError(status, { channel, flags });
    this.channelFlags[channel] = flags;
  }

  /** True when frames on `channel` are parsed as RTP (set with `setChannel(channel, { rtp: true })`). */
  isRtpChannel(channel: number): boolean {
    return (this.channelFlags[channel & 255] & CHANNEL_RTP) !== 0;
  }

  /**
   * Scans [base, base + length) of wasm memory and returns the number of events (read them with the getters).
   * Octets after `consumed` are a partial item: pass them again, followed by new bytes, at the start of the next scan.
   */
  scan(base: number, length: number): number {
    this.live();
    const core = this.core;
    let n: number;
    try {
      n = core.exports.demux_scan(this.state, base, length, this.events, this.maxEvents, this.records);
    } catch (cause) {
      core.guard(() => { throw cause; }); // marks the core unusable on a trap and rethrows as CoreError
      throw cause;
    }
    if (n < 0) throw this.statusError(n, { base, length });
    core.views();
    return n;
  }

  /** Octets of the last scan's input fully consumed. */
  get consumed(): number {
    return this.core.u32[(this.state + DEMUX_CONSUMED) >>> 2];
  }

  /** Kind of event i: DemuxEventKind.FRAME, MESSAGE or ERROR. */
  kind(i: number): number {
    return this.core.u8[this.events + i * DEMUX_EVENT_BYTES + EV_KIND];
  }

  /** Interleaved channel of frame event i. */
  channel(i: number): number {
    return this.core.u8[this.events + i * DEMUX_EVENT_BYTES + EV_CHANNEL];
  }

  /** Frame: RTP parse status (or EV_NOT_PARSED = 1); error: the DEMUX_* status; message: 0. */
  status(i: number): number {
    return (this.core.u16[(this.events + i * DEMUX_EVENT_BYTES + EV_STATUS) >>> 1] << 16) >> 16;
  }

  /** Frame: offset of the payload; message: of its first octet; error: of the offending item (relative to base). */
  start(i: number): number {
    return this.core.u32[(this.events + i * DEMUX_EVENT_BYTES + EV_START) >>> 2];
  }

  /** Frame: payload length; message: start line + headers + empty line; error: octets examined (header length). */
  length(i: number): number {
    return this.core.u32[(this.events + i * DEMUX_EVENT_BYTES + EV_LENGTH) >>> 2];
  }

  /** Message: body length (Content-Length); DEMUX_BODY_TOO_LARGE error: the announced length. */
  body(i: number): number {
    return this.core.u32[(this.events + i * DEMUX_EVENT_BYTES + EV_BODY) >>> 2];
  }

  /** Address of frame event i's RTP record (meaningful when its status is not EV_NOT_PARSED). */
  recordPtr(i: number): number {
    return this.records + i * RTP_RECORD_BYTES;
  }

  /**
   * Demuxes a chunk from anywhere: copies it into wasm memory behind the carried partial item, scans, and calls
   * `onEvent` per item. Event views are valid only during the call. If `onEvent` throws, the demuxer is reset (its
   * buffered partial item is dropped) and the error propagates.
   */
  push(chunk: Uint8Array, onEvent: (event: DemuxEvent) => void): void {
    this.live();
    if (this.pushing) throw new DemuxError('REENTRANT', 'push called from inside its own onEvent callback');
    if (this.buffer === 0) {
      this.bufferBytes = MAX_FRAME_BYTES + this.maxHeaderBytes + this.maxBodyBytes + PUSH_READ_BYTES;
      this.buffer = this.core.alloc(this.bufferBytes, 'demuxer push buffer');
    }
    this.pushing = true;
    try {
      let offset = 0;
      while (offset < chunk.length) {
        // The tail is shorter than the largest item, so at least PUSH_READ_BYTES are free.
        const take = Math.min(chunk.length - offset, this.bufferBytes - this.tail);
        this.core.views().set(chunk.subarray(offset, offset + take), this.buffer + this.tail);
        offset += take;
        let filled = this.tail + take;
        let at = 0; // buffer offset of the next scan's base
        for (;;) {
          const streamAt = this.bytesConsumed();
          const base = this.buffer + at;
          const n = this.scan(base, filled - at);
          for (let i = 0; i < n; i++) onEvent(this.eventAt(i, base, this.buffer + filled, streamAt));
          at += this.consumed;
          if (n < this.maxEvents) break;
        }
        // Carry the partial item to the front.
        const u8 = this.core.views();
        if (at > 0 && filled > at) u8.copyWithin(this.buffer, this.buffer + at, this.buffer + filled);
        filled -= at;
        this.tail = filled;
      }
    } catch (e) {
      if (!this.destroyed) this.reset();
      throw e;
    } finally {
      this.pushing = false;
    }
  }

  private bytesConsumed(): number {
    const u32 = this.core.u32;
    const p = (this.state + DEMUX_BYTES) >>> 2;
    return u32[p] + u32[p + 1] * 2 ** 32;
  }

  private eventAt(i: number, base: number, end: number, streamAt: number): DemuxEvent {
    const u8 = this.core.u8;
    const start = this.start(i);
    const kind = this.kind(i);
    if (kind === EV_KIND_FRAME) {
      const at = base + start;
      return { kind: 'frame', channel: this.channel(i), data: u8.subarray(at, at + this.length(i)), status: this.status(i) };
    }
    if (kind === EV_KIND_MESSAGE) {
      const headerLength = this.length(i);
      const bodyLength = this.body(i);
      const at = base + start;
      return { kind: 'message', data: u8.subarray(at, at + headerLength + bodyLength), headerLength, bodyLength };
    }
    const status = this.status(i);
    const at = base + start;
    const dump = u8.subarray(at, Math.min(at + 32, end));
    return {
      kind: 'error',
      error: this.statusError(status, {
        streamOffset: streamAt + start,
        headerLength: this.length(i),
        bodyLength: this.body(i),
        maxHeaderBytes: this.maxHeaderBytes,
        maxBodyBytes: this.maxBodyBytes,
        hex: hexDump(dump),
      }),
    };
  }

  private statusError(status: number, context: Record<string, unknown>): DemuxError {
    return coreStatusError(DemuxError, status, undefined, context);
  }

  /** Running totals: frames, messages, garbage octets, octets consumed, frames with a bad RTP header, garbage runs. */
  stats(): DemuxStats {
    this.live();
    this.core.views();
    const u32 = this.core.u32;
    const at = (offset: number): number => {
      const p = (this.state + offset) >>> 2;
      return u32[p] + u32[p + 1] * 2 ** 32;
    };
    return {
      frames: at(DEMUX_FRAMES),
      messages: at(DEMUX_MESSAGES),
      garbageBytes: at(DEMUX_GARBAGE_BYTES),
      bytes: at(DEMUX_BYTES),
      rtpErrors: at(DEMUX_RTP_ERRORS),
      resyncs: at(DEMUX_RESYNCS),
    };
  }

  /** Forgets buffered and partial bytes (a new connection); keeps channels and statistics. */
  reset(): void {
    this.live();
    this.tail = 0;
    const status = this.core.exports.demux_reset(this.state);
    if (status !== 0) throw this.statusError(status, {});
  }

  /** Frees the demuxer's memory. Idempotent; any later use throws DemuxError('DESTROYED'). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const core = this.core;
    try {
      core.assertUsable();
    } catch {
      return; // a trapped core is discarded whole: nothing to free
    }
    core.exports.demux_destroy(this.state);
    core.free(this.events);
    core.free(this.records);
    if (this.buffer !== 0) core.free(this.buffer);
    this.buffer = 0;
    this.state = 0;
  }
}
