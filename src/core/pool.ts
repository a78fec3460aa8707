// The packet pool's host side: a PacketPool over one pool of the wasm core (assembly/pool.ts), and Lease objects that
// hand user code a view of a slot only while it is really theirs. Portable: no Buffer, no process, no node: imports.
//
// Two APIs on purpose. Leases are the safe one: a view is refused once the lease is released, so nobody reads a slot
// after it was given to another packet. The handle API (acquireHandle/releaseHandle/…) allocates nothing and throws
// nothing, for hot paths that keep handles in typed arrays; it returns the core's status codes as they are.
//
// A handle is an integer below 2^53 (generation × 2^20 + slab × 256 + slot; see assembly/pool.ts). Generations never
// wrap — a slot whose generation is spent is retired —, so a stale handle stays refused for good. Keep handles in a
// number or a Float64Array: an Int32Array or `| 0` would cut them (every handle is above 2^31 from the start, so such
// a bug shows at once).

import type { CoreMemory } from './memory.js';
import type { CoreExports } from './wasm.js';
import { CoreError, WasmRtspError } from './errors.js';
import { coreStatusError, Status, statusMessage, statusName } from './status.js';
import {
  BUCKET_ACQUIRES, BUCKET_BYTES_IN_USE, BUCKET_CAPACITY, BUCKET_EXHAUSTIONS, BUCKET_HIGH_WATER, BUCKET_IN_USE,
  BUCKET_MAX_BYTES, BUCKET_MTU_BYTES, BUCKET_RELEASES, BUCKET_RETIRED, BUCKET_REUSES, BUCKET_SLABS, BUCKET_SLOT_BYTES,
  BUCKET_SMALL_BYTES, BUCKET_STATS_BYTES, POOL_ACQUIRES, POOL_BUCKET_COUNT, POOL_BUCKETS, POOL_BYTES_HIGH_WATER,
  POOL_BYTES_IN_USE, POOL_EXHAUSTIONS, POOL_HIGH_WATER, POOL_IN_USE, POOL_LIMIT_BYTES, POOL_MAX_SLABS, POOL_RELEASES,
  POOL_LAST_PTR, POOL_RETAINS, POOL_REUSES, POOL_SLABS_IN_USE, POOL_STALE, SLAB_BYTES, POOL_SLAB_LIMIT,
  POOL_GENERATION_LAST as LAST_GENERATION,
} from './layout.js';

/** Smallest pool limit: one 64 KiB slab. */
export const POOL_MIN_LIMIT_BYTES = SLAB_BYTES;
/** Largest pool limit: 4096 slabs (256 MiB), all a handle's 12 slab bits can name. */
export const POOL_MAX_LIMIT_BYTES = POOL_SLAB_LIMIT * SLAB_BYTES;
/** Largest size a slot can have (an interleaved frame's 16-bit length). */
export const MAX_SLOT_BYTES = BUCKET_MAX_BYTES;
/** The last generation a slot is issued in (2^32 − 2); freeing it then retires the slot instead of wrapping. */
export const POOL_GENERATION_LAST = LAST_GENERATION;

/** Options of Core.createPool. */
export interface PoolOptions {
  /**
   * Bytes the pool may use for packets, reserved at once from the core's fixed memory and never exceeded. Rounded
   * down to whole 64 KiB slabs; between POOL_MIN_LIMIT_BYTES and POOL_MAX_LIMIT_BYTES.
   */
  limitBytes: number;
  /** Name used in error messages and statistics (e.g. the camera it serves). */
  name?: string;
  /**
   * @internal The generation every slot starts in, 1 … POOL_GENERATION_LAST (default: one that differs from pool to
   * pool). Tests set it near the end to reach a slot's retirement without 4 × 10^9 reuses.
   */
  firstGeneration?: number;
}

/** Options of PacketPool.destroy. */
export interface PoolDestroyOptions {
  /** Destroy even with slots in use: every outstanding lease then counts as released and its view throws. */
  force?: boolean;
}

