// Fuzzing RTCP (src/core/rtcp.ts): compound packets are generated from their parts (SR with report blocks, RR, SDES,
// BYE with a reason, APP, padding), then mutated. Properties: parseRtcp reads generated compounds back (types, counts,
// offsets, lengths, sender info, BYE SSRCs); mutated and random bytes fail only with RtcpParseError;
// writeReceiverReport → parseRtcp is a round trip (RR blocks field by field, the SDES CNAME item's length octet equal
// to its text, any CNAME, non-ASCII included).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRtcp, RtcpParseError, RTCP_BYE, RTCP_RR, RTCP_SDES, RTCP_SR, writeReceiverReport, type ReportBlock } from '../../src/core/rtcp.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed, validOrMutatedBytes } from './fuzz.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

interface PacketSpec { type: number; count: number; body: Uint8Array; sr?: number[]; bye?: number[] }

function header(type: number, count: number, bodyWords: number, padding = false): number[] {
  return [0x80 | (padding ? 0x20 : 0) | count, type, bodyWords >> 8, bodyWords & 0xff];
}
const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

const packetArb: fc.Arbitrary<PacketSpec> = fc.oneof(
  fc.tuple(fc.array(u32, { minLength: 6, maxLength: 6 }), fc.integer({ min: 0, max: 31 }), fc.uint8Array({ minLength: 24 * 31, maxLength: 24 * 31 }))
    .map(([sr, rc, blocks]) => ({ type: RTCP_SR, count: rc, body: Uint8Array.from([...sr.flatMap(be32), ...blocks.subarray(0, 24 * rc)]), sr })),
  fc.tuple(u32, fc.integer({ min: 0, max: 31 }), fc.uint8Array({ minLength: 24 * 31, maxLength: 24 * 31 }))
    .map(([ssrc, rc, blocks]) => ({ type: RTCP_RR, count: rc, body: Uint8Array.from([...be32(ssrc), ...blocks.subarray(0, 24 * rc)]) })),
  fc.array(fc.tuple(u32, fc.uint8Array({ maxLength: 40 })), { maxLength: 4 }).map((chunks) => {
    const body: number[] = [];
    for (const [ssrc, text] of chunks) {
      body.push(...be32(ssrc), 1, text.length, ...text, 0);
      while (body.length % 4) body.push(0);
    }
    return { type: RTCP_SDES, count: chunks.length, body: Uint8Array.from(body) };
  }),
  fc.tuple(fc.array(u32, { maxLength: 31 }), fc.option(fc.uint8Array({ maxLength: 40 }))).map(([ssrcs, reason]) => {
    const body = ssrcs.flatMap(be32);
    if (reason) { body.push(reason.length, ...reason); while (body.length % 4) body.push(0); }
    return { type: RTCP_BYE, count: ssrcs.length, body: Uint8Array.from(body), bye: ssrcs };
  }),
  fc.tuple(fc.integer({ min: 204, max: 210 }), fc.integer({ min: 0, max: 31 }), fc.uint8Array({ maxLength: 60 }))
    .map(([type, count, data]) => {
      const body = Array.from(data);
      while (body.length % 4) body.push(0);
      return { type, count, body: Uint8Array.from(body) };
    }),
);

function compound(specs: PacketSpec[]): Uint8Array {
  return Uint8Array.from(specs.flatMap((p) => [...header(p.type, p.count, p.body.length / 4), ...p.body]));
}

