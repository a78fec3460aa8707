// Model-based fuzzing of the packet pool (assembly/pool.ts via PacketPool and Lease) with fast-check commands: random
// sequences of acquire (all three buckets, too large, exhaustion), retain, slice, release, use of released leases and
// raw calls with stale or random handles, checked against a plain model after every step. Properties: the statistics
// balance (in use = live slots = acquires − releases, bytes in use = their slot sizes, per bucket too); stale and
// invalid handles are refused and counted, never accepted; live slots never overlap and keep their bytes; errors are
// typed (PoolError family); the core never traps; releasing everything and destroying the pool gives back every byte.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketFor, createCore, type Core, type Lease, LeaseReleasedError, PoolError, PoolExhaustedError, type PacketPool,
  Status,
} from '../../src/node/index.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed } from './fuzz.js';

interface LiveSlot { refs: number; slotBytes: number; fill: number }
interface Model {
  live: Map<number, LiveSlot>;
  leases: Lease[];
  released: Lease[];
  stale: number[];
  /** Calls made with a stale or invalid handle: what PoolStats.stale counts. */
  refusedCalls: number;
}
interface Real { core: Core; pool: PacketPool }

let fillCounter = 0;
/** What the sequences exercised, so a generator that stopped reaching a case fails the run. */
const seen = { exhausted: 0, tooLarge: 0, staleRaw: 0, useReleased: 0, slabReuse: 0 };

/** The model and the pool agree: counters, bucket counters, slot contents, no overlap. */
function agree(m: Model, r: Real): void {
  const s = r.pool.stats();
  const live = [...m.live.entries()];
  expect(s.inUse).toBe(live.length);
  expect(s.acquires - s.releases).toBe(s.inUse);
  expect(s.bytesInUse).toBe(live.reduce((n, [, v]) => n + v.slotBytes, 0));
  expect(s.stale).toBe(m.refusedCalls);
  for (const b of s.buckets) {
    expect(b.inUse).toBe(live.filter(([, v]) => v.slotBytes === b.slotBytes).length);
    expect(b.acquires - b.releases).toBe(b.inUse);
  }
  const ranges: Array<[number, number]> = [];
  for (const [h, v] of live) {
    expect(r.pool.checkHandle(h)).toBe(v.refs);
    const ptr = r.pool.ptrOf(h);
    expect(r.pool.slotBytes(h)).toBe(v.slotBytes);
    ranges.push([ptr, ptr + v.slotBytes]);
    // The first and last octet of the slot still hold what its owner wrote.
    expect([r.core.u8[ptr], r.core.u8[ptr + v.slotBytes - 1]]).toEqual([v.fill, v.fill]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
}

class Acquire implements fc.Command<Model, Real> {
  constructor(readonly size: number) {}
  check(): boolean { return true; }
  run(m: Model, r: Real): void {
    const got = typed(() => r.pool.tryAcquire(this.size), PoolError);
    if (!got.ok) {
      expect(this.size).toBeGreaterThan(65536);
      expect(got.code).toBe('POOL_SIZE_TOO_LARGE');
      seen.tooLarge++;
    } else if (got.value === null) {
      seen.exhausted++;
      // Exhaustion: allowed only when the request could not fit in an untouched slab's worth of the limit.
      expect(r.pool.stats().exhaustions).toBeGreaterThan(0);
    } else {
      const lease = got.value;
      expect(m.live.has(lease.handle)).toBe(false); // a live slot is never handed out twice
      expect(lease.view.length).toBe(this.size);
      const slotBytes = r.pool.slotBytes(lease.handle);
      expect(slotBytes).toBe(bucketFor(this.size));
      const fill = (++fillCounter % 254) + 1;
      const ptr = r.pool.ptrOf(lease.handle);
      r.core.u8.fill(fill, ptr, ptr + slotBytes);
      m.live.set(lease.handle, { refs: 1, slotBytes, fill });
      m.leases.push(lease);
      if (r.pool.stats().reuses > 0) seen.slabReuse++;
      expect(m.stale).not.toContain(lease.handle); // generations never wrap: no handle is ever issued twice (issue 15)
    }
    agree(m, r);
  }
  toString(): string { return `acquire(${this.size})`; }
}

class Retain implements fc.Command<Model, Real> {
  constructor(readonly index: number, readonly slice: [number, number] | null) {}
  check(m: Readonly<Model>): boolean { return m.leases.length > 0; }
  run(m: Model, r: Real): void {
    const lease = m.leases[this.index % m.leases.length];
    let more: Lease;
    if (this.slice === null) {
      more = lease.retain();
    } else {
      const off = this.slice[0] % (lease.length + 1);
      const len = this.slice[1] % (lease.length - off + 1);
      more = lease.slice(off, len);
      expect(more.byteOffset).toBe(lease.byteOffset + off);
      expect(more.view.length).toBe(len);
    }
    m.live.get(lease.handle)!.refs++;
    m.leases.push(more);
    agree(m, r);
  }
  toString(): string { return `retain(#${this.index}${this.slice ? `, slice ${this.slice}` : ''})`; }
}

class Release implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>): boolean { return m.leases.length > 0; }
  run(m: Model, r: Real): void {
    const [lease] = m.leases.splice(this.index % m.leases.length, 1);
    lease.release();
    m.released.push(lease);
    const slot = m.live.get(lease.handle)!;
    if (--slot.refs === 0) {
      m.live.delete(lease.handle);
      m.stale.push(lease.handle);
    }
    agree(m, r);
  }
  toString(): string { return `release(#${this.index})`; }
}

