// Interleaved RTSP/RTP demuxer (RFC 2326 §10.12, RFC 7826 §14).
//
// Over RTSP's TCP connection the server mixes interleaved binary frames with RTSP messages (its responses and its
// own requests: GET_PARAMETER, ANNOUNCE, SET_PARAMETER, OPTIONS, REDIRECT, …). A frame is
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | "$" = 0x24    |   Channel ID  |     Length in octets (BE)     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   :             Binary data (Length octets): RTP or RTCP          :
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// and a message is a start line (`RTSP/1.0 200 OK` or `METHOD request-uri RTSP/1.0`), header lines, an empty line
// and Content-Length octets of body. Lines end in CRLF or (cameras send it) a bare LF.
//
// The host reads the socket straight into linear memory and calls demux_scan over [base, base + len): the scan
// reports where each complete item lies (offsets relative to base) and never copies. What is left after
// DEMUX_CONSUMED is a partial item: the host passes it again, followed by new bytes, as the start of the next call.
// The state remembers how far that partial item was examined, so feeding a long header one octet at a time stays
// linear, and any split of the stream into calls reports exactly the events of one large call.
//
// An octet that cannot start a frame or a message is garbage: skipped one at a time, counted, each run once. An item
// is judged garbage as soon as the octets present rule it out; while they are still a possible prefix, the scan
// waits for more. Limits bound what the host must buffer: a header longer than maxHeaderBytes or a body longer than
// maxBodyBytes is reported as an error event, its first octet is skipped as garbage and the scan goes on.

import {
  ERR_BAD_ARGUMENT, OK, DEMUX_HEADER_TOO_LARGE, DEMUX_BODY_TOO_LARGE, DEMUX_BAD_CONTENT_LENGTH,
} from "./status";
import {
  DEMUX_EVENT_BYTES, EV_KIND, EV_CHANNEL, EV_STATUS, EV_START, EV_LENGTH, EV_BODY, EV_KIND_FRAME, EV_KIND_MESSAGE,
  EV_KIND_ERROR, EV_NOT_PARSED, DEMUX_FRAMES, DEMUX_MESSAGES, DEMUX_GARBAGE_BYTES, DEMUX_BYTES, DEMUX_RTP_ERRORS,
  DEMUX_RESYNCS, DEMUX_CONSUMED, DEMUX_PUBLIC_BYTES, CHANNEL_ACCEPT, CHANNEL_RTP, RTP_RECORD_BYTES,
  DEMUX_MIN_HEADER_BYTES, DEMUX_MAX_LIMIT_BYTES, DEMUX_MAX_METHOD_BYTES,
} from "./layout";
import { region_alloc, region_free, inMemory } from "./region";
import { parseInto } from "./rtp";

// Its limits (DEMUX_MIN_HEADER_BYTES, DEMUX_MAX_LIMIT_BYTES, DEMUX_MAX_METHOD_BYTES) are in layout.ts.

// Private part of the state, after the public head of layout.ts.
const ST_MAGIC: usize = DEMUX_PUBLIC_BYTES; //      u32 marks a live demuxer (cleared on destroy)
const ST_MAX_HEADER: usize = ST_MAGIC + 4; //       u32
const ST_MAX_BODY: usize = ST_MAGIC + 8; //         u32
const ST_ACCEPT_COUNT: usize = ST_MAGIC + 12; //    u32 channels with CHANNEL_ACCEPT (0: every channel is accepted)
const ST_IN_GARBAGE: usize = ST_MAGIC + 16; //      u32 1 while the last octet consumed was garbage (one resync per run)
const ST_PEND_KIND: usize = ST_MAGIC + 20; //       u32 progress on the partial item at offset 0 of the next call
const ST_PEND_STATE: usize = ST_MAGIC + 24; //      u32 start-line machine state
const ST_PEND_COUNT: usize = ST_MAGIC + 28; //      u32 start-line machine counter
const ST_PEND_POS: usize = ST_MAGIC + 32; //        u32 start line: octets examined; headers: offset of the line's LF;
//                                                      body: header length
const ST_PEND_BODY: usize = ST_MAGIC + 36; //       u32 body: body length
const ST_MEMO_FROM: usize = ST_MAGIC + 40; //       u32 no header end ends at an LF in [from, to) (relative to base)
const ST_MEMO_TO: usize = ST_MAGIC + 44; //         u32 (from == to: nothing known)
const ST_CHANNELS: usize = 128; //                  u8 × 256 channel flags
const STATE_BYTES: u32 = 128 + 256;
const MAGIC: u32 = 0x584d4544; // "DEMX"