describe('fuzz: RTCP', () => {
  afterAll(() => console.log(summary()));

  it('generated compound packets parse back to their parts', () => {
    fuzz('rtcp parse generated', 0x5eed_0701, 2000, fc.property(fc.array(packetArb, { maxLength: 6 }), (specs) => {
      const bytes = compound(specs);
      const got = parseRtcp(bytes);
      expect(got.length).toBe(specs.length);
      let offset = 0;
      specs.forEach((s, i) => {
        const p = got[i];
        expect([p.packetType, p.count, p.offset, p.length]).toEqual([s.type, s.count, offset, 4 + s.body.length]);
        if (s.sr) {
          const [ssrc, ntpSeconds, ntpFraction, rtpTimestamp, packetCount, octetCount] = s.sr;
          expect(p.senderReport).toMatchObject({ ssrc, ntpSeconds, ntpFraction, rtpTimestamp, packetCount, octetCount });
          expect(Number.isFinite(p.senderReport!.wallClockMs)).toBe(true);
        }
        if (s.bye) expect(p.byeSsrcs).toEqual(s.bye);
        offset += 4 + s.body.length;
      });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated and random bytes fail only with RtcpParseError, and what parses stays inside the buffer', () => {
    const input = fc.oneof({ weight: 4, arbitrary: validOrMutatedBytes(fc.array(packetArb, { minLength: 1, maxLength: 4 }).map(compound)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) });
    let failures = 0;
    const report = fuzz('rtcp parse mutated', 0x5eed_0702, 4000, fc.property(input, (bytes) => {
      const r = typed(() => parseRtcp(bytes), RtcpParseError);
      if (!r.ok) {
        failures++;
        expect(r.code).toBe('RTCP_MALFORMED');
        return;
      }
      for (const p of r.value) expect(p.offset + p.length).toBeLessThanOrEqual(bytes.length);
    }));
    if (complete(report)) expect(failures).toBeGreaterThan(0);
  }, FUZZ_TEST_TIMEOUT_MS);

  it('writeReceiverReport → parseRtcp round trip: RR blocks and the SDES CNAME', () => {
    const blockArb: fc.Arbitrary<ReportBlock> = fc.record({
      ssrc: u32,
      fractionLost: fc.integer({ min: 0, max: 255 }),
      cumulativeLost: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      highestSequence: u32,
      jitter: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.double({ min: 0, max: 1e6, noNaN: true })),
      lastSr: u32,
      delaySinceLastSr: u32,
    });
    const cnameArb = fc.oneof(
      fc.constantFrom('wasm-rtsp@host', '', 'x'.repeat(300)),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ unit: fc.constantFrom('\u20ac', '\u00e9', 'a', '\ud83d\ude00'), minLength: 80, maxLength: 200 }),
    );
    fuzz('rtcp writeReceiverReport round trip', 0x5eed_0703, 2000, fc.property(u32, fc.array(blockArb, { maxLength: 31 }), cnameArb, (ssrc, blocks, cname) => {
      const out = new Uint8Array(8 + 24 * 31 + 4 + 4 + 2 + 255 + 1 + 3);
      const n = writeReceiverReport(out, ssrc, blocks, cname);
      const bytes = out.subarray(0, n);
      const packets = parseRtcp(bytes);
      expect(packets.map((p) => [p.packetType, p.count])).toEqual([[RTCP_RR, blocks.length], [RTCP_SDES, 1]]);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect(dv.getUint32(4)).toBe(ssrc);
      blocks.forEach((b, i) => {
        const o = 8 + 24 * i;
        expect(dv.getUint32(o)).toBe(b.ssrc);
        expect(bytes[o + 4]).toBe(b.fractionLost);
        const lost = (dv.getUint32(o + 4) << 8) >> 8; // 24-bit signed
        expect(lost).toBe(Math.max(-0x800000, Math.min(0x7fffff, b.cumulativeLost)));
        expect(dv.getUint32(o + 8)).toBe(b.highestSequence);
        expect(dv.getUint32(o + 12)).toBe(Math.floor(b.jitter) >>> 0);
        expect(dv.getUint32(o + 16)).toBe(b.lastSr);
        expect(dv.getUint32(o + 20)).toBe(b.delaySinceLastSr);
      });
      // SDES: SSRC, then the CNAME item: type 1, its length octet, that many octets of UTF-8, then END (0).
      const s = packets[1].offset;
      expect(dv.getUint32(s + 4)).toBe(ssrc);
      expect(bytes[s + 8]).toBe(1);
      const len = bytes[s + 9];
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(s + 10, s + 10 + len));
      expect(cname.startsWith(text)).toBe(true);
      expect(len).toBe(Math.min(255, new TextEncoder().encode(text).length));
      expect(bytes[s + 10 + len]).toBe(0);
      expect(s + 10 + len + 1).toBeLessThanOrEqual(n);
      // Nothing of the CNAME was cut that could have fitted: the item holds all of it or at least 252 octets.
      if (text !== cname) expect(len).toBeGreaterThanOrEqual(252);
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
