// RTSP/1.0 message parsing (RFC 2326 §4–§7, with RFC 7230's line and header rules where RTSP is silent).
//
// The parser works on bytes: it validates the head once, records where each header name and value lies in the input
// and makes strings only for what is asked. The body is a subarray of the input, never a copy.
//
// Camera quirks that are unambiguous are accepted (lowercase names, a missing reason phrase, extra spaces around ':'
// and in the start line, bare LF line ends, obs-fold continuation lines, blank lines before a message); anything that
// could be read two ways (two different Content-Length values, a non-numeric status) is rejected with a typed error.
import { WasmRtspError } from '../errors.js';

/** Default limit on the head (start line + headers + blank line), in octets. */
export const MAX_HEADER_BYTES = 16384;
/** Default limit on the number of header lines (continuation lines do not count). */
export const MAX_HEADERS = 64;
/** Default limit on a message body (Content-Length), in octets. */
export const MAX_BODY_BYTES = 65536;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
/** How many octets of the input an error shows around the offending offset. */
const EXCERPT_BYTES = 40;

/** Stable reasons an RTSP message (or one of its header values) could not be parsed. */
export type RtspParseErrorCode =
  | 'INCOMPLETE'
  | 'BAD_START_LINE'
  | 'BAD_HEADER'
  | 'HEADER_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'BODY_TOO_LARGE'
  | 'BAD_CONTENT_LENGTH'
  | 'TRAILING_BYTES'
  | 'READER_FAILED'
  | 'BAD_TRANSPORT'
  | 'BAD_SESSION'
  | 'BAD_RTP_INFO'
  | 'BAD_RANGE';

/** An RTSP message or header value is malformed, too large or incomplete. `context` has the offset and an excerpt. */
export class RtspParseError extends WasmRtspError {
  declare readonly code: RtspParseErrorCode;
  constructor(code: RtspParseErrorCode, message: string, options: { context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A request could not be serialized (a field would break the framing, e.g. a CR/LF in a header value). */
export class RtspSerializeError extends WasmRtspError {}

/** Limits on what one message may occupy; past them the parser throws instead of buffering more. */
export interface RtspParseOptions {
  /** Largest head (start line, headers, blank line) in octets. Default {@link MAX_HEADER_BYTES}. */
  maxHeaderBytes?: number;
  /** Most header lines. Default {@link MAX_HEADERS}. */
  maxHeaders?: number;
  /** Largest body (Content-Length) in octets. Default {@link MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
}

interface Limits { maxHeaderBytes: number; maxHeaders: number; maxBodyBytes: number }

function limitsOf(options: RtspParseOptions | undefined): Limits {
  return {
    maxHeaderBytes: options?.maxHeaderBytes ?? MAX_HEADER_BYTES,
    maxHeaders: options?.maxHeaders ?? MAX_HEADERS,
    maxBodyBytes: options?.maxBodyBytes ?? MAX_BODY_BYTES,
  };
}

/** A parsed RTSP request or response. Strings of the start line are made eagerly (they are always used). */
export interface RtspMessage {
  kind: 'request' | 'response';
  /** Request method as sent (RTSP methods are case-sensitive), e.g. `'OPTIONS'`. */
  method?: string;
  /** Request URI as sent. */
  uri?: string;
  /** Protocol version, e.g. `'RTSP/1.0'`. */
  version: string;
  /** Response status code (100–999). */
  statusCode?: number;
  /** Response reason phrase; `''` when the camera sent none. */
  reason?: string;
  headers: RtspHeaders;
  /** The body: a subarray of the input (Content-Length octets after the head), empty when there is none. */
  body: Uint8Array;
}

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Printable excerpt of `bytes` around `offset`: ASCII as is, other octets as `\xNN`, never longer than ~40 chars. */
function excerpt(bytes: Uint8Array, offset: number): string {
  const from = Math.max(0, Math.min(offset, bytes.length) - 8);
  const to = Math.min(bytes.length, from + EXCERPT_BYTES);
  let out = '';
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b === CR) out += '\\r';
    else if (b === LF) out += '\\n';
    else if (b === HTAB) out += '\\t';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\x' + (b < 16 ? '0' : '') + b.toString(16);
  }
  return out;
}

function fail(code: RtspParseErrorCode, message: string, bytes: Uint8Array, offset: number, extra?: Record<string, unknown>): never {
  throw new RtspParseError(code, message, { context: { offset, excerpt: excerpt(bytes, offset), ...extra } });
}

/** RFC 7230 tchar: the octets allowed in a method or a header name. */
function isTchar(b: number): boolean {
  if (b >= 0x30 && b <= 0x39) return true; // 0-9
  if ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) return true; // A-Z a-z
  // ! # $ % & ' * + - . ^ _ ` | ~
  return b === 0x21 || (b >= 0x23 && b <= 0x27) || b === 0x2a || b === 0x2b || b === 0x2d || b === 0x2e
    || b === 0x5e || b === 0x5f || b === 0x60 || b === 0x7c || b === 0x7e;
}

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/**
 * The headers of one message, kept as offsets into the message bytes. Lookups compare bytes case-insensitively; a
 * value becomes a string only when asked for (and is then cached). Folded values are joined with one space.
 */
export class RtspHeaders implements Iterable<[string, string]> {
  readonly #bytes: Uint8Array;
  // Per header i: name [nameStart[i], nameEnd[i]); value segments segs[i] = [start, end, start, end, …].
  readonly #nameStart: number[] = [];
  readonly #nameEnd: number[] = [];
  readonly #segs: number[][] = [];
  readonly #names: (string | undefined)[] = [];
  readonly #values: (string | undefined)[] = [];