/** Statistics of one bucket (slot size) of a pool. Counters are exact: acquires − releases = inUse. */
export interface BucketStats {
  /** Size of this bucket's slots. */
  slotBytes: number;
  /** Slots carved from this bucket's slabs (free + in use). */
  capacity: number;
  inUse: number;
  highWater: number;
  acquires: number;
  /** Slots freed (their last reference released). */
  releases: number;
  /** Acquires served by a slot freed earlier, rather than freshly carved. */
  reuses: number;
  /** Acquires refused because no slot was free and no slab was left. */
  exhaustions: number;
  bytesInUse: number;
  /** Slabs held by this bucket; empty ones stay until another bucket needs a slab. */
  slabs: number;
  /** Slots retired because their generation ran out (about 4.3 × 10^9 uses each); never handed out again. */
  retired: number;
}

/** Statistics of a pool (a snapshot, read from the core's memory when called). */
export interface PoolStats {
  name: string;
  limitBytes: number;
  maxSlabs: number;
  slabsInUse: number;
  inUse: number;
  highWater: number;
  bytesInUse: number;
  bytesHighWater: number;
  acquires: number;
  releases: number;
  reuses: number;
  exhaustions: number;
  /** Extra references taken (retain, slice). */
  retains: number;
  /** Calls made with a stale or invalid handle. */
  stale: number;
  /** Slots retired (generation spent), all buckets. */
  retired: number;
  /** Per bucket, smallest slot size first. */
  buckets: BucketStats[];
}

/** A pool misuse or limit: bad option, size too large, pool destroyed or still in use. */
export class PoolError extends WasmRtspError {}

/** No free slot of the needed size and the pool's limit forbids carving another (back-pressure, not a bug). */
export class PoolExhaustedError extends PoolError {}

/** A lease was used after its release (or after its pool was destroyed): its slot may already hold another packet. */
export class LeaseReleasedError extends PoolError {}

const BUCKET_SIZES = [BUCKET_SMALL_BYTES, BUCKET_MTU_BYTES, BUCKET_MAX_BYTES];
let poolCount = 0;

/** The slot size acquire(size) draws from: the smallest bucket that fits (0 when size is too large). */
export function bucketFor(size: number): number {
  for (const bytes of BUCKET_SIZES) if (size <= bytes) return bytes;
  return 0;
}

/**
 * A packet buffer pool with its own byte limit, carved out of a core's fixed memory (see Core.createPool). Slots come
 * in three sizes (256, 2048, 65536 bytes); a slot stays with its holder until every reference to it is released.
 */
export class PacketPool {
  /** The core whose memory holds this pool. */
  readonly core: CoreMemory;
  /** Name given in the options (or `pool-<n>`). */
  readonly name: string;
  /** The byte limit given in the options. */
  readonly limitBytes: number;
  /** Address of the pool's state in core memory; 0 once destroyed, so handle calls fail instead of aliasing. */
  private ptr: number;
  private readonly x: CoreExports;
  private finalStats: PoolStats | undefined;

