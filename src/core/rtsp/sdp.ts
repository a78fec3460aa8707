// SDP session descriptions as RTSP servers send them in DESCRIBE answers (RFC 8866, which obsoletes RFC 4566).
//
// Lenient where cameras differ and nothing depends on it (line ends, unknown or out-of-order lines, a malformed
// o= or b= line, NULs after the last line); strict, with a typed error, where a mistake would set up the wrong stream
// (m=, c=, rtpmap, fmtp, framesize). Every number is range-checked where it is parsed, and values that reach
// GStreamer caps (encoding names, fmtp) never hold a control character, so a description that parses gives caps
// GStreamer can read. An RTP `m=` line whose formats are not payload types (TP-Link Tapo:
// `m=application/tp-link 0 RTP/AVP smart/0/25000`) is kept, flagged `unsupported`, instead of failing the whole SDP;
// `isPlayable` tells which media can be set up.
import { WasmRtspError } from '../errors.js';
import { parseRange, type RtspRange } from './header-values.js';

/** Stable reasons an SDP could not be parsed. */
export type SdpParseErrorCode =
  'EMPTY' | 'BAD_VERSION' | 'BAD_MEDIA' | 'BAD_CONNECTION' | 'BAD_RTPMAP' | 'BAD_FMTP' | 'BAD_FRAMESIZE';

/**
 * The SDP is malformed where it matters. `context` holds the line number (1-based) and the line, and inside a media
 * section `media` (its index, 0-based) and `mediaType`; for fmtp also the `parameter`.
 */
