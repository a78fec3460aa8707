// Differential property test of the RTP parser: random valid packets and mutated ones are parsed by the wasm core and
// by the reference parser (test/reference/rtp.ts); statuses must be equal, and on OK every field. Nothing may throw but
// RtpParseError, and the core must never trap. Deterministic: the seed is in the test names; replay or explore with
//   RTP_PROPERTY_SEED=0x1234abcd npx vitest run test/core/rtp.property.test.ts
import { beforeAll, describe, expect, it } from 'vitest';
import { createCore, Core, Status, statusName, hexDump } from '../../src/node/index.js';
import { comparableHeader, referenceParseRtp, wasmParse, wasmParseBatch } from '../reference/rtp.js';
import { RTP_VECTORS } from '../fixtures/rtp-vectors.js';

const SEED = (Number(process.env.RTP_PROPERTY_SEED ?? 0x2f6b_a915) >>> 0) || 1;
const VALID_COUNT = 20_000;
const MUTATED_COUNT = 20_000;
const MAX_PACKET_BYTES = 1500;

/** xorshift32: tiny, seedable, good enough to pick lengths and octets. */
class Prng {
  private state: number;
  constructor(seed: number) { this.state = seed >>> 0 || 1; }
  /** Next unsigned 32-bit value. */
  u32(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + (this.u32() % (hi - lo + 1)); }
  /** True with probability p. */
  chance(p: number): boolean { return this.u32() / 0x1_0000_0000 < p; }
  bytes(n: number): number[] { return Array.from({ length: n }, () => this.u32() & 0xff); }
  pick<T>(items: readonly T[]): T { return items[this.u32() % items.length]; }
}

/** Extension data for a profile, padded to whole 32-bit words. */
function extensionData(rng: Prng, profile: number): number[] {
  const out: number[] = [];
  const pad = () => { while (rng.chance(0.2)) out.push(0x00); };
  if (profile === 0xbede) {
    const n = rng.chance(0.05) ? rng.int(25, 32) : rng.int(0, 8);
    for (let i = 0; i < n; i++) {
      pad();
      const size = rng.int(1, 16);
      out.push((rng.int(1, 14) << 4) | (size - 1), ...rng.bytes(size));
    }
    pad();
    if (rng.chance(0.1)) out.push(0xf0 | rng.int(0, 15), ...rng.bytes(rng.int(0, 20))); // ID 15: the rest is ignored
    else if (rng.chance(0.05)) out.push(rng.int(1, 15), ...rng.bytes(rng.int(0, 20))); // ID 0 with a length: likewise
  } else if ((profile & 0xfff0) === 0x1000) {
    const n = rng.chance(0.05) ? rng.int(25, 32) : rng.int(0, 8);
    for (let i = 0; i < n; i++) {
      pad();
      const size = rng.chance(0.05) ? rng.int(0, 255) : rng.int(0, 24);
      out.push(rng.int(1, 255), size, ...rng.bytes(size));
    }
    pad();
  } else {
    out.push(...rng.bytes(4 * rng.int(0, 16)));
  }
  while (out.length % 4) out.push(0x00);
  return out;
}

/** A random packet that follows every rule, up to MAX_PACKET_BYTES unless its header alone is longer. */
function randomValidPacket(rng: Prng): Uint8Array {
  const cc = rng.int(0, 15);
  const hasExtension = rng.chance(0.6);
  const hasPadding = rng.chance(0.3);
  const out = [
    0x80 | (hasPadding ? 0x20 : 0) | (hasExtension ? 0x10 : 0) | cc,
    rng.u32() & 0xff, // M and PT
    ...rng.bytes(10), // sequence, timestamp, SSRC
    ...rng.bytes(4 * cc),
  ];
  if (hasExtension) {
    const r = rng.u32() % 10;
    const profile = r < 4 ? 0xbede : r < 7 ? 0x1000 | rng.int(0, 15) : rng.u32() & 0xffff;
    const data = extensionData(rng, profile);
    out.push(profile >> 8, profile & 0xff, (data.length / 4) >> 8, (data.length / 4) & 0xff, ...data);
  }
  const room = Math.max(0, MAX_PACKET_BYTES - out.length);
  const padding = hasPadding ? rng.int(1, Math.max(1, Math.min(255, room))) : 0;
  const payload = rng.int(0, Math.max(0, room - padding));
  out.push(...rng.bytes(payload));
  if (hasPadding) out.push(...new Array<number>(padding - 1).fill(0), padding);
  return Uint8Array.from(out);
}

