// Depayloading RTP into access units (frames): H.264 (RFC 6184), H.265 (RFC 7798), uncompressed video (RFC 4175)
// and AAC (RFC 3640, AAC-hbr/lbr). One call per packet; the payload is copied once, straight into an assembly buffer.
//
// All state lives in one region of linear memory (no module globals), so an instance runs any number of
// depayloaders. The public head (layout.ts, DEPAY_*) holds the statistics and the frame records of the last call:
//
//   state ──► | statistics (u64 ×10) | frame count | frame records × 32 | private fields | buffer 0 | buffer 1 |
//
// Access units end at the RTP marker bit, or when the timestamp changes (the previous one completes when the next
// one's first packet arrives). Two assembly buffers alternate: a completed frame stays valid while the next one is
// being assembled, until the next call. Nothing here throws or traps on bad input: a payload that breaks its RFC, a
// sequence gap, an unsupported packet kind or an oversized unit drops the access unit it belongs to, counted by
// reason at once (not when the unit ends: it may never end), and flags the next frame FRAME_DISCONTINUITY. The rest
// of a dropped unit is passed over unread (DEPAY_SKIPPED_PACKETS) until its marker or the next timestamp, where the
// next unit starts afresh. Negative return values name misuse only.
//
// H.264 / H.265 frames are NAL units each prefixed with a 4-byte big-endian length (the AVC/HEVC sample format).

import { OK, ERR_BAD_ARGUMENT, ERR_OUT_OF_MEMORY, DEPAY_BAD_CODEC, DEPAY_BAD_PARAMETER, DEPAY_BAD_STATE,
  DEPAY_BAD_RECORD } from "./status";
import { RTP_RECORD_BYTES, RTP_SEQUENCE, RTP_TIMESTAMP, RTP_MARKER, RTP_PAYLOAD_OFFSET, RTP_PAYLOAD_LENGTH,
  RTP_STATUS, RTP_PACKET_LENGTH, DEPAY_PACKETS, DEPAY_FRAMES, DEPAY_BYTES, DEPAY_DROPPED_LOSS,
  DEPAY_DROPPED_TOO_LARGE, DEPAY_DROPPED_MALFORMED, DEPAY_DROPPED_WAITING, DEPAY_DROPPED_UNSUPPORTED,
  DEPAY_LOST_PACKETS, DEPAY_LATE_PACKETS, DEPAY_SKIPPED_PACKETS, DEPAY_LATE_WINDOW, DEPAY_FRAME_COUNT, DEPAY_FRAME_RECORDS, DEPAY_FRAME_BYTES, DEPAY_FRAME_PTR, DEPAY_FRAME_LENGTH,
  DEPAY_FRAME_TIMESTAMP, DEPAY_FRAME_FLAGS, DEPAY_MAX_FRAMES, DEPAY_PUBLIC_BYTES, DEPAY_CODEC_H264,
  DEPAY_CODEC_H265, DEPAY_CODEC_RAW, DEPAY_CODEC_AAC, DEPAY_WAIT_FOR_KEYFRAME, FRAME_KEYFRAME,
  FRAME_DISCONTINUITY, FRAME_PARAMETER_SETS, DEPAY_MAX_FRAME_LIMIT } from "./layout";
import { region_alloc, region_free, inMemory } from "./region";

/** "DPAY": marks live depayloader state, so a foreign or destroyed pointer is refused. */
const DEPAY_MAGIC: u32 = 0x59415044;
/** Largest maxFrameBytes accepted: 1 GiB (two buffers must fit a 4 GiB memory). */
const MAX_FRAME_LIMIT: u32 = DEPAY_MAX_FRAME_LIMIT;
/** AAC buffers hold every AU of one packet, so never less than the largest RTP payload. */
const AAC_MIN_BUFFER_BYTES: u32 = 65536;
/** Samples per AAC access unit when the fmtp names no constantDuration (AAC-LC). */
const AAC_DEFAULT_SAMPLES: u32 = 1024;
/** The 4-octet big-endian length in front of each NAL unit of a frame. */
const LENGTH_PREFIX_BYTES: u32 = 4;
/** RFC 4175 §4.3: the extended sequence number, then 6-octet sample row headers. */
const RAW_EXT_SEQ_BYTES: u32 = 2;
const RAW_LINE_HEADER_BYTES: u32 = 6;
const RAW_MAX_DIMENSION: u32 = 32768; // line number and offset are 15-bit fields
const BIT15: u32 = 0x8000;
const LOW15: u32 = 0x7FFF;
/** Half the sequence space: a forward difference at or above it is a jump back, not packets lost. */
const SEQ_HALF: u32 = 0x8000;

