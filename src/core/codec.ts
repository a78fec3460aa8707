// Codec configuration from SDP fmtp and in-band parameter sets: the decoder configuration records of ISO/IEC 14496-15
// ('avcC' §5.3.3.1, 'hvcC' §8.3.3.1), RFC 6381 / WebCodecs codec strings, the AAC AudioSpecificConfig and the RFC 4175
// raw video geometry. Portable: no Node globals here. Runs once per stream (or per parameter-set change), never per
// packet, so clarity wins over speed.

import { WasmRtspError } from './errors.js';

/**
 * A parameter set or fmtp value that cannot be decoded. `code`: BAD_BASE64, BAD_SPS, BAD_FRAME, MISSING_SPS, or
 * TOO_LARGE (a count, length or value that a configuration record's field cannot hold: refused, never truncated).
 */
export class CodecError extends WasmRtspError {}

/** H.264 parameter sets (NAL units without start codes or length prefixes). */
export interface H264Config { sps: Uint8Array[]; pps: Uint8Array[] }
/** H.265 parameter sets (NAL units without start codes or length prefixes). */
export interface H265Config { vps: Uint8Array[]; sps: Uint8Array[]; pps: Uint8Array[] }
/** fmtp parameters with lower-cased keys, as the SDP parser gives them. */
export type Fmtp = Readonly<Record<string, string>> | undefined;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE['-'.charCodeAt(0)] = 62; // base64url, seen in some cameras' SDP
B64_VALUE['_'.charCodeAt(0)] = 63;

/** Decodes base64 (standard or url alphabet, padding optional, whitespace ignored); throws CodecError('BAD_BASE64'). */
export function base64Decode(text: string): Uint8Array {
  const clean = text.replace(/[\s=]+$/u, '').replace(/\s+/gu, '');
  if (clean.length % 4 === 1) throw new CodecError('BAD_BASE64', 'base64 text has an impossible length', { context: { length: text.length } });
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c] : -1;
    if (v < 0) throw new CodecError('BAD_BASE64', `invalid base64 character at ${i}`, { context: { index: i } });
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

function hex2(n: number): string {
  return (n < 16 ? '0' : '') + n.toString(16);
}

/** Decodes hex text (fmtp 'config'); undefined when it is not hex. */
function hexDecode(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/u.test(t)) return undefined;
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function splitBase64List(value: string | undefined): Uint8Array[] {
  if (value === undefined) return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(base64Decode).filter((b) => b.length > 0);
}

/** H.264 parameter sets from fmtp 'sprop-parameter-sets' (RFC 6184 §8.1); undefined without an SPS. */
export function h264ConfigFromFmtp(fmtp: Fmtp): H264Config | undefined {
  const nals = splitBase64List(fmtp?.['sprop-parameter-sets']);
  const sps = nals.filter((n) => (n[0] & 0x1f) === 7);
  const pps = nals.filter((n) => (n[0] & 0x1f) === 8);
  return sps.length > 0 ? { sps, pps } : undefined;
}

/** H.265 parameter sets from fmtp 'sprop-vps' / 'sprop-sps' / 'sprop-pps' (RFC 7798 §7.1); undefined without an SPS. */
export function h265ConfigFromFmtp(fmtp: Fmtp): H265Config | undefined {
  const vps = splitBase64List(fmtp?.['sprop-vps']);
  const sps = splitBase64List(fmtp?.['sprop-sps']);
  const pps = splitBase64List(fmtp?.['sprop-pps']);
  return sps.length > 0 ? { vps, sps, pps } : undefined;
}

/** The RBSP of a NAL unit: the payload after `headerBytes` with emulation-prevention octets (00 00 03) removed. */
export function nalToRbsp(nal: Uint8Array, headerBytes: number): Uint8Array {
  const out = new Uint8Array(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = headerBytes; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[o++] = b;
  }
  return out.subarray(0, o);
}

