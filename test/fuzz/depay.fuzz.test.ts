// Fuzzing the wasm depayloaders (assembly/depay.ts via Depayloader, src/core/depay.ts) per codec with packets built
// to each RFC's payload format and then damaged: H.264 single NAL / STAP-A / FU-A (RFC 6184), H.265 single / AP / FU
// (RFC 7798), RFC 4175 raw video line headers, RFC 3640 AU headers — with wrong aggregate lengths, FU start/end bit
// games, line headers outside the frame, AU sizes past the data, sequence jumps, late packets and timestamp changes.
// Properties: the core never traps; every packet is counted; frames and octets counted as returned; every frame's
// length is within bounds (≤ maxFrameBytes; RAW exactly one frame; H.264/H.265 exactly a run of length-prefixed NAL
// units) and lies in core memory; flags are FRAME_* bits only; for H.264/H.265 the frames and statistics equal the
// plain reference's (test/reference/depay.ts); random options fail only with DepayError; destroy gives back every byte.
// The raw depay_push with inconsistent records or arguments outside memory gives a typed status, never a trap.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core, Depayloader, DepayError, type DepayloaderOptions } from '../../src/node/index.js';
import { RTP_PACKET_LENGTH, RTP_PAYLOAD_LENGTH, RTP_RECORD_BYTES, RTP_STATUS } from '../../src/core/layout.js';
import { ReferenceDepayloader, rtpBytes, type Frame, type Pkt } from '../reference/depay.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, mutateBytes, mutationsArb, summary, typed } from './fuzz.js';

const MAX_FRAME = 8192;
const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];

// --- payloads, one RFC at a time ----------------------------------------------------------------------------------

const body = (max: number) => fc.uint8Array({ maxLength: max });

const h264PayloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  // Single NAL unit: types 1..23 (5 IDR, 7 SPS, 8 PPS), F and NRI bits random.
  fc.tuple(fc.integer({ min: 0, max: 255 }).map((b) => (b & 0xe0) | [1, 1, 5, 6, 7, 8, 9, 12, 23][b % 9]), body(300))
    .map(([h, b]) => Uint8Array.from([h, ...b])),
  // STAP-A (24): 16-bit sizes, sometimes wrong.
  fc.tuple(fc.array(fc.tuple(fc.constantFrom(0x65, 0x41, 0x67, 0x68, 0x06), body(60), fc.integer({ min: -3, max: 3 })), { minLength: 0, maxLength: 4 }), fc.boolean())
    .map(([nals, lie]) => Uint8Array.from([0x78, ...nals.flatMap(([h, b, d]) => [...be16(Math.max(0, b.length + 1 + (lie ? d : 0))), h, ...b])])),
  // FU-A (28): S/E bits in any combination, type in the FU header.
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean(), fc.constantFrom(1, 5, 7), body(600))
    .map(([nri, s, e, t, b]) => Uint8Array.from([(nri << 5) | 28, (s ? 0x80 : 0) | (e ? 0x40 : 0) | t, ...b])),
  // Refused or reserved kinds: STAP-B, MTAP16/24, FU-B, 0, 30, 31.
  fc.tuple(fc.constantFrom(0, 25, 26, 27, 29, 30, 31), body(40)).map(([t, b]) => Uint8Array.from([0x60 | t, ...b])),
);

const h265Header = (type: number, tid = 1) => [(type << 1) & 0x7e, tid & 7];
const h265PayloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(fc.constantFrom(1, 19, 21, 32, 33, 34, 39), body(300)).map(([t, b]) => Uint8Array.from([...h265Header(t), ...b])),
  // AP (48)
  fc.tuple(fc.array(fc.tuple(fc.constantFrom(1, 19, 32, 33), body(60), fc.integer({ min: -3, max: 3 })), { maxLength: 4 }), fc.boolean())
    .map(([nals, lie]) => Uint8Array.from([...h265Header(48), ...nals.flatMap(([t, b, d]) => [...be16(Math.max(0, b.length + 2 + (lie ? d : 0))), ...h265Header(t), ...b])])),
  // FU (49)
  fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom(1, 19, 21), body(600))
    .map(([s, e, t, b]) => Uint8Array.from([...h265Header(49), (s ? 0x80 : 0) | (e ? 0x40 : 0) | t, ...b])),
  // PACI (50) and reserved 51..63, a layer id set, a forbidden bit set.
  fc.tuple(fc.integer({ min: 50, max: 63 }), body(40)).map(([t, b]) => Uint8Array.from([...h265Header(t), ...b])),
  body(4).map((b) => Uint8Array.from([0x80 | (b[0] ?? 0), ...b])),
);

