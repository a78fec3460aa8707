// The packet pool, through the Lease API and the low-level handle API, against the debug build (assertions on):
// bucket choice, limits, exhaustion, reference counts, stale and invalid handles, several pools in one core, slab
// return, statistics that always balance, and a memory that never grows.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CoreError, LeaseReleasedError, PacketPool, PoolError, PoolExhaustedError, Status, WasmRtspError, createCore,
  POOL_MAX_LIMIT_BYTES, POOL_MIN_LIMIT_BYTES, type Core, type PoolStats,
} from '../../src/node/index.js';
import { POOL_GENERATION_LAST } from '../../src/core/pool.js';

/** The parts of a handle (generation × 2^20 + slab × 2^8 + slot): arithmetic, not bit operators, which cut at 32 bits. */
const genOf = (h: number): number => Math.floor(h / 2 ** 20);
const indexOf = (h: number): number => h % 2 ** 20;
const slabOf = (h: number): number => Math.floor(indexOf(h) / 256);
const handleOf = (gen: number, slab: number, slot: number): number => gen * 2 ** 20 + slab * 256 + slot;

const SLAB = 65536;
let core: Core;
let memoryBytes: number;

beforeAll(async () => {
  core = await createCore({ debug: true, memoryBytes: 64 << 20 });
  memoryBytes = core.memory.buffer.byteLength;
});

/** Small deterministic PRNG (mulberry32), so a failing random sequence can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Every invariant the statistics promise, for the pool and for each bucket. */
function expectBalanced(s: PoolStats): void {
  expect(s.acquires - s.releases).toBe(s.inUse);
  let inUse = 0;
  let bytes = 0;
  let slabs = 0;
  for (const b of s.buckets) {
    expect(b.acquires - b.releases, `bucket ${b.slotBytes}`).toBe(b.inUse);
    expect(b.bytesInUse).toBe(b.inUse * b.slotBytes);
    expect(b.capacity).toBeGreaterThanOrEqual(b.inUse);
    expect(b.capacity + b.retired).toBeLessThanOrEqual(b.slabs * (SLAB / b.slotBytes));
    expect(b.highWater).toBeGreaterThanOrEqual(b.inUse);
    inUse += b.inUse;
    bytes += b.bytesInUse;
    slabs += b.slabs;
  }
  expect(inUse).toBe(s.inUse);
  expect(bytes).toBe(s.bytesInUse);
  expect(slabs).toBe(s.slabsInUse);
  expect(s.slabsInUse).toBeLessThanOrEqual(s.maxSlabs);
  expect(s.bytesHighWater).toBeLessThanOrEqual(s.maxSlabs * SLAB);
  expect(s.acquires).toBe(s.buckets.reduce((n, b) => n + b.acquires, 0));
  expect(s.exhaustions).toBe(s.buckets.reduce((n, b) => n + b.exhaustions, 0));
  expect(s.retired).toBe(s.buckets.reduce((n, b) => n + b.retired, 0));
}

function withPool<T>(limitBytes: number, fn: (pool: PacketPool) => T): T {
  const pool = core.createPool({ limitBytes, name: 'test' });
  try {
    return fn(pool);
  } finally {
    pool.destroy({ force: true });
  }
}

