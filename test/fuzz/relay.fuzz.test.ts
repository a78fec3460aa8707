// Fuzzing the relay's access-unit assembler (src/node/relay/access-unit.ts) against a model: random packets (H.264 /
// H.265 payloads with aggregates and fragments, damaged ones, oversized ones) with random timestamps and markers, and
// random unit bounds. Properties: startsKeyframe never throws; each unit emitted is exactly its packets as interleaved
// frames on the stream's channel, in order; a unit is emitted when a marker or a new timestamp ends it, is never
// larger than maxBytes, and is counted as tooLarge instead when it would be; the keyframe flag is the OR of its
// packets'; the counters balance.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessUnitAssembler, startsKeyframe, type AccessUnit, type KeyframeCodec } from '../../src/node/relay/access-unit.js';
import { fuzz, FUZZ_TEST_TIMEOUT_MS, mutateBytes, mutationsArb, summary } from './fuzz.js';

const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.tuple(fc.constantFrom(0x65, 0x67, 0x41, 0x78, 0x7c, 0x26, 0x40, 0x42, 0x60, 0x62), fc.uint8Array({ maxLength: 60 })).map(([h, b]) => Uint8Array.from([h, ...b])),
  fc.tuple(fc.uint8Array({ maxLength: 30 }), mutationsArb(2)).map(([b, m]) => mutateBytes(Uint8Array.from([0x78, 0, 3, 0x65, 1, 2, ...b]), m)),
);

const packetArb = fc.record({
  header: fc.integer({ min: 12, max: 20 }),
  payload: payloadArb,
  big: fc.integer({ min: 0, max: 30 }).map((n) => n === 0), // now and then a packet past 65535 octets
  tsStep: fc.constantFrom(0, 0, 0, 3000, 1),
  marker: fc.boolean(),
});

describe('fuzz: relay access-unit assembler', () => {
  afterAll(() => console.log(summary()));

  it('startsKeyframe never throws on any payload', () => {
    fuzz('relay startsKeyframe', 0x5eed_0c01, 3000, fc.property(fc.constantFrom<KeyframeCodec>('H264', 'H265', 'OTHER'), payloadArb, (codec, p) => {
      expect(typeof startsKeyframe(codec, p)).toBe('boolean');
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('units are exactly their packets as interleaved frames, within maxBytes, counted', () => {
    fuzz('relay assembler', 0x5eed_0c02, 600, fc.property(
      fc.array(packetArb, { maxLength: 40 }), fc.constantFrom('H264', 'H265', 'PCMU'), fc.integer({ min: 16, max: 2000 }), fc.integer({ min: 0, max: 255 }),
      (packets, encodingName, maxBytes, channel) => {
        const a = new AccessUnitAssembler({ streamId: 7, channel, encodingName, maxBytes });
        const units: AccessUnit[] = [];
        const emit = (u: AccessUnit) => units.push(u);
        // The model: the open unit's packets, and what it should emit.
        const expected: Array<{ ts: number; packets: Uint8Array[]; keyframe: boolean }> = [];
        let open: { ts: number; packets: Uint8Array[]; keyframe: boolean } | undefined;
        let tooLarge = 0;
        const close = () => {
          if (!open) return;
          const bytes = open.packets.reduce((n, p) => n + 4 + p.length, 0);
          if (bytes > maxBytes || open.packets.some((p) => p.length > 0xffff)) tooLarge++;
          else expected.push(open);
          open = undefined;
        };
        let ts = 90000;
        const codec = encodingName === 'PCMU' ? 'OTHER' : encodingName as KeyframeCodec;
        for (const p of packets) {
          ts = (ts + p.tsStep) >>> 0;
          const bytes = new Uint8Array(p.big ? 65536 : p.header + p.payload.length);
          bytes[0] = 0x80;
          bytes.set(p.payload.subarray(0, bytes.length - p.header), p.header);
          if (open && open.ts !== ts) close();
          open ??= { ts, packets: [], keyframe: false };
          open.packets.push(bytes);
          open.keyframe ||= p.header < bytes.length && startsKeyframe(codec, bytes.subarray(p.header));
          a.push(bytes, p.header, ts, p.marker, emit);
          if (p.marker) close();
        }
        expect(units.map((u) => [u.timestamp, u.packets, u.keyframe])).toEqual(expected.map((e) => [e.ts, e.packets.length, e.keyframe]));
        units.forEach((u, i) => {
          expect(u.streamId).toBe(7);
          expect(u.data.length).toBeLessThanOrEqual(maxBytes);
          let at = 0;
          for (const pkt of expected[i].packets) {
            expect([u.data[at], u.data[at + 1], u.data.readUInt16BE(at + 2)]).toEqual([0x24, channel, pkt.length]);
            expect(Buffer.compare(u.data.subarray(at + 4, at + 4 + pkt.length), Buffer.from(pkt))).toBe(0);
            at += 4 + pkt.length;
          }
          expect(at).toBe(u.data.length);
        });
        const st = a.stats();
        expect(st.packets).toBe(packets.length);
        expect(st.accessUnits).toBe(units.length);
        expect(st.tooLarge).toBe(tooLarge);
        expect(st.keyframes).toBe(units.filter((u) => u.keyframe).length);
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);
});
