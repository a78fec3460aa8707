// RTSP authentication: HTTP Basic (RFC 7617) and Digest (RFC 7616, with RFC 2617's compatibility mode) applied to
// RTSP as RFC 2326 §D prescribes. Node only (node:crypto for MD5 / SHA-256 and random cnonces).
//
// Credentials are kept in private fields and never written into errors, logs or `context`; errors name the schemes
// that were offered, not the values.
import { createHash, randomBytes } from 'node:crypto';
import { WasmRtspError } from '../../core/errors.js';
import type { RtspCredentials } from '../../core/rtsp/url.js';

/** Authentication could not proceed: a malformed challenge, nothing we support offered, an unusable user name. */
export class RtspAuthError extends WasmRtspError {}

/** One challenge of a WWW-Authenticate header (RFC 7235 §2.1). Parameter names are lower-cased, values unquoted. */
export interface AuthChallenge {
  /** Scheme as sent, e.g. `'Digest'`. Compare case-insensitively. */
  scheme: string;
  params: Map<string, string>;
  /** The token68 form (`Negotiate abc==`), when that is what followed the scheme. */
  token68?: string;
}

/** Digest algorithms we can compute (RFC 7616 §3.3). */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

const TCHAR_RE = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_RE = /[A-Za-z0-9\-._~+/]/;

function challengeError(code: string, message: string, context: Record<string, unknown> = {}): never {
  throw new RtspAuthError(code, message, { context });
}

/** Parses one WWW-Authenticate value: a comma-separated list of challenges whose parameters are comma-separated too. */
function parseChallengeList(value: string, out: AuthChallenge[]): void {
  const n = value.length;
  let i = 0;
  let cur: AuthChallenge | undefined;
  const skipWs = () => { while (i < n && (value[i] === ' ' || value[i] === '\t')) i++; };
  const readToken = () => { const s = i; while (i < n && TCHAR_RE.test(value[i])) i++; return value.slice(s, i); };
  while (i < n) {
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ',')) i++;
    if (i >= n) break;
    const at = i;
    const token = readToken();
    if (token === '') challengeError('BAD_CHALLENGE', `unexpected character at offset ${at} of WWW-Authenticate`, { offset: at });
    skipWs();
    if (value[i] === '=' && cur) {
      i++;
      skipWs();
      let v: string;
      if (value[i] === '"') {
        // quoted-string with backslash escapes (RFC 7230 §3.2.6); commas inside are part of the value.
        i++;
        v = '';
        for (;;) {
          if (i >= n) challengeError('BAD_CHALLENGE', 'unterminated quoted string in WWW-Authenticate', { offset: at });
          const c = value[i++];
          if (c === '"') break;
          if (c === '\\' && i < n) v += value[i++];
          else v += c;
        }
      } else {
        const s = i;
        while (i < n && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t') i++;
        v = value.slice(s, i);
      }
      cur.params.set(token.toLowerCase(), v);
      continue;
    }
    if (value[i] === '=') challengeError('BAD_CHALLENGE', 'WWW-Authenticate parameter before any scheme', { offset: at });
    // A new challenge. What follows is either auth-params (handled by the loop) or one token68.
    cur = { scheme: token, params: new Map() };
    out.push(cur);
    const save = i;
    while (i < n && TOKEN68_RE.test(value[i])) i++;
    if (i > save) {
      while (i < n && value[i] === '=') i++;
      const end = i;
      skipWs();
      if (i >= n || value[i] === ',') cur.token68 = value.slice(save, end);
      else i = save;
    }
  }
}

/** Parses the WWW-Authenticate header value(s) of a 401 answer into its challenges, in the order offered. */
export function parseWwwAuthenticate(values: string | readonly string[]): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  for (const v of typeof values === 'string' ? [values] : values) parseChallengeList(v, out);
  return out;
}

/** The Digest algorithm a challenge asks for, or undefined if it is one we cannot compute (e.g. SHA-512-256). */
function digestAlgorithmOf(c: AuthChallenge): DigestAlgorithm | undefined {
  const a = (c.params.get('algorithm') ?? 'MD5').toUpperCase();
  switch (a) {
    case 'MD5': return 'MD5';
    case 'MD5-SESS': return 'MD5-sess';
    case 'SHA-256': return 'SHA-256';
    case 'SHA-256-SESS': return 'SHA-256-sess';
    default: return undefined;
  }
}

