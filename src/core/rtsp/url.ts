// RTSP URLs (RFC 2326 §3.2) and control URL resolution (RFC 2326 §C.1.1).
//
// Parsed by hand rather than with WHATWG `URL`: rtsp:// is not a "special" scheme there (hosts stay opaque), and
// cameras are configured with passwords that contain unescaped '@', '#' or '?', which we want to accept.
import { WasmRtspError } from '../errors.js';

/** Default port of rtsp:// (RFC 2326 §3.2). */
export const RTSP_DEFAULT_PORT = 554;
/** Default port of rtsps:// (IANA "rtsps", RFC 7826 §19.2). */
export const RTSPS_DEFAULT_PORT = 322;

/** A URL could not be parsed. The context holds the URL with its credentials replaced by `***`. */
export class RtspUrlError extends WasmRtspError {}

/** User name and password from the URL, percent-decoded. */
export interface RtspCredentials { username: string; password: string }

/** A parsed rtsp:// or rtsps:// URL. `toString()` gives it back without credentials (what goes in requests). */
export interface RtspUrl {
  scheme: 'rtsp' | 'rtsps';
  /** Host name (lower-cased) or IP literal; IPv6 without the brackets. */
  host: string;
  /** Port, the scheme's default when the URL has none. */
  port: number;
  /** Whether the URL spelled the port out (kept in `toString()` as written). */
  explicitPort: boolean;
  /** Path and query as written, e.g. `/cam/realmonitor?channel=1`; may be `''`. The fragment is dropped. */
  path: string;
  /** Credentials from the userinfo part. Not enumerable, so logging or JSON-serializing the object leaves them out. */
  readonly credentials?: RtspCredentials;
  /** The URL without credentials. */
  toString(): string;
  toJSON(): string;
}

/**
 * Replaces the userinfo of a URL-ish string with `***`, for error messages and logs. Errs on the side of hiding: the
 * userinfo is taken to end at the last '@' that could end one (see {@link parseRtspUrl}), even when what follows it is
 * not a valid host.
 */
export function redactUrl(url: string): string {
  const s = url.indexOf('://');
  if (s < 0) return url.includes('@') ? '***@' + url.slice(url.lastIndexOf('@') + 1) : url;
  const rest = url.slice(s + 3);
  for (let at = rest.lastIndexOf('@'); at >= 0; at = at > 0 ? rest.lastIndexOf('@', at - 1) : -1) {
    if (couldBeUserinfo(rest.slice(0, at))) return url.slice(0, s + 3) + '***' + rest.slice(at);
  }
  return url;
}

/**
 * Whether `text` (what precedes an '@' after `scheme://`) can be a userinfo: anything without a '/', or
 * `user:password` where the user name has no '/', '?' or '#' (the password may hold any of them, unescaped).
 */
