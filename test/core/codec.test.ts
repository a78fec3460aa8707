// Codec configuration (src/core/codec.ts) against records GStreamer wrote around real x264/x265 parameter sets
// (test/fixtures/codec-config.ts): our avcC/hvcC are read back field by field with a parser written here from
// ISO/IEC 14496-15 and compared with GStreamer's, and the codec strings with RFC 6381 / the WebCodecs registrations.
import { describe, expect, it } from 'vitest';
import {
  aacAudioSpecificConfig, avcDecoderConfigurationRecord, base64Decode, codecString, h264ConfigFromFmtp,
  h265ConfigFromFmtp, hevcDecoderConfigurationRecord, nalToRbsp, parameterSetsIn, parseH265Sps, rawVideoFormat,
  toAnnexB, type H264Config, type H265Config,
} from '../../src/core/index.js';
import { CONFIG_FIXTURES, fromHex } from '../fixtures/codec-config.js';

/** A cursor over a record. */
class Cursor {
  i = 0;
  constructor(readonly b: Uint8Array) {}
  u8(): number { return this.b[this.i++]; }
  u16(): number { return (this.u8() << 8) | this.u8(); }
  bytes(n: number): Uint8Array { const v = this.b.subarray(this.i, this.i + n); this.i += n; return v; }
  get left(): number { return this.b.length - this.i; }
}

/** ISO/IEC 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord. */
function readAvcC(b: Uint8Array) {
  const c = new Cursor(b);
  const r = {
    version: c.u8(), profile: c.u8(), compat: c.u8(), level: c.u8(),
    lengthSizeMinusOne: c.u8() & 3, sps: [] as Uint8Array[], pps: [] as Uint8Array[],
    ext: undefined as undefined | { chroma: number; lumaMinus8: number; chromaMinus8: number; spsExt: number; reserved: number[] },
  };
  const nSps = c.u8() & 0x1f;
  for (let i = 0; i < nSps; i++) r.sps.push(c.bytes(c.u16()));
  const nPps = c.u8();
  for (let i = 0; i < nPps; i++) r.pps.push(c.bytes(c.u16()));
  if (c.left >= 4) {
    const a = c.u8(), l = c.u8(), ch = c.u8(), n = c.u8();
    r.ext = { chroma: a & 3, lumaMinus8: l & 7, chromaMinus8: ch & 7, spsExt: n, reserved: [a & 0xfc, l & 0xf8, ch & 0xf8] };
  }
  expect(c.left).toBe(0);
  return r;
}

/** ISO/IEC 14496-15 §8.3.3.1 HEVCDecoderConfigurationRecord. */
function readHvcC(b: Uint8Array) {
  const c = new Cursor(b);
  const version = c.u8();
  const p = c.u8();
  const compat = ((c.u16() << 16) | c.u16()) >>> 0;
  const constraint = Array.from(c.bytes(6));
  const level = c.u8();
  const seg = c.u16();
  const par = c.u8();
  const chroma = c.u8();
  const luma = c.u8();
  const chromaDepth = c.u8();
  const avgFrameRate = c.u16();
  const t = c.u8();
  const arrays: Array<{ completeness: number; type: number; nals: Uint8Array[] }> = [];
  const n = c.u8();
  for (let i = 0; i < n; i++) {
    const h = c.u8();
    const count = c.u16();
    const nals: Uint8Array[] = [];
    for (let k = 0; k < count; k++) nals.push(c.bytes(c.u16()));
    arrays.push({ completeness: h >> 7, type: h & 0x3f, nals });
  }
  expect(c.left).toBe(0);
  return {
    version, profileSpace: p >> 6, tier: (p >> 5) & 1, profile: p & 0x1f, compat, constraint, level,
    reservedSeg: seg >> 12, minSpatialSegmentation: seg & 0xfff, reservedPar: par >> 2, parallelism: par & 3,
    reservedChroma: chroma >> 2, chroma: chroma & 3, lumaMinus8: luma & 7, chromaMinus8: chromaDepth & 7,
    reservedDepth: [luma >> 3, chromaDepth >> 3], avgFrameRate, constantFrameRate: t >> 6,
    numTemporalLayers: (t >> 3) & 7, temporalIdNested: (t >> 2) & 1, lengthSizeMinusOne: t & 3, arrays,
  };
}

