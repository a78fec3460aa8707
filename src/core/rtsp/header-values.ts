// RTSP header values the client needs (RFC 2326 §12): Transport, Session, RTP-Info, Public and Range. Each parser takes
// the header's value as a string and throws RtspParseError with a stable code when it cannot be read one way only.
import { RtspParseError, type RtspParseErrorCode } from './message.js';

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
