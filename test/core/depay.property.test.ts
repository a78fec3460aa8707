// Differential property test of the depayloader: random access units are packetized randomly (single NAL units,
// STAP-A/AP aggregates, FU-A/FU fragments at a random MTU, marker or timestamp-change boundaries), then depayloaded by
// the wasm core and by the reference (test/reference/depay.ts). Clean streams must give back the original units,
// bit for bit; lost, reordered, duplicated and mutated streams must give the same frames and counts from both; random
// payloads for every codec must never trap and every packet must be counted. Deterministic: fixed seed, bounded runs;
// replay or explore with DEPAY_PROPERTY_SEED=123 npx vitest run test/core/depay.property.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createCore, Core, type DepayloaderOptions } from '../../src/node/index.js';
import {
  KEY, PS, ReferenceDepayloader, WasmDepayHarness, expectedFrame, packetize, type Frame, type Pkt, type PlanStep,
} from '../reference/depay.js';

const SEED = Number(process.env.DEPAY_PROPERTY_SEED ?? 0x5eed_d3a7) | 0;
const CLEAN_RUNS = 150;
const MUTATED_RUNS = 300;
const RANDOM_RUNS = 200;
const MAX_FRAME_BYTES = 64 * 1024;

type VideoCodec = 'H264' | 'H265';

/** One NAL unit: a header of the codec with a chosen type, then random octets. */
function nalArb(codec: VideoCodec): fc.Arbitrary<Uint8Array> {
  const types = codec === 'H264' ? [1, 1, 1, 5, 6, 7, 8] : [1, 1, 1, 19, 21, 32, 33, 34, 39];
  return fc.record({
    type: fc.constantFrom(...types),
    nri: fc.integer({ min: 0, max: 3 }),
    tid: fc.integer({ min: 1, max: 7 }),
    body: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 3000 })),
  }).map(({ type, nri, tid, body }) => {
    const head = codec === 'H264' ? [(nri << 5) | type] : [type << 1, tid];
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  });
}

const stepArb: fc.Arbitrary<PlanStep> = fc.oneof(
  fc.constant<PlanStep>({ kind: 'single' }),
  fc.integer({ min: 2, max: 4 }).map((count): PlanStep => ({ kind: 'aggregate', count })),
  fc.integer({ min: 1, max: 1400 }).map((mtu): PlanStep => ({ kind: 'fragment', mtu })),
);

interface Unit { nals: Uint8Array[]; plan: PlanStep[]; marker: boolean; tsStep: number }
interface Stream { units: Unit[]; seq0: number; ts0: number }

function streamArb(codec: VideoCodec): fc.Arbitrary<Stream> {
  const unit = fc.record({
    nals: fc.array(nalArb(codec), { minLength: 1, maxLength: 5 }),
    plan: fc.array(stepArb, { minLength: 1, maxLength: 6 }),
    marker: fc.boolean(),
    tsStep: fc.integer({ min: 1, max: 6000 }),
  });
  return fc.record({
    units: fc.array(unit, { minLength: 1, maxLength: 6 }),
    seq0: fc.integer({ min: 0, max: 65535 }),
    ts0: fc.integer({ min: 0, max: 0xffff_ffff }),
  });
}

/** Packets of a stream, and the frames a depayloader must give back. */
function build(codec: VideoCodec, s: Stream): { packets: Pkt[]; frames: Frame[] } {
  const packets: Pkt[] = [];
  const frames: Frame[] = [];
  let seq = s.seq0;
  let ts = s.ts0;
  for (const u of s.units) {
    ts = (ts + u.tsStep) >>> 0;
    let k = 0;
    const payloads = packetize(codec, u.nals, () => u.plan[k++ % u.plan.length]);
    payloads.forEach((payload, i) => {
      packets.push({ seq, ts, marker: u.marker && i === payloads.length - 1, payload });
      seq = (seq + 1) & 0xffff;
    });
    let flags = 0;
    for (const n of u.nals) {
      const t = codec === 'H264' ? n[0] & 0x1f : (n[0] >> 1) & 0x3f;
      if (codec === 'H264' ? t === 5 : t >= 16 && t <= 23) flags |= KEY;
      if (codec === 'H264' ? t === 7 || t === 8 : t >= 32 && t <= 34) flags |= PS;
    }
    frames.push({ data: expectedFrame(u.nals), ts, flags });
  }
  return { packets, frames };
}