// Progress kinds of the partial item.
const PEND_NONE: u32 = 0;
const PEND_START_LINE: u32 = 1;
const PEND_HEADERS: u32 = 2;
const PEND_BODY: u32 = 3;

// Start-line machine states. COUNT is the octets matched in the current part.
const SL_PREFIX: u32 = 0; //     "RTSP" matched COUNT octets (all method characters so far)
const SL_METHOD: u32 = 1; //     request method of COUNT octets
const SL_URI_FIRST: u32 = 2; //  after "METHOD SP"
const SL_URI: u32 = 3; //        inside the request-uri
const SL_REQ_VER: u32 = 4; //    "RTSP/d.d" after the request-uri, COUNT octets matched
const SL_REQ_EOL: u32 = 5; //    after the request's version: CR or LF
const SL_REQ_CR: u32 = 6; //     after CR: LF
const SL_RESP_VER: u32 = 7; //   "d.d SP" after "RTSP/", COUNT octets matched
const SL_RESP_LINE: u32 = 8; //  rest of the status line up to LF

const DOLLAR: u8 = 0x24;
const CR: u8 = 0x0d;
const LF: u8 = 0x0a;
const SP: u8 = 0x20;
const HT: u8 = 0x09;

// Results of the start-line and message scanners.
const NEED_MORE: i32 = -1;
const INVALID: i32 = -2;
// Scratch outputs of the start-line scanner (valid only during one call).
let slState: u32 = 0;
let slCount: u32 = 0;
let slLineFeed: u32 = 0;
let clValue: u64 = 0;

// @ts-ignore: decorator
@inline
function isMethodChar(c: u32): bool {
  return c - 0x41 < 26 || c - 0x30 < 10 || c == 0x5f || c == 0x2d; // A-Z 0-9 _ -
}

// @ts-ignore: decorator
@inline
function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/** Octet `k` of "RTSP/d.d" matches c. */
function versionCharMatches(k: u32, c: u32): bool {
  if (k == 5 || k == 7) return isDigit(c);
  if (k == 6) return c == 0x2e;
  // "RTSP/"
  if (k == 0) return c == 0x52;
  if (k == 1) return c == 0x54;
  if (k == 2) return c == 0x53;
  if (k == 3) return c == 0x50;
  return c == 0x2f;
}

/**
 * Runs the start-line machine over [from, to) from the state in slState/slCount. Returns OK with slLineFeed = offset
 * of the line's LF when the line is complete and valid, INVALID as soon as an octet rules it out, NEED_MORE otherwise.
 */
function scanStartLine(base: usize, from: u32, to: u32): i32 {
  let state = slState;
  let count = slCount;
  let i = from;
  while (i < to) {
    const c = <u32>load<u8>(base + i);
    switch (state) {
      case SL_PREFIX: {
        if (count < 4 && c == <u32>load<u8>(changetype<usize>("RTSP") + (<usize>count << 1))) {
          count++;
        } else if (count == 4 && c == 0x2f) {
          state = SL_RESP_VER; count = 0;
        } else if (isMethodChar(c)) {
          state = SL_METHOD; count++;
          if (count > DEMUX_MAX_METHOD_BYTES) return INVALID;
        } else if (c == SP && count > 0) {
          state = SL_URI_FIRST;
        } else {
          return INVALID;
        }
        break;
      }
      case SL_METHOD: {
        if (isMethodChar(c)) {
          if (++count > DEMUX_MAX_METHOD_BYTES) return INVALID;
        } else if (c == SP) {
          state = SL_URI_FIRST;
        } else {
          return INVALID;
        }
        break;
      }
      case SL_URI_FIRST: {
        if (c - 0x21 >= 0x5e) return INVALID; // visible ASCII 0x21..0x7e
        state = SL_URI;
        break;
      }
      case SL_URI: {
        // Hot inside a long request-uri: stay in this loop.
        let cc = c;
        while (cc - 0x21 < 0x5e) {
          if (++i == to) { slState = state; slCount = count; return NEED_MORE; }
          cc = <u32>load<u8>(base + i);
        }
        if (cc != SP) return INVALID;
        state = SL_REQ_VER; count = 0;
        break;
      }
      case SL_REQ_VER: {
        if (!versionCharMatches(count, c)) return INVALID;
        if (++count == 8) state = SL_REQ_EOL;
        break;
      }
      case SL_REQ_EOL: {
        if (c == LF) { slLineFeed = i; return OK; }
        if (c != CR) return INVALID;
        state = SL_REQ_CR;
        break;
      }
      case SL_REQ_CR: {
        if (c != LF) return INVALID;
        slLineFeed = i;
        return OK;
      }
      case SL_RESP_VER: {
        if (count == 1 ? c != 0x2e : count == 3 ? c != SP : !isDigit(c)) return INVALID;
        if (++count == 4) state = SL_RESP_LINE;
        break;
      }
      default: { // SL_RESP_LINE: anything up to LF
        let cc = c;
        while (cc != <u32>LF) {
          if (++i == to) { slState = state; slCount = count; return NEED_MORE; }
          cc = <u32>load<u8>(base + i);
        }
        slLineFeed = i;
        return OK;
      }
    }
    i++;
  }
  slState = state;
  slCount = count;
  return NEED_MORE;
}