/** Reads bits and Exp-Golomb codes (H.264 §9.1) from an RBSP; reading past the end throws CodecError('BAD_SPS'). */
class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.bit >= this.bytes.length * 8) throw new CodecError('BAD_SPS', 'the SPS ends early', { context: { bits: this.bit } });
      v = v * 2 + ((this.bytes[this.bit >> 3] >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new CodecError('BAD_SPS', 'an Exp-Golomb code is longer than 32 bits', { context: { bits: this.bit } });
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }
  skip(n: number): void {
    this.u(n);
  }
}

/** Fields of an H.264 SPS needed for 'avcC' and the codec string. */
export interface H264SpsInfo {
  profileIdc: number; constraintFlags: number; levelIdc: number;
  chromaFormatIdc: number; bitDepthLuma: number; bitDepthChroma: number;
}

/** Profiles whose SPS carries chroma_format_idc and bit depths (H.264 §7.3.2.1.1), and whose 'avcC' has them too. */
const H264_HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses the start of an H.264 SPS (with its 1-octet NAL header). Throws CodecError('BAD_SPS'). */
export function parseH264Sps(sps: Uint8Array): H264SpsInfo {
  if (sps.length < 4 || (sps[0] & 0x1f) !== 7) throw new CodecError('BAD_SPS', 'not an H.264 SPS', { context: { length: sps.length } });
  const r = new BitReader(nalToRbsp(sps, 1));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (H264_HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.skip(1); // separate_colour_plane_flag
    bitDepthLuma = r.ue() + 8;
    bitDepthChroma = r.ue() + 8;
    // §7.4.2.1.1: chroma_format_idc 0..3, bit_depth_*_minus8 0..6. Out of range they would not fit 'avcC' either.
    if (chromaFormatIdc > 3 || bitDepthLuma > 14 || bitDepthChroma > 14) {
      throw new CodecError('BAD_SPS', 'H.264 SPS chroma_format_idc or bit depth out of range', { context: { chromaFormatIdc, bitDepthLuma, bitDepthChroma } });
    }
  }
  return { profileIdc, constraintFlags, levelIdc, chromaFormatIdc, bitDepthLuma, bitDepthChroma };
}

/** Fields of an H.265 SPS needed for 'hvcC' and the codec string (H.265 §7.3.2.2, profile_tier_level §7.3.3). */
export interface H265SpsInfo {
  profileSpace: number; tierFlag: number; profileIdc: number;
  /** general_profile_compatibility_flag[0..31] as a 32-bit number, flag 0 in the most significant bit. */
  compatibilityFlags: number;
  /** The 48 bits after the compatibility flags (progressive_source_flag … general_inbld_flag/reserved), 6 octets. */
  constraintFlags: Uint8Array;
  levelIdc: number;
  maxSubLayersMinus1: number; temporalIdNesting: number;
  chromaFormatIdc: number; bitDepthLuma: number; bitDepthChroma: number;
  width: number; height: number;
}

/** Parses an H.265 SPS (with its 2-octet NAL header) up to the bit depths. Throws CodecError('BAD_SPS'). */
export function parseH265Sps(sps: Uint8Array): H265SpsInfo {
  if (sps.length < 4 || ((sps[0] >> 1) & 0x3f) !== 33) throw new CodecError('BAD_SPS', 'not an H.265 SPS', { context: { length: sps.length } });
  const r = new BitReader(nalToRbsp(sps, 2));
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  // §7.4.3.2.1: 0..6 (7 would also overflow hvcC's 3-bit numTemporalLayers).
  if (maxSubLayersMinus1 > 6) throw new CodecError('BAD_SPS', 'H.265 SPS sps_max_sub_layers_minus1 is 7', { context: { maxSubLayersMinus1 } });
  const temporalIdNesting = r.u(1);
  const profileSpace = r.u(2);
  const tierFlag = r.u(1);
  const profileIdc = r.u(5);
  const compatibilityFlags = r.u(32) >>> 0;
  const constraintFlags = new Uint8Array(6);
  for (let i = 0; i < 6; i++) constraintFlags[i] = r.u(8);
  const levelIdc = r.u(8);
  const profilePresent: number[] = [];
  const levelPresent: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.u(1));
    levelPresent.push(r.u(1));
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc === 3) r.skip(1); // separate_colour_plane_flag
  const width = r.ue();
  const height = r.ue();
  if (r.u(1)) for (let i = 0; i < 4; i++) r.ue(); // conformance window offsets
  const bitDepthLuma = r.ue() + 8;
  const bitDepthChroma = r.ue() + 8;
  // §7.4.3.2.1: chroma_format_idc 0..3, bit_depth_*_minus8 0..8.
  if (chromaFormatIdc > 3 || bitDepthLuma > 16 || bitDepthChroma > 16) {
    throw new CodecError('BAD_SPS', 'H.265 SPS chroma_format_idc or bit depth out of range', { context: { chromaFormatIdc, bitDepthLuma, bitDepthChroma } });
  }
  return {
    profileSpace, tierFlag, profileIdc, compatibilityFlags, constraintFlags, levelIdc, maxSubLayersMinus1,
    temporalIdNesting, chromaFormatIdc, bitDepthLuma, bitDepthChroma, width, height,
  };
}

