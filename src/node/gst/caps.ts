// GStreamer caps and element chains for an RTSP MediaStream: what `appsrc caps=…` must say so that the RTP
// depayloaders accept our packets, and which depayload / parse / decode elements fit each encoding.
//
// The caps follow what GStreamer itself derives from an SDP (gst_sdp_media_get_caps_from_media): media, payload,
// clock-rate, the upper-cased encoding-name, encoding-params for audio channels, and every fmtp parameter as a
// string field (the depayloaders read sprop-parameter-sets, sprop-vps/sps/pps, sampling, width, … from there).
// Values are always quoted, so a base64 value with ',' or '=' (or a hostile camera's '"') cannot break the caps;
// `launchQuote` quotes the whole caps once more for a gst_parse_launch string. Every number is checked for the range
// its caps field takes and no value may hold a control character (a NUL ends the C string GStreamer parses): a bad
// value is a GstError 'GST_BAD_ARGUMENT' naming the stream, never caps GStreamer would refuse for their syntax.
// (parseSdp already refuses such SDPs; these checks hold for streams built any other way.)

import { WasmRtspError } from '../../core/errors.js';
import type { MediaStream } from '../../core/media/stream.js';

/**
 * The GStreamer sink failed. `code` is one of: 'GST_UNAVAILABLE' (gstreamer-superficial cannot be loaded),
 * 'GST_UNSUPPORTED' (no depayloader / muxer known for an encoding), 'GST_BAD_ARGUMENT' (a push or option that
 * would crash the native addon), 'GST_BAD_BRANCH' (no such branch), 'GST_LAUNCH' (gst_parse_launch refused the
 * pipeline), 'GST_STATE' (used in the wrong state), 'GST_PIPELINE_ERROR' / 'GST_PIPELINE_WARNING' (an ERROR or
 * WARNING message on the bus; `element` names its source), 'GST_EOS_TIMEOUT' (close() gave up waiting for EOS).
 */
export class GstError extends WasmRtspError {
  /** The element that posted the bus message (for GST_PIPELINE_ERROR / GST_PIPELINE_WARNING). */
  readonly element?: string;
  constructor(code: string, message: string, options: { context?: Record<string, unknown>; cause?: unknown; element?: string } = {}) {
    super(code, message, options);
    if (options.element !== undefined) this.element = options.element;
  }
}

/** Caps fields set from the SDP itself; an fmtp parameter of the same name is ignored (it would override them). */
const RESERVED_FIELDS = new Set(['media', 'payload', 'clock-rate', 'encoding-name', 'encoding-params']);
/** A GstStructure field name GStreamer accepts (gst_structure_validate_name); others are skipped, not escaped. */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_+\-.:/]*$/;
/** An encoding name as it may appear in a caps string (RFC 4855 §3 allows a few more; none of them need quoting). */
const ENCODING_NAME = /^[A-Za-z0-9][A-Za-z0-9_+\-.]*$/;
/** Media types of an SDP `m=` line GStreamer's RTP caps know. */
const MEDIA_TYPE = /^[a-z]+$/;
/** A C0 control character or DEL: cut at NUL, or refused, by GStreamer's caps parser. */
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;
/** Largest value of an `(int)` caps field: a gint. */
const MAX_CAPS_INT = 0x7fffffff;
/** Channels an audio stream may declare (the SDP parser's bound too). */
const MAX_CHANNELS = 255;
/** Largest raw video width/height (RFC 4175 §6.1). */
const MAX_FRAME_DIMENSION = 32767;

/** The stream fields used to name it in an error (all optional: callers pass what they have). */
type StreamName = Partial<Pick<MediaStream, 'id' | 'type' | 'control' | 'payloadType' | 'encodingName'>>;

