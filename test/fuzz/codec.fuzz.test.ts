// Fuzzing the codec configuration helpers (src/core/codec.ts), which read parameter sets that come from the network
// (SDP fmtp and in-band NAL units): base64Decode, parseH264Sps / parseH265Sps, avcDecoderConfigurationRecord,
// hevcDecoderConfigurationRecord, codecString, parameterSetsIn, nalUnitsOf, toAnnexB, rawVideoFormat,
// aacAudioSpecificConfig. SPSs are written bit by bit from their fields (Exp-Golomb codes, emulation prevention), in
// and out of their ranges, then mutated. Properties: nothing but CodecError escapes; a generated SPS parses back to its
// fields; an avcC / hvcC record, read back as ISO/IEC 14496-15 defines it, gives exactly the parameter sets and the
// values it was built from (a value that does not fit its field must be refused, never written truncated); base64
// and hex round trip; toAnnexB keeps every octet but the length prefixes.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  aacAudioSpecificConfig, avcDecoderConfigurationRecord, base64Decode, CodecError, codecString,
  hevcDecoderConfigurationRecord, nalUnitsOf, parameterSetsIn, parseH264Sps, parseH265Sps, rawVideoFormat, toAnnexB,
} from '../../src/core/codec.js';
import { fuzz, FUZZ_TEST_TIMEOUT_MS, mutateBytes, mutationsArb, summary, typed, validOrMutatedText } from './fuzz.js';

/** Writes bits and Exp-Golomb codes MSB first. */
class BitWriter {
  private readonly bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }
  ue(v: number): this {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    return this.u(len, 0).u(len + 1, x);
  }
  /** The RBSP: the bits, a stop bit and zero padding. */
  rbsp(): number[] {
    const b = [...this.bits, 1];
    while (b.length % 8) b.push(0);
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 8) out.push(b.slice(i, i + 8).reduce((a, x) => a * 2 + x, 0));
    return out;
  }
}

/** A NAL unit from its header and RBSP, with emulation-prevention octets inserted (00 00 0x → 00 00 03 0x, x ≤ 3). */
function nal(header: number[], rbsp: number[]): Uint8Array {
  const out = [...header];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

const HIGH = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

interface H264Sps { profileIdc: number; constraintFlags: number; levelIdc: number; id: number; chroma: number; depthL: number; depthC: number; tail: Uint8Array }
const h264SpsArb: fc.Arbitrary<H264Sps> = fc.record({
  profileIdc: fc.oneof(fc.constantFrom(66, 77, 88, 100, 110, 122, 244), fc.integer({ min: 0, max: 255 })),
  constraintFlags: fc.integer({ min: 0, max: 255 }),
  levelIdc: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 31 }),
  // In range most of the time; out of range (chroma_format_idc > 3, bit_depth_minus8 > 6) sometimes.
  chroma: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 300 }) }),
  depthL: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 100 }) }),
  depthC: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 100 }) }),
  tail: fc.uint8Array({ maxLength: 20 }),
});
function h264SpsBytes(s: H264Sps): Uint8Array {
  const w = new BitWriter().u(8, s.profileIdc).u(8, s.constraintFlags).u(8, s.levelIdc).ue(s.id);
  if (HIGH.includes(s.profileIdc)) {
    w.ue(s.chroma);
    if (s.chroma === 3) w.u(1, 0);
    w.ue(s.depthL).ue(s.depthC);
  }
  return nal([0x67], [...w.rbsp(), ...s.tail]);
}

interface H265Sps {
  maxSub: number; nesting: number; space: number; tier: number; profileIdc: number; compat: number; constraint: number[]; levelIdc: number;
  subProfile: boolean[]; subLevel: boolean[]; chroma: number; width: number; height: number; window: number[] | null; depthL: number; depthC: number; tail: Uint8Array;
}
const h265SpsArb: fc.Arbitrary<H265Sps> = fc.record({
  maxSub: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.constant(7) }),
  nesting: fc.integer({ min: 0, max: 1 }),
  space: fc.integer({ min: 0, max: 3 }),
  tier: fc.integer({ min: 0, max: 1 }),
  profileIdc: fc.integer({ min: 0, max: 31 }),
  compat: fc.integer({ min: 0, max: 0xffffffff }),
  constraint: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }),
  levelIdc: fc.integer({ min: 0, max: 255 }),
  subProfile: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  subLevel: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  chroma: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 300 }) }),
  width: fc.integer({ min: 0, max: 8192 }),
  height: fc.integer({ min: 0, max: 8192 }),
  window: fc.option(fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 4, maxLength: 4 })),
  depthL: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.integer({ min: 8, max: 100 }) }),
  depthC: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.integer({ min: 8, max: 100 }) }),
  tail: fc.uint8Array({ maxLength: 20 }),
});
function h265SpsBytes(s: H265Sps): Uint8Array {
  const w = new BitWriter().u(4, 0).u(3, s.maxSub).u(1, s.nesting).u(2, s.space).u(1, s.tier).u(5, s.profileIdc).u(32, s.compat);
  for (const c of s.constraint) w.u(8, c);
  w.u(8, s.levelIdc);
  for (let i = 0; i < s.maxSub; i++) w.u(1, s.subProfile[i] ? 1 : 0).u(1, s.subLevel[i] ? 1 : 0);
  if (s.maxSub > 0) for (let i = s.maxSub; i < 8; i++) w.u(2, 0);
  for (let i = 0; i < s.maxSub; i++) {
    if (s.subProfile[i]) w.u(32, 0).u(32, 0).u(24, 0);
    if (s.subLevel[i]) w.u(8, 0);
  }
  w.ue(0).ue(s.chroma);
  if (s.chroma === 3) w.u(1, 0);
  w.ue(s.width).ue(s.height).u(1, s.window ? 1 : 0);
  if (s.window) for (const x of s.window) w.ue(x);
  w.ue(s.depthL).ue(s.depthC);
  return nal([0x42, 0x01], [...w.rbsp(), ...s.tail]);
}

