// The plain-JavaScript baseline of the buffer_perf suite: the same job as the wasm demux_scan, written to be fast and
// fair in JS. It walks RTSP interleaved framing (RFC 2326 §10.12) and parses and validates every RTP header
// (RFC 3550 §5.1, §5.3.1; RFC 8285 one-byte and two-byte elements), writing the fields into records allocated once.
// Nothing is allocated per packet. Status codes are the core's (src/core/status.ts), so results can be compared.

import { Status } from '../../src/core/status.js';

/** RTP fixed header (RFC 3550 §5.1). */
const RTP_FIXED_HEADER_BYTES = 12;
const RTP_VERSION_2 = 2;
/** Largest RTP packet an interleaved frame (or a UDP datagram) can carry. */
const RTP_MAX_PACKET_BYTES = 65535;
const MAX_CSRCS = 15;
const MAX_EXTENSION_ELEMENTS = 32;
/** RFC 8285 §4.2 one-byte header profile, and §4.3 two-byte profile (0x100 followed by 4 "appbits"). */
const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;
/** One-byte header element ID 15: "stop parsing" (RFC 8285 §4.2). */
const ONE_BYTE_STOP_ID = 15;
const INTERLEAVED_MAGIC = 0x24; // '$'
const FRAME_HEADER_BYTES = 4;
/** Status of a frame whose channel is not parsed as RTP (mirrors EV_NOT_PARSED). */
export const NOT_PARSED = 1;
/** Channel flag: frames on this channel are expected; once one channel has it, frames on others are garbage. */
export const CHANNEL_ACCEPT = 1;
/** Channel flag: frames on this channel are RTP and get their header parsed (mirrors CHANNEL_RTP). */
export const CHANNEL_RTP = 2;

/** One parsed RTP header. Fields mirror the wasm record (src/core/layout.ts); offsets are relative to the packet. */
export class PlainRtpRecord {
  version = 0;
  padding = 0;
  extension = 0;
  csrcCount = 0;
  marker = 0;
  payloadType = 0;
  sequence = 0;
  timestamp = 0;
  ssrc = 0;
  payloadOffset = 0;
  payloadLength = 0;
  paddingLength = 0;
  extElementCount = 0;
  extProfile = 0;
  extLength = 0;
  extOffset = 0;
  status = 0;
  packetLength = 0;
  readonly csrcs = new Uint32Array(MAX_CSRCS);
  readonly extIds = new Uint8Array(MAX_EXTENSION_ELEMENTS);
  readonly extLengths = new Uint16Array(MAX_EXTENSION_ELEMENTS);
  readonly extOffsets = new Uint32Array(MAX_EXTENSION_ELEMENTS);
}

/**
 * Parses and validates the RTP packet at [off, off + len) of `u8` (`dv` views the same buffer) into `rec`.
 * Returns Status.OK or a negative RTP_* status (also stored in `rec.status`).
 */
export function parsePlainRtp(u8: Uint8Array, dv: DataView, off: number, len: number, rec: PlainRtpRecord): number {
  rec.packetLength = len;
  rec.extElementCount = 0;
  rec.extProfile = 0;
  rec.extLength = 0;
  rec.extOffset = 0;
  rec.paddingLength = 0;
  if (len < RTP_FIXED_HEADER_BYTES) return (rec.status = Status.RTP_TOO_SHORT);
  if (len > RTP_MAX_PACKET_BYTES) return (rec.status = Status.RTP_TOO_LONG);
  const b0 = u8[off];
  const b1 = u8[off + 1];
  const version = b0 >>> 6;
  rec.version = version;
  if (version !== RTP_VERSION_2) return (rec.status = Status.RTP_BAD_VERSION);
  const padding = (b0 >>> 5) & 1;
  const extension = (b0 >>> 4) & 1;
  const cc = b0 & 0x0f;
  rec.padding = padding;
  rec.extension = extension;
  rec.csrcCount = cc;
  rec.marker = b1 >>> 7;
  rec.payloadType = b1 & 0x7f;
  rec.sequence = (u8[off + 2] << 8) | u8[off + 3];
  rec.timestamp = dv.getUint32(off + 4);
  rec.ssrc = dv.getUint32(off + 8);
  let pos = RTP_FIXED_HEADER_BYTES; // relative to the packet
  if (pos + cc * 4 > len) return (rec.status = Status.RTP_CSRC_TRUNCATED);
  const csrcs = rec.csrcs;
  for (let i = 0; i < cc; i++, pos += 4) csrcs[i] = dv.getUint32(off + pos);
  if (extension) {
    if (pos + 4 > len) return (rec.status = Status.RTP_EXTENSION_HEADER_TRUNCATED);
    const profile = (u8[off + pos] << 8) | u8[off + pos + 1];
    const extBytes = ((u8[off + pos + 2] << 8) | u8[off + pos + 3]) * 4;
    pos += 4;
    if (pos + extBytes > len) return (rec.status = Status.RTP_EXTENSION_TRUNCATED);
    rec.extProfile = profile;
    rec.extLength = extBytes;
    rec.extOffset = pos;
    const extEnd = pos + extBytes;
    if (profile === ONE_BYTE_PROFILE) {
      // RFC 8285 §4.2: ID (4 bits) | L (4 bits, length - 1); ID 0 is a padding octet, ID 15 ends the list.
      let e = pos;
      let n = 0;
      while (e < extEnd) {
        const h = u8[off + e];
        if (h === 0) { e++; continue; }
        const id = h >>> 4;
        if (id === ONE_BYTE_STOP_ID) break;
        const elen = (h & 0x0f) + 1;
        if (e + 1 + elen > extEnd) return (rec.status = Status.RTP_EXTENSION_ELEMENT_TRUNCATED);
        if (n === MAX_EXTENSION_ELEMENTS) return (rec.status = Status.RTP_EXTENSION_TOO_MANY_ELEMENTS);
        rec.extIds[n] = id;
        rec.extLengths[n] = elen;
        rec.extOffsets[n] = e + 1;
        n++;
        e += 1 + elen;
      }
      rec.extElementCount = n;
    } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
      // RFC 8285 §4.3: ID (8 bits) | length (8 bits, may be 0); ID 0 is a padding octet.
      let e = pos;
      let n = 0;
      while (e < extEnd) {
        const id = u8[off + e];
        if (id === 0) { e++; continue; }
        if (e + 2 > extEnd) return (rec.status = Status.RTP_EXTENSION_ELEMENT_TRUNCATED);
        const elen = u8[off + e + 1];
        if (e + 2 + elen > extEnd) return (rec.status = Status.RTP_EXTENSION_ELEMENT_TRUNCATED);
        if (n === MAX_EXTENSION_ELEMENTS) return (rec.status = Status.RTP_EXTENSION_TOO_MANY_ELEMENTS);
        rec.extIds[n] = id;
        rec.extLengths[n] = elen;
        rec.extOffsets[n] = e + 2;
        n++;
        e += 2 + elen;
      }
      rec.extElementCount = n;
    }
    pos = extEnd;
  }
  let paddingLength = 0;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    paddingLength = u8[off + len - 1];
    if (paddingLength === 0) return (rec.status = Status.RTP_PADDING_ZERO);
    if (paddingLength > len - pos) return (rec.status = Status.RTP_PADDING_OVERFLOW);
  }
  rec.paddingLength = paddingLength;
  rec.payloadOffset = pos;
  rec.payloadLength = len - pos - paddingLength;
  return (rec.status = Status.OK);
}