/** The qop we would answer a Digest challenge with: 'auth' if offered, else 'auth-int', none without qop (RFC 2069). */
function qopOf(c: AuthChallenge): 'auth' | 'auth-int' | null | undefined {
  const q = c.params.get('qop');
  if (q === undefined) return null;
  const offered = q.split(',').map((s) => s.trim().toLowerCase());
  if (offered.includes('auth')) return 'auth';
  if (offered.includes('auth-int')) return 'auth-int';
  return undefined; // only qops we do not know
}

/** How strong a challenge is for us: 0 = unsupported; Digest SHA-256 > Digest MD5 > Basic. */
function strength(c: AuthChallenge): number {
  const scheme = c.scheme.toLowerCase();
  if (scheme === 'basic') return 1;
  if (scheme !== 'digest') return 0;
  if (!c.params.has('realm') || !c.params.get('nonce')) return 0;
  const alg = digestAlgorithmOf(c);
  if (alg === undefined || qopOf(c) === undefined) return 0;
  return alg.startsWith('SHA-256') ? 3 : 2;
}

/** The strongest challenge we support (Digest SHA-256 > Digest MD5 > Basic; first offered on a tie), or undefined. */
export function chooseChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | undefined {
  let best: AuthChallenge | undefined;
  let bestStrength = 0;
  for (const c of challenges) {
    const s = strength(c);
    if (s > bestStrength) { best = c; bestStrength = s; }
  }
  return best;
}

/** `Basic <base64(user:password)>` (RFC 7617). A ':' in the user name cannot be represented and is refused. */
export function basicAuthorization(username: string, password: string): string {
  if (username.includes(':')) throw new RtspAuthError('BAD_USERNAME', 'a user name for Basic authentication cannot contain ":"');
  return 'Basic ' + Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** Inputs of a Digest response computation (RFC 7616 §3.4.1). */
export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  /** The request URI exactly as on the request line. */
  uri: string;
  /** Absent for the RFC 2069 compatibility mode (no qop offered). */
  qop?: 'auth' | 'auth-int';
  /** Nonce count, 1-based; sent as 8 hex digits. Needed with qop. */
  nc?: number;
  /** Client nonce; needed with qop and for the -sess algorithms. */
  cnonce?: string;
  /** The request body, hashed for qop=auth-int (empty when absent). */
  body?: Uint8Array;
}

function hashHex(alg: DigestAlgorithm, data: string | Uint8Array): string {
  return createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5').update(data).digest('hex');
}

/** `nc` as the 8 lower-case hex digits the protocol wants. */
export function formatNonceCount(nc: number): string {
  return (nc >>> 0).toString(16).padStart(8, '0');
}

/** The Digest `response` value (lower-case hex), RFC 7616 §3.4.1–§3.4.3. */
export function digestResponse(input: DigestInput): string {
  const { algorithm: alg, username, password, realm, nonce, method, uri, qop } = input;
  let ha1 = hashHex(alg, `${username}:${realm}:${password}`);
  if (alg.endsWith('-sess')) ha1 = hashHex(alg, `${ha1}:${nonce}:${input.cnonce ?? ''}`);
  const a2 = qop === 'auth-int' ? `${method}:${uri}:${hashHex(alg, input.body ?? new Uint8Array(0))}` : `${method}:${uri}`;
  const ha2 = hashHex(alg, a2);
  if (qop === undefined) return hashHex(alg, `${ha1}:${nonce}:${ha2}`);
  return hashHex(alg, `${ha1}:${nonce}:${formatNonceCount(input.nc ?? 1)}:${input.cnonce ?? ''}:${qop}:${ha2}`);
}

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** What one 401 answer meant, from {@link RtspAuthenticator.handleChallenge}. */
export interface ChallengeOutcome {
  /** `'Basic'` or `'Digest'`: the scheme now in use. */
  scheme: 'Basic' | 'Digest';
  algorithm?: DigestAlgorithm;
  /** The server said `stale=true`: the nonce expired, the credentials were fine; retry with the new nonce. */
  stale: boolean;
  /**
   * An Authorization built from the previous challenge had been sent and this answer is not `stale`: the server
   * refused those credentials. Retrying with the same credentials is pointless.
   */
  credentialsRejected: boolean;
}