const plain = (frames: Frame[]) => frames.map((f) => ({ ts: f.ts, flags: f.flags, data: Array.from(f.data) }));

let core: Core;
beforeAll(async () => {
  core = await createCore({ memoryBytes: 16 << 20 });
});
afterAll(() => {
  // every harness below is destroyed in its run; the region must be back to its size after the core's own scratch
  expect(core.reservedBytes).toBeLessThan(1 << 20);
});

function runBoth(codec: VideoCodec, packets: Pkt[], options: Partial<DepayloaderOptions> = {}) {
  const h = new WasmDepayHarness(core, { codec, maxFrameBytes: MAX_FRAME_BYTES, ...options });
  const ref = new ReferenceDepayloader(codec, MAX_FRAME_BYTES, options.waitForKeyframe ?? false);
  try {
    const wasm: Frame[] = [];
    const reference: Frame[] = [];
    for (const p of packets) {
      wasm.push(...h.push(p));
      reference.push(...ref.push(p));
    }
    wasm.push(...h.flush());
    reference.push(...ref.flush());
    return { wasm, reference, stats: h.depay.stats(), refStats: ref.stats };
  } finally {
    h.destroy();
  }
}

for (const codec of ['H264', 'H265'] as const) {
  describe(`${codec}: wasm and reference against the original access units`, () => {
    it(`clean streams give back every unit exactly (seed ${SEED}, ${CLEAN_RUNS} runs)`, () => {
      fc.assert(fc.property(streamArb(codec), (s) => {
        const { packets, frames } = build(codec, s);
        const { wasm, reference, stats, refStats } = runBoth(codec, packets);
        expect(plain(wasm)).toEqual(plain(frames));
        expect(plain(reference)).toEqual(plain(frames));
        expect(stats).toEqual(refStats);
        expect(stats.packets).toBe(packets.length);
        expect(stats.frames).toBe(frames.length);
      }), { seed: SEED, numRuns: CLEAN_RUNS });
    });

    const opArb = fc.record({
      op: fc.constantFrom('drop', 'dup', 'swap', 'flip', 'truncate', 'seq', 'ts', 'marker', 'type'),
      at: fc.nat(),
      value: fc.nat(),
    });
    it(`lost, reordered, duplicated and mutated packets: same frames and counts as the reference (${MUTATED_RUNS} runs)`, () => {
      fc.assert(fc.property(streamArb(codec), fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.boolean(), (s, ops, waitForKeyframe) => {
        const { packets } = build(codec, s);
        let list = packets.map((p) => ({ ...p, payload: p.payload.slice() }));
        for (const { op, at, value } of ops) {
          if (list.length === 0) break;
          const i = at % list.length;
          const p = list[i];
          switch (op) {
            case 'drop': list.splice(i, 1); break;
            case 'dup': list.splice(i, 0, { ...p }); break;
            case 'swap': if (i + 1 < list.length) [list[i], list[i + 1]] = [list[i + 1], list[i]]; break;
            case 'flip': if (p.payload.length) p.payload[value % p.payload.length] ^= 1 << (value % 8); break;
            case 'truncate': p.payload = p.payload.subarray(0, value % (p.payload.length + 1)); break;
            case 'seq': p.seq = (p.seq + (value % 2 ? 70 : -3)) & 0xffff; break;
            case 'ts': p.ts = (p.ts + 1 + (value % 10)) >>> 0; break;
            case 'marker': p.marker = !p.marker; break;
            case 'type': if (p.payload.length) p.payload[0] = (p.payload[0] & 0x81) | ((value % 64) << 1); break;
          }
        }
        list = list.filter(Boolean);
        const { wasm, reference, stats, refStats } = runBoth(codec, list, { waitForKeyframe });
        expect(plain(wasm)).toEqual(plain(reference));
        expect(stats).toEqual(refStats);
        expect(stats.packets).toBe(list.length);
      }), { seed: SEED, numRuns: MUTATED_RUNS });
    });
  });
}