  /** @internal Built by the parser; user code reads headers, it does not make them. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** @internal */
  _add(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    this.#nameStart.push(nameStart);
    this.#nameEnd.push(nameEnd);
    this.#segs.push([valueStart, valueEnd]);
  }

  /** @internal Adds a folded continuation segment to the last header. */
  _fold(valueStart: number, valueEnd: number): void {
    const segs = this.#segs[this.#segs.length - 1];
    if (valueEnd > valueStart) {
      if (segs[segs.length - 1] === segs[segs.length - 2]) { segs[segs.length - 2] = valueStart; segs[segs.length - 1] = valueEnd; }
      else segs.push(valueStart, valueEnd);
    }
  }

  /** Number of header lines. */
  get size(): number {
    return this.#nameStart.length;
  }

  /** Index of each header whose name equals `name` (ASCII case-insensitive), compared on the bytes. */
  #matches(name: string, first: boolean): number[] {
    const out: number[] = [];
    const n = name.length;
    for (let i = 0; i < this.#nameStart.length; i++) {
      const s = this.#nameStart[i];
      if (this.#nameEnd[i] - s !== n) continue;
      let j = 0;
      while (j < n && lower(this.#bytes[s + j]) === lower(name.charCodeAt(j))) j++;
      if (j === n) {
        out.push(i);
        if (first) break;
      }
    }
    return out;
  }

  /** Name of header `i` as sent (case preserved). */
  nameAt(i: number): string {
    let s = this.#names[i];
    if (s === undefined) {
      s = utf8.decode(this.#bytes.subarray(this.#nameStart[i], this.#nameEnd[i]));
      this.#names[i] = s;
    }
    return s;
  }

  /** Value of header `i`, trimmed; folded lines joined with a single space. */
  valueAt(i: number): string {
    let s = this.#values[i];
    if (s === undefined) {
      const segs = this.#segs[i];
      s = '';
      for (let k = 0; k < segs.length; k += 2) {
        if (segs[k + 1] === segs[k]) continue;
        s += (s ? ' ' : '') + utf8.decode(this.#bytes.subarray(segs[k], segs[k + 1]));
      }
      this.#values[i] = s;
    }
    return s;
  }

  /** First value of the header `name` (case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const m = this.#matches(name, true);
    return m.length ? this.valueAt(m[0]) : undefined;
  }

  /** Every value of the header `name` in order (several lines with the same name are kept apart). */
  getAll(name: string): string[] {
    return this.#matches(name, false).map((i) => this.valueAt(i));
  }

  /** Whether a header `name` is present. */
  has(name: string): boolean {
    return this.#matches(name, true).length > 0;
  }

  /** `[name, value]` pairs in the order they were sent. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.size; i++) yield [this.nameAt(i), this.valueAt(i)];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** Where the head ends: the index just after the blank line that ends it, or -1 if it is not all there yet. */
function findHeadEnd(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== LF) continue;
    if (i + 1 < to && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < to && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** Skips blank lines (CR/LF octets) that some servers send between messages. */
function skipBlankLines(bytes: Uint8Array, from: number, to: number): number {
  while (from < to && (bytes[from] === CR || bytes[from] === LF)) from++;
  return from;
}

interface Head { message: RtspMessage; bodyLength: number }

/** Parses the head `bytes[start, headEnd)` (which ends with the blank line). */
function parseHead(bytes: Uint8Array, start: number, headEnd: number, limits: Limits): Head {
  // Lines: [lineStart, lineEnd) without the line end (LF or CRLF).
  let pos = start;
  const nextLine = (code: RtspParseErrorCode): [number, number] => {
    let i = pos;
    while (bytes[i] !== LF) i++; // the head always ends with LF (findHeadEnd checked)
    const lineStart = pos;
    let lineEnd = i;
    if (lineEnd > lineStart && bytes[lineEnd - 1] === CR) lineEnd--;
    pos = i + 1;
    for (let k = lineStart; k < lineEnd; k++) {
      const b = bytes[k];
      if (b === CR || b === 0) fail(code, b === CR ? 'bare CR inside a line' : 'NUL octet in the head', bytes, k);
    }
    return [lineStart, lineEnd];
  };

  const [ls, le] = nextLine('BAD_START_LINE');
  const message = parseStartLine(bytes, ls, le);
  const headers = new RtspHeaders(bytes);
  message.headers = headers;

  let contentLength = -1;
  let contentLengthAt = -1;
  for (;;) {
    const [s, e] = nextLine('BAD_HEADER');
    if (s === e) break; // the blank line
    const first = bytes[s];
    if (first === SP || first === HTAB) {
      // obs-fold (RFC 7230 §3.2.4): a continuation of the previous value.
      if (headers.size === 0) fail('BAD_HEADER', 'continuation line before any header', bytes, s);
      let vs = s;
      let ve = e;
      while (vs < ve && (bytes[vs] === SP || bytes[vs] === HTAB)) vs++;
      while (ve > vs && (bytes[ve - 1] === SP || bytes[ve - 1] === HTAB)) ve--;
      headers._fold(vs, ve);
      continue;
    }
    if (headers.size >= limits.maxHeaders) {
      fail('TOO_MANY_HEADERS', `more than ${limits.maxHeaders} header lines`, bytes, s, { maxHeaders: limits.maxHeaders });
    }
    let ne = s;
    while (ne < e && isTchar(bytes[ne])) ne++;
    if (ne === s) fail('BAD_HEADER', 'header line does not start with a field name', bytes, s);
    let c = ne;
    while (c < e && (bytes[c] === SP || bytes[c] === HTAB)) c++; // tolerated: "CSeq : 1"
    if (c >= e || bytes[c] !== COLON) fail('BAD_HEADER', 'header line without a colon after the name', bytes, s);
    let vs = c + 1;
    let ve = e;
    while (vs < ve && (bytes[vs] === SP || bytes[vs] === HTAB)) vs++;
    while (ve > vs && (bytes[ve - 1] === SP || bytes[ve - 1] === HTAB)) ve--;
    headers._add(s, ne, vs, ve);
    if (ne - s === 14 && isContentLength(bytes, s)) {
      const n = parseContentLength(bytes, vs, ve, limits);
      if (contentLength >= 0 && n !== contentLength) {
        fail('BAD_CONTENT_LENGTH', 'two Content-Length headers with different values', bytes, s, { firstAt: contentLengthAt });
      }
      contentLength = n;
      contentLengthAt = s;
    }
  }
  // A continuation line may have folded into Content-Length; re-check the final value if so.
  if (contentLength >= 0) {
    for (const v of headers.getAll('content-length')) {
      if (!/^[0-9]+$/.test(v) || Number(v) !== contentLength) fail('BAD_CONTENT_LENGTH', 'Content-Length is not one decimal number', bytes, contentLengthAt);
    }
  }
  return { message, bodyLength: Math.max(0, contentLength) };
}

const CONTENT_LENGTH = 'content-length';
function isContentLength(bytes: Uint8Array, s: number): boolean {
  for (let j = 0; j < 14; j++) if (lower(bytes[s + j]) !== CONTENT_LENGTH.charCodeAt(j)) return false;
  return true;
}

function parseContentLength(bytes: Uint8Array, vs: number, ve: number, limits: Limits): number {
  if (vs === ve) fail('BAD_CONTENT_LENGTH', 'empty Content-Length', bytes, vs);
  let n = 0;
  for (let k = vs; k < ve; k++) {
    const d = bytes[k] - 0x30;
    if (d < 0 || d > 9) fail('BAD_CONTENT_LENGTH', 'Content-Length is not a decimal number', bytes, k);
    n = n * 10 + d;
    if (n > limits.maxBodyBytes) {
      fail('BODY_TOO_LARGE', `Content-Length exceeds the limit of ${limits.maxBodyBytes} octets`, bytes, vs, { maxBodyBytes: limits.maxBodyBytes });
    }
  }
  return n;
}

/** Splits the start line into space-separated fields (any run of SP/HTAB separates; leading/trailing ones ignored). */
function fields(bytes: Uint8Array, s: number, e: number, max: number): number[] {
  const out: number[] = [];
  let i = s;
  while (i < e) {
    while (i < e && (bytes[i] === SP || bytes[i] === HTAB)) i++;
    if (i >= e) break;
    const fs = i;
    // The last field of a status line (the reason phrase) keeps its inner spaces.
    if (out.length / 2 === max - 1) {
      let fe = e;
      while (fe > fs && (bytes[fe - 1] === SP || bytes[fe - 1] === HTAB)) fe--;
      out.push(fs, fe);
      break;
    }
    while (i < e && bytes[i] !== SP && bytes[i] !== HTAB) i++;
    out.push(fs, i);
  }
  return out;
}

const VERSION_RE = /^RTSP\/[0-9]+\.[0-9]+$/;

function parseStartLine(bytes: Uint8Array, s: number, e: number): RtspMessage {
  const isResponse = e - s >= 5 && bytes[s] === 0x52 && bytes[s + 1] === 0x54 && bytes[s + 2] === 0x53
    && bytes[s + 3] === 0x50 && bytes[s + 4] === 0x2f; // "RTSP/"
  const text = (a: number, b: number) => utf8.decode(bytes.subarray(a, b));
  if (isResponse) {
    const f = fields(bytes, s, e, 3);
    const version = text(f[0], f[1]);
    if (!VERSION_RE.test(version)) fail('BAD_START_LINE', 'bad protocol version in status line', bytes, f[0]);
    if (f.length < 4) fail('BAD_START_LINE', 'status line without a status code', bytes, s);
    const code = text(f[2], f[3]);
    if (!/^[0-9]{3}$/.test(code)) fail('BAD_START_LINE', 'status code is not three digits', bytes, f[2]);
    const reason = f.length >= 6 ? text(f[4], f[5]) : '';
    return { kind: 'response', version, statusCode: Number(code), reason, headers: undefined as unknown as RtspHeaders, body: bytes.subarray(0, 0) };
  }
  const f = fields(bytes, s, e, 4);
  if (f.length !== 6) fail('BAD_START_LINE', 'request line is not "METHOD URI RTSP/x.y"', bytes, s);
  for (let k = f[0]; k < f[1]; k++) if (!isTchar(bytes[k])) fail('BAD_START_LINE', 'method is not a token', bytes, k);
  const version = text(f[4], f[5]);
  if (!VERSION_RE.test(version)) fail('BAD_START_LINE', 'bad protocol version in request line', bytes, f[4]);
  return {
    kind: 'request', method: text(f[0], f[1]), uri: text(f[2], f[3]), version,
    headers: undefined as unknown as RtspHeaders, body: bytes.subarray(0, 0),
  };
}

/** Result of {@link tryParseRtspMessage}: the message and the offset just after it. */
export interface RtspParseResult { message: RtspMessage; end: number }

/**
 * Parses one message that starts at `offset` (blank lines before it are skipped). Returns null when the head or body
 * is not all there yet, and throws {@link RtspParseError} when it never can be (malformed, or past a limit).
 */
export function tryParseRtspMessage(bytes: Uint8Array, offset = 0, options?: RtspParseOptions): RtspParseResult | null {
  const r = parseAt(bytes, offset, limitsOf(options), offset);
  return typeof r === 'number' ? null : r;
}

/**
 * One message at `offset`, or, when it is incomplete, the offset from which the search for the end of the head
 * should resume once more bytes arrive (the start of the message when the head is complete and the body is not).
 */
function parseAt(bytes: Uint8Array, offset: number, limits: Limits, searchFrom: number): RtspParseResult | number {
  const start = skipBlankLines(bytes, offset, bytes.length);
  const headEnd = findHeadEnd(bytes, Math.max(start, searchFrom), bytes.length);
  if (headEnd < 0) {
    if (bytes.length - start > limits.maxHeaderBytes) {
      fail('HEADER_TOO_LARGE', `no end of headers within ${limits.maxHeaderBytes} octets`, bytes, start, { maxHeaderBytes: limits.maxHeaderBytes });
    }
    return Math.max(start, bytes.length - 3);
  }
  if (headEnd - start > limits.maxHeaderBytes) {
    fail('HEADER_TOO_LARGE', `headers exceed the limit of ${limits.maxHeaderBytes} octets`, bytes, start, { maxHeaderBytes: limits.maxHeaderBytes, headerBytes: headEnd - start });
  }
  const { message, bodyLength } = parseHead(bytes, start, headEnd, limits);
  const end = headEnd + bodyLength;
  if (end > bytes.length) return start;
  message.body = bytes.subarray(headEnd, end);
  return { message, end };
}

/**
 * Parses exactly one RTSP message from `bytes` (blank lines before and after it are tolerated). Throws
 * {@link RtspParseError}: `INCOMPLETE` if the head or body is cut short, `TRAILING_BYTES` if more follows.
 */
export function parseRtspMessage(bytes: Uint8Array, options?: RtspParseOptions): RtspMessage {
  const r = tryParseRtspMessage(bytes, 0, options);
  if (r === null) {
    const start = skipBlankLines(bytes, 0, bytes.length);
    const headEnd = findHeadEnd(bytes, start, bytes.length);
    fail('INCOMPLETE', headEnd < 0 ? 'message ends before the end of its headers' : 'message ends before the end of its body',
      bytes, bytes.length, { length: bytes.length });
  }
  const rest = skipBlankLines(bytes, r.end, bytes.length);
  if (rest < bytes.length) fail('TRAILING_BYTES', 'bytes after the end of the message (wrong Content-Length?)', bytes, r.end);
  return r.message;
}

/**
 * Incremental reader: feed it chunks as they arrive, get back every message completed so far. Any split of the same
 * bytes gives the same messages. It buffers at most one incomplete message, bounded by the limits; past them it
 * throws, and after any error it stays failed (the stream can no longer be framed) until {@link reset}.
 *
 * Bodies are subarrays of the reader's buffer or of the chunk you pushed. The reader never writes over bytes it has
 * handed out, so a body stays valid; if you reuse chunk buffers, copy the bodies you keep.
 */
export class RtspMessageReader {
  readonly #limits: Limits;
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #searchFrom = 0;
  /** Whether #buf was allocated here (so its spare room past #end may be written); the caller's chunks never are. */
  #owned = false;
  #failed: RtspParseError | undefined;

  constructor(options?: RtspParseOptions) {
    this.#limits = limitsOf(options);
  }

  /** Octets buffered for the next, still incomplete message. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Drops buffered bytes and a previous failure. */
  reset(): void {
    this.#buf = new Uint8Array(0);
    this.#owned = false;
    this.#start = this.#end = this.#searchFrom = 0;
    this.#failed = undefined;
  }

  /** Appends `chunk` and returns every message it completes (possibly none). */
  push(chunk: Uint8Array): RtspMessage[] {
    if (this.#failed) {
      throw new RtspParseError('READER_FAILED', 'the reader failed earlier; call reset() before pushing more', { cause: this.#failed });
    }
    this.#append(chunk);
    const out: RtspMessage[] = [];
    try {
      for (;;) {
        const view = this.#buf.subarray(0, this.#end);
        // Resume the search for the blank line where the last one stopped (not from the start: byte-wise input).
        const r = parseAt(view, this.#start, this.#limits, this.#searchFrom);
        if (typeof r === 'number') {
          this.#searchFrom = r;
          break;
        }
        out.push(r.message);
        this.#start = r.end;
        this.#searchFrom = r.end;
        if (this.#start === this.#end) {
          // Fully consumed: start over with an empty buffer (the old one stays with the messages that view it).
          this.#buf = new Uint8Array(0);
          this.#owned = false;
          this.#start = this.#end = this.#searchFrom = 0;
          break;
        }
      }
    } catch (err) {
      this.#failed = err as RtspParseError;
      throw err;
    }
    return out;
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#end === 0) {
      // Nothing buffered: parse straight from the caller's chunk, no copy.
      this.#buf = chunk;
      this.#owned = false;
      this.#start = 0;
      this.#end = chunk.length;
      this.#searchFrom = 0;
      return;
    }
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end); // only past #end: bytes already handed out are never overwritten
      this.#end += chunk.length;
      return;
    }
    const live = this.#end - this.#start;
    const size = Math.max(4096, 2 * (live + chunk.length));
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#end), 0);
    next.set(chunk, live);
    this.#searchFrom = Math.max(0, this.#searchFrom - this.#start);
    this.#buf = next;
    this.#owned = true;
    this.#start = 0;
    this.#end = live + chunk.length;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Header values the client needs.

function valueError(code: RtspParseErrorCode, what: string, value: string): never {
  throw new RtspParseError(code, what, { context: { value: value.length > 200 ? value.slice(0, 200) + '…' : value } });
}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(value: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) i++;
    else if (c === sep && !quoted) {
      out.push(value.slice(from, i));
      from = i + 1;
    }
  }
  out.push(value.slice(from));
  return out;
}

function unquote(v: string): string {
  return v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"' ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** A pair of channels or ports (`0-1`); `rtcp` is absent when only one number was given. */
export interface RtspPortPair { rtp: number; rtcp?: number }

/** One transport specification of a Transport header (RFC 2326 §12.39). */
export interface RtspTransport {
  /** `'RTP'` as sent. */
  protocol: string;
  /** `'AVP'`, `'AVPF'`, `'SAVP'`, … as sent. */
  profile: string;
  /** Upper-cased lower transport; `'UDP'` when absent (the RFC's default). */
  lowerTransport: string;
  /** `'unicast'` or `'multicast'` when stated. */
  delivery?: 'unicast' | 'multicast';
  destination?: string;
  source?: string;
  /** Interleaved channels on the RTSP connection (TCP). */
  interleaved?: RtspPortPair;
  /** Multicast ports. */
  port?: RtspPortPair;
  clientPort?: RtspPortPair;
  serverPort?: RtspPortPair;
  ttl?: number;
  layers?: number;
  /** SSRC the server will use (the RFC says 8 hex digits; 1–8 are accepted). */
  ssrc?: number;
  /** Mode, unquoted and upper-cased, e.g. `'PLAY'`. */
  mode?: string;
  append?: boolean;
  /** Every parameter as sent (name lower-cased → raw value, `''` for flags), including unknown ones. */
  params: Map<string, string>;
}

function portPair(name: string, v: string, max: number, whole: string): RtspPortPair {
  const m = /^\s*([0-9]{1,5})\s*(?:-\s*([0-9]{1,5})\s*)?$/.exec(v);
  if (!m) valueError('BAD_TRANSPORT', `Transport ${name} is not "n" or "n-m"`, whole);
  const rtp = Number(m[1]);
  const rtcp = m[2] === undefined ? undefined : Number(m[2]);
  if (rtp > max || (rtcp !== undefined && rtcp > max)) valueError('BAD_TRANSPORT', `Transport ${name} is out of range 0-${max}`, whole);
  return rtcp === undefined ? { rtp } : { rtp, rtcp };
}

function smallInt(name: string, v: string, max: number, whole: string): number {
  if (!/^\s*[0-9]{1,10}\s*$/.test(v) || Number(v) > max) valueError('BAD_TRANSPORT', `Transport ${name} is not a number 0-${max}`, whole);
  return Number(v);
}

/** Parses one transport specification, e.g. `RTP/AVP/TCP;unicast;interleaved=0-1` (RFC 2326 §12.39). */
export function parseTransport(value: string): RtspTransport {
  const parts = splitOutsideQuotes(value, ';').map((p) => p.trim());
  const spec = parts[0];
  const m = /^([A-Za-z0-9_.+-]+)\/([A-Za-z0-9_.+-]+)(?:\/([A-Za-z0-9_.+-]+))?$/.exec(spec);
  if (!m) valueError('BAD_TRANSPORT', 'Transport does not start with "protocol/profile[/lower-transport]"', value);
  const t: RtspTransport = { protocol: m[1], profile: m[2], lowerTransport: (m[3] ?? 'UDP').toUpperCase(), params: new Map() };
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (p === '') continue; // "…;unicast;" trailing semicolons
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const raw = eq < 0 ? '' : unquote(p.slice(eq + 1).trim());
    t.params.set(name, raw);
    switch (name) {
      case 'unicast': case 'multicast': t.delivery = name; break;
      case 'destination': t.destination = raw; break;
      case 'source': t.source = raw; break;
      case 'interleaved': t.interleaved = portPair(name, raw, 255, value); break;
      case 'port': t.port = portPair(name, raw, 65535, value); break;
      case 'client_port': t.clientPort = portPair(name, raw, 65535, value); break;
      case 'server_port': t.serverPort = portPair(name, raw, 65535, value); break;
      case 'ttl': t.ttl = smallInt(name, raw, 255, value); break;
      case 'layers': t.layers = smallInt(name, raw, 255, value); break;
      case 'append': t.append = true; break;
      case 'mode': t.mode = raw.toUpperCase(); break;
      case 'ssrc':
        if (!/^[0-9A-Fa-f]{1,8}$/.test(raw)) valueError('BAD_TRANSPORT', 'Transport ssrc is not 1-8 hex digits', value);
        t.ssrc = parseInt(raw, 16) >>> 0;
        break;
    }
  }
  return t;
}

/** Parses every comma-separated transport specification of a Transport header (a request may offer several). */
export function parseTransports(value: string): RtspTransport[] {
  return splitOutsideQuotes(value, ',').filter((s) => s.trim() !== '').map(parseTransport);
}

/** Session timeout when the Session header does not state one (RFC 2326 §12.37). */
export const DEFAULT_SESSION_TIMEOUT_SECONDS = 60;

/** A Session header: the id, and the timeout after which the server drops an idle session. */
export interface RtspSession { id: string; timeoutSeconds: number }

/** Parses a Session header, e.g. `47112344;timeout=30` (RFC 2326 §12.37). */
export function parseSession(value: string): RtspSession {
  const parts = value.split(';');
  const id = parts[0].trim();
  if (id === '' || /[\s,]/.test(id)) valueError('BAD_SESSION', 'Session header has no usable session id', value);
  let timeoutSeconds = DEFAULT_SESSION_TIMEOUT_SECONDS;
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0) continue;
    if (parts[i].slice(0, eq).trim().toLowerCase() !== 'timeout') continue;
    const v = unquote(parts[i].slice(eq + 1).trim());
    if (!/^[0-9]{1,9}$/.test(v)) valueError('BAD_SESSION', 'Session timeout is not a whole number of seconds', value);
    timeoutSeconds = Number(v);
  }
  return { id, timeoutSeconds };
}

/** One stream of an RTP-Info header: its URL and, when given, the first sequence number and RTP time after PLAY. */
export interface RtspRtpInfo { url: string; seq?: number; rtptime?: number; ssrc?: number }

const RTP_INFO_PARAM = /^\s*(url|seq|rtptime|ssrc)\s*=/i;

/**
 * Parses an RTP-Info header (RFC 2326 §12.33): `url=…;seq=…;rtptime=…, url=…`. URLs are not quoted in RTSP/1.0 and
 * may themselves contain ',' or ';', so a piece that does not start with a known parameter belongs to the URL before.
 */
export function parseRtpInfo(value: string): RtspRtpInfo[] {
  // Re-join comma pieces that do not start a new "url=" entry.
  const entries: string[] = [];
  for (const piece of splitOutsideQuotes(value, ',')) {
    if (/^\s*url\s*=/i.test(piece) || entries.length === 0) entries.push(piece);
    else entries[entries.length - 1] += ',' + piece;
  }
  const out: RtspRtpInfo[] = [];
  for (const entry of entries) {
    if (entry.trim() === '') continue;
    const params: string[] = [];
    for (const piece of splitOutsideQuotes(entry, ';')) {
      if (RTP_INFO_PARAM.test(piece) || params.length === 0) params.push(piece);
      else params[params.length - 1] += ';' + piece;
    }
    const info: RtspRtpInfo = { url: '' };
    let hasUrl = false;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0) {
        if (p.trim() === '') continue;
        valueError('BAD_RTP_INFO', 'RTP-Info parameter without "="', value);
      }
      const name = p.slice(0, eq).trim().toLowerCase();
      const v = unquote(p.slice(eq + 1).trim());
      if (name === 'url') { info.url = v; hasUrl = true; }
      else if (name === 'seq' || name === 'rtptime' || name === 'ssrc') {
        if (v === '') continue; // some servers send "seq=;rtptime=" before the first packet exists
        const isHex = name === 'ssrc';
        if (!(isHex ? /^[0-9A-Fa-f]{1,8}$/ : /^[0-9]{1,10}$/).test(v)) valueError('BAD_RTP_INFO', `RTP-Info ${name} is not a number`, value);
        const n = isHex ? parseInt(v, 16) : Number(v);
        if (n > (name === 'seq' ? 0xffff : 0xffffffff)) valueError('BAD_RTP_INFO', `RTP-Info ${name} is out of range`, value);
        info[name] = n >>> 0;
      }
    }
    if (!hasUrl) valueError('BAD_RTP_INFO', 'RTP-Info entry without url=', value);
    out.push(info);
  }
  return out;
}

/** Parses a Public (or Allow) header into the set of methods, as sent (methods are case-sensitive). */
export function parsePublic(value: string): Set<string> {
  return new Set(value.split(/[\s,]+/).filter((m) => m !== ''));
}

/** A Range header or SDP `a=range:` value. Normal play time in seconds; other units are kept raw. */
export type RtspRange =
  | { unit: 'npt'; start?: number | 'now'; end?: number; time?: string }
  | { unit: string; raw: string; time?: string };

/** npt-time: `now`, seconds (`12.5`) or `h:mm:ss(.frac)` (RFC 2326 §3.6). */
function nptTime(s: string, whole: string): number | 'now' {
  if (s === 'now') return 'now';
  let m = /^([0-9]+)(\.[0-9]*)?$/.exec(s);
  if (m) return Number(m[1] + (m[2] && m[2] !== '.' ? m[2] : ''));
  m = /^([0-9]+):([0-5]?[0-9]):([0-5]?[0-9])(\.[0-9]*)?$/.exec(s);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] + (m[4] && m[4] !== '.' ? m[4] : ''));
  return valueError('BAD_RANGE', 'npt time is neither seconds nor h:mm:ss', whole);
}

/** Parses a Range value: `npt=0-`, `npt=10.5-20`, `npt=now-`, `npt=-30`, `npt=00:01:02.5-`; `;time=` is kept. */
export function parseRange(value: string): RtspRange {
  const [spec, ...params] = value.split(';');
  let time: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'time') time = p.slice(eq + 1).trim();
  }
  const eq = spec.indexOf('=');
  if (eq <= 0) valueError('BAD_RANGE', 'Range is not "unit=start-end"', value);
  const unit = spec.slice(0, eq).trim().toLowerCase();
  const rest = spec.slice(eq + 1).trim();
  if (unit !== 'npt') return time === undefined ? { unit, raw: rest } : { unit, raw: rest, time };
  const dash = rest.indexOf('-');
  if (dash < 0) valueError('BAD_RANGE', 'npt range without "-"', value);
  const a = rest.slice(0, dash).trim();
  const b = rest.slice(dash + 1).trim();
  if (a === '' && b === '') valueError('BAD_RANGE', 'npt range with neither start nor end', value);
  const range: RtspRange = { unit: 'npt' };
  if (a !== '') range.start = nptTime(a, value);
  if (b !== '') {
    const end = nptTime(b, value);
    if (end === 'now') valueError('BAD_RANGE', 'npt range cannot end at "now"', value);
    range.end = end;
  }
  if (time !== undefined) range.time = time;
  return range;
}