// H.264 NAL unit types (RFC 6184 §5.2, H.264 Table 7-1).
const H264_TYPE_MASK: u32 = 0x1F;
const H264_NRI_F_MASK: u32 = 0xE0;
const H264_IDR: u32 = 5;
const H264_SPS: u32 = 7;
const H264_PPS: u32 = 8;
const H264_SINGLE_LAST: u32 = 23;
const H264_STAP_A: u32 = 24;
const H264_FU_A: u32 = 28;
// H.265 NAL unit types (RFC 7798 §4.4, H.265 Table 7-1).
const H265_TYPE_SHIFT: u32 = 1;
const H265_TYPE_MASK: u32 = 0x3F;
const H265_F_LAYER_MASK: u32 = 0x81; // F bit and the high bit of LayerId, kept from the payload header
const H265_IRAP_FIRST: u32 = 16;
const H265_IRAP_LAST: u32 = 23;
const H265_VPS: u32 = 32;
const H265_PPS: u32 = 34;
const H265_SINGLE_LAST: u32 = 47;
const H265_AP: u32 = 48;
const H265_FU: u32 = 49;
// FU header bits (both codecs).
const FU_START: u32 = 0x80;
const FU_END: u32 = 0x40;

// Private fields, after the public head.
const P_MAGIC: usize = <usize>DEPAY_PUBLIC_BYTES;
const P_SELF: usize = P_MAGIC + 4;
const P_CODEC: usize = P_MAGIC + 8;
const P_OPTIONS: usize = P_MAGIC + 12;
const P_MAX_FRAME: usize = P_MAGIC + 16; //   largest access unit
const P_BUF0: usize = P_MAGIC + 20; //        the two assembly buffers
const P_BUF1: usize = P_MAGIC + 24;
const P_CUR: usize = P_MAGIC + 28; //         0/1: the buffer the current access unit is assembled in
const P_AU_ACTIVE: usize = P_MAGIC + 32; //   an access unit is being assembled
const P_AU_TS: usize = P_MAGIC + 36;
const P_AU_LEN: usize = P_MAGIC + 40; //      octets written (RAW: octets of sample data placed)
const P_AU_FLAGS: usize = P_MAGIC + 44;
const P_BROKEN: usize = P_MAGIC + 48; //      0, or the offset of the DEPAY_DROPPED_* counter the unit will be dropped under
const P_FU_ACTIVE: usize = P_MAGIC + 52; //   a fragmented NAL unit is open
const P_FU_START: usize = P_MAGIC + 56; //    its length prefix's offset in the buffer
const P_HAS_SEQ: usize = P_MAGIC + 60;
const P_EXPECTED: usize = P_MAGIC + 64; //    next sequence number expected
const P_PENDING_DISC: usize = P_MAGIC + 68; // flag the next frame FRAME_DISCONTINUITY
const P_WAITING: usize = P_MAGIC + 72; //     dropping frames until a keyframe
const P_A: usize = P_MAGIC + 76; //           codec parameters (RAW: width, height, pgroup octets, pgroup pixels;
const P_B: usize = P_MAGIC + 80; //           AAC: sizeLength, indexLength, indexDeltaLength, samples per AU)
const P_C: usize = P_MAGIC + 84;
const P_D: usize = P_MAGIC + 88;
const P_FRAME_BYTES: usize = P_MAGIC + 92; // RAW: the frame size; AAC: the buffer size
const P_STRIDE: usize = P_MAGIC + 96; //      RAW: octets per line
const P_AAC_SIZE: usize = P_MAGIC + 100; //   AAC: size of the fragmented AU being reassembled
const STATE_BYTES: usize = (P_MAGIC + 104 + 15) & ~15;

// @ts-ignore: decorator
@inline function bump64(a: usize): void {
  store<u64>(a, load<u64>(a) + 1);
}

// @ts-ignore: decorator
@inline function add64(a: usize, n: u64): void {
  store<u64>(a, load<u64>(a) + n);
}

// @ts-ignore: decorator
@inline function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
}

function isDepay(s: usize): bool {
  return s != 0 && (s & 15) == 0 && inMemory(s, STATE_BYTES) && load<u32>(s + P_MAGIC) == DEPAY_MAGIC
    && load<u32>(s + P_SELF) == <u32>s;
}

/**
 * Drops the current access unit under `reason` (the first reason wins), counted now rather than when the unit ends:
 * a unit that never ends (an FU-A continued forever, no marker, no new timestamp) must still move a counter. The
 * unit stays open but broken; its remaining packets are passed over unread (DEPAY_SKIPPED_PACKETS) until it ends.
 */
// @ts-ignore: decorator
@inline function markBroken(s: usize, reason: u32): void {
  if (load<u32>(s + P_BROKEN) == 0) {
    store<u32>(s + P_BROKEN, reason);
    drop(s, reason);
  }
}

