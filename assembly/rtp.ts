// RTP header parsing: RFC 3550 §5.1 (fixed header, CSRCs), §5.3.1 (header extension), RFC 8285 (one-byte and
// two-byte extension element forms), RFC 3550 §5.1 "P" (padding).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                           timestamp                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           synchronization source (SSRC) identifier            |
// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// |            contributing source (CSRC) identifiers             |
// |                             ....                              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      defined by profile       |           length              |   (only when X = 1; length in 32-bit words)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                        header extension                       |
// |                             ....                              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            payload ...    | padding | count   |   (padding only when P = 1; count includes itself)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 8285 elements inside the extension data:
//   one-byte form (profile 0xBEDE, §4.2):  | ID (4) | L (4) | L + 1 data octets |   IDs 1-14
//   two-byte form (profile 0x100X, §4.3):  | ID (8) | length (8) | length data octets (0 allowed) |   IDs 1-255
//   in both, a zero octet where an element header is expected is padding and is skipped (so ID 0 never names an
//   element). In the one-byte form, ID 15 is reserved: processing of the block ends there and only the elements
//   before it count (§4.2); ID 0 with a non-zero length (a padding octet that is not zero) ends it the same way, as
//   libwebrtc (rtp_packet.cc, kPaddingId) and pion/rtp do. In the two-byte form 15 is an ordinary ID.
//
// The parser validates once and writes offsets (never copies) into the fixed-layout record of layout.ts. It never
// allocates, throws or traps. On an error only RTP_STATUS and RTP_PACKET_LENGTH are meaningful; on OK every field is,
// and the CSRC and element slots are written only up to CC and RTP_EXT_ELEMENT_COUNT (the rest hold stale data).

import { OK, ERR_BAD_ARGUMENT, RTP_TOO_SHORT, RTP_BAD_VERSION, RTP_CSRC_TRUNCATED, RTP_EXTENSION_HEADER_TRUNCATED,
  RTP_EXTENSION_TRUNCATED, RTP_EXTENSION_ELEMENT_TRUNCATED, RTP_EXTENSION_TOO_MANY_ELEMENTS, RTP_PADDING_ZERO,
  RTP_PADDING_OVERFLOW, RTP_TOO_LONG } from "./status";
import { RTP_RECORD_BYTES, RTP_VERSION, RTP_MARKER, RTP_TIMESTAMP, RTP_SSRC, RTP_PAYLOAD_OFFSET,
  RTP_PAYLOAD_LENGTH, RTP_PADDING_LENGTH, RTP_EXT_PROFILE, RTP_EXT_LENGTH, RTP_EXT_OFFSET, RTP_STATUS,
  RTP_PACKET_LENGTH, RTP_CSRCS, RTP_EXT_ELEMENTS, RTP_EXT_ELEMENT_BYTES, RTP_EXT_ELEMENT_ID, RTP_EXT_ELEMENT_OFFSET,
  MAX_EXTENSION_ELEMENTS, BATCH_DESC_BYTES, RTP_MAX_PACKET_BYTES } from "./layout";
import { inMemory } from "./region";

// Sizes, in octets.
/** The fixed header: V/P/X/CC/M/PT/sequence, timestamp, SSRC. */
const HEADER_BYTES: u32 = 12;
/** One CSRC identifier. */
const CSRC_BYTES: u32 = 4;
/** The extension header: "defined by profile" + length. */
const EXTENSION_HEADER_BYTES: u32 = 4;
/** Largest packet: RTP over RTSP interleaved frames and UDP datagrams both have 16-bit lengths. */
const MAX_PACKET_BYTES: u32 = RTP_MAX_PACKET_BYTES;