export class SdpParseError extends WasmRtspError {
  declare readonly code: SdpParseErrorCode;
  constructor(code: SdpParseErrorCode, message: string, options: { context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** `o=` (RFC 8866 §5.2). */
export interface SdpOrigin {
  username: string; sessionId: string; sessionVersion: string; netType: string; addrType: string; address: string;
}

/** `c=` (RFC 8866 §5.7); `ttl` and `addressCount` from `224.2.1.1/127/3`. */
export interface SdpConnection { netType: string; addrType: string; address: string; ttl?: number; addressCount?: number }

/**
 * `a=rtpmap:` (RFC 8866 §6.6): encoding name as sent (printable ASCII), clock rate in Hz (1 … 2^31 − 1), channels for
 * audio when given (1 … 255).
 */
export interface SdpRtpmap { encodingName: string; clockRate: number; channels?: number }

/** `a=framesize:<pt> <width>-<height>` (3GPP TS 26.234 §5.3.3.2), sent by many cameras; 1 … 32767 each. */
export interface SdpFramesize { width: number; height: number }

/** Media direction (RFC 8866 §6.7). */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** One `m=` section. */
export interface SdpMedia {
  /** `'video'`, `'audio'`, `'application'`, … as sent. */
  type: string;
  port: number;
  /** Number of ports from `m=video 5000/2 …`, when given. */
  portCount?: number;
  /** `'RTP/AVP'`, `'RTP/AVPF'`, `'RTP/SAVP'`, `'TCP/RTP/AVP'`, … */
  protocol: string;
  /**
   * Payload types for RTP protocols (0–127); for other protocols, and for `unsupported` media, the formats are in
   * `formatTokens` only.
   */
  formats: number[];
  /** The format field as sent. */
  formatTokens: string[];
  /** `i=` */
  title?: string;
  connection?: SdpConnection;
  /** `b=` modifier (e.g. `'AS'`, `'TIAS'`) → value. */
  bandwidth: Map<string, number>;
  /** Every `a=` line: name → values in order (`''` for a flag such as `a=recvonly`). */
  attributes: Map<string, string[]>;
  /** `a=rtpmap` per payload type. */
  rtpmap: Map<number, SdpRtpmap>;
  /** `a=fmtp` per payload type, as parameter name (lower-cased) → value, e.g. `packetization-mode` → `'1'`. */
  fmtp: Map<number, Map<string, string>>;
  /** `a=framesize` per payload type. */
  framesize: Map<number, SdpFramesize>;
  /**
   * Why this medium cannot be set up, when it cannot: an RTP medium whose formats are not payload types (seen on
   * TP-Link Tapo cameras). Its rtpmap/fmtp lines are kept in `attributes` only. See {@link isPlayable}.
   */
  unsupported?: string;
  /** `a=control` value as sent (resolve it with `resolveControl`). */
  control?: string;
  /** The media's direction, else the session's, else `'sendrecv'` (RFC 8866 §6.7). */
  direction: SdpDirection;
}

/** A parsed session description. */
export interface SessionDescription {
  version: number;
  origin?: SdpOrigin;
  /** `s=`; `''` when absent or `s= ` (RFC 8866 recommends a single space for "no name"). */
  sessionName: string;
  /** `i=` */
  sessionInfo?: string;
  /** `u=` */
  uri?: string;
  connection?: SdpConnection;
  /** `t=` start and stop times (NTP seconds; 0 0 for unbounded). */
  timing?: { start: number; stop: number };
  bandwidth: Map<string, number>;
  /** Session-level `a=` lines. */
  attributes: Map<string, string[]>;
  /** Session-level `a=control` (aggregate control URL), as sent. */
  control?: string;
  /** Session-level `a=range`, parsed. */
  range?: RtspRange;
  /** Session-level direction when stated. */
  direction?: SdpDirection;
  media: SdpMedia[];
}

/** RTP payload types with a static mapping (RFC 3551 §6, tables 4 and 5). */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, SdpRtpmap> = new Map<number, SdpRtpmap>([
  [0, { encodingName: 'PCMU', clockRate: 8000, channels: 1 }],
  [3, { encodingName: 'GSM', clockRate: 8000, channels: 1 }],
  [4, { encodingName: 'G723', clockRate: 8000, channels: 1 }],
  [5, { encodingName: 'DVI4', clockRate: 8000, channels: 1 }],
  [6, { encodingName: 'DVI4', clockRate: 16000, channels: 1 }],
  [7, { encodingName: 'LPC', clockRate: 8000, channels: 1 }],
  [8, { encodingName: 'PCMA', clockRate: 8000, channels: 1 }],
  [9, { encodingName: 'G722', clockRate: 8000, channels: 1 }],
  [10, { encodingName: 'L16', clockRate: 44100, channels: 2 }],
  [11, { encodingName: 'L16', clockRate: 44100, channels: 1 }],
  [12, { encodingName: 'QCELP', clockRate: 8000, channels: 1 }],
  [13, { encodingName: 'CN', clockRate: 8000, channels: 1 }],
  [14, { encodingName: 'MPA', clockRate: 90000 }],
  [15, { encodingName: 'G728', clockRate: 8000, channels: 1 }],
  [16, { encodingName: 'DVI4', clockRate: 11025, channels: 1 }],
  [17, { encodingName: 'DVI4', clockRate: 22050, channels: 1 }],
  [18, { encodingName: 'G729', clockRate: 8000, channels: 1 }],
  [25, { encodingName: 'CelB', clockRate: 90000 }],
  [26, { encodingName: 'JPEG', clockRate: 90000 }],
  [28, { encodingName: 'nv', clockRate: 90000 }],
  [31, { encodingName: 'H261', clockRate: 90000 }],
  [32, { encodingName: 'MPV', clockRate: 90000 }],
  [33, { encodingName: 'MP2T', clockRate: 90000 }],
  [34, { encodingName: 'H263', clockRate: 90000 }],
]);

/** Largest RTP clock rate accepted: GStreamer caps hold it as a signed 32-bit int. */
export const MAX_CLOCK_RATE = 0x7FFF_FFFF;
/** Largest channel count accepted in an rtpmap (GStreamer's audio caps and our AAC path take at most this many). */
export const MAX_CHANNELS = 255;
/** Largest width or height in a=framesize and in the fmtp of RFC 4175 raw video (RFC 4175 §6.1). */
export const MAX_FRAME_DIMENSION = 32767;

/**
 * fmtp parameters that are decimal integers and reach a depayloader (GStreamer's, through the caps, or ours): their
 * range, checked when the SDP is parsed. A camera sending `sizelength=9999999999` fails there, with the line, instead
 * of inside a pipeline.
 */
const FMTP_INTEGERS: ReadonlyMap<string, readonly [min: number, max: number]> = new Map<string, readonly [number, number]>([
  ['packetization-mode', [0, 2]], //           RFC 6184 §8.1
  ['sizelength', [0, 32]], //                  RFC 3640 §4.1: lengths of AU-header fields, in bits
  ['indexlength', [0, 32]],
  ['indexdeltalength', [0, 32]],
  ['ctsdeltalength', [0, 32]],
  ['dtsdeltalength', [0, 32]],
  ['randomaccessindication', [0, 1]],
  ['streamstateindication', [0, 32]],
  ['auxiliarydatasizelength', [0, 32]],
  ['constantsize', [0, 0xFFFF]], //            RFC 3640 §4.1: octets of a constant-size AU
  ['constantduration', [0, MAX_CLOCK_RATE]],
  ['maxdisplacement', [0, MAX_CLOCK_RATE]],
  ['de-interleavebuffersize', [0, MAX_CLOCK_RATE]],
  ['streamtype', [0, 63]], //                  ISO/IEC 14496-1 streamType: 6 bits
  ['width', [1, MAX_FRAME_DIMENSION]], //      RFC 4175 §6.1
  ['height', [1, MAX_FRAME_DIMENSION]],
  ['depth', [1, 16]], //                       RFC 4175 §6.1: 8, 10, 12 or 16
  ['sprop-max-don-diff', [0, 32767]], //       RFC 7798 §7.1
  ['sprop-depack-buf-nalus', [0, 32767]],
]);

/** A C0 control character or DEL: never valid in an SDP value (RFC 8866 §9 `byte-string`), and breaks GStreamer caps. */
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;
/** An encoding name: printable ASCII without '/' (RFC 4855 §3 names are media subtypes, RFC 6838 §4.2). */
const ENCODING_NAME = /^[!-.0-~]+$/;

/**
 * Whether `media` can be set up: an RTP medium with at least one payload type and nothing flagged `unsupported`.
 * A client's default media selection should skip the others.
 */
export function isPlayable(media: SdpMedia): boolean {
  return media.unsupported === undefined && media.formats.length > 0;
}

/** The format of payload type `pt` in `media`: its `a=rtpmap`, else the static RFC 3551 mapping, else undefined. */
export function payloadFormat(media: SdpMedia, pt: number): SdpRtpmap | undefined {
  return media.rtpmap.get(pt) ?? (pt < 96 ? STATIC_PAYLOAD_TYPES.get(pt) : undefined);
}

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** Parses the parameters of an `a=fmtp:` line: `a=1;b=2` (values may contain '=', e.g. base64 padding). */
export function parseFmtpParameters(params: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const piece of params.split(';')) {
    const p = piece.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) out.set(p.toLowerCase(), '');
    else out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return out;
}

/** Parses an SDP text (CRLF or LF line ends). Throws {@link SdpParseError}. */
export function parseSdp(text: string): SessionDescription {
  // Some firmwares end the body with the NUL of a C string: only NULs after the last line are forgiven.
  const lines = text.replace(/\0+$/, '').split(/\r?\n|\r/);
  const session: SessionDescription = {
    version: 0, sessionName: '', bandwidth: new Map(), attributes: new Map(), media: [],
  };
  let media: SdpMedia | undefined;
  let sawAny = false;

  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/[ \t]+$/, '');
    // Anything not shaped "x=…" is ignored (blank lines, stray NULs from some firmwares).
    if (line.length < 2 || line[1] !== '=' || !/[a-z]/.test(line[0])) return;
    sawAny = true;
    const type = line[0];
    const value = line.slice(2);
    const ctx: Record<string, unknown> = { line: index + 1, text: line.length > 120 ? line.slice(0, 120) + '…' : line };
    if (media) {
      ctx.media = session.media.length - 1;
      ctx.mediaType = media.type;
    }
    const err: Fail = (code, message, extra) => {
      throw new SdpParseError(code, message, { context: extra ? { ...ctx, ...extra } : ctx });
    };

    switch (type) {
      case 'v':
        if (!/^\s*[0-9]{1,9}\s*$/.test(value)) err('BAD_VERSION', 'v= is not a number (RFC 8866: v=0)');
        session.version = Number(value);
        return;
      case 'o': {
        const f = value.trim().split(/\s+/);
        if (f.length === 6) {
          session.origin = { username: f[0], sessionId: f[1], sessionVersion: f[2], netType: f[3], addrType: f[4], address: f[5] };
        }
        return; // a malformed origin is ignored: nothing in RTSP playback depends on it
      }
      case 's':
        if (!media) session.sessionName = value.trim();
        return;
      case 'i':
        if (media) media.title = value;
        else session.sessionInfo = value;
        return;
      case 'u':
        if (!media) session.uri = value.trim();
        return;
      case 'c': {
        const conn = parseConnection(value) ?? err('BAD_CONNECTION', 'c= is not "<nettype> <addrtype> <address>[/ttl][/count]"');
        if (media) media.connection = conn;
        else session.connection = conn;
        return;
      }
      case 'b': {
        const m = /^\s*([A-Za-z0-9_.+-]+)\s*:\s*([0-9]{1,15})\s*$/.exec(value);
        if (m) (media ? media.bandwidth : session.bandwidth).set(m[1], Number(m[2]));
        return; // a malformed (or absurdly large) bandwidth is ignored: it is advisory
      }
      case 't': {
        // NTP seconds fit 10 digits until 2286; a longer number is not a time, and t= is advisory here.
        const m = /^\s*([0-9]{1,15})\s+([0-9]{1,15})\s*$/.exec(value);
        if (m && !media) session.timing = { start: Number(m[1]), stop: Number(m[2]) };
        return;
      }
      case 'm': {
        const f = value.trim().split(/\s+/);
        if (f.length < 3 || f[0] === '') err('BAD_MEDIA', 'm= needs "<media> <port>[/<count>] <proto> <fmt> …"');
        const pm = /^([0-9]{1,5})(?:\/([0-9]{1,5}))?$/.exec(f[1]);
        if (!pm || Number(pm[1]) > 65535) err('BAD_MEDIA', 'm= port is not a number 0-65535');
        if (pm![2] !== undefined && (Number(pm![2]) < 1 || Number(pm![2]) > 65535)) {
          err('BAD_MEDIA', 'm= port count is not a number 1-65535');
        }
        const protocol = f[2];
        if (!/^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/.test(protocol)) err('BAD_MEDIA', 'm= protocol is missing or malformed');
        const formatTokens = f.slice(3);
        const isRtp = /(^|\/)RTP\//i.test(protocol);
        const formats: number[] = [];
        let unsupported: string | undefined;
        if (isRtp) {
          if (formatTokens.length === 0) err('BAD_MEDIA', 'm= line for RTP lists no payload type', { media: session.media.length, mediaType: f[0] });
          const notNumber = formatTokens.find((t) => !/^[0-9]+$/.test(t));
          if (notNumber !== undefined) {
            // Not a payload type at all (a vendor's private stream): keep the medium, flagged, rather than fail the
            // session whose other media play (Retina and go-sdp do the same for TP-Link cameras).
            unsupported = `m= format ${JSON.stringify(notNumber.slice(0, 40))} is not an RTP payload type`;
          } else {
            for (const t of formatTokens) {
              if (t.length > 3 || Number(t) > 127) err('BAD_MEDIA', `m= payload type "${t.slice(0, 20)}" is not a number 0-127`, { media: session.media.length, mediaType: f[0] });
              formats.push(Number(t));
            }
          }
        }
        media = {
          type: f[0], port: Number(pm![1]), protocol, formats, formatTokens,
          bandwidth: new Map(), attributes: new Map(), rtpmap: new Map(), fmtp: new Map(), framesize: new Map(),
          direction: session.direction ?? 'sendrecv',
        };
        if (unsupported !== undefined) media.unsupported = unsupported;
        if (pm![2] !== undefined) media.portCount = Number(pm![2]);
        session.media.push(media);
        return;
      }
      case 'a': {
        const colon = value.indexOf(':');
        const name = colon < 0 ? value.trim() : value.slice(0, colon).trim();
        const attrValue = colon < 0 ? '' : value.slice(colon + 1).trim();
        if (name === '') return;
        const attrs = media ? media.attributes : session.attributes;
        const list = attrs.get(name);
        if (list) list.push(attrValue);
        else attrs.set(name, [attrValue]);
        const lname = name.toLowerCase();
        if (DIRECTIONS.has(lname)) {
          if (media) media.direction = lname as SdpDirection;
          else session.direction = lname as SdpDirection;
        } else if (lname === 'control') {
          if (media) media.control = attrValue;
          else session.control = attrValue;
        } else if (lname === 'range' && !media) {
          try { session.range = parseRange(attrValue); } catch { /* advisory: a bad range does not stop playback */ }
        } else if (media?.unsupported !== undefined) {
          // An unsupported medium is never set up: its rtpmap/fmtp stay in `attributes`, unparsed and unchecked.
        } else if (lname === 'rtpmap' && media) {
          media.rtpmap.set(...parseRtpmap(attrValue, err));
        } else if (lname === 'fmtp' && media) {
          const m = /^([0-9A-Za-z_.*-]+)(?:\s+(.*))?$/.exec(attrValue);
          if (!m) err('BAD_FMTP', 'a=fmtp is not "<format> <parameters>"');
          if (/^[0-9]{1,3}$/.test(m[1])) {
            if (Number(m[1]) > 127) err('BAD_FMTP', `a=fmtp payload type ${m[1]} is not 0-127`);
            media.fmtp.set(Number(m[1]), checkedFmtp(m[2] ?? '', err));
          } else if (formatsAreRtp(media)) err('BAD_FMTP', 'a=fmtp format is not a payload type');
        } else if (lname === 'framesize' && media) {
          // 3GPP TS 26.234 §5.3.3.2: a=framesize:<pt> <width>-<height>
          const m = /^([0-9]{1,3})\s+([0-9]{1,5})-([0-9]{1,5})$/.exec(attrValue);
          const [pt, width, height] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
          if (!m || pt > 127 || width < 1 || height < 1 || width > MAX_FRAME_DIMENSION || height > MAX_FRAME_DIMENSION) {
            err('BAD_FRAMESIZE', `a=framesize is not "<pt 0-127> <width>-<height>" with sizes 1-${MAX_FRAME_DIMENSION}`);
          }
          media.framesize.set(pt, { width, height });
        }
        return;
      }
      default:
        return; // k=, r=, z=, e=, p= and unknown types: not needed to play a stream
    }
  });
  if (!sawAny) throw new SdpParseError('EMPTY', 'no SDP lines ("x=value") in the text', { context: { length: text.length } });
  return session;
}