// @ts-ignore: decorator
@inline function currentBuffer(s: usize): usize {
  return <usize>load<u32>(s + (load<u32>(s + P_CUR) != 0 ? P_BUF1 : P_BUF0));
}

/**
 * Reserves `n` octets at the end of the access unit and returns their address; 0 when the unit is already broken
 * or would exceed maxFrameBytes (then it is marked too large and nothing more is written to it).
 */
function reserve(s: usize, n: u32): usize {
  if (load<u32>(s + P_BROKEN) != 0) return 0;
  const len = load<u32>(s + P_AU_LEN);
  if (n > load<u32>(s + P_MAX_FRAME) - len) {
    markBroken(s, DEPAY_DROPPED_TOO_LARGE);
    return 0;
  }
  store<u32>(s + P_AU_LEN, len + n);
  return currentBuffer(s) + len;
}

/** Appends one whole NAL unit with its length prefix: one copy. */
// @ts-ignore: decorator
@inline function appendNal(s: usize, src: usize, n: u32): void {
  const dst = reserve(s, n + LENGTH_PREFIX_BYTES);
  if (dst == 0) return;
  store<u32>(dst, bswap<u32>(n));
  memory.copy(dst + LENGTH_PREFIX_BYTES, src, n);
}

// @ts-ignore: decorator
@inline function orFlags(s: usize, flags: u32): void {
  if (flags != 0) store<u32>(s + P_AU_FLAGS, load<u32>(s + P_AU_FLAGS) | flags);
}

// @ts-ignore: decorator
@inline function flags264(type: u32): u32 {
  return type == H264_IDR ? FRAME_KEYFRAME : (type == H264_SPS || type == H264_PPS) ? FRAME_PARAMETER_SETS : 0;
}

// @ts-ignore: decorator
@inline function flags265(type: u32): u32 {
  if (type >= H265_IRAP_FIRST && type <= H265_IRAP_LAST) return FRAME_KEYFRAME;
  return type >= H265_VPS && type <= H265_PPS ? FRAME_PARAMETER_SETS : 0;
}

/**
 * An aggregation packet — H.264 STAP-A (RFC 6184 §5.7.1, 1-octet header) or H.265 AP (RFC 7798 §4.4.2, 2 octets):
 * NAL units each after a 16-bit size, appended with their flags. A size shorter than `minNal` or running past the
 * packet breaks the unit (malformed).
 */
function appendAggregate(s: usize, p: usize, n: u32, headerBytes: u32, minNal: u32, h265: bool): void {
  let i = headerBytes;
  if (i >= n) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
  while (i < n) {
    if (n - i < 2) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
    const size = be16(p + i);
    i += 2;
    if (size < minNal || size > n - i) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
    appendNal(s, p + i, size);
    const b = <u32>load<u8>(p + i);
    orFlags(s, h265 ? flags265((b >> H265_TYPE_SHIFT) & H265_TYPE_MASK) : flags264(b & H264_TYPE_MASK));
    i += size;
  }
}

function startUnit(s: usize, ts: u32): void {
  store<u32>(s + P_AU_ACTIVE, 1);
  store<u32>(s + P_AU_TS, ts);
  store<u32>(s + P_AU_LEN, 0);
  store<u32>(s + P_AU_FLAGS, 0);
  store<u32>(s + P_BROKEN, 0);
  store<u32>(s + P_FU_ACTIVE, 0);
  store<u32>(s + P_FU_START, 0);
}

/** Counts a dropped access unit; the next frame is flagged and, with waitForKeyframe, must be a keyframe. */
function drop(s: usize, reason: u32): void {
  bump64(s + <usize>reason);
  store<u32>(s + P_PENDING_DISC, 1);
  if ((load<u32>(s + P_OPTIONS) & DEPAY_WAIT_FOR_KEYFRAME) != 0) store<u32>(s + P_WAITING, 1);
}

/** Writes a frame record for the caller. */
function emit(s: usize, ptr: usize, len: u32, ts: u32, flags: u32): void {
  const count = load<u32>(s + DEPAY_FRAME_COUNT);
  if (count >= DEPAY_MAX_FRAMES) { // only AAC can get here: more AUs in one packet than records
    drop(s, DEPAY_DROPPED_UNSUPPORTED);
    return;
  }
  if (load<u32>(s + P_PENDING_DISC) != 0) {
    flags |= FRAME_DISCONTINUITY;
    store<u32>(s + P_PENDING_DISC, 0);
  }
  const r = s + DEPAY_FRAME_RECORDS + <usize>count * DEPAY_FRAME_BYTES;
  store<u32>(r, <u32>ptr, DEPAY_FRAME_PTR);
  store<u32>(r, len, DEPAY_FRAME_LENGTH);
  store<u32>(r, ts, DEPAY_FRAME_TIMESTAMP);
  store<u32>(r, flags, DEPAY_FRAME_FLAGS);
  store<u32>(s + DEPAY_FRAME_COUNT, count + 1);
  bump64(s + DEPAY_FRAMES);
  add64(s + DEPAY_BYTES, <u64>len);
}