/** Reads an avcC record back (ISO/IEC 14496-15 §5.3.3.1). */
function readAvcC(r: Uint8Array) {
  let i = 6;
  const list = (count: number) => Array.from({ length: count }, () => {
    const n = (r[i] << 8) | r[i + 1];
    const out: ArrayLike<number> = r.subarray(i + 2, i + 2 + n);
    i += 2 + n;
    return out;
  });
  const sps = list(r[5] & 0x1f);
  const pps = list(r[i++]);
  const ext = HIGH.includes(r[1]) ? { chroma: r[i] & 3, depthL: (r[i + 1] & 7) + 8, depthC: (r[i + 2] & 7) + 8, numExt: r[i + 3] } : undefined;
  if (ext) i += 4;
  return { version: r[0], profile: r[1], compat: r[2], level: r[3], lengthSize: (r[4] & 3) + 1, sps, pps, ext, rest: r.length - i };
}

/** Reads an hvcC record back (ISO/IEC 14496-15 §8.3.3.1). */
function readHvcC(r: Uint8Array) {
  const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
  let i = 23;
  const arrays: Array<{ type: number; nals: ArrayLike<number>[] }> = [];
  for (let a = 0; a < r[22]; a++) {
    const type = r[i] & 0x3f;
    const count = dv.getUint16(i + 1);
    i += 3;
    const nals: ArrayLike<number>[] = [];
    for (let k = 0; k < count; k++) {
      const n = dv.getUint16(i);
      nals.push(r.subarray(i + 2, i + 2 + n));
      i += 2 + n;
    }
    arrays.push({ type, nals });
  }
  return {
    version: r[0], space: r[1] >> 6, tier: (r[1] >> 5) & 1, profileIdc: r[1] & 31, compat: dv.getUint32(2),
    constraint: Array.from(r.subarray(6, 12)), level: r[12], chroma: r[16] & 3, depthL: (r[17] & 7) + 8, depthC: (r[18] & 7) + 8,
    constantFrameRate: r[21] >> 6, numTemporalLayers: (r[21] >> 3) & 7, nested: (r[21] >> 2) & 1, lengthSize: (r[21] & 3) + 1,
    arrays, rest: r.length - i,
  };
}

const psListArb = (first: fc.Arbitrary<Uint8Array>, type: number) => fc.tuple(first, fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.uint8Array({ minLength: 1, maxLength: 4 }), { minLength: 30, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65530, max: 65540 }).map((n) => [new Uint8Array(n)]) },
)).map(([f, more]) => [f, ...more.map((m) => { const c = m.slice(); c[0] = type; return c; })]);