/** A valid packet or a vector, damaged one to three times. */
function mutatedPacket(rng: Prng): Uint8Array {
  let bytes = Array.from(rng.chance(0.2) ? rng.pick(RTP_VECTORS).bytes : randomValidPacket(rng));
  const mutations = rng.int(1, 3);
  for (let m = 0; m < mutations; m++) {
    switch (rng.int(0, 6)) {
      case 0: case 1: // flip one bit (the header region more often than the payload)
        if (bytes.length) {
          const at = rng.chance(0.7) ? rng.int(0, Math.min(bytes.length, 40) - 1) : rng.int(0, bytes.length - 1);
          bytes[at] ^= 1 << rng.int(0, 7);
        }
        break;
      case 2: // truncate
        bytes = bytes.slice(0, rng.int(0, bytes.length));
        break;
      case 3: // change the last octet (the padding count)
        if (bytes.length) bytes[bytes.length - 1] = rng.u32() & 0xff;
        break;
      case 4: // append random octets
        bytes.push(...rng.bytes(rng.int(1, 16)));
        break;
      case 5: // random length field of the extension, where one would be
        if (bytes.length > 16) { bytes[14] = rng.u32() & 0xff; bytes[15] = rng.u32() & 0xff; }
        break;
      default: // entirely random octets, usually with version 2
        bytes = rng.bytes(rng.int(0, 80));
        if (bytes.length && rng.chance(0.8)) bytes[0] = 0x80 | (bytes[0] & 0x3f);
    }
  }
  return Uint8Array.from(bytes);
}

/** Parses `bytes` both ways; on disagreement fails with the seed, the case and the packet. Returns the status. */
function agree(core: Core, bytes: Uint8Array, label: string): number {
  const ref = referenceParseRtp(bytes);
  const got = wasmParse(core, bytes);
  // Compare cheaply first (40 000 cases); run the (slower, more readable) assertions only on a mismatch.
  const same = got.status === ref.status && (!ref.header
    || JSON.stringify(comparableHeader(got.header!, bytes)) === JSON.stringify(comparableHeader(ref.header, bytes)));
  if (!same) {
    const where = `${label} (seed 0x${SEED.toString(16)}): ${hexDump(bytes, 64)}`;
    expect(statusName(got.status), where).toBe(statusName(ref.status));
    expect(comparableHeader(got.header!, bytes), where).toEqual(comparableHeader(ref.header!, bytes));
  }
  return got.status;
}

for (const debug of [false, true]) {
  // The debug build (assertions on) runs a tenth of the cases: same code paths, slower module.
  const scale = debug ? 10 : 1;
  describe(`RTP parser vs reference, ${debug ? 'debug' : 'release'} build (seed 0x${SEED.toString(16)})`, () => {
    let core: Core;
    beforeAll(async () => {
      core = await createCore({ debug, memoryBytes: 4 << 20 });
    });

    it(`${VALID_COUNT / scale} random valid packets parse OK and agree field by field`, () => {
      const rng = new Prng(SEED);
      const seen = new Set<number>();
      for (let i = 0; i < VALID_COUNT / scale; i++) {
        const bytes = randomValidPacket(rng);
        const status = agree(core, bytes, `valid #${i}`);
        if (status !== Status.OK) expect(statusName(status), `valid #${i} (seed 0x${SEED.toString(16)})`).toBe('OK');
        seen.add(bytes[0] & 0x30);
      }
      expect(seen.size).toBe(4); // every P/X combination came up
    });

    it(`${MUTATED_COUNT / scale} mutated packets give the reference's status, and its fields when OK`, () => {
      const rng = new Prng(SEED ^ 0x9e37_79b9);
      const statuses = new Set<string>();
      for (let i = 0; i < MUTATED_COUNT / scale; i++) {
        statuses.add(statusName(agree(core, mutatedPacket(rng), `mutated #${i}`)));
      }
      if (!debug) {
        // The mutations reach every RTP error (RTP_TOO_LONG needs > 65535 octets: covered in rtp.test.ts).
        const expected = Object.keys(Status).filter((k) => k.startsWith('RTP_') && k !== 'RTP_TOO_LONG');
        expect([...statuses].sort()).toEqual(['OK', ...expected].sort());
      }
    });

    it('rtp_parse_batch over memory-resident packets agrees with the reference', () => {
      const rng = new Prng(SEED ^ 0x85eb_ca6b);
      const count = 500;
      const packets = Array.from({ length: count }, () => (rng.chance(0.5) ? randomValidPacket(rng) : mutatedPacket(rng)));
      const { ok, results } = wasmParseBatch(core, packets);
      let expectedOk = 0;
      packets.forEach((p, i) => {
        const ref = referenceParseRtp(p);
        const where = `batch #${i} (seed 0x${SEED.toString(16)}): ${hexDump(p, 64)}`;
        expect(statusName(results[i]!.status), where).toBe(statusName(ref.status));
        if (ref.header) {
          expectedOk++;
          expect(results[i]!.comparable, where).toEqual(comparableHeader(ref.header, p));
        }
      });
      expect(ok).toBe(expectedOk);
    });
  });
}
