// Fuzzing the UDP reorder buffer (src/core/media/reorder.ts) against a model: streams of sequence numbers (across the
// 16-bit wrap) scrambled locally, with losses, duplicates and late packets, and random arrival times that make the
// latency timer fire, driven exactly as the client drives it (inOrder → passed, else push; the timer calls expire).
// Properties: every packet is accounted for exactly once — handed on or discarded, never both, never twice, none
// forgotten (after a last expire, or clear()); what is handed on comes out in sequence order; a sequence number is
// never handed on twice; `held` and `reordered` agree with what happened; sender restarts (far jumps) reset it cleanly.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ReorderBuffer, MAX_REORDER_DEPTH } from '../../src/core/media/reorder.js';
import { fuzz, FUZZ_TEST_TIMEOUT_MS, summary } from './fuzz.js';

interface Arrival { offset: number; gapMs: number }

/**
 * Offsets 0..n-1, each moved at most `spread` places (less than the 100 behind which a packet is a sender restart),
 * some dropped, some sent twice (the copy later).
 */
const streamArb = fc.record({
  n: fc.integer({ min: 1, max: 300 }),
  spread: fc.integer({ min: 0, max: 40 }),
  keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 300, maxLength: 300 }),
  drops: fc.array(fc.nat({ max: 299 }), { maxLength: 20 }),
  dups: fc.array(fc.tuple(fc.nat({ max: 299 }), fc.integer({ min: 0, max: 60 })), { maxLength: 10 }),
  gaps: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 20, max: 200 })), { minLength: 400, maxLength: 400 }),
}).map(({ n, spread, keys, drops, dups, gaps }) => {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => a + keys[a] * spread - (b + keys[b] * spread));
  const dropped = new Set(drops);
  const list = order.filter((o) => !dropped.has(o));
  // (A copy only of a packet that was sent: a lone packet far ahead of the rest would be a sender restart.)
  for (const [o, later] of dups) if (list.includes(o)) list.splice(Math.min(list.length, list.indexOf(o) + 1 + later), 0, o);
  return list.map((offset, i): Arrival => ({ offset, gapMs: gaps[i % gaps.length] }));
});

describe('fuzz: UDP reorder buffer', () => {
  afterAll(() => console.log(summary()));

  it('every packet handed on or discarded exactly once, in sequence order, whatever the arrival order and timing', () => {
    fuzz('reorder model', 0x5eed_0b01, 600, fc.property(
      streamArb, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 100 }), fc.boolean(),
      (arrivals, base, depth, latencyMs, endWithClear) => {
        let now = 1000;
        let deadline = 0; // the single latency timer: 0 = not armed
        const out: Array<{ handle: number; held: boolean }> = [];
        const discarded: Array<{ handle: number; reason: string }> = [];
        const cleared: number[] = [];
        const buf = new ReorderBuffer({ depth, latencyMs }, {
          emit: (handle, _ptr, _len, held) => out.push({ handle, held }),
          discard: (handle, reason) => discarded.push({ handle, reason }),
          schedule: (ms) => { deadline = ms > 0 ? now + ms : 0; },
        });
        const offsetOf: number[] = []; // handle → offset
        arrivals.forEach((a, handle) => {
          now += a.gapMs;
          while (deadline !== 0 && deadline <= now) { const t = deadline; deadline = 0; buf.expire(t); }
          offsetOf[handle] = a.offset;
          const seq = (base + a.offset) & 0xffff;
          if (buf.inOrder(seq)) {
            out.push({ handle, held: false });
            buf.passed(seq);
          } else {
            buf.push(seq, handle, 0, 0, now);
          }
          expect(buf.held).toBeGreaterThanOrEqual(0);
          expect(buf.held).toBeLessThanOrEqual(depth);
        });
        if (endWithClear) buf.clear((h) => cleared.push(h));
        else buf.expire(Number.POSITIVE_INFINITY);
        expect(buf.held).toBe(0);

        // Conservation: each handle exactly once in exactly one of the three.
        const seen = new Map<number, string>();
        for (const [where, list] of [['out', out.map((o) => o.handle)], ['discarded', discarded.map((d) => d.handle)], ['cleared', cleared]] as const) {
          for (const h of list) {
            expect(seen.get(h), `handle ${h} in ${where} and ${seen.get(h)}`).toBeUndefined();
            seen.set(h, where);
          }
        }
        expect(seen.size).toBe(arrivals.length);
        // Order: offsets handed on strictly increase (so no sequence number twice).
        const offsets = out.map((o) => offsetOf[o.handle]);
        for (let i = 1; i < offsets.length; i++) expect(offsets[i], `handed on ${offsets.slice(0, i + 1).join(',')}`).toBeGreaterThan(offsets[i - 1]);
        expect(buf.reordered).toBe(out.filter((o) => o.held).length);
        // A discarded duplicate really was a second copy of something.
        for (const d of discarded) if (d.reason === 'duplicate') expect(arrivals.filter((a) => a.offset === offsetOf[d.handle]).length).toBeGreaterThan(1);
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('sender restarts (jumps far forward or back) mid-stream: still every packet exactly once, in order within each run', () => {
    fuzz('reorder restarts', 0x5eed_0b02, 1000, fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: -3, max: 30 }), { minLength: 1, maxLength: 60 })), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: MAX_REORDER_DEPTH }),
      (runs, depth) => {
        let now = 0;
        let handle = 0;
        const fates = new Map<number, number>();
        const buf = new ReorderBuffer({ depth, latencyMs: 10 }, {
          emit: (h) => fates.set(h, (fates.get(h) ?? 0) + 1),
          discard: (h) => fates.set(h, (fates.get(h) ?? 0) + 1),
          schedule: () => undefined,
        });
        for (const [start, steps] of runs) {
          let seq = start;
          for (const step of steps) {
            seq = (seq + step) & 0xffff;
            now += 1;
            const h = handle++;
            if (buf.inOrder(seq)) { fates.set(h, 1); buf.passed(seq); } else buf.push(seq, h, 0, 0, now);
          }
        }
        buf.expire(Number.POSITIVE_INFINITY);
        expect(buf.held).toBe(0);
        for (let h = 0; h < handle; h++) expect(fates.get(h), `handle ${h}`).toBe(1);
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);
});