/** What {@link serializeRequest} writes. Header values are strings or numbers; `undefined` ones are skipped. */
export interface RtspRequestInit {
  method: string;
  uri: string;
  cseq: number;
  headers?: Record<string, string | number | undefined> | Iterable<readonly [string, string | number]>;
  body?: Uint8Array | string;
  /** Protocol version, default `'RTSP/1.0'`. */
  version?: string;
}

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function serializeError(code: string, message: string, field: string): never {
  // The value itself is left out: it may be an Authorization header.
  throw new RtspSerializeError(code, message, { context: { field } });
}

/**
 * Serializes a request: start line, CSeq, the given headers, Content-Length when there is a body. Throws
 * {@link RtspSerializeError} for anything that would break framing (CR, LF or NUL in a field, a method or header
 * name that is not a token, a URI with spaces) and for CSeq/Content-Length in `headers` (they are set here).
 */
export function serializeRequest(init: RtspRequestInit): Uint8Array {
  const { method, uri, cseq } = init;
  if (!TOKEN_RE.test(method)) serializeError('BAD_METHOD', 'method is not a token', 'method');
  if (uri === '' || /[\s\0]/.test(uri)) serializeError('BAD_URI', 'request URI is empty or contains whitespace', 'uri');
  if (!Number.isInteger(cseq) || cseq < 0 || cseq > 0xffffffff) serializeError('BAD_CSEQ', 'CSeq is not a whole number 0-2^32-1', 'cseq');
  const version = init.version ?? 'RTSP/1.0';
  if (!VERSION_RE.test(version)) serializeError('BAD_VERSION', 'version is not "RTSP/x.y"', 'version');
  let head = `${method} ${uri} ${version}\r\nCSeq: ${cseq}\r\n`;
  const entries: Iterable<readonly [string, string | number | undefined]> = init.headers === undefined ? []
    : Symbol.iterator in init.headers ? init.headers as Iterable<readonly [string, string | number]>
    : Object.entries(init.headers);
  for (const [name, v] of entries) {
    if (v === undefined) continue;
    if (!TOKEN_RE.test(name)) serializeError('BAD_HEADER_NAME', 'header name is not a token', name.slice(0, 40));
    const lname = name.toLowerCase();
    if (lname === 'cseq' || lname === 'content-length') serializeError('BAD_HEADER_NAME', `${name} is set by serializeRequest`, name);
    const value = String(v);
    if (/[\r\n\0]/.test(value)) serializeError('BAD_HEADER_VALUE', 'header value contains CR, LF or NUL', name);
    head += `${name}: ${value}\r\n`;
  }
  const body = typeof init.body === 'string' ? encoder.encode(init.body) : init.body;
  if (body && body.length > 0) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  const headBytes = encoder.encode(head);
  if (!body || body.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}
