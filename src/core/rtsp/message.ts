// RTSP/1.0 message parsing (RFC 2326 §4–§7, with RFC 7230's line and header rules where RTSP is silent).
//
// The parser works on bytes: it validates the head once, records where each header name and value lies in the input
// and makes strings only for what is asked. The body is a subarray of the input, never a copy.
//
// Camera quirks that are unambiguous are accepted (lowercase names, a missing reason phrase, extra spaces around ':'
// and in the start line, bare LF line ends, obs-fold continuation lines, blank lines before a message); anything that
// could be read two ways (two different Content-Length values, a non-numeric status) is rejected with a typed error.
// The version must be RTSP/1.0: an RTSP/2.0 (RFC 7826) message has other rules and headers (UNSUPPORTED_VERSION),
// and an HTTP/1.1 answer means the port is no RTSP server (NOT_RTSP); both would be misread as RTSP/1.0.
// Header values (Transport, Session, …) are read in header-values.ts; requests are written by serialize.ts.
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
  | 'UNSUPPORTED_VERSION'
  | 'NOT_RTSP'
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
  /** Protocol version: always `'RTSP/1.0'` (any other is refused with UNSUPPORTED_VERSION or NOT_RTSP). */
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

/** An RTSP protocol version as it appears in start lines (`RTSP/1.0`). */
export const VERSION_RE = /^RTSP\/[0-9]+\.[0-9]+$/;
/** The one version this parser reads (RFC 2326). */
export const RTSP_VERSION = 'RTSP/1.0';
/** A start line that opens with some protocol's `NAME/major.minor` and a space: a status line, RTSP's or another's. */
const STATUS_LINE_RE = /^([A-Za-z][A-Za-z0-9+.-]*)\/([0-9]+)\.([0-9]+)(?:[ \t]|$)/;

/**
 * Refuses a version other than RTSP/1.0 (leading zeros aside: `RTSP/01.00` is 1.0): UNSUPPORTED_VERSION for another
 * RTSP version, NOT_RTSP for another protocol. `line` is the start line, for the status code in the context.
 */
function checkVersion(version: string, line: string, bytes: Uint8Array, offset: number, where: string): void {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*)\/([0-9]+)\.([0-9]+)$/.exec(version);
  if (m && m[1] === 'RTSP' && Number(m[2]) === 1 && Number(m[3]) === 0) return;
  const status = /^\S+[ \t]+([0-9]{3})(?:[ \t]+(.*))?$/.exec(line);
  const extra = { version: version.slice(0, 20), ...(status ? { statusCode: Number(status[1]), reason: (status[2] ?? '').slice(0, 60) } : {}) };
  if (m && m[1] === 'RTSP') {
    fail('UNSUPPORTED_VERSION', `${where} is ${version}, but only RTSP/1.0 (RFC 2326) is spoken here; ` +
      'an RTSP 2.0-only server (RFC 7826) cannot serve this client', bytes, offset, extra);
  }
  fail('NOT_RTSP', `${where} is ${m ? version : 'not a protocol version'}${status ? ` (${line.slice(0, 60)})` : ''}, not RTSP/1.0: ` +
    'is the URL\'s port an RTSP server (not an HTTP one)?', bytes, offset, extra);
}

function parseStartLine(bytes: Uint8Array, s: number, e: number): RtspMessage {
  const text = (a: number, b: number) => utf8.decode(bytes.subarray(a, b));
  // A status line starts with "NAME/d.d": RTSP's, or another protocol's (an HTTP server on the RTSP port). A request
  // line cannot start so: its method is a token, and '/' is no tchar.
  const line = text(s, Math.min(e, s + 200));
  const isResponse = STATUS_LINE_RE.test(line);
  if (isResponse) {
    const f = fields(bytes, s, e, 3);
    const version = text(f[0], f[1]);
    checkVersion(version, line, bytes, f[0], 'the status line\'s version');
    if (f.length < 4) fail('BAD_START_LINE', 'status line without a status code', bytes, s);
    const code = text(f[2], f[3]);
    if (!/^[0-9]{3}$/.test(code)) fail('BAD_START_LINE', 'status code is not three digits', bytes, f[2]);
    const reason = f.length >= 6 ? text(f[4], f[5]) : '';
    return { kind: 'response', version: RTSP_VERSION, statusCode: Number(code), reason, headers: undefined as unknown as RtspHeaders, body: bytes.subarray(0, 0) };
  }
  if (e - s >= 5 && text(s, s + 5) === 'RTSP/') fail('BAD_START_LINE', 'bad protocol version in status line', bytes, s);
  const f = fields(bytes, s, e, 4);
  if (f.length !== 6) fail('BAD_START_LINE', 'request line is not "METHOD URI RTSP/x.y"', bytes, s);
  for (let k = f[0]; k < f[1]; k++) if (!isTchar(bytes[k])) fail('BAD_START_LINE', 'method is not a token', bytes, k);
  const version = text(f[4], f[5]);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*\/[0-9]+\.[0-9]+$/.test(version)) fail('BAD_START_LINE', 'bad protocol version in request line', bytes, f[4]);
  checkVersion(version, line, bytes, f[4], 'the request line\'s version');
  return {
    kind: 'request', method: text(f[0], f[1]), uri: text(f[2], f[3]), version: RTSP_VERSION,
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
