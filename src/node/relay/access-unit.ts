// Access units of an RTP stream as the relay forwards them: packets are gathered (as interleaved frames, '$' +
// channel + 16-bit length + packet, RFC 2326 §10.12) until the unit ends, then handed on whole, so a slow browser can
// be skipped a whole unit at a time and restarted at a keyframe. Memory is bounded: one buffer per stream, never
// larger than `maxBytes`; a bigger unit is dropped and counted.

/** Interleaved frame header: '$', channel, 16-bit length (RFC 2326 §10.12). */
export const INTERLEAVED_HEADER_BYTES = 4;
/** Default bound of one access unit as forwarded (a 1280×720 UYVY raw frame is 1.8 MB plus headers). */
export const DEFAULT_MAX_ACCESS_UNIT_BYTES = 4 * 1024 * 1024;
/** First size of a stream's gathering buffer; it doubles up to the bound. */
const INITIAL_BUFFER_BYTES = 64 * 1024;

/** H.264 NAL unit types (RFC 6184 §5.2, H.264 Table 7-1). */
const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;
/** H.265 NAL unit types (RFC 7798 §4.4, H.265 Table 7-1): IRAP 16..23, VPS/SPS/PPS 32..34, AP 48, FU 49. */
const H265_IRAP_FIRST = 16;
const H265_IRAP_LAST = 23;
const H265_VPS = 32;
const H265_PPS = 34;
const H265_AP = 48;
const H265_FU = 49;

/** Codecs whose keyframes the relay recognizes; every other stream's units are all treated as keyframes. */
export type KeyframeCodec = 'H264' | 'H265' | 'OTHER';

/** The keyframe rule of an SDP encoding name. */
export function keyframeCodec(encodingName: string): KeyframeCodec {
  const name = encodingName.toUpperCase();
  return name === 'H264' ? 'H264' : name === 'H265' || name === 'HEVC' ? 'H265' : 'OTHER';
}

function h264Key(type: number): boolean {
  return type === H264_IDR || type === H264_SPS;
}

function h265Key(type: number): boolean {
  return (type >= H265_IRAP_FIRST && type <= H265_IRAP_LAST) || (type >= H265_VPS && type <= H265_PPS);
}

/**
 * True when an RTP payload starts (or, for aggregates, contains) a keyframe NAL (the assembler asks for every packet of
 * a unit: encoders often send an access unit delimiter, NAL 9, first): H.264 IDR (5) or SPS (7), also
 * inside STAP-A and as an FU-A start; H.265 IRAP (16–23) or VPS/SPS/PPS (32–34), also inside AP and as an FU start.
 * Other codecs: always true (each unit stands alone).
 */
export function startsKeyframe(codec: KeyframeCodec, payload: Uint8Array): boolean {
  if (codec === 'OTHER') return true;
  if (payload.length < 1) return false;
  if (codec === 'H264') {
    const type = payload[0] & 0x1f;
    if (type === H264_FU_A) return payload.length >= 2 && (payload[1] & 0x80) !== 0 && h264Key(payload[1] & 0x1f);
    if (type === H264_STAP_A) {
      // STAP-A: header, then (16-bit size, NAL) pairs (RFC 6184 §5.7.1).
      for (let at = 1; at + 2 < payload.length;) {
        const size = (payload[at] << 8) | payload[at + 1];
        if (size === 0 || at + 2 + size > payload.length) return false;
        if (h264Key(payload[at + 2] & 0x1f)) return true;
        at += 2 + size;
      }
      return false;
    }
    return h264Key(type);
  }
  if (payload.length < 2) return false;
  const type = (payload[0] >> 1) & 0x3f;
  if (type === H265_FU) return payload.length >= 3 && (payload[2] & 0x80) !== 0 && h265Key(payload[2] & 0x3f);
  if (type === H265_AP) {
    // AP: 2-octet header, then (16-bit size, NAL) pairs (RFC 7798 §4.4.2); no DONL (sprop-max-don-diff absent).
    for (let at = 2; at + 2 < payload.length;) {
      const size = (payload[at] << 8) | payload[at + 1];
      if (size === 0 || at + 2 + size > payload.length) return false;
      if (h265Key((payload[at + 2] >> 1) & 0x3f)) return true;
      at += 2 + size;
    }
    return false;
  }
  return h265Key(type);
}