function formatsAreRtp(media: SdpMedia): boolean {
  return media.formats.length > 0;
}

type Fail = (code: SdpParseErrorCode, message: string, extra?: Record<string, unknown>) => never;

/** `<pt> <encoding>/<clock rate>[/<channels>]`, every number in range, the name printable (it reaches caps). */
function parseRtpmap(value: string, err: Fail): [number, SdpRtpmap] {
  const m = /^([0-9]{1,3})\s+([^/\s]+)\/([0-9]{1,10})(?:\/([0-9]{1,3}))?\s*$/.exec(value);
  if (!m) {
    err('BAD_RTPMAP', 'a=rtpmap is not "<pt> <encoding>/<clock rate>[/<channels>]" (clock rate up to 10 digits, channels up to 3)');
  }
  const [pt, clockRate] = [Number(m![1]), Number(m![3])];
  if (pt > 127) err('BAD_RTPMAP', `a=rtpmap payload type ${pt} is not 0-127`);
  if (clockRate < 1 || clockRate > MAX_CLOCK_RATE) err('BAD_RTPMAP', `a=rtpmap clock rate ${clockRate} is not 1-${MAX_CLOCK_RATE}`);
  if (!ENCODING_NAME.test(m![2])) err('BAD_RTPMAP', 'a=rtpmap encoding name holds a control, space or non-ASCII character');
  const map: SdpRtpmap = { encodingName: m![2], clockRate };
  if (m![4] !== undefined) {
    const channels = Number(m![4]);
    if (channels < 1 || channels > MAX_CHANNELS) err('BAD_RTPMAP', `a=rtpmap channel count ${channels} is not 1-${MAX_CHANNELS}`);
    map.channels = channels;
  }
  return [pt, map];
}