  constructor(core: CoreMemory, options: PoolOptions) {
    const limitBytes = options?.limitBytes;
    if (typeof limitBytes !== 'number' || !Number.isInteger(limitBytes)
      || limitBytes < POOL_MIN_LIMIT_BYTES || limitBytes > POOL_MAX_LIMIT_BYTES) {
      throw new PoolError('BAD_OPTION',
        `limitBytes must be an integer from ${POOL_MIN_LIMIT_BYTES} (one 64 KiB slab) to ${POOL_MAX_LIMIT_BYTES} (4096 slabs, 256 MiB)`,
        { context: { limitBytes, name: options?.name } });
    }
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new PoolError('BAD_OPTION', 'name must be a string', { context: { name: options.name } });
    }
    const firstGeneration = options.firstGeneration ?? 0;
    if (!Number.isInteger(firstGeneration) || firstGeneration < 0 || firstGeneration > POOL_GENERATION_LAST) {
      throw new PoolError('BAD_OPTION', `firstGeneration must be an integer from 1 to ${POOL_GENERATION_LAST}`,
        { context: { firstGeneration, name: options.name } });
    }
    core.assertUsable();
    this.core = core;
    this.x = core.exports;
    this.limitBytes = limitBytes;
    this.name = options.name ?? `pool-${++poolCount}`;
    const ptr = this.x.pool_create(limitBytes, firstGeneration) >>> 0;
    if (ptr === 0) {
      throw new CoreError('OUT_OF_MEMORY',
        `no room for pool "${this.name}" of ${limitBytes} bytes in the core's fixed memory; raise memoryBytes or lower limitBytes`,
        { context: { limitBytes, name: this.name, memoryBytes: core.memoryBytes, reservedBytes: core.reservedBytes,
          largestFree: this.x.region_largest_free() >>> 0 } });
    }
    this.ptr = ptr;
  }

  /** True once destroy() has run. */
  get destroyed(): boolean {
    return this.ptr === 0;
  }

  /** A lease on a slot of at least `size` bytes; throws PoolExhaustedError when the limit is reached. */
  acquire(size: number): Lease {
    const lease = this.tryAcquire(size);
    if (lease === null) throw this.exhausted(size);
    return lease;
  }

  /** Like acquire, but null when the pool is exhausted (the refusal is still counted in the statistics). */
  tryAcquire(size: number): Lease | null {
    if (!Number.isInteger(size) || size < 0) {
      throw new PoolError('BAD_ARGUMENT', `size must be a non-negative integer, got ${size}`, { context: { size, pool: this.name } });
    }
    const h = this.x.pool_acquire(this.ptr, size);
    if (h > 0) return new Lease(this, h, this.x.pool_ptr(this.ptr, h) >>> 0, size);
    if (h === Status.POOL_EXHAUSTED) return null;
    throw this.statusError(h, { size });
  }

  /**
   * Hot path: a handle (an integer > 0, below 2^53: keep it in a number or a Float64Array) to a slot of at least
   * `size` bytes, or a negative Status. Allocates nothing.
   */
  acquireHandle(size: number): number {
    return this.x.pool_acquire(this.ptr, size);
  }

  /** Hot path: drops one reference; 0 when the slot was freed, 1 when still referenced, else a negative Status. */
  releaseHandle(handle: number): number {
    return this.x.pool_release(this.ptr, handle);
  }

  /** Hot path: takes one more reference; the new count, or a negative Status. */
  retainHandle(handle: number): number {
    return this.x.pool_retain(this.ptr, handle);
  }

  /** The reference count (≥ 1) of a live handle, or a negative Status (stale, invalid). */
  checkHandle(handle: number): number {
    return this.x.pool_check(this.ptr, handle);
  }

  /** Address of the pool's state in core memory, for calling the raw `pool_*` exports; 0 once destroyed. */
  get statePtr(): number {
    return this.ptr;
  }

  /**
   * Hot path: address of the slot the last successful acquireHandle returned, read from the pool's state in memory
   * (no call into wasm). Valid right after that acquire, before the next one.
   */
  get lastPtr(): number {
    return this.core.u32[(this.ptr + POOL_LAST_PTR) >> 2];
  }

  /** Address in core memory of a live handle's slot; 0 when the handle is stale or invalid. */
  ptrOf(handle: number): number {
    return this.x.pool_ptr(this.ptr, handle) >>> 0;
  }

  /** Size of a live handle's slot (256, 2048 or 65536); 0 when the handle is stale or invalid. */
  slotBytes(handle: number): number {
    return this.x.pool_slot_bytes(this.ptr, handle) >>> 0;
  }

  /** A snapshot of the pool's counters (after destroy: the last snapshot, taken just before). */
  stats(): PoolStats {
    if (this.ptr === 0) return this.finalStats!;
    const u32 = (this.core.views(), this.core.u32);
    const base = this.ptr >>> 2;
    const r32 = (offset: number): number => u32[base + (offset >>> 2)];
    const r64 = (offset: number): number => u32[base + (offset >>> 2)] + u32[base + (offset >>> 2) + 1] * 2 ** 32;
    const buckets: BucketStats[] = [];
    for (let b = 0; b < POOL_BUCKET_COUNT; b++) {
      const o = POOL_BUCKETS + b * BUCKET_STATS_BYTES;
      buckets.push({
        slotBytes: r32(o + BUCKET_SLOT_BYTES),
        capacity: r32(o + BUCKET_CAPACITY),
        inUse: r32(o + BUCKET_IN_USE),
        highWater: r32(o + BUCKET_HIGH_WATER),
        acquires: r64(o + BUCKET_ACQUIRES),
        releases: r64(o + BUCKET_RELEASES),
        reuses: r64(o + BUCKET_REUSES),
        exhaustions: r64(o + BUCKET_EXHAUSTIONS),
        bytesInUse: r32(o + BUCKET_BYTES_IN_USE),
        slabs: r32(o + BUCKET_SLABS),
        retired: r32(o + BUCKET_RETIRED),
      });
    }
    return {
      name: this.name,
      limitBytes: r32(POOL_LIMIT_BYTES),
      maxSlabs: r32(POOL_MAX_SLABS),
      slabsInUse: r32(POOL_SLABS_IN_USE),
      inUse: r32(POOL_IN_USE),
      highWater: r32(POOL_HIGH_WATER),
      bytesInUse: r32(POOL_BYTES_IN_USE),
      bytesHighWater: r32(POOL_BYTES_HIGH_WATER),
      acquires: r64(POOL_ACQUIRES),
      releases: r64(POOL_RELEASES),
      reuses: r64(POOL_REUSES),
      exhaustions: r64(POOL_EXHAUSTIONS),
      retains: r64(POOL_RETAINS),
      stale: r64(POOL_STALE),
      retired: buckets.reduce((n, b) => n + b.retired, 0),
      buckets,
    };
  }

  /**
   * Returns the pool's memory to the core. Refuses (PoolError 'POOL_IN_USE') while slots are in use, because their
   * views would then read memory the next pool reuses; `{ force: true }` destroys anyway and every outstanding lease
   * counts as released. Calling it again is a no-op.
   */
  destroy(options: PoolDestroyOptions = {}): void {
    if (this.ptr === 0) return;
    const stats = this.stats();
    if (stats.inUse > 0 && options.force !== true) {
      throw new PoolError('POOL_IN_USE',
        `pool "${this.name}" still has ${stats.inUse} slots in use; release their leases first or destroy({ force: true })`,
        { context: { name: this.name, inUse: stats.inUse, buckets: stats.buckets.map((b) => b.inUse) } });
    }
    const status = this.x.pool_destroy(this.ptr);
    this.finalStats = stats;
    this.ptr = 0;
    if (status !== 0) throw this.statusError(status, {});
  }

  private exhausted(size: number): PoolExhaustedError {
    const bucket = bucketFor(size);
    const s = this.stats();
    return new PoolExhaustedError('POOL_EXHAUSTED',
      `pool "${this.name}" exhausted: no free ${bucket}-byte slot for ${size} bytes and its ${this.limitBytes}-byte limit ` +
      `is fully carved (${s.inUse} slots in use); release leases sooner or raise limitBytes`,
      { context: { size, bucket, limitBytes: this.limitBytes, inUse: s.inUse, name: this.name,
        bucketInUse: s.buckets[BUCKET_SIZES.indexOf(bucket)]?.inUse } });
  }

  /** @internal An error for a negative status returned by the core for this pool. */
  statusError(status: number, context: Record<string, unknown>): PoolError {
    const name = statusName(status);
    const reason = statusMessage(status);
    if (this.ptr === 0) {
      return new PoolError('POOL_DESTROYED', `pool "${this.name}" was destroyed`, { context: { ...context, pool: this.name } });
    }
    if (status === Status.POOL_EXHAUSTED) return this.exhausted(Number(context.size ?? 0));
    if (status === Status.POOL_STALE_HANDLE) {
      return new LeaseReleasedError('LEASE_RELEASED', `pool "${this.name}": ${reason}`, { context: { ...context, status: name } });
    }
    return coreStatusError(PoolError, status, `pool "${this.name}"`, { ...context, pool: this.name });
  }
}

