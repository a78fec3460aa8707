// Fuzzing the wasm RTP parser (assembly/rtp.ts through parseRtpHeader, rtp_parse and rtp_parse_batch) against the
// plain reference (test/reference/rtp.ts) with fast-check: structured packets (CSRCs, RFC 8285 one- and two-byte
// extensions, other profiles, padding) as they are and mutated, plus raw bytes. Properties: the status and every
// field agree with the reference; nothing but RtpParseError escapes; the core never traps (checked by parsing a known
// packet after every case); out-of-range arguments to the raw exports give a status, not a trap.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core, RtpParseError, Status, statusName } from '../../src/node/index.js';
import { comparableHeader, referenceParseRtp, wasmParseBatch } from '../reference/rtp.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed, validOrMutatedBytes, trickyBytesArb } from './fuzz.js';

const KNOWN = Uint8Array.from([0x80, 0x60, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa]);

/** Extension data of a profile, whole 32-bit words. */
const extensionDataArb = (profile: number): fc.Arbitrary<number[]> => {
  const pad = fc.array(fc.constant(0), { maxLength: 3 });
  let elements: fc.Arbitrary<number[]>;
  if (profile === 0xbede) {
    elements = fc.array(
      fc.tuple(pad, fc.integer({ min: 1, max: 14 }), fc.uint8Array({ minLength: 1, maxLength: 16 }))
        .map(([p, id, data]) => [...p, (id << 4) | (data.length - 1), ...data]),
      { maxLength: 36 },
    ).map((els) => els.flat());
  } else if ((profile & 0xfff0) === 0x1000) {
    elements = fc.array(
      fc.tuple(pad, fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 40 }))
        .map(([p, id, data]) => [...p, id, data.length, ...data]),
      { maxLength: 36 },
    ).map((els) => els.flat());
  } else {
    elements = fc.uint8Array({ maxLength: 64 }).map((a) => Array.from(a));
  }
  return elements.map((out) => {
    const o = [...out];
    while (o.length % 4) o.push(0);
    return o;
  });
};

/** A packet that follows every rule of RFC 3550 §5.1 / RFC 8285. */
const validRtpArb: fc.Arbitrary<Uint8Array> = fc.record({
  cc: fc.integer({ min: 0, max: 15 }),
  csrcs: fc.uint8Array({ minLength: 60, maxLength: 60 }),
  fixed: fc.uint8Array({ minLength: 11, maxLength: 11 }),
  profile: fc.option(fc.oneof(fc.constant(0xbede), fc.integer({ min: 0x1000, max: 0x100f }), fc.integer({ min: 0, max: 0xffff }))),
  payload: fc.uint8Array({ maxLength: 1400 }),
  padding: fc.option(fc.integer({ min: 1, max: 255 })),
}).chain((r) => (r.profile === null ? fc.constant({ ...r, ext: [] as number[] }) : extensionDataArb(r.profile).map((ext) => ({ ...r, ext }))))
  .map((r) => {
    const out: number[] = [0x80 | (r.padding !== null ? 0x20 : 0) | (r.profile !== null ? 0x10 : 0) | r.cc, ...r.fixed];
    out.push(...r.csrcs.subarray(0, 4 * r.cc));
    if (r.profile !== null) out.push(r.profile >> 8, r.profile & 0xff, (r.ext.length / 4) >> 8, (r.ext.length / 4) & 0xff, ...r.ext);
    out.push(...r.payload);
    if (r.padding !== null) out.push(...new Array<number>(r.padding - 1).fill(0), r.padding);
    return Uint8Array.from(out);
  });

/** Header fields forced into odd corners: version 0..3, every bit of the first octet, huge extension lengths. */
const headerEdgeArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 11, maxLength: 11 }), fc.uint8Array({ maxLength: 80 }),
  fc.integer({ min: 0, max: 0xffff }),
).map(([b0, rest, tail, extLen]) => {
  const out = Uint8Array.from([b0, ...rest, ...tail]);
  const cc = b0 & 15;
  const at = 12 + 4 * cc;
  if (out.length >= at + 4) { out[at + 2] = extLen >> 8; out[at + 3] = extLen & 0xff; }
  return out;
});

const packetArb = fc.oneof(
  { weight: 4, arbitrary: validOrMutatedBytes(validRtpArb) },
  { weight: 1, arbitrary: headerEdgeArb },
  { weight: 1, arbitrary: trickyBytesArb(100).map((b) => { if (b.length && b[0] < 0x80) b[0] |= 0x80; return b; }) },
);

