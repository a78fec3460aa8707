// Who may talk to the relay, decided per request before anything else runs (server.ts calls screenRequest first):
//
//   1. the request target parses (origin- or absolute-form, valid percent escapes) — else 400;
//   2. `Host` names this relay: a loopback name, the address it is bound to (or, bound to every interface, the local
//      address the connection arrived on), or an allowHosts entry — else 403. A DNS-rebinding page reaches the relay
//      under the attacker's name (`Host: evil.example`), so it is refused here;
//   3. for a WebSocket upgrade, `Origin` (sent by every browser) is the relay's own (scheme + Host) or an allowOrigins
//      entry — else 403. WebSocket is not bound by the same-origin policy: without this check any page the user opens
//      could read the cameras (cross-site WebSocket hijacking). A client without Origin is not a browser (no page can
//      omit it) and passes; the login below still applies to it;
//   4. with a login configured, HTTP Basic (or `Authorization: Bearer <token>`) — else 401 with a Basic challenge.
//      Browsers send the Basic credentials they cached for the page with its WebSocket handshake too.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP, isIPv6 } from 'node:net';
import { WasmRtspError } from '../../core/errors.js';

/** A refused access option (allow lists, login, TLS) or a relay that would be exposed without a login. */
export class RelayAccessError extends WasmRtspError {}

/** The viewer login: a user and password (HTTP Basic), a bearer token, or both. */
export interface RelayAuth {
  user?: string;
  password?: string;
  /** Accepted as `Authorization: Bearer <token>`, and as the password of Basic with any user (browsers' prompt). */
  token?: string;
}

/** What the guard needs to know about the relay. */
export interface GuardOptions {
  /** The listen address as given (default 127.0.0.1). */
  bindHost: string;
  /** Whether the relay serves https (its own origin is then https://…). */
  tls: boolean;
  /** Extra host names (or addresses) that `Host` may carry, e.g. the name of a reverse proxy or of this machine. */
  allowHosts?: readonly string[];
  /** Extra origins allowed to open WebSockets, e.g. `https://app.example:8443` for a page served elsewhere. */
  allowOrigins?: readonly string[];
  auth?: RelayAuth;
}

/** Why a request was refused; the status is what the client is told. */
export type Refusal = { status: 400 | 401 | 403 | 404 | 405; reason: RefusalReason; message: string };
/** The counted reasons of a refusal. */
export type RefusalReason = 'badRequest' | 'forbiddenHost' | 'forbiddenOrigin' | 'unauthorized' | 'notFound' | 'methodNotAllowed';

/** The realm of the Basic challenge (shown by some browsers in the login prompt). */
export const AUTH_REALM = 'wasm-rtsp relay';

/**
 * The decoded path of a request target, or undefined when it does not parse: a bad percent escape (`/%E0%A4%A`), an
 * absolute form the URL parser rejects (`http://[::1`), `*`, anything not starting with `/` or a scheme.
 */
export function parseRequestPath(target: string | undefined): string | undefined {
  if (typeof target !== 'string' || target.length === 0) return undefined;
  if (!target.startsWith('/') && !/^https?:\/\//i.test(target)) return undefined;
  let pathname: string;
  try {
    pathname = new URL(target, 'http://relay.invalid').pathname;
  } catch {
    return undefined;
  }
  try {
    const path = decodeURIComponent(pathname);
    // A NUL would reach the file system calls of /lib/ (they refuse it by throwing): not a path anyone serves.
    return path.includes('\0') ? undefined : path;
  } catch {
    return undefined;
  }
}

/** `hostname` and `port` of a Host header value (`name`, `name:port`, `[v6]`, `[v6]:port`), or undefined. */
export function parseHostHeader(value: string | undefined): { hostname: string; port: string } | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) return undefined;
  // The URL parser would also take a path, user info or a query after the host: none is a host.
  if (/[\s/\\?#@%]/.test(value)) return undefined;
  try {
    const u = new URL(`http://${value}`);
    return u.hostname ? { hostname: u.hostname.toLowerCase(), port: u.port } : undefined;
  } catch {
    return undefined;
  }
}

/** `address` (a name, an IPv4 or IPv6 address, brackets optional) as the URL parser writes a hostname, or undefined. */
export function normalizeHostname(address: string): string | undefined {
  const bare = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return parseHostHeader(isIPv6(bare) ? `[${bare}]` : bare)?.hostname;
}

/** True for names and addresses that only this machine reaches: localhost, *.localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(address: string): boolean {
  const h = normalizeHostname(address);
  if (h === undefined) return false;
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** True for the addresses that mean "every interface". */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

/** SHA-256 of both sides, compared in constant time: neither the length nor the first differing octet leaks. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Checks a login's shape; throws RelayAccessError('BAD_AUTH') naming what is wrong (never the secret). */
export function validateAuth(auth: RelayAuth): void {
  const printable = (s: string) => s.length > 0 && s.length <= 1024 && !/[\x00-\x1f\x7f]/.test(s);
  if (auth.user === undefined && auth.password === undefined && auth.token === undefined) {
    throw new RelayAccessError('BAD_AUTH', 'the login needs a user and password, or a token');
  }
  if ((auth.user === undefined) !== (auth.password === undefined)) {
    throw new RelayAccessError('BAD_AUTH', 'the login needs both a user and a password (user:password)');
  }
  if (auth.user !== undefined && (!printable(auth.user) || auth.user.includes(':'))) {
    throw new RelayAccessError('BAD_AUTH', 'the login user must be 1–1024 printable characters without ":"');
  }
  if (auth.password !== undefined && !printable(auth.password)) {
    throw new RelayAccessError('BAD_AUTH', 'the login password must be 1–1024 printable characters');
  }
  if (auth.token !== undefined && (!printable(auth.token) || /\s/.test(auth.token))) {
    throw new RelayAccessError('BAD_AUTH', 'the login token must be 1–1024 printable characters without spaces');
  }
}

/** `user:password` (as given to --auth, in a file or the environment) as a RelayAuth; throws BAD_AUTH. */
export function parseUserPassword(text: string, source: string): RelayAuth {
  const line = text.replace(/\r?\n$/, '');
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) {
    throw new RelayAccessError('BAD_AUTH', `${source} must be user:password (both non-empty)`, { context: { source } });
  }
  const auth = { user: line.slice(0, colon), password: line.slice(colon + 1) };
  validateAuth(auth);
  return auth;
}