/** Line [from, to) (CR already stripped) is a Content-Length header: returns its start of value, or -1. */
function contentLengthValueStart(base: usize, from: u32, to: u32): i64 {
  if (to - from < 14) return -1;
  const name = changetype<usize>("content-length");
  for (let k: u32 = 0; k < 14; k++) {
    let c = <u32>load<u8>(base + from + k);
    if (c - 0x41 < 26) c |= 0x20;
    if (c != <u32>load<u8>(name + (<usize>k << 1))) return -1;
  }
  let i = from + 14;
  while (i < to && (load<u8>(base + i) == SP || load<u8>(base + i) == HT)) i++;
  if (i == to || load<u8>(base + i) != 0x3a) return -1;
  return <i64>(i + 1);
}

/**
 * Reads every Content-Length header of the header lines [from, to) (which ends with the empty line). Returns OK with
 * the length in clValue (0 when absent), or the first failure in header order: DEMUX_BAD_CONTENT_LENGTH for a value
 * that is not digits (or differs from an earlier one), DEMUX_BODY_TOO_LARGE (clValue = the value, capped at 2^32 - 1)
 * for one above maxBody.
 */
function parseContentLength(base: usize, from: u32, to: u32, maxBody: u32): i32 {
  let ls = from;
  let found = false;
  let first: u64 = 0;
  while (ls < to) {
    let le = ls;
    while (le < to && load<u8>(base + le) != LF) le++;
    let ce = le;
    if (ce > ls && load<u8>(base + ce - 1) == CR) ce--;
    const vs = contentLengthValueStart(base, ls, ce);
    if (vs >= 0) {
      let i = <u32>vs;
      while (i < ce && (load<u8>(base + i) == SP || load<u8>(base + i) == HT)) i++;
      const digits = i;
      let v: u64 = 0;
      while (i < ce && isDigit(<u32>load<u8>(base + i))) {
        v = v * 10 + <u64>(load<u8>(base + i) - 0x30);
        if (v > 0xFFFF_FFFF) v = 0x1_0000_0000; // saturate: any such value is too large
        i++;
      }
      if (i == digits) return DEMUX_BAD_CONTENT_LENGTH;
      while (i < ce && (load<u8>(base + i) == SP || load<u8>(base + i) == HT)) i++;
      if (i != ce) return DEMUX_BAD_CONTENT_LENGTH;
      if (v > <u64>maxBody) {
        clValue = v > 0xFFFF_FFFF ? 0xFFFF_FFFF : v;
        return DEMUX_BODY_TOO_LARGE;
      }
      if (found && v != first) return DEMUX_BAD_CONTENT_LENGTH;
      found = true;
      first = v;
    }
    ls = le + 1;
  }
  clValue = first;
  return OK;
}

// @ts-ignore: decorator
@inline
function writeEvent(ev: usize, kind: u8, channel: u8, status: i32, start: u32, length: u32, body: u32): void {
  store<u8>(ev, kind, EV_KIND);
  store<u8>(ev, channel, EV_CHANNEL);
  store<i16>(ev, <i16>status, EV_STATUS);
  store<u32>(ev, start, EV_START);
  store<u32>(ev, length, EV_LENGTH);
  store<u32>(ev, body, EV_BODY);
}

function isLive(d: usize): bool {
  return d != 0 && (d & 7) == 0 && inMemory(d, STATE_BYTES) && load<u32>(d + ST_MAGIC) == MAGIC;
}