describe('bucket choice', () => {
  const cases: Array<[size: number, slotBytes: number]> = [
    [0, 256], [1, 256], [256, 256], [257, 2048], [2048, 2048], [2049, 65536], [65536, 65536],
  ];
  for (const [size, slotBytes] of cases) {
    it(`size ${size} takes a ${slotBytes}-byte slot`, () => withPool(4 * SLAB, (pool) => {
      const h = pool.acquireHandle(size);
      expect(h).toBeGreaterThan(0);
      expect(pool.slotBytes(h)).toBe(slotBytes);
      const s = pool.stats();
      expect(s.buckets.find((b) => b.slotBytes === slotBytes)!.inUse).toBe(1);
      expect(s.buckets.filter((b) => b.inUse > 0)).toHaveLength(1);
      const lease = pool.acquire(size);
      expect(lease.length).toBe(size);
      expect(lease.view.length).toBe(size);
      expect(pool.slotBytes(lease.handle)).toBe(slotBytes);
      lease.release();
      expect(pool.releaseHandle(h)).toBe(0);
    }));
  }

  it('size 65537 is refused with POOL_SIZE_TOO_LARGE, not served from some other bucket', () => withPool(4 * SLAB, (pool) => {
    expect(pool.acquireHandle(65537)).toBe(Status.POOL_SIZE_TOO_LARGE);
    expect(pool.acquireHandle(0xFFFF_FFFF)).toBe(Status.POOL_SIZE_TOO_LARGE);
    expect(() => pool.acquire(65537)).toThrow(expect.objectContaining({ code: 'POOL_SIZE_TOO_LARGE' }));
    expect(() => pool.acquire(-1)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => pool.acquire(1.5)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(pool.stats().acquires).toBe(0);
    expect(pool.stats().exhaustions).toBe(0);
  }));

  it('slots of one bucket do not overlap and lie inside core memory', () => withPool(4 * SLAB, (pool) => {
    const hs = Array.from({ length: 40 }, () => pool.acquireHandle(2000)); // 40 > 32 slots: two slabs
    const ptrs = hs.map((h) => pool.ptrOf(h)).sort((a, b) => a - b);
    for (let i = 1; i < ptrs.length; i++) expect(ptrs[i] - ptrs[i - 1]).toBeGreaterThanOrEqual(2048);
    expect(ptrs[ptrs.length - 1] + 2048).toBeLessThanOrEqual(memoryBytes);
    expect(pool.stats().buckets[1]).toMatchObject({ slabs: 2, capacity: 40, inUse: 40 });
    for (const h of hs) expect(pool.releaseHandle(h)).toBe(0);
  }));
});

describe('lastPtr', () => {
  it('is the address of the slot the last successful acquire returned, in every bucket', () => withPool(4 * SLAB, (pool) => {
    for (const size of [1, 300, 3000, 65536, 10, 1500]) {
      const h = pool.acquireHandle(size);
      expect(h).toBeGreaterThan(0);
      expect(pool.lastPtr).toBe(pool.ptrOf(h));
    }
  }));

  it('is left alone by a refused acquire', () => withPool(SLAB, (pool) => {
    const h = pool.acquireHandle(65536);
    const ptr = pool.lastPtr;
    expect(pool.acquireHandle(65536)).toBe(Status.POOL_EXHAUSTED);
    expect(pool.acquireHandle(70000)).toBe(Status.POOL_SIZE_TOO_LARGE);
    expect(pool.lastPtr).toBe(ptr);
    pool.releaseHandle(h);
  }));
});

describe('limits', () => {
  const refused: Array<[what: string, limit: unknown]> = [
    ['0', 0], ['below one slab', SLAB - 1], ['above 4096 slabs', POOL_MAX_LIMIT_BYTES + SLAB], ['2^32', 2 ** 32],
    ['negative', -SLAB], ['fractional', SLAB + 0.5], ['NaN', NaN], ['a string', '65536'],
  ];
  for (const [what, limitBytes] of refused) {
    it(`refuses limitBytes ${what} with BAD_OPTION naming the range`, () => {
      let error: unknown;
      try {
        core.createPool({ limitBytes: limitBytes as number });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PoolError);
      expect(error).toBeInstanceOf(WasmRtspError);
      expect((error as PoolError).code).toBe('BAD_OPTION');
      expect((error as Error).message).toContain(String(POOL_MIN_LIMIT_BYTES));
      expect((error as Error).message).toContain(String(POOL_MAX_LIMIT_BYTES));
    });
  }

  it('the core itself returns 0 for a limit below one slab or above 4096 slabs', () => {
    for (const limit of [0, 1, SLAB - 1, 4097 * SLAB, 0xFFFF_FFFF]) expect(core.exports.pool_create(limit), `${limit}`).toBe(0);
  });

  it('rounds the limit down to whole slabs', () => withPool(2 * SLAB + 1000, (pool) => {
    expect(pool.stats()).toMatchObject({ limitBytes: 2 * SLAB + 1000, maxSlabs: 2 });
    expect(pool.acquireHandle(SLAB)).toBeGreaterThan(0);
    expect(pool.acquireHandle(SLAB)).toBeGreaterThan(0);
    expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
  }));

  it('a pool larger than the free core memory is OUT_OF_MEMORY, and leaves nothing reserved', () => {
    const before = core.reservedBytes;
    expect(() => core.createPool({ limitBytes: 200 * SLAB * 10 })).toThrow(CoreError);
    expect(() => core.createPool({ limitBytes: 2000 * SLAB })).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    expect(core.reservedBytes).toBe(before);
  });

  it('accepts the largest limit (4096 slabs, 256 MiB: slab 4095 is addressable) in a core big enough', async () => {
    const big = await createCore({ memoryBytes: 300 << 20 });
    const pool = big.createPool({ limitBytes: POOL_MAX_LIMIT_BYTES });
    expect(POOL_MAX_LIMIT_BYTES).toBe(256 * 1024 * 1024);
    expect(pool.stats().maxSlabs).toBe(4096);
    const hs: number[] = [];
    for (let i = 0; i < 4096; i++) hs.push(pool.acquireHandle(SLAB));
    expect(hs.every((h) => h > 0)).toBe(true);
    expect(Math.max(...hs.map(slabOf))).toBe(4095);
    expect(new Set(hs.map((h) => pool.ptrOf(h))).size).toBe(4096);
    expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    for (const h of hs) expect(pool.releaseHandle(h)).toBe(0);
    pool.destroy();
  });
});

describe('exhaustion and recovery', () => {
  it('throws PoolExhaustedError with its context, counts it, and recovers on release', () => withPool(2 * SLAB, (pool) => {
    const a = pool.acquire(40000);
    const b = pool.acquire(SLAB);
    let error: unknown;
    try {
      pool.acquire(30000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PoolExhaustedError);
    expect(error).toBeInstanceOf(WasmRtspError);
    expect((error as PoolExhaustedError).code).toBe('POOL_EXHAUSTED');
    expect((error as PoolExhaustedError).context).toMatchObject({ size: 30000, bucket: 65536, limitBytes: 2 * SLAB, inUse: 2 });
    expect(pool.tryAcquire(30000)).toBeNull();
    expect(pool.acquireHandle(100)).toBe(Status.POOL_EXHAUSTED); // no slab left for the small bucket either
    const s = pool.stats();
    expect(s.exhaustions).toBe(3);
    expect(s.buckets.map((x) => x.exhaustions)).toEqual([1, 0, 2]);
    a.release();
    const c = pool.acquire(30000);
    expect(c.view.length).toBe(30000);
    c.release();
    b.release();
    expectBalanced(pool.stats());
  }));

  it('never falls back to a larger bucket: a full small bucket is exhausted while the MTU bucket has free slots', () => withPool(2 * SLAB, (pool) => {
    const mtu = pool.acquireHandle(1500);
    const small: number[] = [];
    for (let i = 0; i < 256; i++) small.push(pool.acquireHandle(100));
    expect(small.every((h) => h > 0)).toBe(true);
    expect(pool.acquireHandle(100)).toBe(Status.POOL_EXHAUSTED);
    expect(pool.acquireHandle(1500)).toBeGreaterThan(0); // 31 MTU slots still free
    expect(pool.stats().buckets[0]).toMatchObject({ capacity: 256, inUse: 256, exhaustions: 1 });
    pool.releaseHandle(small[17]);
    expect(pool.slotBytes(pool.acquireHandle(100))).toBe(256);
    expect(pool.releaseHandle(mtu)).toBe(0);
  }));
});

describe('reference counts', () => {
  it('retain, release: the slot is freed only by the last release', () => withPool(SLAB, (pool) => {
    const h = pool.acquireHandle(100);
    expect(pool.checkHandle(h)).toBe(1);
    expect(pool.retainHandle(h)).toBe(2);
    expect(pool.retainHandle(h)).toBe(3);
    expect(pool.releaseHandle(h)).toBe(1);
    expect(pool.releaseHandle(h)).toBe(1);
    expect(pool.checkHandle(h)).toBe(1);
    expect(pool.releaseHandle(h)).toBe(0);
    expect(pool.checkHandle(h)).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.stats()).toMatchObject({ acquires: 1, releases: 1, retains: 2, inUse: 0 });
  }));

  const orders: Array<[name: string, order: number[]]> = [
    ['original first', [0, 1, 2, 3]], ['original last', [1, 2, 3, 0]], ['slices first, then retain', [2, 3, 1, 0]],
    ['interleaved', [3, 0, 2, 1]],
  ];
  for (const [name, order] of orders) {
    it(`slices and retains keep the slot until the last lease is released (${name})`, () => withPool(SLAB, (pool) => {
      const lease = pool.acquire(1400);
      lease.view.fill(7);
      lease.view.set([1, 2, 3, 4], 100);
      const copy = lease.retain();
      const frame1 = lease.slice(100, 4);
      const frame2 = lease.slice(700, 700);
      const leases = [lease, copy, frame1, frame2];
      expect(pool.checkHandle(lease.handle)).toBe(4);
      expect(frame1.byteOffset).toBe(lease.byteOffset + 100);
      expect([...frame1.view]).toEqual([1, 2, 3, 4]);
      expect(frame2.view.length).toBe(700);
      for (let i = 0; i < order.length; i++) {
        const l = leases[order[i]];
        l.release();
        expect(l.released).toBe(true);
        expect(() => l.view).toThrow(LeaseReleasedError);
        for (const other of order.slice(i + 1)) expect(leases[other].view.length).toBe(leases[other].length);
        expect(pool.stats().inUse).toBe(i === order.length - 1 ? 0 : 1);
      }
      expect(pool.checkHandle(lease.handle)).toBe(Status.POOL_STALE_HANDLE);
      expect(pool.stats()).toMatchObject({ acquires: 1, releases: 1, retains: 3 });
    }));
  }

  it('refuses a slice outside the lease', () => withPool(SLAB, (pool) => {
    const lease = pool.acquire(100);
    for (const [o, n] of [[-1, 1], [0, 101], [100, 1], [50, 51], [1.5, 2]]) {
      expect(() => lease.slice(o, n), `${o},${n}`).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    }
    expect(lease.slice(100, 0).length).toBe(0);
    expect(pool.checkHandle(lease.handle)).toBe(2); // only the valid slice took a reference
  }));

  it('stops at 65535 references with POOL_REFCOUNT_OVERFLOW', () => withPool(SLAB, (pool) => {
    const h = pool.acquireHandle(10);
    for (let i = 2; i <= 65535; i++) if (pool.retainHandle(h) !== i) throw new Error(`retain ${i}`);
    expect(pool.retainHandle(h)).toBe(Status.POOL_REFCOUNT_OVERFLOW);
    expect(pool.checkHandle(h)).toBe(65535);
    const lease = pool.acquire(10);
    expect(pool.releaseHandle(h)).toBe(1);
    expect(pool.retainHandle(h)).toBe(65535);
    for (let i = 65535; i > 1; i--) if (pool.releaseHandle(h) !== 1) throw new Error(`release ${i}`);
    expect(pool.releaseHandle(h)).toBe(0);
    lease.release();
  }));
});

describe('stale and invalid handles', () => {
  it('a released handle is stale, and stays stale when its slot is reused', () => withPool(SLAB, (pool) => {
    const h1 = pool.acquireHandle(100);
    const p1 = pool.ptrOf(h1);
    expect(pool.releaseHandle(h1)).toBe(0);
    const cases: Array<[string, () => number]> = [
      ['check', () => pool.checkHandle(h1)], ['retain', () => pool.retainHandle(h1)], ['release', () => pool.releaseHandle(h1)],
    ];
    for (const [, call] of cases) expect(call()).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.ptrOf(h1)).toBe(0);
    expect(pool.slotBytes(h1)).toBe(0);
    const h2 = pool.acquireHandle(100); // the same slot, a new generation
    expect(pool.ptrOf(h2)).toBe(p1);
    expect(h2).not.toBe(h1);
    for (const [what, call] of cases.slice(0, 2)) expect(call(), what).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.checkHandle(h2)).toBe(1); // the stale retain above did not touch it
    expect(pool.stats()).toMatchObject({ reuses: 1, stale: 7, acquires: 2, releases: 1, retains: 0 });
  }));

  it('refuses handles that name no slot of this pool, without trapping', () => withPool(3 * SLAB, (pool) => {
    const live = [pool.acquireHandle(100), pool.acquireHandle(1500), pool.acquireHandle(60000)];
    const invalid: Array<[string, number]> = [
      ['0', 0], ['-0', -0], ['-1', -1], ['i32 min', -(2 ** 31)], ['a negative status', Status.POOL_EXHAUSTED],
      ['generation 0', indexOf(live[0])], ['slab beyond the limit', handleOf(genOf(live[0]), 5, 0)],
      ['a slot never carved', live[0] + 9], ['slab 4095', handleOf(1, 4095, 0)],
      ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['a fraction of a live handle', live[0] + 0.5],
      ['2^53', 2 ** 53], ['2^64', 2 ** 64],
      ['the retired-slot marker as generation', handleOf(0xFFFF_FFFF, 0, 0)],
    ];
    for (const [what, h] of invalid) {
      expect(pool.checkHandle(h), what).toBe(Status.POOL_INVALID_HANDLE);
      expect(pool.retainHandle(h), what).toBe(Status.POOL_INVALID_HANDLE);
      expect(pool.releaseHandle(h), what).toBe(Status.POOL_INVALID_HANDLE);
      expect(pool.ptrOf(h), what).toBe(0);
      expect(pool.slotBytes(h), what).toBe(0);
    }
    // Random 32-bit and 53-bit values: every call is refused (the live handles excepted), the pool is unchanged.
    const next = rng(0x5EED);
    const liveSet = new Set(live);
    let refused = 0;
    for (let i = 0; i < 20000; i++) {
      const h = i % 2 === 0 ? (next() * 2 ** 32) | 0 : Math.floor(next() * 2 ** 21) * 2 ** 32 + Math.floor(next() * 2 ** 32);
      if (liveSet.has(h)) continue;
      for (const status of [pool.checkHandle(h), pool.retainHandle(h), pool.releaseHandle(h)]) {
        if (status !== Status.POOL_INVALID_HANDLE && status !== Status.POOL_STALE_HANDLE) throw new Error(`random handle ${h}: ${status}`);
      }
      if (pool.ptrOf(h) !== 0 || pool.slotBytes(h) !== 0) throw new Error(`random handle ${h} accepted`);
      refused++;
    }
    expect(refused).toBeGreaterThan(19990);
    for (const h of live) expect(pool.checkHandle(h)).toBe(1);
    const s = pool.stats();
    expect(s.stale).toBe(invalid.length * 5 + refused * 5);
    expect(s).toMatchObject({ inUse: 3, acquires: 3, releases: 0, retains: 0 });
  }));

  it('refuses a handle of another pool', () => {
    const a = core.createPool({ limitBytes: SLAB, name: 'a' });
    const b = core.createPool({ limitBytes: SLAB, name: 'b' });
    const ha = a.acquireHandle(100);
    const hb = b.acquireHandle(100);
    expect(indexOf(ha)).toBe(indexOf(hb)); // same slab and slot …
    expect(ha).not.toBe(hb); //                 … but each pool starts its generations elsewhere
    expect(b.checkHandle(ha)).toBeLessThan(0);
    expect(b.releaseHandle(ha)).toBeLessThan(0);
    expect(b.ptrOf(ha)).toBe(0);
    expect(b.checkHandle(hb)).toBe(1);
    expect(a.checkHandle(ha)).toBe(1);
    a.destroy({ force: true });
    b.destroy({ force: true });
  });

  it('refuses anything that is not a live pool pointer, without trapping', () => withPool(SLAB, (pool) => {
    const h = pool.acquireHandle(100);
    const ptr = (pool as unknown as { ptr: number }).ptr;
    const x = core.exports;
    for (const p of [0, 1, 16, ptr + 16, ptr - 16, pool.ptrOf(h), memoryBytes - 16, memoryBytes, 0xFFFF_FFF0, -16]) {
      expect(x.pool_acquire(p, 100), `${p}`).toBe(Status.ERR_BAD_ARGUMENT);
      expect(x.pool_release(p, h), `${p}`).toBe(Status.ERR_BAD_ARGUMENT);
      expect(x.pool_retain(p, h), `${p}`).toBe(Status.ERR_BAD_ARGUMENT);
      expect(x.pool_check(p, h), `${p}`).toBe(Status.ERR_BAD_ARGUMENT);
      expect(x.pool_ptr(p, h), `${p}`).toBe(0);
      expect(x.pool_slot_bytes(p, h), `${p}`).toBe(0);
      expect(x.pool_destroy(p), `${p}`).toBe(Status.ERR_BAD_ARGUMENT);
    }
    expect(pool.checkHandle(h)).toBe(1);
  }));
});