/**
 * A lease on a pool slot: `view` shows `length` bytes at `byteOffset` of core memory until released. Each lease holds
 * one reference; retain() and slice() make more (one socket read buffer can back several frames), and the slot is free
 * again when the last is released.
 */
export class Lease {
  /** The pool the slot belongs to. */
  readonly pool: PacketPool;
  /** The slot's handle (shared by every lease on the same slot). */
  readonly handle: number;
  /** Address of the leased bytes in core memory. */
  readonly byteOffset: number;
  /** Number of leased bytes (what was asked for, not the slot size). */
  readonly length: number;
  private isReleased = false;
  private cached: Uint8Array | undefined;

  /** @internal Made by PacketPool.acquire, retain and slice, each holding one reference. */
  constructor(pool: PacketPool, handle: number, byteOffset: number, length: number) {
    this.pool = pool;
    this.handle = handle;
    this.byteOffset = byteOffset;
    this.length = length;
  }

  /** True once released (or once the pool was destroyed by force). */
  get released(): boolean {
    return this.isReleased || this.pool.destroyed;
  }

  /**
   * The leased bytes, a view of core memory. Throws LeaseReleasedError once released: the core confirms the handle
   * is still live on every access, so a slot freed through the low-level API is caught too, however often it was
   * reused since (generations never wrap: a slot whose generation is spent is retired, never reissued).
   */
  get view(): Uint8Array {
    if (this.isReleased || this.pool.checkHandle(this.handle) < 1) throw this.releasedError('view');
    // A detached view has length 0 (see Core.views): checked without reading the memory's `buffer` per access.
    let v = this.cached;
    if (v === undefined || v.length !== this.length) v = this.cached = this.pool.core.view(this.byteOffset, this.length);
    return v;
  }