function couldBeUserinfo(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return true;
  const colon = text.indexOf(':');
  return colon > 0 && colon < slash && !/[/?#]/.test(text.slice(0, colon));
}

/** Whether `text` (what follows an '@') starts with a well-formed `host[:port]` ended by '/', '?', '#' or the end. */
function startsWithAuthority(text: string): boolean {
  return /^(?:\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::[0-9]{1,5})?(?:[/?#]|$)/.test(text);
}

/**
 * Splits `rest` (the URL after `scheme://`) into userinfo and the part from the host on. The userinfo ends at the last
 * '@' that is followed by a well-formed host[:port] and preceded by something that can be a userinfo, so a password
 * may hold '@', ':', '/', '?' and '#' unescaped (percent-encoded works too). The price: an '@' in the path of a URL
 * whose authority has a ':' (a port) must be written as %40, or it is taken for the end of a password.
 */
function splitUserinfo(rest: string): { userinfo?: string; hostPart: string } {
  for (let at = rest.lastIndexOf('@'); at >= 0; at = at > 0 ? rest.lastIndexOf('@', at - 1) : -1) {
    const userinfo = rest.slice(0, at);
    if (couldBeUserinfo(userinfo) && startsWithAuthority(rest.slice(at + 1))) return { userinfo, hostPart: rest.slice(at + 1) };
  }
  return { hostPart: rest };
}

function urlError(code: string, message: string, url: string): never {
  throw new RtspUrlError(code, message, { context: { url: redactUrl(url) } });
}

const utf8 = new TextDecoder('utf-8');

/** Decodes %XX sequences as UTF-8; a '%' not followed by two hex digits is kept literally (cameras do that). */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of enc.encode(c)) bytes.push(b);
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

/**
 * Parses `rtsp://[user[:password]@]host[:port][/path][?query]` (also rtsps://, IPv6 hosts in brackets).
 * The userinfo ends at the last '@' before the host, so '@', ':', '/', '#' and '?' in a password need not be escaped
 * (see splitUserinfo for the one ambiguity this leaves). Throws {@link RtspUrlError}; errors never show the password.
 */
export function parseRtspUrl(url: string): RtspUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!m) urlError('BAD_URL', 'not an absolute URL ("rtsp://host/path")', url);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'rtsp' && scheme !== 'rtsps') urlError('BAD_URL_SCHEME', `unsupported scheme "${scheme}" (want rtsp or rtsps)`, url);
  const { userinfo, hostPart } = splitUserinfo(url.slice(m[0].length));
  let credentials: RtspCredentials | undefined;
  if (userinfo !== undefined) {
    // The user name ends at the first ':'; the password is the rest (it may contain ':').
    const colon = userinfo.indexOf(':');
    credentials = {
      username: percentDecode(colon < 0 ? userinfo : userinfo.slice(0, colon)),
      password: percentDecode(colon < 0 ? '' : userinfo.slice(colon + 1)),
    };
  }
  // The authority ends at the first '/', '?' or '#'.
  const endMatch = /[/?#]/.exec(hostPart);
  const authority = endMatch ? hostPart.slice(0, endMatch.index) : hostPart;
  let path = endMatch ? hostPart.slice(endMatch.index) : '';
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (/[\s\0]/.test(path)) urlError('BAD_URL_PATH', 'URL path contains whitespace', url);

  let host: string;
  let portText = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) urlError('BAD_URL_HOST', 'IPv6 host without a closing "]"', url);
    host = authority.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9._~-]+)?$/.test(host) || !host.includes(':')) urlError('BAD_URL_HOST', 'bad IPv6 literal', url);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) urlError('BAD_URL_HOST', 'unexpected characters after the IPv6 literal', url);
    portText = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? '' : authority.slice(colon + 1);
    if (!/^[A-Za-z0-9._~%!$&'()*+,;=-]+$/.test(host)) urlError('BAD_URL_HOST', 'missing or invalid host', url);
  }
  host = host.toLowerCase();
  const defaultPort = scheme === 'rtsps' ? RTSPS_DEFAULT_PORT : RTSP_DEFAULT_PORT;
  let port = defaultPort;
  const explicitPort = portText !== '';
  if (explicitPort) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) urlError('BAD_URL_PORT', 'port is not a number 1-65535', url);
    port = Number(portText);
  }
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const text = `${scheme}://${hostForUrl}${explicitPort ? ':' + port : ''}${path}`;
  const out = {
    scheme: scheme as 'rtsp' | 'rtsps', host, port, explicitPort, path,
    toString: () => text,
    toJSON: () => text,
  };
  Object.defineProperty(out, 'toString', { enumerable: false });
  Object.defineProperty(out, 'toJSON', { enumerable: false });
  if (credentials) Object.defineProperty(out, 'credentials', { value: Object.freeze(credentials), enumerable: false });
  return out as RtspUrl;
}

const ABSOLUTE_URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The base against which relative control URLs of a DESCRIBE answer are resolved (RFC 2326 §C.1.1): Content-Base,
 * else Content-Location, else the request URL.
 */
export function controlBase(requestUrl: string, contentBase?: string, contentLocation?: string): string {
  if (contentBase && contentBase.trim() !== '') return contentBase.trim();
  if (contentLocation && contentLocation.trim() !== '') return contentLocation.trim();
  return requestUrl;
}

/**
 * Resolves an SDP `a=control:` value against `base` (RFC 2326 §C.1.1):
 * - absent, empty or `*`: the base itself (the attribute refers to the aggregate / presentation URL);
 * - absolute (`rtsp://…`): as is;
 * - starting with '/': an absolute path on the base's scheme and authority (RFC 3986 §5.2);
 * - otherwise relative: appended to the base, with one '/' between them. This treats the base as a directory even
 *   when it lacks the trailing '/', which is what cameras expect and what GStreamer's rtspsrc and FFmpeg do. Strict
 *   RFC 3986 resolution would replace the last path segment (and drop a query such as `?channel=1`), which breaks
 *   most cameras. A base that already ends in '/' is not given a second one.
 */
export function resolveControl(control: string | undefined, base: string): string {
  const c = (control ?? '').trim();
  if (c === '' || c === '*') return base;
  if (ABSOLUTE_URL_RE.test(c)) return c;
  if (c.startsWith('/')) {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)/.exec(base);
    return m ? m[1] + c : c;
  }
  return base.endsWith('/') ? base + c : base + '/' + c;
}