describe('generations never wrap (issue 15: an 11-bit generation wrapped after 2046 reuses of a slot)', () => {
  const REUSES = 5000; // well past the old wrap point (2046): about 2.5 s of one camera at 2000 packets/s

  it(`a stale handle stays refused after its slot is reused ${REUSES} times, and cannot free the new owner`, () => withPool(SLAB, (pool) => {
    const stale = pool.acquireHandle(100);
    const ptr = pool.ptrOf(stale);
    expect(pool.releaseHandle(stale)).toBe(0);
    const seen = new Set<number>([stale]);
    for (let i = 0; i < REUSES; i++) {
      const h = pool.acquireHandle(100);
      if (pool.ptrOf(h) !== ptr) throw new Error(`reuse ${i}: another slot`); // the same slot every time
      if (seen.has(h)) throw new Error(`reuse ${i}: handle ${h} issued twice`);
      seen.add(h);
      if (pool.checkHandle(stale) !== Status.POOL_STALE_HANDLE) throw new Error(`reuse ${i}: the stale handle is live again`);
      if (pool.releaseHandle(stale) !== Status.POOL_STALE_HANDLE) throw new Error(`reuse ${i}: the stale handle released the slot`);
      if (pool.checkHandle(h) !== 1) throw new Error(`reuse ${i}: the owner lost its reference`);
      pool.releaseHandle(h);
    }
    expect(seen.size).toBe(REUSES + 1);
    expect(genOf(Math.max(...seen)) - genOf(stale)).toBe(REUSES); // one generation per reuse, none skipped or wrapped
    const owner = pool.acquireHandle(100);
    expect(pool.releaseHandle(stale)).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.checkHandle(owner)).toBe(1);
    expect(pool.stats()).toMatchObject({ reuses: REUSES + 1, inUse: 1, retired: 0 });
  }));

  it(`a lease whose slot was freed through the handle API refuses its view after ${REUSES} reuses of that slot`, () => withPool(SLAB, (pool) => {
    const lease = pool.acquire(4);
    lease.view.set([1, 2, 3, 4]);
    expect(pool.releaseHandle(lease.handle)).toBe(0);
    for (let i = 0; i < REUSES; i++) pool.releaseHandle(pool.acquireHandle(4));
    const owner = pool.acquire(4);
    expect(owner.byteOffset).toBe(lease.byteOffset);
    owner.view.set([9, 9, 9, 9]);
    expect(() => lease.view).toThrow(LeaseReleasedError);
    expect(() => lease.release()).toThrow(LeaseReleasedError);
    expect(() => lease.slice(0, 1)).toThrow(LeaseReleasedError);
    expect([...owner.view]).toEqual([9, 9, 9, 9]);
    expect(pool.checkHandle(owner.handle)).toBe(1);
    owner.release();
  }));

  it('every handle is a safe integer above 2^31 from the first acquire, so a host that cuts it to 32 bits fails at once', () => {
    for (let i = 0; i < 20; i++) {
      withPool(SLAB, (pool) => {
        const h = pool.acquireHandle(100);
        expect(Number.isSafeInteger(h)).toBe(true);
        expect(h).toBeGreaterThan(2 ** 31);
        expect(h | 0).not.toBe(h);
        expect(pool.checkHandle(h | 0)).toBeLessThan(0);
        expect(new Int32Array([h])[0]).not.toBe(h);
        expect(new Float64Array([h])[0]).toBe(h); // the storage that keeps it
        expect(pool.checkHandle(new Float64Array([h])[0])).toBe(1);
      });
    }
  });

  it('a slot whose generation is spent is retired, not wrapped: its handles stay stale and another slot serves', () => {
    const pool = core.createPool({ limitBytes: SLAB, name: 'retire', firstGeneration: POOL_GENERATION_LAST - 2 });
    const handles: number[] = [];
    for (let i = 0; i < 3; i++) {
      const h = pool.acquireHandle(100);
      expect(genOf(h)).toBe(POOL_GENERATION_LAST - 2 + i);
      expect(Number.isSafeInteger(h)).toBe(true);
      handles.push(h);
      expect(pool.releaseHandle(h)).toBe(0);
    }
    expect(pool.stats().buckets[0]).toMatchObject({ retired: 1, capacity: 0, inUse: 0, slabs: 1 });
    const next = pool.acquireHandle(100);
    expect(indexOf(next)).not.toBe(indexOf(handles[0])); // slot 0 is never handed out again
    expect(genOf(next)).toBe(POOL_GENERATION_LAST - 2);
    for (const h of handles) {
      expect(pool.checkHandle(h)).toBe(Status.POOL_STALE_HANDLE);
      expect(pool.releaseHandle(h)).toBe(Status.POOL_STALE_HANDLE);
      expect(pool.ptrOf(h)).toBe(0);
    }
    // The generations a wrap would have reused are refused too.
    for (const gen of [1, 2, POOL_GENERATION_LAST - 3, 0xFFFF_FFFF]) expect(pool.checkHandle(handleOf(gen, 0, 0))).toBeLessThan(0);
    // The other 255 slots of the slab still serve; then the bucket is exhausted, never slot 0 again.
    const rest = [next];
    for (let i = 0; i < 254; i++) rest.push(pool.acquireHandle(100));
    expect(rest.every((h) => h > 0 && indexOf(h) !== 0)).toBe(true);
    expect(pool.acquireHandle(100)).toBe(Status.POOL_EXHAUSTED);
    expectBalanced(pool.stats());
    for (const h of rest) pool.releaseHandle(h);
    expectBalanced(pool.stats());
    pool.destroy();
  });

  it('a slab holding a retired slot stays with its bucket: no other bucket re-carves the retired descriptor', () => {
    const pool = core.createPool({ limitBytes: SLAB, name: 'pinned', firstGeneration: POOL_GENERATION_LAST });
    const a = pool.acquireHandle(100);
    const b = pool.acquireHandle(100);
    expect(pool.releaseHandle(a)).toBe(0); // generation spent: slot 0 retired
    expect(pool.releaseHandle(b)).toBe(0); // the slab is empty now, but holds a retired slot
    expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED); // the 64 KiB bucket may not take it …
    const c = pool.acquireHandle(100); // … while its own bucket still uses it
    expect(c).toBeGreaterThan(0);
    expect(pool.checkHandle(a)).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.stats().buckets.map((x) => [x.slabs, x.retired])).toEqual([[1, 2], [0, 0], [0, 0]]);
    expectBalanced(pool.stats());
    pool.releaseHandle(c);
    pool.destroy();
  });

  it('a 64 KiB slot (one per slab) that retires takes its slab out of service, counted; the next slab serves', () => {
    const pool = core.createPool({ limitBytes: 2 * SLAB, name: 'max', firstGeneration: POOL_GENERATION_LAST });
    const first = pool.acquireHandle(SLAB);
    expect(pool.releaseHandle(first)).toBe(0);
    expect(pool.stats().buckets[2]).toMatchObject({ slabs: 1, capacity: 0, retired: 1, inUse: 0 });
    const second = pool.acquireHandle(SLAB);
    expect(slabOf(second)).not.toBe(slabOf(first));
    expect(pool.releaseHandle(second)).toBe(0);
    expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    expect(pool.acquireHandle(100)).toBe(Status.POOL_EXHAUSTED); // both slabs are spent: none to hand to another bucket
    expect(pool.checkHandle(first)).toBe(Status.POOL_STALE_HANDLE);
    expect(pool.checkHandle(second)).toBe(Status.POOL_STALE_HANDLE);
    const s = pool.stats();
    expect(s).toMatchObject({ retired: 2, slabsInUse: 2, inUse: 0 });
    expectBalanced(s);
    pool.destroy();
  });

  it('a slab that changes bucket keeps its descriptors\' generations: a handle of its old bucket stays stale', () => withPool(SLAB, (pool) => {
    const small = pool.acquireHandle(100);
    pool.releaseHandle(small);
    const big = pool.acquireHandle(SLAB); // takes the empty slab from the small bucket
    expect(indexOf(big)).toBe(indexOf(small)); // the same descriptor (slab 0, slot 0) …
    expect(genOf(big)).toBe(genOf(small) + 1); // … in the next generation
    expect(pool.checkHandle(small)).toBe(Status.POOL_STALE_HANDLE);
    pool.releaseHandle(big);
  }));

  it('refuses a firstGeneration outside 1 … POOL_GENERATION_LAST with BAD_OPTION', () => {
    for (const firstGeneration of [-1, 1.5, POOL_GENERATION_LAST + 1, 2 ** 32, NaN]) {
      expect(() => core.createPool({ limitBytes: SLAB, firstGeneration }), `${firstGeneration}`)
        .toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    }
    expect(core.exports.pool_create(SLAB, 0xFFFF_FFFF)).toBe(0); // the core refuses it too
  });
});

