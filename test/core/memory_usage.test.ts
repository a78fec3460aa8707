// A pool under a steady packet load: 1 000 000 acquire/release cycles of mixed sizes, mostly through the handle API
// (what hot paths use) and one in 16 through Lease objects (slice included). What must hold:
// - the wasm memory never grows (same buffer object, same size);
// - the JS heap does not grow with the number of packets: heapUsed after gc() at 100 000 and at 1 000 000 cycles
//   differ by less than HEAP_TOLERANCE_BYTES, which a leak of even one byte per packet (900 000 bytes) exceeds;
// - the pool never holds more than its limit, and its statistics balance (acquires − releases = in use = 0 at the end,
//   per bucket too). Runs with `--expose-gc` (vitest.config.ts execArgv).
import { expect, it } from 'vitest';
import { createCore, type PoolStats } from '../../src/node/index.js';

const CYCLES = 1_000_000;
const WARM_CYCLES = 100_000;
const LIMIT_BYTES = 32 * 65536;
/** Packets held at once: a ring of handles, each released when its place comes round again. */
const WINDOW = 64;
/** One in LEASE_EVERY cycles goes through acquire()/slice()/release() with Lease objects. */
const LEASE_EVERY = 16;
/** Far below one byte per packet over the 900 000 cycles between the two measurements. */
const HEAP_TOLERANCE_BYTES = 512 * 1024;
/** A mix like a camera session: RTCP, audio, parameter sets, MTU-sized video, interleaved frames, edge sizes. */
const SIZES = Int32Array.from([60, 1400, 1200, 172, 1500, 12, 3000, 900, 65536, 256, 2048, 1, 0, 40000, 257, 1460, 2049]);

function heapAfterGc(): number {
  const gc = globalThis.gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function expectBalanced(s: PoolStats): void {
  expect(s.acquires - s.releases).toBe(s.inUse);
  for (const b of s.buckets) expect(b.acquires - b.releases, `bucket ${b.slotBytes}`).toBe(b.inUse);
  expect(s.bytesHighWater).toBeLessThanOrEqual(LIMIT_BYTES);
  expect(s.slabsInUse).toBeLessThanOrEqual(s.maxSlabs);
}

it('memory_usage', async () => {
  expect(typeof globalThis.gc, 'run with --expose-gc (vitest.config.ts execArgv)').toBe('function');
  const core = await createCore({ memoryBytes: 8 << 20 });
  const pool = core.createPool({ limitBytes: LIMIT_BYTES, name: 'memory_usage' });
  const buffer = core.memory.buffer;
  const memoryBytes = buffer.byteLength;
  const ring = new Float64Array(WINDOW); // handles are integers up to 2^53: an Int32Array would cut them
  let cycle = 0;
  let failures = 0;
  let maxBytesInUse = 0;

  const run = (until: number): void => {
    const u8 = core.u8;
    for (; cycle < until; cycle++) {
      const place = cycle & (WINDOW - 1);
      const old = ring[place];
      if (old > 0 && pool.releaseHandle(old) !== 0) failures++;
      ring[place] = 0;
      const size = SIZES[cycle % SIZES.length];
      if (cycle % LEASE_EVERY === 0) {
        const lease = pool.acquire(size);
        const half = lease.slice(size >>> 1, size - (size >>> 1));
        if (size > 0) lease.view[0] = cycle & 0xFF;
        lease.release();
        if (half.view.length !== size - (size >>> 1)) failures++;
        half.release();
      } else {
        const h = pool.acquireHandle(size);
        if (h <= 0) {
          failures++;
          continue;
        }
        u8[pool.ptrOf(h)] = cycle & 0xFF; // touch the slot as a socket read would
        ring[place] = h;
      }
      if ((cycle & 0x3FFF) === 0) {
        const s = pool.stats();
        if (s.bytesInUse > LIMIT_BYTES || s.inUse > WINDOW + 1) failures++;
        maxBytesInUse = Math.max(maxBytesInUse, s.bytesInUse);
      }
    }
  };

  const started = performance.now();
  run(WARM_CYCLES);
  const heapWarm = heapAfterGc();
  run(CYCLES);
  const heapEnd = heapAfterGc();
  const seconds = (performance.now() - started) / 1000;

  for (let i = 0; i < WINDOW; i++) if (ring[i] > 0 && pool.releaseHandle(ring[i]) !== 0) failures++;
  const s = pool.stats();
  console.log(`memory_usage: ${CYCLES} cycles in ${seconds.toFixed(2)} s; heapUsed ${heapWarm} → ${heapEnd} ` +
    `(${heapEnd - heapWarm} bytes); pool high water ${s.highWater} slots / ${s.bytesHighWater} bytes of ${LIMIT_BYTES}; ` +
    `slabs ${s.buckets.map((b) => b.slabs).join('/')}`);

  expect(failures).toBe(0);
  expect(cycle).toBe(CYCLES);
  expect(core.memory.buffer).toBe(buffer);
  expect(core.memory.buffer.byteLength).toBe(memoryBytes);
  expect(Math.abs(heapEnd - heapWarm)).toBeLessThan(HEAP_TOLERANCE_BYTES);
  expectBalanced(s);
  expect(s.inUse).toBe(0);
  expect(s.bytesInUse).toBe(0);
  for (const b of s.buckets) expect(b.inUse).toBe(0);
  expect(s.acquires).toBe(CYCLES);
  expect(s.exhaustions).toBe(0);
  expect(s.stale).toBe(0);
  expect(s.retains).toBe(CYCLES / LEASE_EVERY);
  expect(s.reuses).toBeGreaterThan(CYCLES * 0.99);
  expect(maxBytesInUse).toBeGreaterThan(0);
  expect(s.bytesHighWater).toBeLessThanOrEqual(LIMIT_BYTES);
  pool.destroy();
});