// First 32-bit word of the fixed header (read big-endian).
const VERSION_SHIFT: u32 = 30;
const VERSION_MASK: u32 = 0x3;
const RTP_VERSION_2: u32 = 2;
const PADDING_SHIFT: u32 = 29;
const EXTENSION_SHIFT: u32 = 28;
const CC_SHIFT: u32 = 24;
const CC_MASK: u32 = 0xF;
const MARKER_SHIFT: u32 = 23;
const PT_SHIFT: u32 = 16;
const PT_MASK: u32 = 0x7F;
const SEQUENCE_MASK: u32 = 0xFFFF;
const BIT_MASK: u32 = 0x1;

// Extension header word: profile in the high half, length (32-bit words) in the low half.
const EXT_PROFILE_SHIFT: u32 = 16;
const EXT_LENGTH_MASK: u32 = 0xFFFF;
const WORD_SHIFT: u32 = 2; // × 4 octets

// RFC 8285.
/** One-byte form profile. */
const PROFILE_ONE_BYTE: u32 = 0xBEDE;
/** Two-byte form: 0x100 followed by 4 "appbits". */
const PROFILE_TWO_BYTE: u32 = 0x1000;
const PROFILE_TWO_BYTE_MASK: u32 = 0xFFF0;
const ONE_BYTE_ID_SHIFT: u32 = 4;
const ONE_BYTE_LENGTH_MASK: u32 = 0xF;
/** One-byte form: ID 15 is reserved; it ends processing of the block (RFC 8285 §4.2). */
const ONE_BYTE_ID_STOP: u32 = 15;
/** A zero octet where an element header is expected is padding (RFC 8285 §4.2, §4.3). */
const PADDING_OCTET: u32 = 0;
/** One-byte form: ID 0 is padding's; with a non-zero length it is malformed and ends the block like ID 15. */
const ONE_BYTE_ID_PADDING: u32 = 0;
const TWO_BYTE_HEADER_BYTES: u32 = 2;
/** Element record, second word shifted in: { u8 id, u8 reserved, u16 length }. */
const ELEMENT_LENGTH_SHIFT: u32 = 16;

// Record words assembled in registers and written with one store each.
const RECORD_BYTE1_SHIFT: u32 = 8;
const RECORD_BYTE2_SHIFT: u32 = 16;
const RECORD_BYTE3_SHIFT: u32 = 24;

/** Big-endian 32-bit load. */
// @ts-ignore: decorator
@inline function loadBE32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

/** Stores `status` in the record and returns it. */
// @ts-ignore: decorator
@inline function finish(out: usize, status: i32): i32 {
  store<i32>(out, status, RTP_STATUS);
  return status;
}

/** Writes one RFC 8285 element record: { u8 id, u8 reserved, u16 length, u32 offset }. */
// @ts-ignore: decorator
@inline function storeElement(out: usize, index: u32, id: u32, length: u32, offset: u32): void {
  const e = out + RTP_EXT_ELEMENTS + <usize>index * RTP_EXT_ELEMENT_BYTES;
  store<u32>(e, id | (length << ELEMENT_LENGTH_SHIFT), RTP_EXT_ELEMENT_ID);
  store<u32>(e, offset, RTP_EXT_ELEMENT_OFFSET);
}

/**
 * RFC 8285 one-byte form over extension data [start, end) of the packet at `p`. Returns the element count (≥ 0) or
 * a negative status.
 */
// @ts-ignore: decorator
@inline function parseOneByte(p: usize, start: u32, end: u32, out: usize): i32 {
  let count: u32 = 0;
  let i = start;
  while (i < end) {
    const b = <u32>load<u8>(p + i);
    if (b == PADDING_OCTET) { i++; continue; }
    const id = b >> ONE_BYTE_ID_SHIFT;
    // ID 15, or ID 0 with a length (b is not the zero padding octet): stop; the elements before stand.
    if (id == ONE_BYTE_ID_STOP || id == ONE_BYTE_ID_PADDING) break;
    const length = (b & ONE_BYTE_LENGTH_MASK) + 1;
    const data = i + 1;
    if (data + length > end) return RTP_EXTENSION_ELEMENT_TRUNCATED;
    if (count == MAX_EXTENSION_ELEMENTS) return RTP_EXTENSION_TOO_MANY_ELEMENTS;
    storeElement(out, count, id, length, data);
    count++;
    i = data + length;
  }
  return <i32>count;
}