/** "video stream 0 (H264, payload type 96, rtsp://…/track1)": which stream a GstError is about. */
function describeStream(stream: StreamName): string {
  const parts = [stream.encodingName || undefined, stream.payloadType !== undefined ? `payload type ${stream.payloadType}` : undefined,
    stream.control].filter((p) => p !== undefined);
  return `${stream.type ?? 'media'} stream${stream.id !== undefined ? ` ${stream.id}` : ''}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** GST_BAD_ARGUMENT for a field of `stream` no caps can hold; the context names the stream and the field. */
function badField(stream: StreamName, field: string, value: unknown, why: string): GstError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value) : String(value);
  return new GstError('GST_BAD_ARGUMENT', `${describeStream(stream)}: ${field} ${shown} ${why}`, {
    context: { stream: describeStream(stream), id: stream.id, encodingName: stream.encodingName, payloadType: stream.payloadType, field },
  });
}

/** Whether `n` is an integer from `min` to `max`. */
function intIn(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

/** `value` as a quoted GStreamer string: `"…"` with `\` and `"` escaped (gst_value_deserialize reverses it). */
export function capsString(value: string): string {
  return '"' + value.replace(/[\\"]/g, '\\$&') + '"';
}

/** `text` quoted for a gst_parse_launch property value (`caps=<here>`): the same escaping, one level further out. */
export function launchQuote(text: string): string {
  return '"' + text.replace(/[\\"]/g, '\\$&') + '"';
}

/**
 * The `application/x-rtp` caps for `stream`, as GStreamer caps text (not yet quoted for a launch string: use
 * `launchQuote` for that, as GstSink does). Throws GstError 'GST_BAD_ARGUMENT', naming the stream, if the SDP gave
 * values no caps can hold: a payload type outside 0–127, a clock rate outside 1 … 2^31 − 1, channels outside 1 … 255,
 * an odd encoding name, a control character in an fmtp value.
 */
export function rtpCaps(stream: Pick<MediaStream, 'type' | 'payloadType' | 'encodingName' | 'clockRate' | 'channels' | 'fmtp'> & StreamName): string {
  const { type, payloadType, encodingName, clockRate, channels } = stream;
  if (!MEDIA_TYPE.test(type)) throw badField(stream, 'media type', type, 'cannot be put in RTP caps');
  if (!intIn(payloadType, 0, 127)) throw badField(stream, 'payload type', payloadType, 'is not an RTP payload type (0–127)');
  if (!intIn(clockRate, 1, MAX_CAPS_INT)) throw badField(stream, 'clock rate', clockRate, `is not an integer 1–${MAX_CAPS_INT}`);
  if (typeof encodingName !== 'string' || !ENCODING_NAME.test(encodingName)) {
    throw badField(stream, 'encoding name', encodingName, 'cannot be put in RTP caps');
  }
  if (channels !== undefined && !intIn(channels, 1, MAX_CHANNELS)) throw badField(stream, 'channels', channels, `is not an integer 1–${MAX_CHANNELS}`);
  let caps = `application/x-rtp, media=(string)${type}, payload=(int)${payloadType}, clock-rate=(int)${clockRate}, ` +
    `encoding-name=(string)${encodingName.toUpperCase()}`;
  if (channels !== undefined && type === 'audio') caps += `, encoding-params=(string)${capsString(String(channels))}`;
  for (const [rawKey, value] of Object.entries(stream.fmtp)) {
    const key = rawKey.toLowerCase();
    if (RESERVED_FIELDS.has(key) || !FIELD_NAME.test(key)) continue;
    if (typeof value !== 'string' || CONTROL_CHARACTER.test(value)) {
      throw badField(stream, `fmtp ${key}`, value, 'holds a control character (or is no string): GStreamer caps cannot carry it');
    }
    caps += `, ${key}=(string)${capsString(value)}`;
  }
  return caps;
}

/** What GStreamer needs per encoding: depayload(+parse), decode, and whether mp4mux takes the parsed output. */
interface Codec {
  depay: string;
  decode: string;
  mp4: boolean;
}

/** Encoding name (upper case) → elements. Elements are looked up when the pipeline is built, not here. */
const CODECS: Readonly<Record<string, Codec>> = {
  H264: { depay: 'rtph264depay ! h264parse', decode: 'avdec_h264', mp4: true },
  H265: { depay: 'rtph265depay ! h265parse', decode: 'avdec_h265', mp4: true },
  // RFC 4175 raw video needs no decoding: the depayloader outputs video/x-raw.
  RAW: { depay: 'rtpvrawdepay', decode: '', mp4: false },
  JPEG: { depay: 'rtpjpegdepay', decode: 'jpegdec', mp4: false },
  'MP4V-ES': { depay: 'rtpmp4vdepay ! mpeg4videoparse', decode: 'avdec_mpeg4', mp4: true },
  VP8: { depay: 'rtpvp8depay', decode: 'vp8dec', mp4: false },
  VP9: { depay: 'rtpvp9depay', decode: 'vp9dec', mp4: false },
  PCMU: { depay: 'rtppcmudepay', decode: 'mulawdec', mp4: false },
  PCMA: { depay: 'rtppcmadepay', decode: 'alawdec', mp4: false },
  L16: { depay: 'rtpL16depay', decode: '', mp4: false },
  'MPEG4-GENERIC': { depay: 'rtpmp4gdepay ! aacparse', decode: 'avdec_aac', mp4: true },
  'MP4A-LATM': { depay: 'rtpmp4adepay ! aacparse', decode: 'avdec_aac', mp4: true },
  OPUS: { depay: 'rtpopusdepay', decode: 'opusdec', mp4: true },
  G722: { depay: 'rtpg722depay', decode: 'avdec_g722', mp4: false },
};

/** Static payload types (RFC 3551 table 4/5) whose SDP may omit `a=rtpmap`. */
const STATIC_ENCODINGS: Readonly<Record<number, string>> = { 0: 'PCMU', 8: 'PCMA', 9: 'G722', 26: 'JPEG' };

function codecOf(stream: Pick<MediaStream, 'encodingName' | 'payloadType'>): Codec | undefined {
  const name = stream.encodingName ? stream.encodingName.toUpperCase() : STATIC_ENCODINGS[stream.payloadType];
  return name === undefined ? undefined : CODECS[name];
}

function unsupported(stream: Pick<MediaStream, 'encodingName' | 'payloadType'>, what: string): GstError {
  return new GstError('GST_UNSUPPORTED', `no ${what} known for encoding ${JSON.stringify(stream.encodingName)} ` +
    `(payload type ${stream.payloadType}); give the branch a tail of your own`, { context: { encodingName: stream.encodingName } });
}

/** Depayloader (and parser where one exists), e.g. `rtph264depay ! h264parse`. Throws GST_UNSUPPORTED otherwise. */
export function defaultDepayChain(stream: Pick<MediaStream, 'encodingName' | 'payloadType'>): string {
  const codec = codecOf(stream);
  if (!codec) throw unsupported(stream, 'depayloader');
  return codec.depay;
}

/** Decoder after the depay chain, e.g. `avdec_h264`; `''` when the depayloader already outputs raw media (RAW, L16). */
export function decodeChain(stream: Pick<MediaStream, 'encodingName' | 'payloadType'>): string {
  const codec = codecOf(stream);
  if (!codec) throw unsupported(stream, 'decoder');
  return codec.decode;
}

/** Whether `mp4mux` takes this stream's parsed output (H.264, H.265, MPEG-4 video, AAC, Opus). */
export function mp4Recordable(stream: Pick<MediaStream, 'encodingName' | 'payloadType'>): boolean {
  return codecOf(stream)?.mp4 ?? false;
}

// ---------------------------------------------------------------------------------------------------------------
// Frame mode: access units from the wasm depayloader, pushed one buffer per frame. No RTP depayloader and no byte
// scanning parser runs in GStreamer: H.264/H.265 arrive as length-prefixed NAL units (`stream-format=avc`/`hvc1`,
// `alignment=au`) with the decoder configuration record as codec_data, so decoders take them directly.

/** What a frame branch needs: the appsrc caps, the decoder, and the (cheap, length-walking) parser before a muxer. */
export interface FrameBranchFormat {
  caps: string;
  /** Decoder for the 'decode' tail ('' when frames are already raw). */
  decode: string;
  /** Element before the muxer for 'record' ('' when none); on avc/hvc1 input h264parse/h265parse only walk lengths. */
  recordParse: string;
  mp4: boolean;
}

/** The codec configuration a frame branch is built from (see CodecConfig in src/core/media/frames.ts). */
export interface FrameCapsConfig {
  codec: 'H264' | 'H265' | 'RAW' | 'AAC';
  description?: Uint8Array;
  raw?: { width: number; height: number; gstFormat: string };
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/**
 * Caps and elements for a branch fed with frames. Throws GstError 'GST_UNSUPPORTED' when the configuration is
 * missing what GStreamer needs (no SPS/PPS in the SDP: use packets for that stream).
 */
export function frameFormat(config: FrameCapsConfig | undefined, stream: Pick<MediaStream, 'encodingName' | 'clockRate' | 'channels'> & StreamName): FrameBranchFormat {
  const missing = (what: string) => new GstError('GST_UNSUPPORTED', `frame mode for ${stream.encodingName} needs ${what}; ` +
    'this stream can only be pushed as RTP packets', { context: { encodingName: stream.encodingName } });
  if (!config) throw missing('a codec configuration from the SDP');
  switch (config.codec) {
    case 'H264':
      if (!config.description) throw missing('SPS and PPS (sprop-parameter-sets)');
      return { caps: `video/x-h264, stream-format=(string)avc, alignment=(string)au, codec_data=(buffer)${hex(config.description)}`,
        decode: 'avdec_h264', recordParse: 'h264parse', mp4: true };
    case 'H265':
      if (!config.description) throw missing('VPS, SPS and PPS (sprop-vps/sps/pps)');
      return { caps: `video/x-h265, stream-format=(string)hvc1, alignment=(string)au, codec_data=(buffer)${hex(config.description)}`,
        decode: 'avdec_h265', recordParse: 'h265parse', mp4: true };
    case 'RAW': {
      const raw = config.raw;
      if (!raw || !/^[A-Za-z0-9_]+$/.test(raw.gstFormat)) throw missing('sampling, width and height');
      if (!intIn(raw.width, 1, MAX_FRAME_DIMENSION)) throw badField(stream, 'width', raw.width, `is not an integer 1–${MAX_FRAME_DIMENSION}`);
      if (!intIn(raw.height, 1, MAX_FRAME_DIMENSION)) throw badField(stream, 'height', raw.height, `is not an integer 1–${MAX_FRAME_DIMENSION}`);
      return { caps: `video/x-raw, format=(string)${raw.gstFormat}, width=(int)${raw.width}, height=(int)${raw.height}, framerate=(fraction)0/1`,
        decode: '', recordParse: '', mp4: false };
    }
    case 'AAC': {
      if (!config.description) throw missing('an AudioSpecificConfig (fmtp config)');
      const channels = stream.channels ?? 1;
      if (!intIn(channels, 1, MAX_CHANNELS)) throw badField(stream, 'channels', channels, `is not an integer 1–${MAX_CHANNELS}`);
      if (!intIn(stream.clockRate, 1, MAX_CAPS_INT)) throw badField(stream, 'clock rate', stream.clockRate, `is not an integer 1–${MAX_CAPS_INT}`);
      return { caps: `audio/mpeg, mpegversion=(int)4, stream-format=(string)raw, rate=(int)${stream.clockRate}, channels=(int)${channels}, codec_data=(buffer)${hex(config.description)}`,
        decode: 'avdec_aac', recordParse: 'aacparse', mp4: true };
    }
    default:
      throw missing('a codec frame mode knows');
  }
}