class UseReleased implements fc.Command<Model, Real> {
  constructor(readonly index: number, readonly op: 'view' | 'release' | 'retain' | 'slice') {}
  check(m: Readonly<Model>): boolean { return m.released.length > 0; }
  run(m: Model, r: Real): void {
    const lease = m.released[this.index % m.released.length];
    const got = typed(() => {
      if (this.op === 'view') return lease.view;
      if (this.op === 'release') return lease.release();
      if (this.op === 'retain') return lease.retain();
      return lease.slice(0, 0);
    }, PoolError);
    expect(got.ok).toBe(false);
    seen.useReleased++;
    if (!got.ok) {
      expect(got.error).toBeInstanceOf(LeaseReleasedError);
      expect(got.code).toBe('LEASE_RELEASED');
    }
    agree(m, r); // refused on the host side: nothing changed, nothing counted
  }
  toString(): string { return `${this.op}(released #${this.index})`; }
}

class StaleRaw implements fc.Command<Model, Real> {
  constructor(readonly index: number, readonly op: 'release' | 'retain' | 'check') {}
  check(m: Readonly<Model>): boolean { return m.stale.length > 0; }
  run(m: Model, r: Real): void {
    const h = m.stale[this.index % m.stale.length];
    if (m.live.has(h)) return;
    const status = this.op === 'release' ? r.pool.releaseHandle(h) : this.op === 'retain' ? r.pool.retainHandle(h) : r.pool.checkHandle(h);
    expect(status).toBe(Status.POOL_STALE_HANDLE);
    m.refusedCalls++;
    seen.staleRaw++;
    agree(m, r);
  }
  toString(): string { return `${this.op}Handle(stale #${this.index})`; }
}

class RandomHandle implements fc.Command<Model, Real> {
  constructor(readonly handle: number) {}
  check(): boolean { return true; }
  run(m: Model, r: Real): void {
    if (m.live.has(this.handle)) return;
    const status = r.pool.checkHandle(this.handle);
    expect([Status.POOL_STALE_HANDLE, Status.POOL_INVALID_HANDLE]).toContain(status);
    expect(r.pool.ptrOf(this.handle)).toBe(0);
    m.refusedCalls += 2; // the pool counts every call with a stale or invalid handle (PoolStats.stale)
    agree(m, r);
  }
  toString(): string { return `checkHandle(${this.handle})`; }
}