function concat(parts: Array<Uint8Array | number[]>): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

/** Refuses a count or length that a record field of `max` cannot hold (it would be written wrapped). */
function fits(what: string, value: number, max: number): void {
  if (value > max) throw new CodecError('TOO_LARGE', `${what} (${value}) does not fit its configuration record field (at most ${max})`, { context: { value, max } });
}

/**
 * The AVCDecoderConfigurationRecord ('avcC', ISO/IEC 14496-15 §5.3.3.1) with lengthSizeMinusOne = 3 (the frames'
 * 4-octet lengths). For the High profiles it carries chroma_format and bit depths from the SPS, and no SPS extensions.
 */
export function avcDecoderConfigurationRecord(c: H264Config): Uint8Array {
  if (c.sps.length === 0) throw new CodecError('MISSING_SPS', 'an avcC record needs at least one SPS');
  const info = parseH264Sps(c.sps[0]);
  fits('number of SPS', c.sps.length, 31);
  fits('number of PPS', c.pps.length, 255);
  for (const n of [...c.sps, ...c.pps]) fits('parameter set length', n.length, 0xffff);
  const parts: Array<Uint8Array | number[]> = [
    [1, info.profileIdc, info.constraintFlags, info.levelIdc, 0xfc | 3, 0xe0 | c.sps.length],
  ];
  for (const s of c.sps) parts.push(u16(s.length), s);
  parts.push([c.pps.length]);
  for (const p of c.pps) parts.push(u16(p.length), p);
  if (H264_HIGH_PROFILES.has(info.profileIdc)) {
    parts.push([0xfc | info.chromaFormatIdc, 0xf8 | (info.bitDepthLuma - 8), 0xf8 | (info.bitDepthChroma - 8), 0]);
  }
  return concat(parts);
}

/**
 * The HEVCDecoderConfigurationRecord ('hvcC', ISO/IEC 14496-15 §8.3.3.1) with lengthSizeMinusOne = 3, arrays VPS,
 * SPS, PPS (array_completeness 1), profile/tier/level, chroma format and bit depths from the first SPS;
 * min_spatial_segmentation_idc, parallelismType, avgFrameRate and constantFrameRate 0 (unknown).
 */