/**
 * RFC 4175: extended sequence number, line headers (length, F|line, C|offset), then the segments' data. Either a whole
 * frame in one packet (every line, full width) or random segments that may fall outside the frame.
 */
const rawPayloadArb = (width: number, height: number, pgroupBytes: number, pgroupPixels: number): fc.Arbitrary<Uint8Array> => fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((fill) => {
    const lineBytes = (width / pgroupPixels) * pgroupBytes;
    const heads: number[] = [];
    for (let line = 0; line < height; line++) heads.push(...be16(lineBytes), ...be16(line), ...be16((line < height - 1 ? 0x8000 : 0)));
    return Uint8Array.from([0, 0, ...heads, ...new Array<number>(lineBytes * height).fill(fill)]);
  }) },
  { weight: 3, arbitrary: rawSegmentsArb(width, height, pgroupBytes, pgroupPixels) },
);

const rawSegmentsArb = (width: number, height: number, pgroupBytes: number, pgroupPixels: number): fc.Arbitrary<Uint8Array> =>
  fc.tuple(
    fc.integer({ min: 0, max: 0xffff }),
    fc.array(fc.record({
      line: fc.oneof(fc.integer({ min: 0, max: height - 1 }), fc.integer({ min: 0, max: 0x7fff })),
      offset: fc.oneof(fc.integer({ min: 0, max: width - 1 }).map((o) => o - (o % pgroupPixels)), fc.integer({ min: 0, max: 0x7fff })),
      pgroups: fc.oneof(fc.integer({ min: 0, max: Math.ceil(width / pgroupPixels) }), fc.integer({ min: 0, max: 200 })),
      field: fc.integer({ min: 0, max: 9 }).map((v) => v === 0), // F = 1: the second field (unsupported)
      odd: fc.integer({ min: 0, max: 7 }),
    }), { minLength: 1, maxLength: 4 }),
    fc.boolean(),
  ).map(([ext, segs, short]) => {
    const heads: number[] = [];
    const data: number[] = [];
    segs.forEach((sg, i) => {
      const length = sg.pgroups * pgroupBytes + (sg.odd === 7 ? 1 : 0);
      const cont = i < segs.length - 1 ? 0x8000 : 0;
      heads.push(...be16(length), ...be16((sg.field ? 0x8000 : 0) | (sg.line & 0x7fff)), ...be16(cont | (sg.offset & 0x7fff)));
      for (let k = 0; k < length; k++) data.push((sg.line * 7 + k) & 0xff);
    });
    return Uint8Array.from([...be16(ext), ...heads, ...(short ? data.slice(0, Math.floor(data.length / 2)) : data)]);
  });

/** RFC 3640 AAC-hbr: AU-headers-length in bits, AU headers (13-bit size, 3-bit index), then the AUs. */
const aacPayloadArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.array(fc.tuple(body(300), fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 7 })), { minLength: 0, maxLength: 5 }),
  fc.boolean(), fc.integer({ min: -16, max: 16 }),
).map(([aus, lie, headerLie]) => {
  const headers: number[] = [];
  aus.forEach(([b, d, index], i) => {
    const size = Math.max(0, Math.min(0x1fff, b.length + (lie ? d : 0)));
    const v = (size << 3) | (i === 0 ? index : 0);
    headers.push(...be16(v));
  });
  const bits = Math.max(0, headers.length * 8 + (lie ? headerLie : 0));
  return Uint8Array.from([...be16(bits), ...headers, ...aus.flatMap(([b]) => [...b])]);
});