/** RFC 8285 two-byte form over extension data [start, end). Returns the element count or a negative status. */
// @ts-ignore: decorator
@inline function parseTwoByte(p: usize, start: u32, end: u32, out: usize): i32 {
  let count: u32 = 0;
  let i = start;
  while (i < end) {
    const id = <u32>load<u8>(p + i);
    if (id == PADDING_OCTET) { i++; continue; }
    const data = i + TWO_BYTE_HEADER_BYTES;
    if (data > end) return RTP_EXTENSION_ELEMENT_TRUNCATED; // the length octet itself is missing
    const length = <u32>load<u8>(p + i + 1);
    if (data + length > end) return RTP_EXTENSION_ELEMENT_TRUNCATED;
    if (count == MAX_EXTENSION_ELEMENTS) return RTP_EXTENSION_TOO_MANY_ELEMENTS;
    storeElement(out, count, id, length, data);
    count++;
    i = data + length;
  }
  return <i32>count;
}

/**
 * The parser proper: `p`/`len` and `out` are already known to lie in memory, and len ≤ 65535. Exported (inline) for
 * the demuxer, which has checked its whole input and record array once per scan and so calls this per frame without
 * repeating those checks or paying a call.
 */
// @ts-ignore: decorator
@inline export function parseInto(p: usize, len: u32, out: usize): i32 {
  store<u32>(out, len, RTP_PACKET_LENGTH);
  if (len < HEADER_BYTES) return finish(out, RTP_TOO_SHORT);
  const w0 = loadBE32(p);
  if ((w0 >> VERSION_SHIFT) != RTP_VERSION_2) return finish(out, RTP_BAD_VERSION);
  const hasPadding = (w0 >> PADDING_SHIFT) & BIT_MASK;
  const hasExtension = (w0 >> EXTENSION_SHIFT) & BIT_MASK;
  const cc = (w0 >> CC_SHIFT) & CC_MASK;
  let end = HEADER_BYTES + cc * CSRC_BYTES;
  if (end > len) return finish(out, RTP_CSRC_TRUNCATED);

  // Bytes 0..3: version, P, X, CC; bytes 4..7: M, PT, sequence (u16) — two stores.
  store<u32>(out, RTP_VERSION_2 | (hasPadding << RECORD_BYTE1_SHIFT) | (hasExtension << RECORD_BYTE2_SHIFT)
    | (cc << RECORD_BYTE3_SHIFT), RTP_VERSION);
  store<u32>(out, ((w0 >> MARKER_SHIFT) & BIT_MASK) | (((w0 >> PT_SHIFT) & PT_MASK) << RECORD_BYTE1_SHIFT)
    | ((w0 & SEQUENCE_MASK) << RECORD_BYTE2_SHIFT), RTP_MARKER);
  store<u32>(out, loadBE32(p + 4), RTP_TIMESTAMP);
  store<u32>(out, loadBE32(p + 8), RTP_SSRC);
  for (let i: u32 = 0; i < cc; i++) {
    const o = <usize>(i * CSRC_BYTES);
    store<u32>(out + o, loadBE32(p + HEADER_BYTES + o), RTP_CSRCS);
  }

  let elements: u32 = 0;
  if (hasExtension) {
    const extHeader = end;
    if (extHeader + EXTENSION_HEADER_BYTES > len) return finish(out, RTP_EXTENSION_HEADER_TRUNCATED);
    const w = loadBE32(p + extHeader);
    const profile = w >> EXT_PROFILE_SHIFT;
    const extLength = (w & EXT_LENGTH_MASK) << WORD_SHIFT;
    const start = extHeader + EXTENSION_HEADER_BYTES;
    end = start + extLength;
    if (end > len) return finish(out, RTP_EXTENSION_TRUNCATED);
    let n: i32 = 0;
    if (profile == PROFILE_ONE_BYTE) n = parseOneByte(p, start, end, out);
    else if ((profile & PROFILE_TWO_BYTE_MASK) == PROFILE_TWO_BYTE) n = parseTwoByte(p, start, end, out);
    if (n < 0) return finish(out, n);
    elements = <u32>n;
    store<u32>(out, profile, RTP_EXT_PROFILE);
    store<u32>(out, extLength, RTP_EXT_LENGTH);
    store<u32>(out, start, RTP_EXT_OFFSET);
  } else {
    store<u32>(out, 0, RTP_EXT_PROFILE);
    store<u64>(out, 0, RTP_EXT_LENGTH); // RTP_EXT_LENGTH and RTP_EXT_OFFSET
  }

  let padding: u32 = 0;
  if (hasPadding) {
    padding = <u32>load<u8>(p + len - 1);
    if (padding == 0) return finish(out, RTP_PADDING_ZERO);
    if (padding > len - end) return finish(out, RTP_PADDING_OVERFLOW);
  }
  store<u32>(out, padding | (elements << ELEMENT_LENGTH_SHIFT), RTP_PADDING_LENGTH); // + RTP_EXT_ELEMENT_COUNT
  store<u32>(out, end, RTP_PAYLOAD_OFFSET);
  store<u32>(out, len - end - padding, RTP_PAYLOAD_LENGTH);
  return finish(out, OK);
}