export function hevcDecoderConfigurationRecord(c: H265Config): Uint8Array {
  if (c.sps.length === 0) throw new CodecError('MISSING_SPS', 'an hvcC record needs at least one SPS');
  const s = parseH265Sps(c.sps[0]);
  const f = s.compatibilityFlags;
  const arrays = [{ type: 32, nals: c.vps }, { type: 33, nals: c.sps }, { type: 34, nals: c.pps }].filter((a) => a.nals.length > 0);
  fits('bit depth', Math.max(s.bitDepthLuma, s.bitDepthChroma), 15); // bitDepth*Minus8 is 3 bits: 16-bit video has no hvcC
  for (const a of arrays) {
    fits('number of parameter sets of one type', a.nals.length, 0xffff);
    for (const n of a.nals) fits('parameter set length', n.length, 0xffff);
  }
  const parts: Array<Uint8Array | number[]> = [[
    1,
    (s.profileSpace << 6) | (s.tierFlag << 5) | s.profileIdc,
    (f >>> 24) & 0xff, (f >>> 16) & 0xff, (f >>> 8) & 0xff, f & 0xff,
    ...s.constraintFlags,
    s.levelIdc,
    0xf0, 0x00, //                      reserved 1111, min_spatial_segmentation_idc 0
    0xfc, //                            reserved 111111, parallelismType 0
    0xfc | s.chromaFormatIdc,
    0xf8 | (s.bitDepthLuma - 8),
    0xf8 | (s.bitDepthChroma - 8),
    0, 0, //                            avgFrameRate
    ((s.maxSubLayersMinus1 + 1) << 3) | (s.temporalIdNesting << 2) | 3, // constantFrameRate 0, numTemporalLayers, nested, lengthSizeMinusOne
    arrays.length,
  ]];
  for (const a of arrays) {
    parts.push([0x80 | a.type, ...u16(a.nals.length)]);
    for (const n of a.nals) parts.push(u16(n.length), n);
  }
  return concat(parts);
}

/** The NAL units of a frame in the 4-octet length-prefixed format; throws CodecError('BAD_FRAME') if the lengths do not tile it. */
export function nalUnitsOf(frame: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < frame.length) {
    if (frame.length - i < 4) throw new CodecError('BAD_FRAME', 'a NAL length prefix is cut short', { context: { offset: i, length: frame.length } });
    const n = ((frame[i] << 24) | (frame[i + 1] << 16) | (frame[i + 2] << 8) | frame[i + 3]) >>> 0;
    i += 4;
    if (n > frame.length - i) throw new CodecError('BAD_FRAME', 'a NAL unit runs past the end of the frame', { context: { offset: i, nalLength: n, length: frame.length } });
    out.push(frame.subarray(i, i + n));
    i += n;
  }
  return out;
}

/**
 * The in-band parameter sets of a length-prefixed frame (views into it; copy what you keep), or undefined when it
 * has no SPS. Each set appears once: an encoder's own SPS/PPS and a payloader's repeated ones (config-interval) can
 * both be in one access unit, and a configuration record must not list the same set twice.
 */
export function parameterSetsIn(frame: Uint8Array, codec: 'H264'): H264Config | undefined;
export function parameterSetsIn(frame: Uint8Array, codec: 'H265'): H265Config | undefined;
export function parameterSetsIn(frame: Uint8Array, codec: 'H264' | 'H265'): H264Config | H265Config | undefined;
export function parameterSetsIn(frame: Uint8Array, codec: 'H264' | 'H265'): H264Config | H265Config | undefined {
  const nals = nalUnitsOf(frame).filter((n) => n.length > 0);
  const ofType = (type: (n: Uint8Array) => number, t: number) => distinct(nals.filter((n) => type(n) === t));
  if (codec === 'H264') {
    const type = (n: Uint8Array) => n[0]! & 0x1f;
    const sps = ofType(type, 7);
    return sps.length > 0 ? { sps, pps: ofType(type, 8) } : undefined;
  }
  const type = (n: Uint8Array) => (n[0]! >> 1) & 0x3f;
  const sps = ofType(type, 33);
  return sps.length > 0 ? { vps: ofType(type, 32), sps, pps: ofType(type, 34) } : undefined;
}

/** `list` without repeated byte strings, in first-seen order. */
function distinct(list: Uint8Array[]): Uint8Array[] {
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  return list.filter((a, i) => list.findIndex((b) => same(a, b)) === i);
}

function reverseBits32(v: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) r = (r * 2) + ((v >>> i) & 1);
  return r;
}

/**
 * The codec string of RFC 6381 §3.3 / the WebCodecs registrations: 'avc1.PPCCLL' for H.264; for H.265
 * 'hvc1.[A-C]profile.compat(reversed, hex).{L|H}level[.constraint octets, trailing zeros dropped]' (ISO/IEC 14496-15 Annex E).
 */