// --- streams --------------------------------------------------------------------------------------------------------

interface Step { payload: Uint8Array; seqStep: number; tsStep: number; marker: boolean }

const stepsArb = (payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Step[]> => fc.array(fc.record({
  payload: fc.oneof({ weight: 4, arbitrary: payload }, { weight: 1, arbitrary: fc.tuple(payload, mutationsArb(3)).map(([p, m]) => mutateBytes(p, m)) }),
  seqStep: fc.constantFrom(1, 1, 1, 1, 1, 1, 2, 0, -1, -64, -65, 100, 40000),
  tsStep: fc.constantFrom(0, 0, 0, 3000, 3000, -1),
  marker: fc.boolean(),
}), { maxLength: 40 });

interface CodecCase { name: string; options: DepayloaderOptions; payload: fc.Arbitrary<Uint8Array>; frameBytes?: number }

const CASES: CodecCase[] = [
  { name: 'H264', options: { codec: 'H264', maxFrameBytes: MAX_FRAME }, payload: h264PayloadArb },
  { name: 'H265', options: { codec: 'H265', maxFrameBytes: MAX_FRAME }, payload: h265PayloadArb },
  { name: 'RAW UYVY 8x4', options: { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:2', width: '8', height: '4', depth: '8' } }, payload: rawPayloadArb(8, 4, 4, 2), frameBytes: 64 },
  { name: 'RAW UYVP 6x3', options: { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:2', width: '6', height: '3', depth: '10' } }, payload: rawPayloadArb(6, 3, 5, 2), frameBytes: 45 },
  { name: 'RAW RGB 5x2', options: { codec: 'RAW', fmtp: { sampling: 'RGB', width: '5', height: '2' } }, payload: rawPayloadArb(5, 2, 3, 1), frameBytes: 30 },
  { name: 'AAC-hbr', options: { codec: 'AAC', fmtp: { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3' }, maxFrameBytes: 512 }, payload: aacPayloadArb },
];

/** The NAL units of a length-prefixed frame, or undefined when the lengths do not tile it exactly. */
function nalLengths(frame: Uint8Array): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  while (i < frame.length) {
    if (i + 4 > frame.length) return undefined;
    const n = ((frame[i] << 24) | (frame[i + 1] << 16) | (frame[i + 2] << 8) | frame[i + 3]) >>> 0;
    if (n === 0 || i + 4 + n > frame.length) return undefined;
    out.push(n);
    i += 4 + n;
  }
  return out;
}

const plain = (frames: Frame[]) => frames.map((f) => ({ data: Array.from(f.data), ts: f.ts, flags: f.flags }));

describe('fuzz: depayloaders', () => {
  let core: Core;
  beforeAll(async () => {
    core = await createCore({ debug: true, memoryBytes: 16 << 20 });
  });
  afterAll(() => console.log(summary()));

  CASES.forEach((c, k) => {
    it(`${c.name}: damaged packets never trap, every packet and frame counted, frames within bounds`, () => {
      const video = c.options.codec === 'H264' || c.options.codec === 'H265';
      const seen = { frames: 0, drops: 0 };
      const report = fuzz(`depay ${c.name}`, 0x5eed_0901 + k, 400, fc.property(stepsArb(c.payload), fc.boolean(), fc.integer({ min: 0, max: 0xffff }), (steps, waitForKeyframe, seq0) => {
        const reserved = core.reservedBytes;
        const options = { ...c.options, waitForKeyframe };
        const depay = new Depayloader(core, options);
        const ref = video ? new ReferenceDepayloader(c.options.codec as 'H264' | 'H265', MAX_FRAME, waitForKeyframe) : undefined;
        const buf = core.alloc(65536 + RTP_RECORD_BYTES);
        const rec = buf + 65536;
        const got: Frame[] = [];
        const want: Frame[] = [];
        let bytes = 0;
        const take = (n: number) => {
          expect(n).toBeGreaterThanOrEqual(0);
          for (let i = 0; i < n; i++) {
            const off = depay.frameOffset(i);
            const len = depay.frameLength(i);
            const flags = depay.frameFlags(i);
            expect(off + len).toBeLessThanOrEqual(core.memoryBytes);
            expect(len).toBeLessThanOrEqual(depay.maxFrameBytes);
            expect(flags & ~7).toBe(0);
            const data = depay.frameView(i).slice();
            if (c.frameBytes !== undefined) expect(len).toBe(c.frameBytes);
            if (video) expect(nalLengths(data), 'a run of length-prefixed NAL units').toBeDefined();
            if (c.options.codec === 'AAC') expect(len).toBeGreaterThan(0);
            got.push({ data, ts: depay.frameTimestamp(i), flags });
            bytes += len;
          }
        };
        try {
          let seq = seq0;
          let ts = 0x7fff_0000;
          for (const s of steps) {
            seq = (seq + s.seqStep) & 0xffff;
            ts = (ts + s.tsStep) >>> 0;
            const pkt: Pkt = { seq, ts, marker: s.marker, payload: s.payload };
            const bytesOut = rtpBytes(pkt);
            core.views().set(bytesOut, buf);
            expect(core.exports.rtp_parse(buf, bytesOut.length, rec)).toBe(0);
            const n = typed(() => depay.push(buf, bytesOut.length, rec), DepayError);
            if (!n.ok) throw n.error; // a valid record never gives an error: payload problems are counted drops
            take(n.value);
            if (ref) want.push(...ref.push(pkt));
          }
          take(depay.flush());
          if (ref) want.push(...ref.flush());
          const st = depay.stats();
          expect(st.packets).toBe(steps.length);
          expect(st.frames).toBe(got.length);
          expect(st.bytes).toBe(bytes);
          if (ref) {
            expect(plain(got)).toEqual(plain(want));
            expect(st).toEqual(ref.stats);
          }
          seen.frames += got.length;
          seen.drops += Object.values(st.dropped).reduce((a, b) => a + b, 0);
        } finally {
          depay.destroy();
          core.free(buf);
        }
        expect(core.reservedBytes).toBe(reserved);
        core.assertUsable();
      }));
      // The generators reach both outcomes for every codec.
      if (complete(report)) {
        expect(seen.frames, 'frames emitted').toBeGreaterThan(0);
        expect(seen.drops, 'drops counted').toBeGreaterThan(0);
      }
    }, FUZZ_TEST_TIMEOUT_MS);
  });

  it('random options and fmtp fail only with DepayError; a depayloader made from them works and frees its memory', () => {
    const value = fc.oneof(fc.constantFrom('8', '4', '0', '-2', '7', ' 16 ', '1e1', '0x10', '', 'NaN', '32768', '99999999', '13', '3', '16', '17'), fc.string({ maxLength: 6 }));
    const fmtpArb = fc.dictionary(
      fc.constantFrom('sampling', 'width', 'height', 'depth', 'mode', 'sizelength', 'indexlength', 'indexdeltalength', 'constantduration', 'auxiliarydatasizelength', 'interlace'),
      fc.oneof(value, fc.constantFrom('YCbCr-4:2:2', 'RGB', 'RGBA', 'BGR', 'BGRA', 'YCbCr-4:2:0', 'AAC-hbr', 'aac-lbr', 'CELP-cbr')),
    );
    const optionsArb = fc.record({
      codec: fc.oneof(fc.constantFrom('H264', 'H265', 'RAW', 'AAC'), fc.constantFrom('h264', 'VP8', '', 'toString', '__proto__')),
      fmtp: fc.option(fmtpArb),
      maxFrameBytes: fc.option(fc.oneof(fc.integer({ min: -2, max: 1 << 20 }), fc.constantFrom(0, 1, 2 ** 30, 2 ** 30 + 1, 2 ** 31, 1.5, Number.NaN, Infinity))),
      waitForKeyframe: fc.boolean(),
    }).map((o) => ({ codec: o.codec, waitForKeyframe: o.waitForKeyframe, ...(o.fmtp ? { fmtp: o.fmtp } : {}), ...(o.maxFrameBytes !== null ? { maxFrameBytes: o.maxFrameBytes } : {}) }) as DepayloaderOptions);
    const codes = new Set<string>();
    const report = fuzz('depay options', 0x5eed_0910, 1500, fc.property(optionsArb, fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (options, payloads) => {
      const reserved = core.reservedBytes;
      const d = typed(() => new Depayloader(core, options), DepayError);
      if (!d.ok) {
        codes.add(d.code);
        expect(core.reservedBytes).toBe(reserved);
        return;
      }
      const buf = core.alloc(65536 + RTP_RECORD_BYTES);
      try {
        payloads.forEach((payload, i) => {
          const bytes = rtpBytes({ seq: i, ts: i * 3000, marker: i % 2 === 0, payload });
          core.views().set(bytes, buf);
          core.exports.rtp_parse(buf, bytes.length, buf + 65536);
          const n = d.value.push(buf, bytes.length, buf + 65536);
          for (let f = 0; f < n; f++) expect(d.value.frameLength(f)).toBeLessThanOrEqual(d.value.maxFrameBytes);
        });
        d.value.flush();
        expect(d.value.stats().packets).toBe(payloads.length);
      } finally {
        d.value.destroy();
        core.free(buf);
      }
      expect(core.reservedBytes).toBe(reserved);
      core.assertUsable();
    }));
    if (complete(report)) for (const c of ['BAD_OPTION', 'UNSUPPORTED_FORMAT']) expect([...codes]).toContain(c);
  }, FUZZ_TEST_TIMEOUT_MS);

  it('depay_push with an inconsistent record or arguments outside memory gives a typed status, never a trap', () => {
    fuzz('depay raw arguments', 0x5eed_0911, 1500, fc.property(
      fc.constantFrom('status', 'length', 'payload', 'ptr', 'record', 'destroyed'),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.uint8Array({ minLength: 12, maxLength: 100 }),
      (what, x, payload) => {
        const d = new Depayloader(core, { codec: 'H264' });
        const buf = core.alloc(65536 + RTP_RECORD_BYTES);
        const rec = buf + 65536;
        try {
          const bytes = rtpBytes({ seq: 1, ts: 1, marker: true, payload });
          core.views().set(bytes, buf);
          expect(core.exports.rtp_parse(buf, bytes.length, rec)).toBe(0);
          let ptr = buf;
          let len = bytes.length;
          let record = rec;
          if (what === 'status') core.i32[(rec + RTP_STATUS) >> 2] = -1 - (x % 100);
          if (what === 'length') core.u32[(rec + RTP_PACKET_LENGTH) >> 2] = x === bytes.length ? x + 1 : x;
          if (what === 'payload') core.u32[(rec + RTP_PAYLOAD_LENGTH) >> 2] = Math.max(x, bytes.length);
          if (what === 'ptr') { ptr = Math.max(x, core.memoryBytes - 4); len = bytes.length; }
          if (what === 'record') record = Math.max(x, core.memoryBytes - 8);
          if (what === 'destroyed') d.destroy();
          const r = typed(() => d.push(ptr, len, record), DepayError);
          expect(r.ok, `${what} ${x}`).toBe(false);
          if (!r.ok) expect(['DEPAY_BAD_RECORD', 'ERR_BAD_ARGUMENT', 'DESTROYED']).toContain(r.code);
          // The depayloader is still usable with a good packet (unless destroyed on purpose).
          if (what !== 'destroyed') {
            core.exports.rtp_parse(buf, bytes.length, rec);
            expect(d.push(buf, bytes.length, rec)).toBeGreaterThanOrEqual(0);
          }
        } finally {
          d.destroy();
          core.free(buf);
        }
        core.assertUsable();
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);
});