describe('leases', () => {
  it('a view shows the slot until release, then throws LeaseReleasedError instead of reading reused memory', () => withPool(SLAB, (pool) => {
    const lease = pool.acquire(5);
    lease.view.set([1, 2, 3, 4, 5]);
    expect(core.u8.subarray(lease.byteOffset, lease.byteOffset + 5)).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    expect(lease.view.buffer).toBe(core.memory.buffer);
    lease.release();
    expect(() => lease.view).toThrow(LeaseReleasedError);
    expect(() => lease.view).toThrow(expect.objectContaining({ code: 'LEASE_RELEASED' }));
    const next = pool.acquire(5); // the same slot, reused
    expect(next.byteOffset).toBe(lease.byteOffset);
    expect(() => lease.view).toThrow(LeaseReleasedError);
    expect(() => lease.release()).toThrow(LeaseReleasedError);
    expect(() => lease.retain()).toThrow(LeaseReleasedError);
    expect(() => lease.slice(0, 1)).toThrow(LeaseReleasedError);
    expect(pool.checkHandle(next.handle)).toBe(1); // the double release did not touch the new owner
    next.release();
  }));

  it('a lease whose handle was released through the low-level API refuses its view', () => withPool(SLAB, (pool) => {
    const lease = pool.acquire(10);
    expect(pool.releaseHandle(lease.handle)).toBe(0);
    pool.acquire(10);
    expect(() => lease.view).toThrow(LeaseReleasedError);
    expect(() => lease.release()).toThrow(LeaseReleasedError);
  }));
});