function clearScanState(d: usize): void {
  store<u32>(d + ST_IN_GARBAGE, 0);
  store<u32>(d + ST_PEND_KIND, PEND_NONE);
  store<u32>(d + ST_PEND_STATE, 0);
  store<u32>(d + ST_PEND_COUNT, 0);
  store<u32>(d + ST_PEND_POS, 0);
  store<u32>(d + ST_PEND_BODY, 0);
  store<u32>(d + ST_MEMO_FROM, 0);
  store<u32>(d + ST_MEMO_TO, 0);
  store<u32>(d + DEMUX_CONSUMED, 0);
}

/**
 * Creates a demuxer whose messages may have at most `maxHeaderBytes` of start line and headers and `maxBodyBytes` of
 * body. Returns its state's address, or 0 when a limit is out of range or memory is full.
 */
export function demux_create(maxHeaderBytes: u32, maxBodyBytes: u32): usize {
  if (maxHeaderBytes < DEMUX_MIN_HEADER_BYTES || maxHeaderBytes > DEMUX_MAX_LIMIT_BYTES) return 0;
  if (maxBodyBytes > DEMUX_MAX_LIMIT_BYTES) return 0;
  const d = region_alloc(STATE_BYTES); // zeroed
  if (d == 0) return 0;
  store<u32>(d + ST_MAGIC, MAGIC);
  store<u32>(d + ST_MAX_HEADER, maxHeaderBytes);
  store<u32>(d + ST_MAX_BODY, maxBodyBytes);
  return d;
}

/** Frees a demuxer. ERR_BAD_ARGUMENT when `d` is not a live demuxer (including a second destroy). */
export function demux_destroy(d: usize): i32 {
  if (!isLive(d)) return ERR_BAD_ARGUMENT;
  store<u32>(d + ST_MAGIC, 0);
  return region_free(d);
}

/** Forgets the partial item and the garbage run (a new connection); keeps the channel table and the statistics. */
export function demux_reset(d: usize): i32 {
  if (!isLive(d)) return ERR_BAD_ARGUMENT;
  clearScanState(d);
  return OK;
}

/**
 * Sets the flags of one interleaved channel: CHANNEL_ACCEPT (once any channel has it, frames on the others are
 * garbage, which helps resynchronise after corruption) and CHANNEL_RTP (parse the frames' RTP headers).
 */
export function demux_set_channel(d: usize, channel: u32, flags: u32): i32 {
  if (!isLive(d) || channel > 255 || (flags & ~(CHANNEL_ACCEPT | CHANNEL_RTP)) != 0) return ERR_BAD_ARGUMENT;
  const slot = d + ST_CHANNELS + channel;
  const was = <u32>load<u8>(slot) & CHANNEL_ACCEPT;
  const now = flags & CHANNEL_ACCEPT;
  const count = load<u32>(d + ST_ACCEPT_COUNT);
  if (was != now) store<u32>(d + ST_ACCEPT_COUNT, now != 0 ? count + 1 : count - 1);
  store<u8>(slot, <u8>flags);
  return OK;
}

// @ts-ignore: decorator
@inline
function addU64(d: usize, offset: usize, value: u64): void {
  store<u64>(d + offset, load<u64>(d + offset) + value);
}

/**
 * Scans [base, base + len), writing up to `maxEvents` events of DEMUX_EVENT_BYTES at `events` and, when `records` is
 * not 0, the RTP record of a frame on a CHANNEL_RTP channel at `records + i × RTP_RECORD_BYTES` (i = its event
 * index). Returns the number of events (or ERR_BAD_ARGUMENT) and stores the octets fully consumed in DEMUX_CONSUMED.
 */