/** Parses the packet at [ptr, ptr + len) into the RTP record at `out`. Returns OK or a negative RTP_* status. */
export function rtp_parse(ptr: usize, len: u32, out: usize): i32 {
  if (!inMemory(out, RTP_RECORD_BYTES)) return ERR_BAD_ARGUMENT;
  if (!inMemory(ptr, len)) {
    store<u32>(out, len, RTP_PACKET_LENGTH);
    return finish(out, ERR_BAD_ARGUMENT);
  }
  if (len > MAX_PACKET_BYTES) {
    store<u32>(out, len, RTP_PACKET_LENGTH);
    return finish(out, RTP_TOO_LONG);
  }
  return parseInto(ptr, len, out);
}

/** True when `bytes` (a 64-bit count, so `count × size` cannot wrap) starting at `ptr` lie in linear memory. */
// @ts-ignore: decorator
@inline function inMemory64(ptr: usize, bytes: u64): bool {
  const end = <u64>memory.size() << 16;
  return <u64>ptr <= end && bytes <= end - <u64>ptr;
}

/**
 * Parses `count` packets described by { u32 ptr, u32 len } at `descs` into consecutive records at `out` (status in
 * each record). Returns how many parsed OK, or ERR_BAD_ARGUMENT when either array reaches outside memory.
 */
export function rtp_parse_batch(descs: usize, count: u32, out: usize): i32 {
  if (!inMemory64(descs, <u64>count * BATCH_DESC_BYTES)) return ERR_BAD_ARGUMENT;
  if (!inMemory64(out, <u64>count * RTP_RECORD_BYTES)) return ERR_BAD_ARGUMENT;
  let ok: i32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = descs + <usize>i * BATCH_DESC_BYTES;
    const ptr = <usize>load<u32>(d);
    const len = load<u32>(d, 4);
    const r = out + <usize>i * RTP_RECORD_BYTES;
    let status: i32;
    if (!inMemory(ptr, len)) {
      store<u32>(r, len, RTP_PACKET_LENGTH);
      status = finish(r, ERR_BAD_ARGUMENT);
    } else if (len > MAX_PACKET_BYTES) {
      store<u32>(r, len, RTP_PACKET_LENGTH);
      status = finish(r, RTP_TOO_LONG);
    } else {
      status = parseInto(ptr, len, r);
    }
    if (status == OK) ok++;
  }
  return ok;
}