const commandsArb = fc.commands([
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 2048 }) },
    { weight: 2, arbitrary: fc.integer({ min: 2049, max: 65536 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 256, 257, 2048, 2049, 65536, 65537, 1 << 20) },
  ).map((size) => new Acquire(size)),
  fc.tuple(fc.nat(), fc.option(fc.tuple(fc.nat(), fc.nat()))).map(([i, s]) => new Retain(i, s)),
  fc.nat().map((i) => new Release(i)),
  fc.nat().map((i) => new Release(i)),
  fc.tuple(fc.nat(), fc.constantFrom('view' as const, 'release' as const, 'retain' as const, 'slice' as const)).map(([i, op]) => new UseReleased(i, op)),
  fc.tuple(fc.nat(), fc.constantFrom('release' as const, 'retain' as const, 'check' as const)).map(([i, op]) => new StaleRaw(i, op)),
  fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, 1, -1, 0x7fffffff, 0x100000, 0xfffff)).map((h) => new RandomHandle(h)),
], { maxCommands: 80 });

describe('fuzz: packet pool against a model', () => {
  let core: Core;
  beforeAll(async () => {
    core = await createCore({ debug: true, memoryBytes: 8 << 20 });
  });
  afterAll(() => console.log(summary()));

  it('random acquire/retain/slice/release sequences keep the pool and the model in step; destroy gives back every byte', () => {
    const report = fuzz('pool model', 0x5eed_0801, 300, fc.property(commandsArb, fc.integer({ min: 1, max: 6 }), (cmds, slabs) => {
      const reserved = core.reservedBytes;
      const pool = core.createPool({ limitBytes: slabs * 65536 });
      const model: Model = { live: new Map(), leases: [], released: [], stale: [], refusedCalls: 0 };
      try {
        fc.modelRun(() => ({ model, real: { core, pool } }), cmds);
        for (const lease of model.leases.splice(0)) lease.release();
        const s = pool.stats();
        expect([s.inUse, s.bytesInUse, s.acquires - s.releases]).toEqual([0, 0, 0]);
        const d = typed(() => pool.destroy(), PoolError);
        expect(d.ok).toBe(true);
      } finally {
        pool.destroy({ force: true });
      }
      expect(core.reservedBytes).toBe(reserved);
      core.assertUsable();
    }));
    if (complete(report)) for (const [k, n] of Object.entries(seen)) expect(n, `sequences reached ${k}`).toBeGreaterThan(0);
  }, FUZZ_TEST_TIMEOUT_MS);

  it('a pool destroyed with leases out refuses (POOL_IN_USE), then by force; old leases then throw LeaseReleasedError', () => {
    fuzz('pool destroy in use', 0x5eed_0802, 300, fc.property(fc.array(fc.integer({ min: 0, max: 65536 }), { minLength: 1, maxLength: 20 }), (sizes) => {
      const reserved = core.reservedBytes;
      const pool = core.createPool({ limitBytes: 4 * 65536 });
      const leases: Lease[] = [];
      for (const size of sizes) {
        const got = typed(() => pool.acquire(size), PoolError);
        if (got.ok) leases.push(got.value);
        else expect(got.error).toBeInstanceOf(PoolExhaustedError);
      }
      const statePtr = pool.statePtr;
      const first = typed(() => pool.destroy(), PoolError);
      if (leases.length > 0) expect(first.ok ? 'OK' : first.code).toBe('POOL_IN_USE');
      pool.destroy({ force: true });
      for (const l of leases) {
        expect(l.released).toBe(true);
        const v = typed(() => l.view, PoolError);
        expect(v.ok ? 'OK' : v.code).toBe('LEASE_RELEASED');
      }
      expect(core.reservedBytes).toBe(reserved);
      // Raw calls on the destroyed pool's address are refused, not trapped.
      expect(core.exports.pool_acquire(statePtr, 100)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.pool_release(statePtr, 0x100001)).toBe(Status.ERR_BAD_ARGUMENT);
      core.assertUsable();
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