/** One complete access unit: its interleaved frames, one Buffer that may be sent to many sockets. */
export interface AccessUnit {
  streamId: number;
  timestamp: number;
  keyframe: boolean;
  packets: number;
  data: Buffer;
}

/** Counters of an assembler. */
export interface AssemblerStats {
  accessUnits: number;
  keyframes: number;
  packets: number;
  bytes: number;
  /** Units dropped because they grew past maxBytes. */
  tooLarge: number;
}

/**
 * Gathers one stream's packets into access units. A unit ends at the RTP marker bit, or when a packet with another
 * timestamp arrives (then the previous unit is emitted first). The unit is keyframe when any of its packets starts a
 * keyframe NAL.
 */
export class AccessUnitAssembler {
  readonly streamId: number;
  readonly channel: number;
  readonly codec: KeyframeCodec;
  readonly maxBytes: number;
  private buffer: Buffer = Buffer.alloc(0);
  private length = 0;
  private packets = 0;
  private keyframe = false;
  private timestamp = 0;
  private overflow = false;
  private readonly counters: AssemblerStats = { accessUnits: 0, keyframes: 0, packets: 0, bytes: 0, tooLarge: 0 };

  constructor(options: { streamId: number; channel: number; encodingName: string; maxBytes?: number }) {
    this.streamId = options.streamId;
    this.channel = options.channel;
    this.codec = keyframeCodec(options.encodingName);
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < INTERLEAVED_HEADER_BYTES + 12) {
      throw new RangeError(`maxBytes must be an integer of at least ${INTERLEAVED_HEADER_BYTES + 12}`);
    }
  }

  /**
   * Adds one RTP packet (`packet` is read during the call only; `payloadOffset` from its parsed header). Calls `emit`
   * with each unit it completes: the previous one on a timestamp change, this one on a marker.
   */
  push(packet: Uint8Array, payloadOffset: number, timestamp: number, marker: boolean, emit: (au: AccessUnit) => void): void {
    this.counters.packets++;
    this.counters.bytes += packet.length;
    if (this.packets > 0 && timestamp !== this.timestamp) this.finish(emit);
    if (this.packets === 0) {
      this.timestamp = timestamp;
      this.keyframe = false;
      this.overflow = false;
    }
    this.packets++;
    if (!this.keyframe && payloadOffset < packet.length) {
      this.keyframe = startsKeyframe(this.codec, packet.subarray(payloadOffset));
    }
    const need = this.length + INTERLEAVED_HEADER_BYTES + packet.length;
    if (need > this.maxBytes || packet.length > 0xffff) {
      this.overflow = true;
    } else if (!this.overflow) {
      if (need > this.buffer.length) {
        let size = Math.max(this.buffer.length, INITIAL_BUFFER_BYTES);
        while (size < need) size *= 2;
        const grown = Buffer.allocUnsafe(Math.min(size, this.maxBytes));
        this.buffer.copy(grown, 0, 0, this.length);
        this.buffer = grown;
      }
      const b = this.buffer;
      b[this.length] = 0x24;
      b[this.length + 1] = this.channel;
      b.writeUInt16BE(packet.length, this.length + 2);
      b.set(packet, this.length + INTERLEAVED_HEADER_BYTES);
      this.length = need;
    }
    if (marker) this.finish(emit);
  }

  private finish(emit: (au: AccessUnit) => void): void {
    const packets = this.packets;
    const length = this.length;
    this.packets = 0;
    this.length = 0;
    if (this.overflow) {
      this.counters.tooLarge++;
      return;
    }
    this.counters.accessUnits++;
    if (this.keyframe) this.counters.keyframes++;
    // One copy per unit, shared by every socket it is sent to (ws may keep it queued after send returns).
    emit({ streamId: this.streamId, timestamp: this.timestamp, keyframe: this.keyframe, packets, data: Buffer.from(this.buffer.subarray(0, length)) });
  }

  /** Counters so far. */
  stats(): AssemblerStats {
    return { ...this.counters };
  }
}
