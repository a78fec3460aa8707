// A small, plain reference of the interleaved demuxer (assembly/demux.ts) over one complete byte array: same rules,
// same events, written for clarity (regular expressions over whole lines) rather than speed or incremental input.
// The differential tests compare the wasm demuxer against it.

import type { DemuxStats } from '../../src/core/demuxer.js';

/** One event with its offset in the whole stream. */
export interface RefEvent {
  kind: 'frame' | 'message' | 'error';
  channel: number;
  status: number;
  start: number;
  length: number;
  body: number;
}

/** Totals kept the same way as the wasm demuxer's DEMUX_* statistics (the host's DemuxStats shape). */
export type RefStats = DemuxStats;

/** Options of the reference: the same limits and channel flags as the wasm demuxer. */
export interface RefOptions {
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** Accepted channels; empty = every channel accepted. */
  accept?: number[];
  /** Channels whose frames are parsed as RTP. */
  rtp?: number[];
  /** Status of the RTP parse of payload [start, start + length), for frames on an `rtp` channel. */
  rtpStatus?: (start: number, length: number) => number;
}

const STATUS = { HEADER_TOO_LARGE: -30, BODY_TOO_LARGE: -31, BAD_CONTENT_LENGTH: -32 } as const;
const NOT_PARSED = 1;
const MAX_METHOD = 32;

const M = `[A-Z0-9_-]{1,${MAX_METHOD}}`;
/** Whole valid start lines (the line's LF included). */
const REQUEST_LINE = new RegExp(`^${M} [\\x21-\\x7e]+ RTSP/[0-9]\\.[0-9]\\r?\\n$`);
const RESPONSE_LINE = /^RTSP\/[0-9]\.[0-9] [^\n]*\n$/;
/** Partial start lines (no LF yet) that some continuation could still make valid. */
const PARTIAL_LINES = [
  new RegExp(`^${M}$`),
  new RegExp(`^${M} [\\x21-\\x7e]*$`),
  new RegExp(`^${M} [\\x21-\\x7e]+ (R(T(S(P(/([0-9](\\.([0-9](\\r)?)?)?)?)?)?)?)?)?$`),
  /^R(T(S(P(\/([0-9](\.([0-9]( [^\n]*)?)?)?)?)?)?)?)?$/,
];

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

type Decision =
  | { kind: 'wait' }
  | { kind: 'garbage' }
  | { kind: 'frame'; channel: number; start: number; length: number }
  | { kind: 'message'; length: number; body: number }
  | { kind: 'error'; status: number; length: number; body: number };

/** Content-Length of header lines `text`: the first failing header decides, else the (agreed) value or 0. */
function contentLength(text: string, maxBody: number): { status: number; value: number } {
  let first: number | undefined;
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const m = /^content-length[ \t]*:(.*)$/is.exec(line); // s: a bare CR inside the value is part of it, not a line end
    if (!m) continue;
    const v = /^[ \t]*([0-9]+)[ \t]*$/.exec(m[1]);
    if (!v) return { status: STATUS.BAD_CONTENT_LENGTH, value: 0 };
    const value = Number(v[1]);
    if (value > maxBody) return { status: STATUS.BODY_TOO_LARGE, value: Math.min(value, 0xffffffff) };
    if (first !== undefined && value !== first) return { status: STATUS.BAD_CONTENT_LENGTH, value: 0 };
    first = value;
  }
  return { status: 0, value: first ?? 0 };
}

function decide(bytes: Uint8Array, s: number, end: number, o: RefOptions, accepted: Set<number>): Decision {
  const c = bytes[s];
  if (c === 0x24) {
    if (end - s < 2) return { kind: 'wait' };
    const channel = bytes[s + 1];
    if (accepted.size > 0 && !accepted.has(channel)) return { kind: 'garbage' };
    if (end - s < 4) return { kind: 'wait' };
    const length = (bytes[s + 2] << 8) | bytes[s + 3];
    if (end - s - 4 < length) return { kind: 'wait' };
    return { kind: 'frame', channel, start: s + 4, length };
  }
  const windowEnd = s + o.maxHeaderBytes;
  const avail = Math.min(end, windowEnd);
  const tooLarge: Decision = { kind: 'error', status: STATUS.HEADER_TOO_LARGE, length: o.maxHeaderBytes, body: 0 };
  let lf = -1;
  for (let i = s; i < avail; i++) if (bytes[i] === 0x0a) { lf = i; break; }
  if (lf < 0) {
    const partial = latin1(bytes, s, avail);
    if (!PARTIAL_LINES.some((re) => re.test(partial))) return { kind: 'garbage' };
    return avail === windowEnd ? tooLarge : { kind: 'wait' };
  }
  const line = latin1(bytes, s, lf + 1);
  if (!REQUEST_LINE.test(line) && !RESPONSE_LINE.test(line)) return { kind: 'garbage' };
  // The empty line: "\n\n" or "\n\r\n" whose first LF is the start line's or a later one.
  const text = latin1(bytes, lf, avail);
  const m = /\n\r?\n/.exec(text);
  if (!m) return avail === windowEnd ? tooLarge : { kind: 'wait' };
  const headerEnd = lf + m.index + m[0].length;
  const headerLength = headerEnd - s;
  const cl = contentLength(latin1(bytes, lf + 1, headerEnd), o.maxBodyBytes);
  if (cl.status === STATUS.BAD_CONTENT_LENGTH) return { kind: 'error', status: cl.status, length: headerLength, body: 0 };
  if (cl.status === STATUS.BODY_TOO_LARGE) return { kind: 'error', status: cl.status, length: headerLength, body: cl.value };
  if (end - headerEnd < cl.value) return { kind: 'wait' };
  return { kind: 'message', length: headerLength, body: cl.value };
}

/** Demuxes the complete `bytes`; returns the events, the octets consumed (the rest is a partial item) and totals. */
export function referenceDemux(bytes: Uint8Array, o: RefOptions): { events: RefEvent[]; consumed: number; stats: RefStats } {
  const accepted = new Set(o.accept ?? []);
  const rtp = new Set(o.rtp ?? []);
  const events: RefEvent[] = [];
  const stats: RefStats = { frames: 0, messages: 0, garbageBytes: 0, bytes: 0, rtpErrors: 0, resyncs: 0 };
  let inGarbage = false;
  const skip = (): void => {
    stats.garbageBytes++;
    if (!inGarbage) stats.resyncs++;
    inGarbage = true;
  };
  let s = 0;
  while (s < bytes.length) {
    const d = decide(bytes, s, bytes.length, o, accepted);
    if (d.kind === 'wait') break;
    if (d.kind === 'garbage') {
      skip();
      s++;
    } else if (d.kind === 'frame') {
      let status = NOT_PARSED;
      if (rtp.has(d.channel) && o.rtpStatus) {
        status = o.rtpStatus(d.start, d.length);
        if (status < 0) stats.rtpErrors++;
      }
      events.push({ kind: 'frame', channel: d.channel, status, start: d.start, length: d.length, body: 0 });
      stats.frames++;
      inGarbage = false;
      s = d.start + d.length;
    } else if (d.kind === 'message') {
      events.push({ kind: 'message', channel: 0, status: 0, start: s, length: d.length, body: d.body });
      stats.messages++;
      inGarbage = false;
      s += d.length + d.body;
    } else {
      events.push({ kind: 'error', channel: 0, status: d.status, start: s, length: d.length, body: d.body });
      skip();
      s++;
    }
  }
  stats.bytes = s;
  return { events, consumed: s, stats };
}