/** Options of {@link RtspAuthenticator}. */
export interface RtspAuthenticatorOptions {
  /** Makes client nonces; default 16 random octets in hex. Tests pass a fixed one. */
  cnonce?: () => string;
}

/**
 * Per-connection authentication state: give it each 401's WWW-Authenticate values, ask it for the Authorization of
 * each request. It keeps the chosen challenge and counts `nc` per nonce (reset when the nonce changes).
 */
export class RtspAuthenticator {
  readonly #username: string;
  readonly #password: string;
  readonly #makeCnonce: () => string;
  #challenge: AuthChallenge | undefined;
  #nonce: string | undefined;
  #nc = 0;
  #sentSinceChallenge = false;

  constructor(credentials: RtspCredentials, options: RtspAuthenticatorOptions = {}) {
    this.#username = credentials.username;
    this.#password = credentials.password;
    this.#makeCnonce = options.cnonce ?? (() => randomBytes(16).toString('hex'));
  }

  /** Whether a challenge has been accepted, i.e. {@link authorization} will return a value. */
  get ready(): boolean {
    return this.#challenge !== undefined;
  }

  /** The scheme in use, if any. */
  get scheme(): 'Basic' | 'Digest' | undefined {
    return this.#challenge === undefined ? undefined : this.#challenge.scheme.toLowerCase() === 'basic' ? 'Basic' : 'Digest';
  }

  /**
   * Takes the WWW-Authenticate value(s) of a 401 answer and adopts the strongest challenge we support. Throws
   * {@link RtspAuthError} `NO_SUPPORTED_CHALLENGE` when there is none (the context lists the schemes offered).
   */
  handleChallenge(values: string | readonly string[]): ChallengeOutcome {
    const challenges = parseWwwAuthenticate(values);
    const chosen = chooseChallenge(challenges);
    if (!chosen) {
      throw new RtspAuthError('NO_SUPPORTED_CHALLENGE', 'the server offers no authentication scheme we support', {
        context: { offered: challenges.map((c) => c.scheme + (c.params.has('algorithm') ? ` ${c.params.get('algorithm')}` : '')) },
      });
    }
    const stale = chosen.scheme.toLowerCase() === 'digest' && (chosen.params.get('stale') ?? '').toLowerCase() === 'true';
    const credentialsRejected = this.#sentSinceChallenge && !stale;
    this.#challenge = chosen;
    const nonce = chosen.params.get('nonce');
    if (nonce !== this.#nonce) {
      this.#nonce = nonce;
      this.#nc = 0;
    }
    this.#sentSinceChallenge = false;
    const scheme = this.scheme!;
    return scheme === 'Digest' ? { scheme, algorithm: digestAlgorithmOf(chosen), stale, credentialsRejected } : { scheme, stale, credentialsRejected };
  }

  /**
   * The Authorization header value for a request, or undefined before any challenge. `uri` must be the request URI
   * exactly as on the request line; `body` matters only for qop=auth-int.
   */
  authorization(method: string, uri: string, body?: Uint8Array): string | undefined {
    const c = this.#challenge;
    if (!c) return undefined;
    this.#sentSinceChallenge = true;
    if (c.scheme.toLowerCase() === 'basic') return basicAuthorization(this.#username, this.#password);
    const algorithm = digestAlgorithmOf(c)!;
    const qop = qopOf(c) ?? undefined;
    const realm = c.params.get('realm')!;
    const nonce = c.params.get('nonce')!;
    const needsCnonce = qop !== undefined || algorithm.endsWith('-sess');
    const cnonce = needsCnonce ? this.#makeCnonce() : undefined;
    const nc = qop !== undefined ? ++this.#nc : undefined;
    const response = digestResponse({ algorithm, username: this.#username, password: this.#password, realm, nonce, method, uri, qop, nc, cnonce, body });
    const parts = [`username=${quote(this.#username)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`];
    const alg = c.params.get('algorithm');
    if (alg !== undefined) parts.push(`algorithm=${alg}`); // echoed as the server spelled it
    parts.push(`response=${quote(response)}`);
    const opaque = c.params.get('opaque');
    if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
    if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${formatNonceCount(nc!)}`);
    if (cnonce !== undefined) parts.push(`cnonce=${quote(cnonce)}`);
    return 'Digest ' + parts.join(', ');
  }

  /** Never shows the credentials. */
  toJSON(): Record<string, unknown> {
    return { scheme: this.scheme, nc: this.#nc };
  }
}