describe('random payloads never trap, for every codec', () => {
  const options: Record<string, DepayloaderOptions> = {
    H264: { codec: 'H264', maxFrameBytes: 4096 },
    H265: { codec: 'H265', maxFrameBytes: 4096 },
    RAW: { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:2', width: '8', height: '4', depth: '8' } },
    AAC: { codec: 'AAC', fmtp: { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3' }, maxFrameBytes: 512 },
  };
  const packetArb = fc.record({
    payload: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 1500 })),
    seqStep: fc.constantFrom(1, 1, 1, 1, 2, 0, -1, 300),
    tsStep: fc.constantFrom(0, 0, 0, 3000),
    marker: fc.boolean(),
  });
  for (const [name, opts] of Object.entries(options)) {
    it(`${name}: every packet, frame and octet counted (${RANDOM_RUNS} runs)`, () => {
      fc.assert(fc.property(fc.array(packetArb, { maxLength: 40 }), fc.boolean(), (list, waitForKeyframe) => {
        const h = new WasmDepayHarness(core, { ...opts, waitForKeyframe });
        const ref = name === 'H264' || name === 'H265' ? new ReferenceDepayloader(name, 4096, waitForKeyframe) : undefined;
        try {
          let seq = 100;
          let ts = 0;
          let bytes = 0;
          const wasm: Frame[] = [];
          const reference: Frame[] = [];
          for (const p of list) {
            seq = (seq + p.seqStep) & 0xffff;
            ts = (ts + p.tsStep) >>> 0;
            const pkt = { seq, ts, marker: p.marker, payload: p.payload };
            const got = h.push(pkt);
            for (const f of got) bytes += f.data.length;
            wasm.push(...got);
            if (ref) reference.push(...ref.push(pkt));
          }
          const last = h.flush();
          wasm.push(...last);
          for (const f of last) bytes += f.data.length;
          const stats = h.depay.stats();
          expect(stats.packets).toBe(list.length);
          expect(stats.bytes).toBe(bytes);
          expect(stats.frames).toBe(wasm.length);
          if (ref) {
            reference.push(...ref.flush());
            expect(plain(wasm)).toEqual(plain(reference));
            expect(stats).toEqual(ref.stats);
          }
        } finally {
          h.destroy();
        }
      }), { seed: SEED, numRuns: RANDOM_RUNS });
    });
  }
});