/** Ends the current access unit: emits it when whole (and not waiting for a keyframe), else counts the drop. */
function complete(s: usize): void {
  store<u32>(s + P_AU_ACTIVE, 0);
  const codec = load<u32>(s + P_CODEC);
  const len = load<u32>(s + P_AU_LEN);
  if (load<u32>(s + P_BROKEN) != 0) return; // dropped and counted when it broke (markBroken)
  let reason: u32 = 0;
  if (load<u32>(s + P_FU_ACTIVE) != 0) reason = DEPAY_DROPPED_MALFORMED; // a fragmented NAL never ended
  else if (codec == DEPAY_CODEC_RAW) { if (len != load<u32>(s + P_FRAME_BYTES)) reason = DEPAY_DROPPED_MALFORMED; }
  else if (codec == DEPAY_CODEC_AAC) { if (len != load<u32>(s + P_AAC_SIZE)) reason = DEPAY_DROPPED_MALFORMED; }
  else if (len == 0) reason = DEPAY_DROPPED_MALFORMED;
  if (reason != 0) {
    drop(s, reason);
    return;
  }
  let flags = load<u32>(s + P_AU_FLAGS);
  if (codec == DEPAY_CODEC_RAW || codec == DEPAY_CODEC_AAC) flags |= FRAME_KEYFRAME;
  if (load<u32>(s + P_WAITING) != 0) {
    if ((flags & FRAME_KEYFRAME) == 0) {
      bump64(s + DEPAY_DROPPED_WAITING);
      store<u32>(s + P_PENDING_DISC, 1);
      return;
    }
    store<u32>(s + P_WAITING, 0);
  }
  emit(s, currentBuffer(s), len, load<u32>(s + P_AU_TS), flags);
  store<u32>(s + P_CUR, load<u32>(s + P_CUR) ^ 1);
}

// ---------------------------------------------------------------------------------------------------------------
// H.264, RFC 6184 §5.6–5.8.
//   single NAL (1–23):  | F|NRI|Type | NAL payload ... |
//   STAP-A (24):        | F|NRI|24 | size (16) | NAL | size (16) | NAL | ...
//   FU-A (28):          | F|NRI|28 | S|E|R|Type | fragment ... |      the NAL header is F|NRI of the indicator + Type
function payload264(s: usize, p: usize, n: u32): void {
  if (n == 0) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
  const b0 = <u32>load<u8>(p);
  const type = b0 & H264_TYPE_MASK;
  if (type != H264_FU_A && load<u32>(s + P_FU_ACTIVE) != 0) { // the open fragmented NAL never got its end
    markBroken(s, DEPAY_DROPPED_MALFORMED);
    store<u32>(s + P_FU_ACTIVE, 0);
  }
  if (type >= 1 && type <= H264_SINGLE_LAST) {
    appendNal(s, p, n);
    orFlags(s, flags264(type));
    return;
  }
  if (type == H264_STAP_A) {
    appendAggregate(s, p, n, 1, 1, false);
    return;
  }
  if (type == H264_FU_A) {
    if (n < 2) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
    const fu = <u32>load<u8>(p, 1);
    fragment(s, p + 2, n - 2, fu, (b0 & H264_NRI_F_MASK) | (fu & H264_TYPE_MASK), 0, 1, flags264(fu & H264_TYPE_MASK));
    return;
  }
  markBroken(s, DEPAY_DROPPED_UNSUPPORTED); // STAP-B, MTAP16/24, FU-B, reserved types
}

/**
 * One FU-A / FU fragment of `n` octets at `src`: the start opens a NAL (length prefix + rebuilt header of
 * `headerBytes` octets), the end writes its length. A continuation without an open NAL is malformed.
 */
