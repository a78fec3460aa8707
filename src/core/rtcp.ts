// RTCP (RFC 3550 §6): what a receiving client needs — reading sender reports to map RTP time to wall-clock time, and
// writing receiver reports (with the SDES CNAME every compound packet must carry, §6.1). Portable: no Node globals.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    RC   |   PT=SR=200   |             length            |  header
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         SSRC of sender                        |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |              NTP timestamp, most significant word             |  sender info
//  |             NTP timestamp, least significant word             |
//  |                         RTP timestamp                         |
//  |                     sender's packet count                     |
//  |                      sender's octet count                     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 report blocks (RC × 24 octets)                |

import { WasmRtspError } from './errors.js';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** A malformed RTCP packet: code 'RTCP_MALFORMED' with the offset of the bad packet. */
export class RtcpParseError extends WasmRtspError {}

/** The sender-info part of a sender report. */
export interface SenderReport {
  ssrc: number;
  /** NTP timestamp as seconds since 1900 (integer part) and the fraction in 1/2^32 s. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The same instant as milliseconds since the Unix epoch. */
  wallClockMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/** One RTCP packet of a compound packet (only the parts a receiver uses are decoded). */
export interface RtcpPacket {
  packetType: number;
  count: number;
  /** Offset and length of the packet inside the compound buffer. */
  offset: number;
  length: number;
  senderReport?: SenderReport;
  byeSsrcs?: number[];
}

/** Splits and checks a compound RTCP packet (§6.1); throws RtcpParseError on anything malformed. */
export function parseRtcp(bytes: Uint8Array): RtcpPacket[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: RtcpPacket[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 4) throw malformed('truncated RTCP header', off, bytes.length);
    const b0 = bytes[off];
    if (b0 >> 6 !== 2) throw malformed('RTCP version is not 2', off, bytes.length);
    const count = b0 & 0x1f;
    const packetType = bytes[off + 1];
    const length = (dv.getUint16(off + 2) + 1) * 4;
    if (off + length > bytes.length) throw malformed('RTCP length runs past the end', off, bytes.length);
    const p: RtcpPacket = { packetType, count, offset: off, length };
    if (packetType === RTCP_SR) {
      if (length < 28) throw malformed('sender report shorter than its sender info', off, bytes.length);
      const ntpSeconds = dv.getUint32(off + 8);
      const ntpFraction = dv.getUint32(off + 12);
      p.senderReport = {
        ssrc: dv.getUint32(off + 4),
        ntpSeconds,
        ntpFraction,
        wallClockMs: (ntpSeconds - NTP_UNIX_OFFSET_SECONDS) * 1000 + (ntpFraction / 2 ** 32) * 1000,
        rtpTimestamp: dv.getUint32(off + 16),
        packetCount: dv.getUint32(off + 20),
        octetCount: dv.getUint32(off + 24),
      };
    } else if (packetType === RTCP_BYE) {
      if (length < 4 + count * 4) throw malformed('BYE shorter than its SSRC list', off, bytes.length);
      p.byeSsrcs = [];
      for (let i = 0; i < count; i++) p.byeSsrcs.push(dv.getUint32(off + 4 + i * 4));
    }
    packets.push(p);
    off += length;
  }
  return packets;
}

function malformed(what: string, offset: number, length: number): RtcpParseError {
  return new RtcpParseError('RTCP_MALFORMED', `${what} (offset ${offset} of ${length})`, { context: { offset, length } });
}

/** One report block of a receiver report (§6.4.1). */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0..255 (fixed point /256). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed, clamped). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | max seq). */
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp, 0 if none. */
  lastSr: number;
  /** Delay since that SR in 1/65536 s, 0 if none. */
  delaySinceLastSr: number;
}

/** Longest text of an SDES item: its length is one octet (RFC 3550 §6.5). */
const SDES_MAX_TEXT_BYTES = 255;

/**
 * UTF-8 of an SDES item's text, cut to SDES_MAX_TEXT_BYTES octets at a character boundary. (Cutting the string to 255
 * characters instead let a non-ASCII CNAME reach 765 octets, and its length octet wrapped around.)
 */
function sdesText(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= SDES_MAX_TEXT_BYTES) return bytes;
  let end = SDES_MAX_TEXT_BYTES;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // bytes[end] continues a sequence begun before it
  return bytes.subarray(0, end);
}

/**
 * Writes a compound RTCP packet — RR with `blocks` (at most 31) followed by SDES with one CNAME — into `out` and returns
 * its length. `out` must have room: 8 + 24 × blocks + 12 + cname (UTF-8, at most 255 octets) rounded up to 4.
 */
export function writeReceiverReport(out: Uint8Array, senderSsrc: number, blocks: ReportBlock[], cname: string): number {
  if (blocks.length > 31) throw new RangeError('at most 31 report blocks per RR');
  const cn = sdesText(cname);
  const rrLen = 8 + 24 * blocks.length;
  const sdesLen = (8 + 2 + cn.length + 1 + 3) & ~3; // header + SSRC + (type, len, text) + END + pad to 32 bits
  if (out.length < rrLen + sdesLen) throw new RangeError(`RTCP buffer too small: need ${rrLen + sdesLen}`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = 0x80 | blocks.length;
  out[1] = RTCP_RR;
  dv.setUint16(2, rrLen / 4 - 1);
  dv.setUint32(4, senderSsrc >>> 0);
  let off = 8;
  for (const b of blocks) {
    dv.setUint32(off, b.ssrc >>> 0);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, b.cumulativeLost)) & 0xffffff;
    dv.setUint32(off + 4, ((b.fractionLost & 0xff) << 24 | lost) >>> 0);
    dv.setUint32(off + 8, b.highestSequence >>> 0);
    dv.setUint32(off + 12, Math.max(0, Math.floor(b.jitter)) >>> 0);
    dv.setUint32(off + 16, b.lastSr >>> 0);
    dv.setUint32(off + 20, b.delaySinceLastSr >>> 0);
    off += 24;
  }
  out[off] = 0x81; // V=2, SC=1
  out[off + 1] = RTCP_SDES;
  dv.setUint16(off + 2, sdesLen / 4 - 1);
  dv.setUint32(off + 4, senderSsrc >>> 0);
  out[off + 8] = 1; // CNAME
  out[off + 9] = cn.length;
  out.set(cn, off + 10);
  out.fill(0, off + 10 + cn.length, off + sdesLen); // END item and padding
  return rrLen + sdesLen;
}