describe('RAW and AAC: random content, randomly packetized, comes back whole', () => {
  it(`RFC 4175: random UYVY frames cut into random segments, shuffled over packets (${CLEAN_RUNS} runs)`, () => {
    const arb = fc.record({
      width: fc.integer({ min: 1, max: 40 }).map((w) => w * 2),
      height: fc.integer({ min: 1, max: 12 }),
      frames: fc.integer({ min: 1, max: 3 }),
      seed: fc.integer(),
      cuts: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 }),
      perPacket: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
      order: fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
    });
    fc.assert(fc.property(arb, ({ width, height, frames, seed, cuts, perPacket, order }) => {
      const stride = width * 2;
      const h = new WasmDepayHarness(core, { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:2', width: String(width), height: String(height), depth: '8' } });
      try {
        let seq = seed & 0xffff;
        let x = seed | 1;
        const got: Frame[] = [];
        const want: Frame[] = [];
        for (let f = 0; f < frames; f++) {
          const frame = new Uint8Array(stride * height).map(() => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff; });
          const ts = 1000 + f * 3000;
          want.push({ data: frame, ts, flags: KEY });
          // Segments: each line cut into pgroup-aligned pieces.
          const segments: Array<{ line: number; offset: number; bytes: Uint8Array }> = [];
          let c = 0;
          for (let line = 0; line < height; line++) {
            for (let px = 0; px < width;) {
              const n = Math.min(width - px, cuts[c++ % cuts.length] * 2);
              segments.push({ line, offset: px, bytes: frame.subarray(line * stride + px * 2, line * stride + (px + n) * 2) });
              px += n;
            }
          }
          for (let i = 0; i < segments.length; i++) { // deterministic shuffle
            const j = order[i % order.length] % segments.length;
            [segments[i], segments[j]] = [segments[j], segments[i]];
          }
          let k = 0;
          for (let i = 0; i < segments.length;) {
            const group = segments.slice(i, i + perPacket[k++ % perPacket.length]);
            i += group.length;
            const head: number[] = [(seq >> 8) & 0xff, seq & 0xff];
            group.forEach((s, g) => head.push(s.bytes.length >> 8, s.bytes.length & 0xff, s.line >> 8, s.line & 0xff,
              (g < group.length - 1 ? 0x80 : 0) | (s.offset >> 8), s.offset & 0xff));
            const payload = new Uint8Array(head.length + group.reduce((n, s) => n + s.bytes.length, 0));
            payload.set(head);
            let o = head.length;
            for (const s of group) { payload.set(s.bytes, o); o += s.bytes.length; }
            got.push(...h.push({ seq, ts, marker: i >= segments.length, payload }));
            seq = (seq + 1) & 0xffff;
          }
        }
        expect(plain(got)).toEqual(plain(want));
        expect(h.depay.stats().dropped).toEqual({ loss: 0, tooLarge: 0, malformed: 0, waitingForKeyframe: 0, unsupported: 0 });
      } finally {
        h.destroy();
      }
    }), { seed: SEED, numRuns: CLEAN_RUNS });
  });

  it(`RFC 3640: random AUs packed several per packet or fragmented over packets (${CLEAN_RUNS} runs)`, () => {
    const arb = fc.record({
      sizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 200, max: 3000 })), { minLength: 1, maxLength: 30 }),
      mtu: fc.integer({ min: 100, max: 1400 }),
      seed: fc.integer(),
    });
    fc.assert(fc.property(arb, ({ sizes, mtu, seed }) => {
      const h = new WasmDepayHarness(core, { codec: 'AAC', fmtp: { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3' } });
      try {
        let x = seed | 1;
        const aus = sizes.map((n) => new Uint8Array(n).map(() => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff; }));
        const want = aus.map((data, i) => ({ data, ts: (i * 1024) >>> 0, flags: KEY }));
        const got: Frame[] = [];
        let seq = seed & 0xffff;
        const send = (ts: number, headers: number[], data: Uint8Array[], marker: boolean) => {
          const bits = headers.length * 16;
          const payload = new Uint8Array(2 + headers.length * 2 + data.reduce((n, d) => n + d.length, 0));
          payload[0] = bits >> 8; payload[1] = bits & 0xff;
          headers.forEach((hd, i) => { payload[2 + 2 * i] = hd >> 8; payload[3 + 2 * i] = hd & 0xff; });
          let o = 2 + headers.length * 2;
          for (const d of data) { payload.set(d, o); o += d.length; }
          got.push(...h.push({ seq, ts, marker, payload }));
          seq = (seq + 1) & 0xffff;
        };
        for (let i = 0; i < aus.length;) {
          if (aus[i].length + 4 > mtu) { // fragment it (RFC 3640 §3.2.3: one AU, its full size in each header)
            for (let o = 0; o < aus[i].length; o += mtu) send(i * 1024, [aus[i].length << 3], [aus[i].subarray(o, o + mtu)], o + mtu >= aus[i].length);
            i++;
            continue;
          }
          const group: Uint8Array[] = [];
          let bytes = 2;
          while (i + group.length < aus.length && bytes + 2 + aus[i + group.length].length <= mtu) {
            bytes += 2 + aus[i + group.length].length;
            group.push(aus[i + group.length]);
          }
          send(i * 1024, group.map((a) => a.length << 3), group, true);
          i += group.length;
        }
        expect(plain(got)).toEqual(plain(want));
        expect(h.depay.stats().frames).toBe(aus.length);
      } finally {
        h.destroy();
      }
    }), { seed: SEED, numRuns: CLEAN_RUNS });
  });
});