describe('fuzz: codec configuration', () => {
  afterAll(() => console.log(summary()));

  it('base64Decode: encodings of any bytes (standard or url alphabet, padding or not, whitespace) round trip; garbage gives CodecError', () => {
    fuzz('codec base64', 0x5eed_0a01, 2000, fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), (bytes, url, pad, spaces) => {
      let text = Buffer.from(bytes).toString(url ? 'base64url' : 'base64');
      if (!pad) text = text.replace(/=+$/, '');
      for (const s of spaces) { const at = s % (text.length + 1); text = text.slice(0, at) + ' ' + text.slice(at); }
      expect(Array.from(base64Decode(text))).toEqual(Array.from(bytes));
    }));
    fuzz('codec base64 garbage', 0x5eed_0a02, 2000, fc.property(validOrMutatedText(fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64'))), (text) => {
      typed(() => base64Decode(text), CodecError);
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('H.264: a generated SPS parses back; the avcC record reads back to exactly its parameter sets and values, or CodecError', () => {
    fuzz('codec avcC', 0x5eed_0a03, 1500, fc.property(h264SpsArb, fc.option(mutationsArb(2), { freq: 4 }), fc.nat(), (s, edits, ppsSeed) => {
      const sps = edits === null ? h264SpsBytes(s) : mutateBytes(h264SpsBytes(s), edits);
      const parsed = typed(() => parseH264Sps(sps), CodecError);
      const inRange = s.chroma <= 3 && s.depthL <= 6 && s.depthC <= 6;
      if (edits === null && (inRange || !HIGH.includes(s.profileIdc))) {
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expect(parsed.value).toMatchObject({ profileIdc: s.profileIdc, constraintFlags: s.constraintFlags, levelIdc: s.levelIdc });
          if (HIGH.includes(s.profileIdc)) expect(parsed.value).toMatchObject({ chromaFormatIdc: s.chroma, bitDepthLuma: s.depthL + 8, bitDepthChroma: s.depthC + 8 });
          expect(codecString('H264', { sps: [sps], pps: [] })).toMatch(/^avc1\.[0-9a-f]{6}$/);
        }
      }
      const pps = Array.from({ length: ppsSeed % 3 }, (_, i) => Uint8Array.of(0x68, i, 0x80));
      const rec = typed(() => avcDecoderConfigurationRecord({ sps: [sps], pps }), CodecError);
      if (!rec.ok) return;
      const back = readAvcC(rec.value);
      expect(back).toMatchObject({ version: 1, profile: sps[1], compat: sps[2], level: sps[3], lengthSize: 4, rest: 0 });
      expect(back.sps.map((x) => Array.from(x))).toEqual([Array.from(sps)]);
      expect(back.pps.map((x) => Array.from(x))).toEqual(pps.map((p) => Array.from(p)));
      const info = parseH264Sps(sps);
      if (back.ext) expect(back.ext).toEqual({ chroma: info.chromaFormatIdc, depthL: info.bitDepthLuma, depthC: info.bitDepthChroma, numExt: 0 });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('avcC / hvcC with many or long parameter sets: read back exactly, or CodecError (never a wrapped count or length)', () => {
    fuzz('codec config lists', 0x5eed_0a04, 300, fc.property(
      psListArb(h264SpsArb.filter((s) => s.chroma <= 3 && s.depthL <= 6 && s.depthC <= 6).map(h264SpsBytes), 0x67),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((p) => { const c = p.slice(); c[0] = 0x68; return c; }), { maxLength: 300 }),
      psListArb(h265SpsArb.filter((s) => s.maxSub <= 6 && s.chroma <= 3 && s.depthL <= 7 && s.depthC <= 7).map(h265SpsBytes), 0x42),
      (sps, pps, hsps) => {
        const avc = typed(() => avcDecoderConfigurationRecord({ sps, pps }), CodecError);
        // (Compared as hex strings: large arrays through toEqual would eat the time limit.)
        const hex = (xs: ArrayLike<number>[]) => xs.map((x) => Buffer.from(x as Uint8Array).toString('hex'));
        if (avc.ok) {
          const back = readAvcC(avc.value);
          expect(back.sps.length).toBe(sps.length);
          expect(hex(back.sps)).toEqual(hex(sps));
          expect(hex(back.pps)).toEqual(hex(pps));
          expect(back.rest).toBe(0);
        }
        const hevc = typed(() => hevcDecoderConfigurationRecord({ vps: [Uint8Array.of(0x40, 1, 2)], sps: hsps, pps }), CodecError);
        if (hevc.ok) {
          const back = readHvcC(hevc.value);
          expect(back.arrays.map((a) => a.type)).toEqual(pps.length ? [32, 33, 34] : [32, 33]);
          expect(hex(back.arrays[1].nals)).toEqual(hex(hsps));
          expect(back.rest).toBe(0);
        }
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('H.265: a generated SPS parses back; the hvcC record reads back to exactly its values, or CodecError', () => {
    fuzz('codec hvcC', 0x5eed_0a05, 1500, fc.property(h265SpsArb, fc.option(mutationsArb(2), { freq: 4 }), (s, edits) => {
      const sps = edits === null ? h265SpsBytes(s) : mutateBytes(h265SpsBytes(s), edits);
      const parsed = typed(() => parseH265Sps(sps), CodecError);
      const inRange = s.maxSub <= 6 && s.chroma <= 3 && s.depthL <= 8 && s.depthC <= 8;
      if (edits === null && inRange) {
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expect(parsed.value).toMatchObject({
            profileSpace: s.space, tierFlag: s.tier, profileIdc: s.profileIdc, compatibilityFlags: s.compat, levelIdc: s.levelIdc,
            maxSubLayersMinus1: s.maxSub, temporalIdNesting: s.nesting, chromaFormatIdc: s.chroma, width: s.width, height: s.height,
            bitDepthLuma: s.depthL + 8, bitDepthChroma: s.depthC + 8,
          });
          expect(Array.from(parsed.value.constraintFlags)).toEqual(s.constraint);
          expect(codecString('H265', { vps: [], sps: [sps], pps: [] })).toMatch(/^hvc1\.[ABC]?\d+\.[0-9A-F]+\.[LH]\d+(\.[0-9A-F]+)*$/);
        }
      }
      const rec = typed(() => hevcDecoderConfigurationRecord({ vps: [], sps: [sps], pps: [] }), CodecError);
      if (!rec.ok) return;
      const info = parseH265Sps(sps);
      const back = readHvcC(rec.value);
      expect(back).toMatchObject({
        version: 1, space: info.profileSpace, tier: info.tierFlag, profileIdc: info.profileIdc, compat: info.compatibilityFlags,
        level: info.levelIdc, chroma: info.chromaFormatIdc, depthL: info.bitDepthLuma, depthC: info.bitDepthChroma,
        constantFrameRate: 0, numTemporalLayers: info.maxSubLayersMinus1 + 1, nested: info.temporalIdNesting, lengthSize: 4, rest: 0,
      });
      expect(back.constraint).toEqual(Array.from(info.constraintFlags));
      expect(back.arrays.map((a) => ({ type: a.type, nals: a.nals.map((x) => Array.from(x)) }))).toEqual([{ type: 33, nals: [Array.from(sps)] }]);
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('frames: nalUnitsOf / parameterSetsIn / toAnnexB give views of the frame or CodecError; Annex B keeps every octet', () => {
    const frameArb = fc.array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom(Uint8Array.of(0x67, 1, 2), Uint8Array.of(0x68, 3), Uint8Array.of(0x42, 1, 9), Uint8Array.of(0x40, 1), Uint8Array.of(0x44, 1))), { maxLength: 8 })
      .map((nals) => Uint8Array.from(nals.flatMap((n) => [(n.length >>> 24) & 0xff, (n.length >> 16) & 0xff, (n.length >> 8) & 0xff, n.length & 0xff, ...n])));
    fuzz('codec frames', 0x5eed_0a06, 2000, fc.property(fc.tuple(frameArb, fc.option(mutationsArb(2), { freq: 2 })).map(([f, m]) => (m ? mutateBytes(f, m) : f)), (frame) => {
      const nals = typed(() => nalUnitsOf(frame), CodecError);
      for (const codec of ['H264', 'H265'] as const) {
        const ps = typed(() => parameterSetsIn(frame, codec), CodecError);
        expect(ps.ok).toBe(nals.ok);
        if (ps.ok && ps.value) for (const list of Object.values(ps.value) as Uint8Array[][]) for (const n of list) expect(n.buffer).toBe(frame.buffer);
      }
      const annexB = typed(() => toAnnexB(frame), CodecError);
      expect(annexB.ok).toBe(nals.ok);
      if (annexB.ok && nals.ok) {
        expect(annexB.value.length).toBe(frame.length);
        let i = 0;
        for (const n of nals.value) {
          expect(Array.from(annexB.value.subarray(i, i + 4))).toEqual([0, 0, 0, 1]);
          expect(Array.from(annexB.value.subarray(i + 4, i + 4 + n.length))).toEqual(Array.from(n));
          i += 4 + n.length;
        }
      }
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('rawVideoFormat and aacAudioSpecificConfig: any fmtp gives undefined or a consistent answer, never an error', () => {
    const v = fc.oneof(fc.constantFrom('8', '10', '12', '0', '-4', '1e1', ' 16 ', '0x10', '32767', '32768', 'NaN', ''), fc.string({ maxLength: 5 }));
    const fmtp = fc.dictionary(fc.constantFrom('sampling', 'width', 'height', 'depth', 'interlace', 'config'), fc.oneof(v, fc.constantFrom('YCbCr-4:2:2', 'RGB', 'RGBA', 'BGR', 'BGRA', 'YCbCr-4:2:0', '1210', '12100', 'abc')));
    fuzz('codec fmtp', 0x5eed_0a07, 2000, fc.property(fmtp, (f) => {
      const raw = rawVideoFormat(f);
      if (raw) {
        expect(Number.isInteger(raw.width) && raw.width > 0 && raw.width % raw.pgroupPixels === 0).toBe(true);
        expect(Number.isInteger(raw.height) && raw.height > 0).toBe(true);
        expect(raw.frameBytes).toBe((raw.width / raw.pgroupPixels) * raw.pgroupBytes * raw.height);
      }
      const asc = aacAudioSpecificConfig(f);
      if (asc) expect(Buffer.from(asc).toString('hex')).toBe(f.config!.trim().toLowerCase());
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