const b64 = (b: Uint8Array): string => {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
};
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('avcC (ISO/IEC 14496-15 §5.3.3.1) against GStreamer h264parse', () => {
  for (const f of CONFIG_FIXTURES.filter((x) => x.codec === 'H264')) {
    it(f.name, () => {
      const gst = readAvcC(fromHex(f.hex));
      const config: H264Config = { sps: gst.sps, pps: gst.pps };
      const ours = readAvcC(avcDecoderConfigurationRecord(config));
      expect(ours.version).toBe(1);
      expect(ours.profile).toBe(gst.profile);
      expect(ours.compat).toBe(gst.compat);
      expect(ours.level).toBe(gst.level);
      expect(ours.lengthSizeMinusOne).toBe(3);
      expect(gst.lengthSizeMinusOne).toBe(3);
      expect(ours.sps.map(hex)).toEqual(gst.sps.map(hex));
      expect(ours.pps.map(hex)).toEqual(gst.pps.map(hex));
      // The profile octets are the SPS's own.
      expect([ours.profile, ours.compat, ours.level]).toEqual([gst.sps[0][1], gst.sps[0][2], gst.sps[0][3]]);
      if (gst.profile === 66) {
        expect(ours.ext).toBeUndefined();
      } else {
        // GStreamer leaves the High-profile fields out; ISO/IEC 14496-15 wants them, parsed from the SPS.
        expect(ours.ext).toEqual({ chroma: f.chromaFormatIdc, lumaMinus8: f.bitDepth - 8, chromaMinus8: f.bitDepth - 8, spsExt: 0, reserved: [0xfc, 0xf8, 0xf8] });
      }
      expect(codecString('H264', config)).toBe(f.codecString);
    });
  }
});

describe('hvcC (ISO/IEC 14496-15 §8.3.3.1) against GStreamer h265parse', () => {
  for (const f of CONFIG_FIXTURES.filter((x) => x.codec === 'H265')) {
    it(f.name, () => {
      const gst = readHvcC(fromHex(f.hex));
      const nalsOf = (type: number) => gst.arrays.find((a) => a.type === type)?.nals ?? [];
      const config: H265Config = { vps: nalsOf(32), sps: nalsOf(33), pps: nalsOf(34) };
      expect(config.sps.length).toBe(1);
      const ours = readHvcC(hevcDecoderConfigurationRecord(config));
      for (const field of ['version', 'profileSpace', 'tier', 'profile', 'compat', 'constraint', 'level', 'reservedSeg',
        'reservedPar', 'parallelism', 'reservedChroma', 'chroma', 'lumaMinus8', 'chromaMinus8', 'reservedDepth',
        'avgFrameRate', 'constantFrameRate', 'numTemporalLayers', 'temporalIdNested', 'lengthSizeMinusOne'] as const) {
        expect(ours[field], field).toEqual(gst[field]);
      }
      expect(ours.minSpatialSegmentation).toBe(0);
      expect(ours.chroma).toBe(f.chromaFormatIdc);
      expect(ours.lumaMinus8).toBe(f.bitDepth - 8);
      expect(ours.arrays.map((a) => [a.type, a.nals.map(hex)])).toEqual(gst.arrays.map((a) => [a.type, a.nals.map(hex)]));
      // hvc1: every parameter set is in the record, so array_completeness is 1 (§8.4.1; GStreamer writes 0).
      expect(ours.arrays.map((a) => a.completeness)).toEqual([1, 1, 1]);
      expect(codecString('H265', config)).toBe(f.codecString);
      const sps = parseH265Sps(config.sps[0]);
      expect([sps.width, sps.height]).toEqual([320, 240]);
    });
  }
});