/** fmtp parameters with no control character anywhere and every known integer parameter in its range. */
function checkedFmtp(params: string, err: Fail): Map<string, string> {
  const out = parseFmtpParameters(params);
  for (const [name, value] of out) {
    if (CONTROL_CHARACTER.test(name) || CONTROL_CHARACTER.test(value)) {
      err('BAD_FMTP', `a=fmtp parameter ${JSON.stringify(name.slice(0, 40))} holds a control character`, { parameter: name.slice(0, 40) });
    }
    const range = FMTP_INTEGERS.get(name);
    if (range === undefined) continue;
    const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
    if (!(n >= range[0] && n <= range[1])) {
      err('BAD_FMTP', `a=fmtp ${name}=${JSON.stringify(value.slice(0, 20))} is not an integer ${range[0]}-${range[1]}`, { parameter: name });
    }
  }
  return out;
}

function parseConnection(value: string): SdpConnection | undefined {
  const f = value.trim().split(/\s+/);
  if (f.length !== 3) return undefined;
  const [address, ...rest] = f[2].split('/');
  if (address === '' || rest.length > 2 || rest.some((r) => !/^[0-9]{1,5}$/.test(r))) return undefined;
  const conn: SdpConnection = { netType: f[0], addrType: f[1], address };
  // IPv4 multicast: addr/ttl[/count]; IPv6 multicast: addr[/count] (RFC 8866 §5.7).
  // A TTL is 0-255 and an address count at least 1 (RFC 8866 §5.7).
  if (f[1].toUpperCase() === 'IP6') {
    if (rest.length > 1) return undefined;
    if (rest.length === 1) conn.addressCount = Number(rest[0]);
  } else {
    if (rest.length >= 1) conn.ttl = Number(rest[0]);
    if (rest.length === 2) conn.addressCount = Number(rest[1]);
  }
  if ((conn.ttl !== undefined && conn.ttl > 255) || conn.addressCount === 0) return undefined;
  return conn;
}
