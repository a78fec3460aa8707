// Serializing RTSP requests (RFC 2326 §6): what the client writes. Refuses anything that would break the framing.
import { WasmRtspError } from '../errors.js';
import { VERSION_RE } from './message.js';

/** A request could not be serialized (a field would break the framing, e.g. a CR/LF in a header value). */
export class RtspSerializeError extends WasmRtspError {}

const encoder = new TextEncoder();

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