describe('several pools in one core', () => {
  it('each has its own limit and its own statistics', () => {
    const a = core.createPool({ limitBytes: SLAB, name: 'camera-a' });
    const b = core.createPool({ limitBytes: 3 * SLAB, name: 'camera-b' });
    expect(a.acquireHandle(SLAB)).toBeGreaterThan(0);
    expect(a.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    const hb = [b.acquireHandle(SLAB), b.acquireHandle(SLAB), b.acquireHandle(SLAB)];
    expect(hb.every((h) => h > 0)).toBe(true);
    expect(b.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    expect(() => a.acquire(1)).toThrow(expect.objectContaining({ message: expect.stringContaining('camera-a') }));
    expect(a.stats()).toMatchObject({ name: 'camera-a', maxSlabs: 1, inUse: 1, exhaustions: 2 });
    expect(b.stats()).toMatchObject({ name: 'camera-b', maxSlabs: 3, inUse: 3, exhaustions: 1 });
    for (const h of hb.slice(1)) b.releaseHandle(h);
    expect(a.acquireHandle(0)).toBe(Status.POOL_EXHAUSTED); // b's free slabs are not a's
    hb.length = 1;
    for (const h of hb) b.releaseHandle(h);
    a.destroy({ force: true });
    b.destroy();
  });
});

describe('destroy', () => {
  it('refuses while slots are in use, unless forced; then every lease counts as released', () => {
    const before = core.reservedBytes;
    const pool = core.createPool({ limitBytes: 4 * SLAB });
    expect(core.reservedBytes).toBeGreaterThan(before + 4 * SLAB);
    const lease = pool.acquire(100);
    const slice = lease.slice(0, 10);
    expect(() => pool.destroy()).toThrow(expect.objectContaining({ code: 'POOL_IN_USE' }));
    expect(pool.destroyed).toBe(false);
    expect(slice.view.length).toBe(10);
    pool.destroy({ force: true });
    expect(pool.destroyed).toBe(true);
    expect(core.reservedBytes).toBe(before);
    expect(lease.released).toBe(true);
    expect(() => lease.view).toThrow(LeaseReleasedError);
    expect(() => slice.release()).not.toThrow(); // late consumers may still release: a no-op now
    expect(() => slice.release()).toThrow(LeaseReleasedError);
    expect(() => pool.destroy()).not.toThrow(); // idempotent
    expect(() => pool.acquire(1)).toThrow(expect.objectContaining({ code: 'POOL_DESTROYED' }));
    expect(pool.acquireHandle(1)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(pool.releaseHandle(lease.handle)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(pool.stats()).toMatchObject({ inUse: 1, acquires: 1, retains: 1 }); // the last snapshot
  });

  it('a destroyed pool\'s memory goes to the next pool, whose handles the old pool object cannot touch', () => {
    const old = core.createPool({ limitBytes: SLAB });
    const oldHandle = old.acquireHandle(100);
    old.releaseHandle(oldHandle);
    old.destroy();
    const fresh = core.createPool({ limitBytes: SLAB });
    const h = fresh.acquireHandle(100);
    expect(old.releaseHandle(h)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(fresh.checkHandle(h)).toBe(1);
    expect(fresh.checkHandle(oldHandle)).toBeLessThan(0);
    fresh.releaseHandle(h);
    fresh.destroy();
  });
});

describe('statistics', () => {
  it('balance after every step of a random acquire/retain/release sequence', () => withPool(6 * SLAB, (pool) => {
    const next = rng(42);
    const held: number[] = [];
    const sizes = [0, 60, 256, 257, 1400, 2048, 2049, 30000, 65536];
    let exhausted = 0;
    for (let step = 0; step < 3000; step++) {
      const r = next();
      if (r < 0.5 || held.length === 0) {
        const h = pool.acquireHandle(sizes[Math.floor(next() * sizes.length)]);
        if (h > 0) held.push(h); else { expect(h).toBe(Status.POOL_EXHAUSTED); exhausted++; }
      } else if (r < 0.6) {
        const h = held[Math.floor(next() * held.length)];
        expect(pool.retainHandle(h)).toBeGreaterThan(1);
        held.push(h);
      } else {
        const i = Math.floor(next() * held.length);
        const h = held[i];
        held[i] = held[held.length - 1];
        held.pop();
        expect(pool.releaseHandle(h)).toBe(held.includes(h) ? 1 : 0);
      }
      if (step % 50 === 0) expectBalanced(pool.stats());
    }
    expect(exhausted).toBeGreaterThan(0);
    for (const h of held) pool.releaseHandle(h);
    const s = pool.stats();
    expectBalanced(s);
    expect(s.exhaustions).toBe(exhausted);
    expect(s.inUse).toBe(0);
    expect(s.bytesInUse).toBe(0);
    expect(s.reuses).toBeGreaterThan(0);
  }));
});

describe('slabs', () => {
  it('an empty slab stays with its bucket until another bucket needs it, then serves that one', () => withPool(3 * SLAB, (pool) => {
    const big = [pool.acquireHandle(SLAB), pool.acquireHandle(SLAB), pool.acquireHandle(SLAB)];
    expect(pool.acquireHandle(100)).toBe(Status.POOL_EXHAUSTED);
    for (const h of big) pool.releaseHandle(h);
    let s = pool.stats();
    expect(s.buckets[2]).toMatchObject({ slabs: 3, capacity: 3, inUse: 0 });
    expect(s.slabsInUse).toBe(3);
    // The small and MTU buckets take two of the empty slabs …
    const small = pool.acquireHandle(100);
    const mtu = pool.acquireHandle(1500);
    expect(small).toBeGreaterThan(0);
    expect(mtu).toBeGreaterThan(0);
    s = pool.stats();
    expect(s.buckets.map((b) => b.slabs)).toEqual([1, 1, 1]);
    expect(s.buckets[2].capacity).toBe(1);
    // … and the last one when they need more.
    const more: number[] = [];
    for (let i = 0; i < 32; i++) more.push(pool.acquireHandle(1500));
    expect(more.every((h) => h > 0)).toBe(true);
    s = pool.stats();
    expect(s.buckets.map((b) => b.slabs)).toEqual([1, 2, 0]);
    expect(s.buckets[2].capacity).toBe(0);
    expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    expect(pool.checkHandle(big[0])).toBe(Status.POOL_STALE_HANDLE);
    expectBalanced(s);
    for (const h of [small, mtu, ...more]) pool.releaseHandle(h);
    expectBalanced(pool.stats());
  }));

  it('an acquire/release loop does not carve and hand back a slab each time', () => withPool(4 * SLAB, (pool) => {
    for (const size of [SLAB, 1500, 100]) {
      for (let i = 0; i < 1000; i++) pool.releaseHandle(pool.acquireHandle(size));
    }
    const s = pool.stats();
    expect(s.buckets.map((b) => [b.slabs, b.capacity, b.acquires, b.reuses])).toEqual([
      [1, 1, 1000, 999], [1, 1, 1000, 999], [1, 1, 1000, 999],
    ]);
  }));
});

describe('core memory', () => {
  it('never grows: the buffer is the same object of the same size after all of the above', () => {
    const buffer = core.memory.buffer;
    expect(buffer.byteLength).toBe(memoryBytes);
    withPool(8 * SLAB, (pool) => {
      for (let i = 0; i < 100; i++) pool.acquireHandle(i * 655);
      expect(pool.acquireHandle(SLAB)).toBe(Status.POOL_EXHAUSTED);
    });
    expect(core.memory.buffer).toBe(buffer);
    expect(core.memory.buffer.byteLength).toBe(memoryBytes);
  });
});