for (const debug of [false, true]) {
  describe(`fuzz: RTP parser, ${debug ? 'debug' : 'release'} build`, () => {
    let core: Core;
    beforeAll(async () => {
      core = await createCore({ debug, memoryBytes: 4 << 20 });
    });
    afterAll(() => console.log(summary()));

    /** The core still parses a known packet correctly: a trap would have poisoned it. */
    function coreStillWorks(): void {
      core.assertUsable();
      const h = core.parseRtpHeader(KNOWN);
      if (h.sequenceNumber !== 1 || h.timestamp !== 2 || h.ssrc !== 3 || h.payloadLength !== 1) throw new Error('core answers wrongly after a case');
    }

    const scale = debug ? 0.25 : 1;

    it('parseRtpHeader agrees with the reference on structured, mutated and raw packets', () => {
      const statuses = new Set<string>();
      const report = fuzz(`rtp parseRtpHeader (${debug ? 'debug' : 'release'})`, 0x5eed_0001, 10000 * scale, fc.property(packetArb, (bytes) => {
        const ref = referenceParseRtp(bytes);
        const got = typed(() => core.parseRtpHeader(bytes), RtpParseError);
        const status = got.ok ? Status.OK : (got.error as RtpParseError).status;
        statuses.add(statusName(status));
        expect(statusName(status)).toBe(statusName(ref.status));
        if (got.ok) expect(comparableHeader(got.value, bytes)).toEqual(comparableHeader(ref.header!, bytes));
        else expect(got.code).toBe(statusName(ref.status));
        coreStillWorks();
      }));
      // The generators reach the success path and most error statuses (not a property: a check that they still do).
      if (!debug && complete(report)) expect(statuses.size).toBeGreaterThanOrEqual(8);
    }, FUZZ_TEST_TIMEOUT_MS);

    it('parsing in place (bytes already in core memory) agrees with parsing a copy', () => {
      fuzz(`rtp in place (${debug ? 'debug' : 'release'})`, 0x5eed_0002, 1500 * scale, fc.property(packetArb, fc.nat({ max: 64 }), (bytes, shift) => {
        const ptr = core.alloc(bytes.length + 64);
        try {
          const view = core.u8.subarray(ptr + shift, ptr + shift + bytes.length);
          view.set(bytes);
          const inPlace = typed(() => core.parseRtpHeader(view), RtpParseError);
          const copied = typed(() => core.parseRtpHeader(bytes), RtpParseError);
          expect(inPlace.ok ? 'OK' : inPlace.code).toBe(copied.ok ? 'OK' : copied.code);
          if (inPlace.ok && copied.ok) expect(comparableHeader(inPlace.value, view)).toEqual(comparableHeader(copied.value, bytes));
        } finally {
          core.free(ptr);
        }
        coreStillWorks();
      }));
    }, FUZZ_TEST_TIMEOUT_MS);

    it('rtp_parse_batch gives every record the reference status and fields', () => {
      fuzz(`rtp batch (${debug ? 'debug' : 'release'})`, 0x5eed_0003, 300 * scale, fc.property(fc.array(packetArb, { maxLength: 40 }), (packets) => {
        const { ok, results } = wasmParseBatch(core, packets);
        let expectedOk = 0;
        packets.forEach((p, i) => {
          const ref = referenceParseRtp(p);
          expect(statusName(results[i]!.status)).toBe(statusName(ref.status));
          if (ref.header) {
            expectedOk++;
            expect(results[i]!.comparable).toEqual(comparableHeader(ref.header, p));
          }
        });
        expect(ok).toBe(expectedOk);
        coreStillWorks();
      }));
    }, FUZZ_TEST_TIMEOUT_MS);

    it('raw rtp_parse / rtp_parse_batch with arguments outside memory return a status and never trap', () => {
      const reservedBefore = core.reservedBytes;
      const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff));
      fuzz(`rtp raw arguments (${debug ? 'debug' : 'release'})`, 0x5eed_0004, 2000 * scale, fc.property(u32, u32, fc.boolean(), (ptr, len, batch) => {
        const memory = core.memoryBytes;
        // Only arguments that reach past the end of memory: inside it, any address is a legitimate (trusted) input.
        fc.pre(ptr + len > memory || ptr >= memory);
        const status = core.guard(() => (batch
          ? core.exports.rtp_parse_batch(ptr | 0, len | 0, core.recordPtr)
          : core.exports.rtp_parse(ptr | 0, len | 0, core.recordPtr)));
        expect(statusName(status), `ptr ${ptr} len ${len}`).toBe('ERR_BAD_ARGUMENT');
        coreStillWorks();
      }));
      expect(core.reservedBytes).toBe(reservedBefore);
    }, FUZZ_TEST_TIMEOUT_MS);
  });
}