export function demux_scan(d: usize, base: usize, len: u32, events: usize, maxEvents: u32, records: usize): i32 {
  if (!isLive(d)) return ERR_BAD_ARGUMENT;
  store<u32>(d + DEMUX_CONSUMED, 0);
  if (maxEvents == 0 || maxEvents > 0xFFFF_FFFF / RTP_RECORD_BYTES) return ERR_BAD_ARGUMENT;
  if (!inMemory(base, len) || !inMemory(events, maxEvents * DEMUX_EVENT_BYTES)) return ERR_BAD_ARGUMENT;
  if (records != 0 && !inMemory(records, maxEvents * RTP_RECORD_BYTES)) return ERR_BAD_ARGUMENT;

  const maxHeader = load<u32>(d + ST_MAX_HEADER);
  const maxBody = load<u32>(d + ST_MAX_BODY);
  const filterChannels = load<u32>(d + ST_ACCEPT_COUNT) != 0;
  const channels = d + ST_CHANNELS;
  let inGarbage = load<u32>(d + ST_IN_GARBAGE) != 0;
  // Progress on the partial item at offset 0, left by the previous call. Dropped if it does not fit this input
  // (a host that broke the carried-tail contract gets a fresh parse, never an out-of-range read).
  let pendKind = load<u32>(d + ST_PEND_KIND);
  const pendState = load<u32>(d + ST_PEND_STATE);
  const pendCount = load<u32>(d + ST_PEND_COUNT);
  const pendPos = load<u32>(d + ST_PEND_POS);
  const pendBody = load<u32>(d + ST_PEND_BODY);
  if (pendPos > len) pendKind = PEND_NONE;
  // Resuming the header search reads back from the start line's LF: it must be one, and inside the input.
  if (pendKind == PEND_HEADERS && (pendPos == 0 || pendPos >= len || load<u8>(base + pendPos) != LF)) {
    pendKind = PEND_NONE;
  }
  let memoFrom = load<u32>(d + ST_MEMO_FROM);
  let memoTo = load<u32>(d + ST_MEMO_TO);
  if (memoTo > len || memoFrom >= memoTo) { memoFrom = 0; memoTo = 0; }

  let pos: u32 = 0;
  let n: u32 = 0;
  let frames: u64 = 0;
  let messages: u64 = 0;
  let garbage: u64 = 0;
  let resyncs: u64 = 0;
  let rtpErrors: u64 = 0;
  let newPendKind = PEND_NONE;
  let newPendState: u32 = 0;
  let newPendCount: u32 = 0;
  let newPendPos: u32 = 0;
  let newPendBody: u32 = 0;

  while (pos < len) {
    const c = <u32>load<u8>(base + pos);
    if (c == <u32>DOLLAR) {
      // Interleaved frame: the hot path.
      if (len - pos < 2) break;
      const ch = <u32>load<u8>(base + pos + 1);
      const flags = <u32>load<u8>(channels + ch);
      if (filterChannels && (flags & CHANNEL_ACCEPT) == 0) {
        garbage++;
        if (!inGarbage) { resyncs++; inGarbage = true; }
        pos++;
        continue;
      }
      if (len - pos < 4) break;
      const size = <u32>bswap<u16>(load<u16>(base + pos + 2));
      if (len - pos - 4 < size) break;
      const start = pos + 4;
      const ev = events + <usize>n * DEMUX_EVENT_BYTES;
      let status: i32 = EV_NOT_PARSED;
      if ((flags & CHANNEL_RTP) != 0 && records != 0) {
        status = parseInto(base + start, size, records + <usize>n * RTP_RECORD_BYTES);
        if (status < 0) rtpErrors++;
      }
      writeEvent(ev, EV_KIND_FRAME, <u8>ch, status, start, size, 0);
      frames++;
      inGarbage = false;
      pos = start + size;
      if (++n == maxEvents) break;
      continue;
    }
    if (!isMethodChar(c)) {
      // Cannot start an item: skip the whole run of such octets at once.
      if (!inGarbage) { resyncs++; inGarbage = true; }
      let i = pos + 1;
      while (i < len) {
        const cc = <u32>load<u8>(base + i);
        if (cc == <u32>DOLLAR || isMethodChar(cc)) break;
        i++;
      }
      garbage += <u64>(i - pos);
      pos = i;
      continue;
    }

    // A possible RTSP message at pos. Its window is [pos, windowEnd): the header must end inside it.
    const windowEnd: u64 = <u64>pos + <u64>maxHeader;
    const avail: u32 = windowEnd < <u64>len ? <u32>windowEnd : len;
    const windowFull = windowEnd <= <u64>len;
    const resume = pos == 0 ? pendKind : PEND_NONE;
    pendKind = PEND_NONE; // only ever applies to the first item
    let status: i32 = OK;
    let headerEnd: u32 = 0;
    let bodyLength: u32 = 0;
    if (resume == PEND_BODY) {
      headerEnd = pendPos;
      bodyLength = pendBody;
    } else {
      // 1. Start line.
      let lineFeed: u32 = 0;
      if (resume == PEND_HEADERS) {
        lineFeed = pendPos;
      } else {
        let from = pos;
        if (resume == PEND_START_LINE) {
          slState = pendState; slCount = pendCount; from = pendPos;
        } else {
          slState = SL_PREFIX; slCount = 0;
        }
        const r = scanStartLine(base, from, avail);
        if (r == INVALID) {
          garbage++;
          if (!inGarbage) { resyncs++; inGarbage = true; }
          pos++;
          continue;
        }
        if (r == NEED_MORE) {
          if (!windowFull) {
            newPendKind = PEND_START_LINE; newPendState = slState; newPendCount = slCount; newPendPos = avail - pos;
            break;
          }
          status = DEMUX_HEADER_TOO_LARGE;
        } else {
          lineFeed = slLineFeed;
        }
      }
      // 2. The empty line: an LF at q preceded by LF, or by CR preceded by LF (a CR there is never the start
      // line's LF position, so the look-back stays inside the item). The memo skips LFs already ruled out.
      if (status == OK) {
        let q = lineFeed + 1;
        const searchedFrom = q;
        const covered = memoTo > memoFrom && memoFrom <= q && q < memoTo;
        if (covered) q = memoTo;
        let found = false;
        while (q < avail) {
          if (load<u8>(base + q) == LF) {
            const p = load<u8>(base + q - 1);
            if (p == LF || (p == CR && load<u8>(base + q - 2) == LF)) { found = true; break; }
          }
          q++;
        }
        if (!found) {
          if (covered) {
            if (avail > memoTo) memoTo = avail;
          } else if (avail > searchedFrom) {
            memoFrom = searchedFrom;
            memoTo = avail;
          }
          if (!windowFull) {
            newPendKind = PEND_HEADERS; newPendPos = lineFeed - pos;
            break;
          }
          status = DEMUX_HEADER_TOO_LARGE;
        } else {
          headerEnd = q + 1 - pos;
          // 3. Content-Length.
          status = parseContentLength(base, lineFeed + 1, q + 1, maxBody);
          bodyLength = <u32>clValue;
        }
      }
    }

    if (status == OK) {
      if (<u64>len - <u64>pos - <u64>headerEnd < <u64>bodyLength) {
        newPendKind = PEND_BODY; newPendPos = headerEnd; newPendBody = bodyLength;
        break;
      }
      writeEvent(events + <usize>n * DEMUX_EVENT_BYTES, EV_KIND_MESSAGE, 0, OK, pos, headerEnd, bodyLength);
      messages++;
      inGarbage = false;
      pos += headerEnd + bodyLength;
    } else {
      // Report, then skip the item's first octet as garbage and go on (the host decides about the connection).
      const length = status == DEMUX_HEADER_TOO_LARGE ? maxHeader : headerEnd;
      const body = status == DEMUX_BODY_TOO_LARGE ? bodyLength : 0;
      writeEvent(events + <usize>n * DEMUX_EVENT_BYTES, EV_KIND_ERROR, 0, status, pos, length, body);
      garbage++;
      if (!inGarbage) { resyncs++; inGarbage = true; }
      pos++;
    }
    if (++n == maxEvents) break;
  }

  // The next call's base is this call's base + pos: keep what is known relative to it.
  store<u32>(d + ST_PEND_KIND, newPendKind);
  store<u32>(d + ST_PEND_STATE, newPendState);
  store<u32>(d + ST_PEND_COUNT, newPendCount);
  store<u32>(d + ST_PEND_POS, newPendPos);
  store<u32>(d + ST_PEND_BODY, newPendBody);
  if (memoTo > pos) {
    store<u32>(d + ST_MEMO_FROM, memoFrom > pos ? memoFrom - pos : 0);
    store<u32>(d + ST_MEMO_TO, memoTo - pos);
  } else {
    store<u32>(d + ST_MEMO_FROM, 0);
    store<u32>(d + ST_MEMO_TO, 0);
  }
  store<u32>(d + ST_IN_GARBAGE, inGarbage ? 1 : 0);
  store<u32>(d + DEMUX_CONSUMED, pos);
  addU64(d, DEMUX_FRAMES, frames);
  addU64(d, DEMUX_MESSAGES, messages);
  addU64(d, DEMUX_GARBAGE_BYTES, garbage);
  addU64(d, DEMUX_BYTES, <u64>pos);
  addU64(d, DEMUX_RTP_ERRORS, rtpErrors);
  addU64(d, DEMUX_RESYNCS, resyncs);
  return <i32>n;
}