/** The access rules of one relay (see the top of this file). */
export class RelayGuard {
  private readonly bindHostname: string | undefined;
  private readonly wildcard: boolean;
  private readonly allowHosts: Set<string>;
  private readonly allowOrigins: Set<string>;
  private readonly scheme: 'http:' | 'https:';

  constructor(private readonly options: GuardOptions) {
    this.wildcard = isWildcard(options.bindHost);
    this.bindHostname = this.wildcard ? undefined : normalizeHostname(options.bindHost);
    this.scheme = options.tls ? 'https:' : 'http:';
    this.allowHosts = new Set((options.allowHosts ?? []).map((h) => {
      const n = typeof h === 'string' ? normalizeHostname(h) : undefined;
      if (n === undefined) throw new RelayAccessError('BAD_OPTION', `allowHosts: "${String(h)}" is not a host name or address (no port, no scheme)`, { context: { host: h } });
      return n;
    }));
    this.allowOrigins = new Set((options.allowOrigins ?? []).map((o) => {
      let origin: string | undefined;
      try {
        const u = new URL(String(o));
        if ((u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search && !u.username) origin = u.origin;
      } catch { /* refused below */ }
      if (origin === undefined) {
        throw new RelayAccessError('BAD_OPTION', `allowOrigins: "${String(o)}" is not an origin (scheme://host[:port])`, { context: { origin: o } });
      }
      return origin;
    }));
    if (options.auth) validateAuth(options.auth);
  }

  /** True when the relay would be reachable from other machines (then a login is required). */
  get exposed(): boolean {
    return !isLoopbackHost(this.options.bindHost);
  }

  /** Whether a login is configured. */
  get hasAuth(): boolean {
    return this.options.auth !== undefined;
  }

  /** The request's Host, when it names this relay. */
  private host(req: IncomingMessage): { hostname: string; port: string } | undefined {
    const host = parseHostHeader(req.headers.host);
    if (!host) return undefined;
    const h = host.hostname;
    if (isLoopbackHost(h) || this.allowHosts.has(h) || h === this.bindHostname) return host;
    // Bound to every interface: the address this connection was made to is the relay's own.
    if (this.wildcard && req.socket.localAddress && h === normalizeHostname(req.socket.localAddress)) return host;
    return undefined;
  }

  private originAllowed(req: IncomingMessage, host: { hostname: string; port: string }): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (typeof origin !== 'string') return false;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false; // 'null' (sandboxed frames, file:) and garbage
    }
    if (this.allowOrigins.has(u.origin)) return true;
    return u.protocol === this.scheme && u.hostname.toLowerCase() === host.hostname && u.port === host.port;
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = this.options.auth;
    if (!auth) return true;
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const m = /^(Basic|Bearer)[ ]+(\S+)[ ]*$/i.exec(header);
    if (!m) return false;
    if (m[1].toLowerCase() === 'bearer') return auth.token !== undefined && sameSecret(m[2], auth.token);
    const decoded = Buffer.from(m[2], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // Both comparisons always run (no short-circuit): the time does not say which half was wrong.
    const byUser = auth.user !== undefined && auth.password !== undefined
      && Number(sameSecret(user, auth.user)) + Number(sameSecret(password, auth.password)) === 2;
    const byToken = auth.token !== undefined && sameSecret(password, auth.token);
    return byUser || byToken;
  }

  /** Decides a request: its decoded path, or why it is refused. `upgrade`: a WebSocket handshake (Origin checked). */
  screen(req: IncomingMessage, upgrade: boolean): { path: string } | Refusal {
    const path = parseRequestPath(req.url);
    if (path === undefined) return { status: 400, reason: 'badRequest', message: 'bad request target' };
    const host = this.host(req);
    if (!host) {
      return req.headers.host === undefined
        ? { status: 400, reason: 'badRequest', message: 'no Host header' }
        : { status: 403, reason: 'forbiddenHost', message: 'this Host is not served here (see --allow-host)' };
    }
    if (upgrade && !this.originAllowed(req, host)) {
      return { status: 403, reason: 'forbiddenOrigin', message: 'this Origin may not open WebSockets here (see --allow-origin)' };
    }
    if (!this.authorized(req)) return { status: 401, reason: 'unauthorized', message: 'login required' };
    return { path };
  }
}