/**
 * Walks interleaved framing like the wasm demuxer: reports each complete frame of the window as an event (offsets
 * relative to `base`), parses the RTP header of frames on channels flagged CHANNEL_RTP into `records[i]`, and stops
 * before an incomplete frame; `consumed` says how far the next window must start. Octets that do not open a frame
 * are skipped one by one (the stream of the bench has none; a real demuxer would look for an RTSP message there).
 */
export class PlainInterleavedScanner {
  readonly maxEvents: number;
  readonly channel: Uint8Array;
  readonly status: Int16Array;
  readonly start: Uint32Array;
  readonly length: Uint32Array;
  readonly records: PlainRtpRecord[];
  /** CHANNEL_ACCEPT | CHANNEL_RTP per interleaved channel (0..255); set them with setChannel. */
  readonly channelFlags = new Uint8Array(256);
  /** Channels with CHANNEL_ACCEPT (0: every channel is accepted). */
  private acceptCount = 0;
  /** Octets of the last window fully consumed. */
  consumed = 0;
  /** Octets skipped as garbage since creation. */
  garbageBytes = 0;

  constructor(maxEvents: number) {
    this.maxEvents = maxEvents;
    this.channel = new Uint8Array(maxEvents);
    this.status = new Int16Array(maxEvents);
    this.start = new Uint32Array(maxEvents);
    this.length = new Uint32Array(maxEvents);
    this.records = Array.from({ length: maxEvents }, () => new PlainRtpRecord());
  }

  /** Sets the flags of one channel (mirrors demux_set_channel). */
  setChannel(channel: number, flags: number): void {
    const was = this.channelFlags[channel] & CHANNEL_ACCEPT;
    const now = flags & CHANNEL_ACCEPT;
    if (was !== now) this.acceptCount += now ? 1 : -1;
    this.channelFlags[channel] = flags;
  }

  /** Scans [base, base + len) of `u8` (`dv` views the same buffer); returns the number of events written. */
  scan(u8: Uint8Array, dv: DataView, base: number, len: number): number {
    const end = base + len;
    const maxEvents = this.maxEvents;
    const flags = this.channelFlags;
    const filter = this.acceptCount !== 0;
    let pos = base;
    let n = 0;
    while (n < maxEvents && pos < end) {
      if (u8[pos] !== INTERLEAVED_MAGIC) {
        pos++;
        this.garbageBytes++;
        continue;
      }
      if (pos + 2 > end) break;
      const ch = u8[pos + 1];
      if (filter && (flags[ch] & CHANNEL_ACCEPT) === 0) {
        pos++;
        this.garbageBytes++;
        continue;
      }
      if (pos + FRAME_HEADER_BYTES > end) break;
      const flen = (u8[pos + 2] << 8) | u8[pos + 3];
      const start = pos + FRAME_HEADER_BYTES;
      if (start + flen > end) break;
      this.channel[n] = ch;
      this.start[n] = start - base;
      this.length[n] = flen;
      this.status[n] = (flags[ch] & CHANNEL_RTP) !== 0 ? parsePlainRtp(u8, dv, start, flen, this.records[n]) : NOT_PARSED;
      n++;
      pos = start + flen;
    }
    this.consumed = pos - base;
    return n;
  }
}