function fragment(s: usize, src: usize, n: u32, fu: u32, h0: u32, h1: u32, headerBytes: u32, flags: u32): void {
  const open = load<u32>(s + P_FU_ACTIVE) != 0;
  if ((fu & FU_START) != 0) {
    if (open) markBroken(s, DEPAY_DROPPED_MALFORMED); // the previous one never ended
    const at = load<u32>(s + P_AU_LEN);
    const dst = reserve(s, LENGTH_PREFIX_BYTES + headerBytes + n);
    if (dst != 0) {
      store<u8>(dst + LENGTH_PREFIX_BYTES, <u8>h0);
      if (headerBytes == 2) store<u8>(dst + LENGTH_PREFIX_BYTES + 1, <u8>h1);
      memory.copy(dst + LENGTH_PREFIX_BYTES + headerBytes, src, n);
    }
    store<u32>(s + P_FU_START, at);
    store<u32>(s + P_FU_ACTIVE, 1);
    orFlags(s, flags);
  } else {
    if (!open) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; } // FU without its start
    const dst = reserve(s, n);
    if (dst != 0) memory.copy(dst, src, n);
  }
  if ((fu & FU_END) != 0) {
    store<u32>(s + P_FU_ACTIVE, 0);
    if (load<u32>(s + P_BROKEN) == 0) {
      const at = load<u32>(s + P_FU_START);
      store<u32>(currentBuffer(s) + <usize>at, bswap<u32>(load<u32>(s + P_AU_LEN) - at - LENGTH_PREFIX_BYTES));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// H.265, RFC 7798 §4.4 (no DONL: sprop-max-don-diff = 0).
//   single NAL (0–47): | F|Type(6)|LayerId(6)|TID(3) | payload ... |
//   AP (48):           | PayloadHdr (16) | size (16) | NAL | size (16) | NAL | ...
//   FU (49):           | PayloadHdr (16) | S|E|FuType(6) | fragment ... |  NAL header = PayloadHdr with Type = FuType
function payload265(s: usize, p: usize, n: u32): void {
  if (n < 2) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
  const b0 = <u32>load<u8>(p);
  const b1 = <u32>load<u8>(p, 1);
  const type = (b0 >> H265_TYPE_SHIFT) & H265_TYPE_MASK;
  if (type != H265_FU && load<u32>(s + P_FU_ACTIVE) != 0) {
    markBroken(s, DEPAY_DROPPED_MALFORMED);
    store<u32>(s + P_FU_ACTIVE, 0);
  }
  if (type <= H265_SINGLE_LAST) {
    appendNal(s, p, n);
    orFlags(s, flags265(type));
    return;
  }
  if (type == H265_AP) {
    appendAggregate(s, p, n, 2, 2, true);
    return;
  }
  if (type == H265_FU) {
    if (n < 3) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
    const fu = <u32>load<u8>(p, 2);
    const fuType = fu & H265_TYPE_MASK;
    fragment(s, p + 3, n - 3, fu, (b0 & H265_F_LAYER_MASK) | (fuType << H265_TYPE_SHIFT), b1, 2, flags265(fuType));
    return;
  }
  markBroken(s, DEPAY_DROPPED_UNSUPPORTED); // PACI (50) and the unspecified types 51–63
}

// ---------------------------------------------------------------------------------------------------------------
// Uncompressed video, RFC 4175 §4.3.
//   | extended sequence number (16) |
//   | length (16) | F | line no (15) | C | offset (15) |   one per segment; C = another header follows
//   | segment data ... |                                  in header order
// Each segment is copied straight to line × stride + offset / pgroup pixels × pgroup octets of the frame.
function payloadRaw(s: usize, p: usize, n: u32): void {
  if (load<u32>(s + P_BROKEN) != 0) return;
  let h: u32 = RAW_EXT_SEQ_BYTES;
  for (;;) {
    if (h > n || n - h < RAW_LINE_HEADER_BYTES) { markBroken(s, DEPAY_DROPPED_MALFORMED); return; }
    const more = (<u32>load<u8>(p + h + 4) & 0x80) != 0;
    h += RAW_LINE_HEADER_BYTES;
    if (!more) break;
  }
  const width = load<u32>(s + P_A);
  const height = load<u32>(s + P_B);
  const pgBytes = load<u32>(s + P_C);
  const pgPixels = load<u32>(s + P_D);
  const stride = load<u32>(s + P_STRIDE);
  const frameBytes = load<u32>(s + P_FRAME_BYTES);
  const buffer = currentBuffer(s);
  let data = h;
  for (let i: u32 = RAW_EXT_SEQ_BYTES; i < h; i += RAW_LINE_HEADER_BYTES) {
    const len = be16(p + i);
    const lineWord = be16(p + i + 2);
    const offset = be16(p + i + 4) & LOW15;
    if ((lineWord & BIT15) != 0) { markBroken(s, DEPAY_DROPPED_UNSUPPORTED); return; } // second field: interlaced
    const line = lineWord & LOW15;
    if (len > n - data || line >= height || offset % pgPixels != 0 || len % pgBytes != 0) {
      markBroken(s, DEPAY_DROPPED_MALFORMED);
      return;
    }
    const pixels = len / pgBytes * pgPixels;
    const written = load<u32>(s + P_AU_LEN);
    if (offset > width || pixels > width - offset || len > frameBytes - written) {
      markBroken(s, DEPAY_DROPPED_MALFORMED);
      return;
    }
    memory.copy(buffer + <usize>line * stride + <usize>(offset / pgPixels * pgBytes), p + data, len);
    store<u32>(s + P_AU_LEN, written + len);
    data += len;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// AAC, RFC 3640 §3.2 (AAC-hbr: sizeLength 13, indexLength 3, indexDeltaLength 3).
//   | AU-headers-length (16, in bits) | AU-header | AU-header | ... (padded to an octet) | AU | AU | ... |
//   AU-header: | AU-size (sizeLength) | AU-Index (first) or AU-Index-delta (others) |
// Every whole AU is a frame (timestamp: RTP timestamp + index × samples per AU). A single AU larger than the
// packet's data is a fragment; the following packets with the same timestamp carry the rest (§3.2.3).

/** `n` bits (n ≤ 16) at bit `bit` of the octets at `p`, most significant first. */
function readBits(p: usize, bit: u32, n: u32): u32 {
  let v: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const b = bit + k;
    v = (v << 1) | ((<u32>load<u8>(p + <usize>(b >> 3)) >> (7 - (b & 7))) & 1);
  }
  return v;
}

function payloadAac(s: usize, p: usize, n: u32, ts: u32, marker: bool, gap: bool): void {
  if (n < 2) { aacBadPacket(s); return; }
  const headerBits = be16(p);
  const headerBytes = (headerBits + 7) >> 3;
  const sizeLength = load<u32>(s + P_A);
  const firstBits = sizeLength + load<u32>(s + P_B);
  const otherBits = sizeLength + load<u32>(s + P_C);
  if (headerBits < firstBits || headerBytes > n - 2 || (headerBits - firstBits) % otherBits != 0) {
    aacBadPacket(s);
    return;
  }
  const count: u32 = 1 + (headerBits - firstBits) / otherBits;
  const data = 2 + headerBytes;
  const avail = n - data;
  const headers = p + 2;

  if (load<u32>(s + P_AU_ACTIVE) != 0) {
    // The continuation of a fragmented AU (same timestamp: a change completed it in depay_push).
    if (count != 1 || readBits(headers, 0, sizeLength) != load<u32>(s + P_AAC_SIZE)) markBroken(s, DEPAY_DROPPED_MALFORMED);
    const dst = reserve(s, avail);
    if (dst != 0) memory.copy(dst, p + data, avail);
    const len = load<u32>(s + P_AU_LEN);
    if (len > load<u32>(s + P_AAC_SIZE)) markBroken(s, DEPAY_DROPPED_MALFORMED);
    if (marker || len >= load<u32>(s + P_AAC_SIZE)) complete(s);
    return;
  }
  if (count == 1) {
    const size = readBits(headers, 0, sizeLength);
    if (size > avail) { // the first fragment of an AU
      startUnit(s, ts);
      store<u32>(s + P_AAC_SIZE, size);
      if (gap) markBroken(s, DEPAY_DROPPED_LOSS); // maybe not the first: its start may be what was lost
      if (size > load<u32>(s + P_MAX_FRAME)) markBroken(s, DEPAY_DROPPED_TOO_LARGE);
      const dst = reserve(s, avail);
      if (dst != 0) memory.copy(dst, p + data, avail);
      if (marker) complete(s); // a fragment cannot end the AU: counted as malformed
      return;
    }
  }
  // Whole AUs: check the sizes first, so a bad packet drops as one unit and writes nothing.
  let total: u32 = 0;
  let bit: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    total += readBits(headers, bit, sizeLength);
    bit += i == 0 ? firstBits : otherBits;
  }
  if (total > avail) { aacBadPacket(s); return; }
  const indexLength = load<u32>(s + P_B);
  const deltaLength = load<u32>(s + P_C);
  const samples = load<u32>(s + P_D);
  const maxFrame = load<u32>(s + P_MAX_FRAME);
  const buffer = currentBuffer(s);
  let out: u32 = 0;
  let src = p + data;
  let index: u32 = 0;
  let emitted = false;
  bit = 0;
  for (let i: u32 = 0; i < count; i++) {
    const size = readBits(headers, bit, sizeLength);
    if (i > 0) index += readBits(headers, bit + sizeLength, deltaLength) + 1;
    bit += sizeLength + (i == 0 ? indexLength : deltaLength);
    if (size > maxFrame) {
      drop(s, DEPAY_DROPPED_TOO_LARGE);
    } else if (size == 0) {
      drop(s, DEPAY_DROPPED_MALFORMED);
    } else {
      memory.copy(buffer + out, src, size);
      emit(s, buffer + out, size, ts + index * samples, FRAME_KEYFRAME);
      out += size;
      emitted = true;
    }
    src += size;
  }
  if (emitted) store<u32>(s + P_CUR, load<u32>(s + P_CUR) ^ 1);
}

/** An AAC packet whose AU headers cannot be read: its AUs are lost, counted as one malformed unit. */
function aacBadPacket(s: usize): void {
  if (load<u32>(s + P_AU_ACTIVE) != 0) { // it was meant to continue the fragmented AU
    markBroken(s, DEPAY_DROPPED_MALFORMED);
    complete(s);
    return;
  }
  drop(s, DEPAY_DROPPED_MALFORMED);
}

// ---------------------------------------------------------------------------------------------------------------
// Exports.

/**
 * Creates a depayloader for `codec` (DEPAY_CODEC_*), with access units up to `maxFrameBytes` and `options`
 * (DEPAY_WAIT_FOR_KEYFRAME). `a`–`d` are codec parameters: RAW width, height, pgroup octets, pgroup pixels; AAC
 * sizeLength, indexLength, indexDeltaLength, samples per AU (0: 1024). Returns the state's address, or a negative
 * status (DEPAY_BAD_CODEC, DEPAY_BAD_PARAMETER, ERR_OUT_OF_MEMORY) as an i32 in the same result.
 */
export function depay_create(codec: u32, maxFrameBytes: u32, options: u32, a: u32, b: u32, c: u32, d: u32): usize {
  if (codec < DEPAY_CODEC_H264 || codec > DEPAY_CODEC_AAC) return <usize>DEPAY_BAD_CODEC;
  if (maxFrameBytes == 0 || maxFrameBytes > MAX_FRAME_LIMIT) return <usize>DEPAY_BAD_PARAMETER;
  let bufferBytes = maxFrameBytes;
  let frameBytes: u32 = 0;
  let stride: u32 = 0;
  if (codec == DEPAY_CODEC_RAW) {
    if (a == 0 || b == 0 || a > RAW_MAX_DIMENSION || b > RAW_MAX_DIMENSION || c == 0 || c > 64 || d == 0 || d > 16
      || a % d != 0) return <usize>DEPAY_BAD_PARAMETER;
    const stride64 = <u64>(a / d) * <u64>c;
    const frame64 = stride64 * <u64>b;
    if (frame64 > <u64>maxFrameBytes) return <usize>DEPAY_BAD_PARAMETER;
    stride = <u32>stride64;
    frameBytes = <u32>frame64;
    bufferBytes = frameBytes;
  } else if (codec == DEPAY_CODEC_AAC) {
    if (a == 0 || a > 16 || b > 16 || c > 16) return <usize>DEPAY_BAD_PARAMETER;
    if (d == 0) d = AAC_DEFAULT_SAMPLES;
    bufferBytes = maxFrameBytes > AAC_MIN_BUFFER_BYTES ? maxFrameBytes : AAC_MIN_BUFFER_BYTES;
    frameBytes = bufferBytes;
  } else {
    a = 0; b = 0; c = 0; d = 0;
  }
  const aligned = (<u64>bufferBytes + 15) & ~(<u64>15);
  const total = <u64>STATE_BYTES + 2 * aligned;
  if (total > 0xFFFF_0000) return <usize>ERR_OUT_OF_MEMORY;
  const s = region_alloc(<u32>total); // zeroed
  if (s == 0) return <usize>ERR_OUT_OF_MEMORY;
  store<u32>(s + P_CODEC, codec);
  store<u32>(s + P_OPTIONS, options);
  store<u32>(s + P_MAX_FRAME, maxFrameBytes);
  store<u32>(s + P_BUF0, <u32>(s + STATE_BYTES));
  store<u32>(s + P_BUF1, <u32>(s + STATE_BYTES + <usize>aligned));
  store<u32>(s + P_A, a);
  store<u32>(s + P_B, b);
  store<u32>(s + P_C, c);
  store<u32>(s + P_D, d);
  store<u32>(s + P_FRAME_BYTES, frameBytes);
  store<u32>(s + P_STRIDE, stride);
  if ((options & DEPAY_WAIT_FOR_KEYFRAME) != 0) store<u32>(s + P_WAITING, 1);
  store<u32>(s + P_SELF, <u32>s);
  store<u32>(s + P_MAGIC, DEPAY_MAGIC);
  return s;
}

/**
 * Feeds one RTP packet [ptr, ptr + len) whose RTP record (status OK) is at `record`. Returns the number of frames
 * it completed (records at DEPAY_FRAME_RECORDS, valid until the next call), or DEPAY_BAD_STATE /
 * ERR_BAD_ARGUMENT / DEPAY_BAD_RECORD. Payload problems are never errors: they are counted drops.
 */
export function depay_push(s: usize, ptr: usize, len: u32, record: usize): i32 {
  if (!isDepay(s)) return DEPAY_BAD_STATE;
  if (!inMemory(record, RTP_RECORD_BYTES) || !inMemory(ptr, len)) return ERR_BAD_ARGUMENT;
  if (load<i32>(record + RTP_STATUS) != OK || load<u32>(record + RTP_PACKET_LENGTH) != len) return DEPAY_BAD_RECORD;
  const payloadOffset = load<u32>(record + RTP_PAYLOAD_OFFSET);
  const payloadLength = load<u32>(record + RTP_PAYLOAD_LENGTH);
  if (payloadOffset > len || payloadLength > len - payloadOffset) return DEPAY_BAD_RECORD;
  store<u32>(s + DEPAY_FRAME_COUNT, 0);
  bump64(s + DEPAY_PACKETS);

  const seq = <u32>load<u16>(record + RTP_SEQUENCE);
  const ts = load<u32>(record + RTP_TIMESTAMP);
  const marker = load<u8>(record + RTP_MARKER) != 0;
  let gap = false;
  if (load<u32>(s + P_HAS_SEQ) != 0) {
    const expected = load<u32>(s + P_EXPECTED);
    const ahead = (seq - expected) & 0xFFFF;
    if (ahead != 0) {
      const behind = (expected - seq) & 0xFFFF;
      if (behind <= DEPAY_LATE_WINDOW) {
        // Reordered or duplicated: its unit is already complete or broken. Dropped, counted, state untouched.
        bump64(s + DEPAY_LATE_PACKETS);
        return 0;
      }
      gap = true;
      if (ahead < SEQ_HALF) add64(s + DEPAY_LOST_PACKETS, <u64>ahead); // farther back: a sequence jump, nothing counted lost
    }
  }
  store<u32>(s + P_HAS_SEQ, 1);
  store<u32>(s + P_EXPECTED, (seq + 1) & 0xFFFF);
  if (gap) {
    // The lost packets belonged to the unit being assembled (its middle or end) or to the next one (its start).
    store<u32>(s + P_PENDING_DISC, 1);
    if (load<u32>(s + P_AU_ACTIVE) != 0) markBroken(s, DEPAY_DROPPED_LOSS);
  }
  if (load<u32>(s + P_AU_ACTIVE) != 0 && ts != load<u32>(s + P_AU_TS)) complete(s);

  const codec = load<u32>(s + P_CODEC);
  if (codec != DEPAY_CODEC_AAC && load<u32>(s + P_AU_ACTIVE) == 0) {
    startUnit(s, ts);
    if (gap) markBroken(s, DEPAY_DROPPED_LOSS);
  }
  if (load<u32>(s + P_AU_ACTIVE) != 0 && load<u32>(s + P_BROKEN) != 0) {
    // This packet belongs to an access unit already dropped (and counted): nothing of it is read or copied. The
    // depayloader resyncs when the unit ends: at its marker, or at the next timestamp (the next unit's start).
    bump64(s + DEPAY_SKIPPED_PACKETS);
    if (marker) complete(s);
    return <i32>load<u32>(s + DEPAY_FRAME_COUNT);
  }
  const p = ptr + <usize>payloadOffset;
  if (codec == DEPAY_CODEC_AAC) {
    payloadAac(s, p, payloadLength, ts, marker, gap);
  } else {
    if (codec == DEPAY_CODEC_H264) payload264(s, p, payloadLength);
    else if (codec == DEPAY_CODEC_H265) payload265(s, p, payloadLength);
    else payloadRaw(s, p, payloadLength);
    if (marker) complete(s);
  }
  return <i32>load<u32>(s + DEPAY_FRAME_COUNT);
}

/**
 * Ends the stream: completes the pending access unit if it is whole (counted as a drop if not) and forgets the
 * sequence number. Returns the frames completed (0 or 1) or DEPAY_BAD_STATE.
 */
export function depay_flush(s: usize): i32 {
  if (!isDepay(s)) return DEPAY_BAD_STATE;
  store<u32>(s + DEPAY_FRAME_COUNT, 0);
  if (load<u32>(s + P_AU_ACTIVE) != 0) complete(s);
  store<u32>(s + P_HAS_SEQ, 0);
  return <i32>load<u32>(s + DEPAY_FRAME_COUNT);
}

/** Frees the depayloader's state and buffers. DEPAY_BAD_STATE if `s` is not a live depayloader. */
export function depay_destroy(s: usize): i32 {
  if (!isDepay(s)) return DEPAY_BAD_STATE;
  store<u32>(s + P_MAGIC, 0);
  store<u32>(s + P_SELF, 0);
  return region_free(s) == OK ? OK : ERR_BAD_ARGUMENT;
}