export function codecString(codec: 'H264' | 'H265', c: H264Config | H265Config): string {
  if (c.sps.length === 0) throw new CodecError('MISSING_SPS', 'a codec string needs an SPS');
  if (codec === 'H264') {
    const s = parseH264Sps(c.sps[0]);
    return `avc1.${hex2(s.profileIdc)}${hex2(s.constraintFlags)}${hex2(s.levelIdc)}`;
  }
  const s = parseH265Sps(c.sps[0]);
  const space = ['', 'A', 'B', 'C'][s.profileSpace];
  let out = `hvc1.${space}${s.profileIdc}.${reverseBits32(s.compatibilityFlags).toString(16).toUpperCase()}.${s.tierFlag ? 'H' : 'L'}${s.levelIdc}`;
  let last = s.constraintFlags.length;
  while (last > 0 && s.constraintFlags[last - 1] === 0) last--;
  for (let i = 0; i < last; i++) out += `.${s.constraintFlags[i].toString(16).toUpperCase()}`;
  return out;
}

/** The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) from fmtp 'config' (hex, RFC 3640 §4.1); undefined if absent or not hex. */
export function aacAudioSpecificConfig(fmtp: Fmtp): Uint8Array | undefined {
  const config = fmtp?.['config'];
  return config === undefined ? undefined : hexDecode(config);
}

/** An RFC 4175 sampling at one depth: its pgroup and the GStreamer format of the packed frame. */
export interface RawSampling { gstFormat: string; pgroupBytes: number; pgroupPixels: number }

/** Samplings whose pgroups pack line by line into a GStreamer format (RFC 4175 §4.3, Table 1). */
const RAW_SAMPLINGS: Record<string, RawSampling> = {
  'YCbCr-4:2:2/8': { gstFormat: 'UYVY', pgroupBytes: 4, pgroupPixels: 2 },
  'YCbCr-4:2:2/10': { gstFormat: 'UYVP', pgroupBytes: 5, pgroupPixels: 2 },
  'RGB/8': { gstFormat: 'RGB', pgroupBytes: 3, pgroupPixels: 1 },
  'RGBA/8': { gstFormat: 'RGBA', pgroupBytes: 4, pgroupPixels: 1 },
  'BGR/8': { gstFormat: 'BGR', pgroupBytes: 3, pgroupPixels: 1 },
  'BGRA/8': { gstFormat: 'BGRA', pgroupBytes: 4, pgroupPixels: 1 },
};

/**
 * The frame geometry of an RFC 4175 stream from its fmtp (sampling, width, height, depth), or undefined when a field
 * is missing or the sampling is not one the depayloader packs (YCbCr-4:2:0, 4:1:1 and 4:4:4 are not; nor interlace).
 */
export function rawVideoFormat(fmtp: Fmtp): ({ width: number; height: number; gstFormat: string; frameBytes: number } & RawSampling) | undefined {
  if (fmtp === undefined || fmtp['interlace'] !== undefined) return undefined;
  const width = Number(fmtp['width']);
  const height = Number(fmtp['height']);
  const depth = fmtp['depth'] ?? '8';
  const sampling = RAW_SAMPLINGS[`${fmtp['sampling']}/${depth.trim()}`];
  if (sampling === undefined || !Number.isInteger(width) || !Number.isInteger(height)) return undefined;
  if (width <= 0 || height <= 0 || width > 32767 || height > 32767 || width % sampling.pgroupPixels !== 0) return undefined;
  const frameBytes = (width / sampling.pgroupPixels) * sampling.pgroupBytes * height;
  return { width, height, frameBytes, ...sampling };
}

/** A copy of a length-prefixed frame with each 4-octet length replaced by the start code 00 00 00 01 (Annex B). */
export function toAnnexB(frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  let i = 0;
  for (const nal of nalUnitsOf(frame)) {
    out[i] = 0; out[i + 1] = 0; out[i + 2] = 0; out[i + 3] = 1;
    i += 4 + nal.length;
  }
  return out;
}