describe('fmtp and in-band parameter sets', () => {
  const h264 = CONFIG_FIXTURES[0];
  const gst = readAvcC(fromHex(h264.hex));

  it('sprop-parameter-sets (RFC 6184 §8.1) gives the SPS and PPS', () => {
    const c = h264ConfigFromFmtp({ 'sprop-parameter-sets': `${b64(gst.sps[0])},${b64(gst.pps[0])}`, 'packetization-mode': '1' })!;
    expect(c.sps.map(hex)).toEqual([hex(gst.sps[0])]);
    expect(c.pps.map(hex)).toEqual([hex(gst.pps[0])]);
    expect(h264ConfigFromFmtp({ 'packetization-mode': '1' })).toBeUndefined();
    expect(h264ConfigFromFmtp(undefined)).toBeUndefined();
  });

  it('sprop-vps / sprop-sps / sprop-pps (RFC 7798 §7.1)', () => {
    const g = readHvcC(fromHex(CONFIG_FIXTURES[3].hex));
    const [vps, sps, pps] = [32, 33, 34].map((t) => g.arrays.find((a) => a.type === t)!.nals[0]);
    const c = h265ConfigFromFmtp({ 'sprop-vps': b64(vps), 'sprop-sps': b64(sps), 'sprop-pps': b64(pps) })!;
    expect([c.vps, c.sps, c.pps].map((l) => l.map(hex))).toEqual([[hex(vps)], [hex(sps)], [hex(pps)]]);
    expect(h265ConfigFromFmtp({ 'sprop-vps': b64(vps) })).toBeUndefined();
  });

  it('base64: padding optional, url alphabet accepted, garbage refused with a typed error', () => {
    expect(hex(base64Decode('Z0IAH5WoFAFuQA=='))).toBe('6742001f95a814016e40');
    expect(hex(base64Decode('Z0IAH5WoFAFuQA'))).toBe('6742001f95a814016e40');
    expect(hex(base64Decode('-_8'))).toBe('fbff');
    expect(() => base64Decode('Z0I*')).toThrowError(expect.objectContaining({ code: 'BAD_BASE64' }));
    expect(() => base64Decode('Z')).toThrowError(expect.objectContaining({ code: 'BAD_BASE64' }));
  });

  it('parameterSetsIn finds SPS/PPS (and VPS) in a length-prefixed frame', () => {
    const idr = Uint8Array.of(0x65, 0x88, 0x84);
    const frame = Uint8Array.from([0, 0, 0, gst.sps[0].length, ...gst.sps[0], 0, 0, 0, gst.pps[0].length, ...gst.pps[0], 0, 0, 0, 3, ...idr]);
    const c = parameterSetsIn(frame, 'H264')!;
    expect(c.sps.map(hex)).toEqual([hex(gst.sps[0])]);
    expect(c.pps.map(hex)).toEqual([hex(gst.pps[0])]);
    expect(parameterSetsIn(Uint8Array.from([0, 0, 0, 3, ...idr]), 'H264')).toBeUndefined();
    expect(() => parameterSetsIn(Uint8Array.of(0, 0, 0, 9, 1), 'H264')).toThrowError(expect.objectContaining({ code: 'BAD_FRAME' }));
    const annexB = toAnnexB(frame);
    expect(annexB.length).toBe(frame.length);
    expect(hex(annexB.subarray(0, 4))).toBe('00000001');
    expect(hex(annexB.subarray(4 + gst.sps[0].length, 8 + gst.sps[0].length))).toBe('00000001');
    expect(hex(frame.subarray(0, 4))).toBe(`000000${gst.sps[0].length.toString(16)}`); // the input is untouched
  });

  it('parameterSetsIn lists a repeated SPS/PPS once (x264 and rtph264pay config-interval both put them in an IDR unit)', () => {
    const nal = (b: Uint8Array) => [0, 0, 0, b.length, ...b];
    const frame = Uint8Array.from([...nal(gst.sps[0]), ...nal(gst.pps[0]), ...nal(gst.sps[0]), ...nal(gst.pps[0]), ...nal(Uint8Array.of(0x65, 0x88))]);
    const c = parameterSetsIn(frame, 'H264')!;
    expect(c.sps).toHaveLength(1);
    expect(c.pps).toHaveLength(1);
    expect(hex(avcDecoderConfigurationRecord(c))).toBe(hex(avcDecoderConfigurationRecord({ sps: [gst.sps[0]], pps: [gst.pps[0]] })));
  });

  it('emulation prevention: 00 00 03 loses the 03, other octets stay', () => {
    expect(hex(nalToRbsp(Uint8Array.of(0x67, 0, 0, 3, 1, 0, 0, 3, 0, 3), 1))).toBe('0000010000' + '0003');
  });

  it('a truncated SPS is a typed error', () => {
    expect(() => codecString('H265', { vps: [], sps: [Uint8Array.of(0x42, 0x01, 0x01)], pps: [] })).toThrowError(expect.objectContaining({ code: 'BAD_SPS' }));
    expect(() => avcDecoderConfigurationRecord({ sps: [gst.sps[0].subarray(0, 4)], pps: [] })).toThrowError(expect.objectContaining({ code: 'BAD_SPS' }));
    expect(() => avcDecoderConfigurationRecord({ sps: [], pps: [] })).toThrowError(expect.objectContaining({ code: 'MISSING_SPS' }));
  });

  it('regression (fuzz): an H.264 SPS with chroma_format_idc 4 is refused, not written into avcC as 0', () => {
    // High profile, level 3.1, sps id 0, chroma_format_idc 4 (ue 00101), bit depths 8: 0xfc | 4 wrote chroma 0 before.
    const sps = Uint8Array.of(0x67, 0x64, 0x00, 0x1f, 0x97, 0x80);
    expect(() => avcDecoderConfigurationRecord({ sps: [sps], pps: [] })).toThrowError(expect.objectContaining({ code: 'BAD_SPS' }));
    expect(() => codecString('H264', { sps: [sps], pps: [] })).toThrowError(expect.objectContaining({ code: 'BAD_SPS' }));
  });

  it('regression (fuzz): avcC with 32 SPS is refused (its 5-bit count wrapped to 0), and so is a set longer than 65535', () => {
    const sps = Array.from({ length: 32 }, () => gst.sps[0]);
    expect(() => avcDecoderConfigurationRecord({ sps, pps: [gst.pps[0]] })).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(readAvcC(avcDecoderConfigurationRecord({ sps: sps.slice(0, 31), pps: [gst.pps[0]] })).sps).toHaveLength(31);
    const long = new Uint8Array(65536);
    long[0] = 0x68;
    expect(() => avcDecoderConfigurationRecord({ sps: [gst.sps[0]], pps: [long] })).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('regression (fuzz): a 16-bit H.265 SPS (valid) is refused by hvcC, whose bitDepthLumaMinus8 has 3 bits, not written as 8-bit', () => {
    // Main, level 93, 4:2:0, 64x64, bit_depth_luma_minus8 = bit_depth_chroma_minus8 = 8.
    const sps = fromHex('4201010160000003000003000003000003005da0208104244c');
    expect(parseH265Sps(sps)).toMatchObject({ bitDepthLuma: 16, bitDepthChroma: 16, width: 64, height: 64 });
    expect(() => hevcDecoderConfigurationRecord({ vps: [], sps: [sps], pps: [] })).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('AAC config hex (RFC 3640 §4.1)', () => {
    expect(hex(aacAudioSpecificConfig({ config: '1190' })!)).toBe('1190');
    expect(aacAudioSpecificConfig({ config: '11z0' })).toBeUndefined();
    expect(aacAudioSpecificConfig({})).toBeUndefined();
  });

  it('raw video geometry (RFC 4175 samplings)', () => {
    expect(rawVideoFormat({ sampling: 'YCbCr-4:2:2', width: '320', height: '240', depth: '8' })).toMatchObject({ gstFormat: 'UYVY', frameBytes: 320 * 240 * 2 });
    expect(rawVideoFormat({ sampling: 'RGB', width: '4', height: '2', depth: '8' })).toMatchObject({ gstFormat: 'RGB', frameBytes: 24 });
    expect(rawVideoFormat({ sampling: 'RGBA', width: '4', height: '2', depth: '8' })).toMatchObject({ gstFormat: 'RGBA', frameBytes: 32 });
    expect(rawVideoFormat({ sampling: 'YCbCr-4:2:2', width: '6', height: '2', depth: '10' })).toMatchObject({ gstFormat: 'UYVP', frameBytes: 30 });
    expect(rawVideoFormat({ sampling: 'YCbCr-4:2:0', width: '8', height: '2', depth: '8' })).toBeUndefined();
    expect(rawVideoFormat({ sampling: 'YCbCr-4:2:2', width: '7', height: '2', depth: '8' })).toBeUndefined();
    expect(rawVideoFormat({ sampling: 'YCbCr-4:2:2', width: '8', height: '2', depth: '8', interlace: '' })).toBeUndefined();
  });
});