  /** Drops this lease's reference; throws LeaseReleasedError when already released (a double release is a bug). */
  release(): void {
    if (this.isReleased) throw this.releasedError('release');
    this.isReleased = true;
    this.cached = undefined;
    if (this.pool.destroyed) return; // destroyed by force: the slot is gone already
    const status = this.pool.releaseHandle(this.handle);
    if (status < 0) throw this.pool.statusError(status, { handle: this.handle, op: 'release' });
  }

  /** Another lease on the same bytes (reference count + 1), released independently. */
  retain(): Lease {
    return this.slice(0, this.length);
  }

  /** A lease on `length` bytes from `offset` of this one (reference count + 1): several frames of one read buffer. */
  slice(offset: number, length: number): Lease {
    if (this.isReleased) throw this.releasedError('slice');
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new PoolError('BAD_ARGUMENT', `slice(${offset}, ${length}) is outside the lease's ${this.length} bytes`,
        { context: { offset, length, leaseLength: this.length, pool: this.pool.name } });
    }
    const status = this.pool.retainHandle(this.handle);
    if (status < 0) throw this.pool.statusError(status, { handle: this.handle, op: 'retain' });
    return new Lease(this.pool, this.handle, this.byteOffset + offset, length);
  }

  private releasedError(op: string): LeaseReleasedError {
    return new LeaseReleasedError('LEASE_RELEASED',
      `${op} of a released lease (pool "${this.pool.name}", handle 0x${this.handle.toString(16)}): its slot may hold another packet now`,
      { context: { op, handle: this.handle, byteOffset: this.byteOffset, length: this.length, pool: this.pool.name } });
  }
}
