// Packet buffer pool: fixed-size slots in three buckets, carved lazily from 64 KiB slabs of a region that is reserved
// once, when the pool is created, so a pool never takes more than its byte limit and memory never grows.
//
// Handles name a slot and the generation it was issued in, so a handle kept past its release is recognised
// (POOL_STALE_HANDLE) instead of silently pointing at a slot someone else now owns. A handle is an integer held in
// an f64 (exact up to 2^53, so a JS number carries it without loss):
//
//    handle = generation × 2^20 + slab × 2^8 + slot
//
//    51                  20 19          8 7        0
//   +----------------------+-------------+----------+
//   |      generation      |    slab     |   slot   |     generation 1 … GEN_LAST (never 0)
//   +----------------------+-------------+----------+
//          32 bits            12 bits       8 bits
//
// Generations never wrap. A slot's generation moves on by one each time the slot is freed; when it would pass
// GEN_LAST (after about 4.3 × 10^9 uses of that one slot), the slot is retired instead: it is never handed out again,
// so no handle it ever issued can become live again. (Issue 15: an 11-bit generation wrapped after 2046 reuses, about
// a second at 2000 packets/s, and a stale handle then freed the new owner's slot.) A slab with a retired slot stays
// with its bucket for good, so its other slots keep serving and no other bucket re-carves the retired one.
//
// Bookkeeping (generation, reference count, free-list link) lives in a descriptor table apart from slot memory, so
// a stale view that writes into a freed slot can damage only packet bytes, never the pool's own state.
//
// A slab serves one bucket at a time. A slab whose slots are all free stays with its bucket, on the bucket's list of
// empty slabs, until another bucket needs a slab and no untouched one is left: then it changes bucket (O(1)). So a
// steady load never carves and returns slabs over and over, and no bucket can keep memory another one needs.
//
// Statistics are counted when a slot is carved, handed out or freed and never recomputed, so they cannot drift:
// acquires − releases = in use, at every moment, for the pool and for each bucket.

import {
  OK, ERR_BAD_ARGUMENT, POOL_EXHAUSTED, POOL_SIZE_TOO_LARGE, POOL_STALE_HANDLE, POOL_INVALID_HANDLE,
  POOL_REFCOUNT_OVERFLOW,
} from "./status";
import {
  SLAB_BYTES, POOL_BUCKET_COUNT, BUCKET_SMALL_BYTES, BUCKET_MTU_BYTES, BUCKET_MAX_BYTES,
  POOL_LIMIT_BYTES, POOL_MAX_SLABS, POOL_SLABS_IN_USE, POOL_IN_USE, POOL_HIGH_WATER, POOL_BYTES_IN_USE,
  POOL_BYTES_HIGH_WATER, POOL_LAST_PTR, POOL_ACQUIRES, POOL_RELEASES, POOL_REUSES, POOL_EXHAUSTIONS, POOL_RETAINS, POOL_STALE,
  POOL_BUCKETS, BUCKET_STATS_BYTES, BUCKET_SLOT_BYTES, BUCKET_CAPACITY, BUCKET_IN_USE, BUCKET_HIGH_WATER,
  BUCKET_ACQUIRES, BUCKET_RELEASES, BUCKET_REUSES, BUCKET_EXHAUSTIONS, BUCKET_BYTES_IN_USE, BUCKET_SLABS,
  BUCKET_RETIRED, POOL_PUBLIC_BYTES, POOL_SLAB_LIMIT, POOL_GENERATION_LAST,
} from "./layout";
import { region_alloc, region_free, inMemory } from "./region";

/** "POOL": marks live pool state, so a foreign or destroyed pointer is refused instead of trusted. */
const POOL_MAGIC: u32 = 0x4C4F4F50;
/** The handle's 12 slab bits address 4096 slabs (0..4095): 256 MiB. NO_SLAB (0xFFFF) lies outside that range. */
const MAX_SLABS: u32 = POOL_SLAB_LIMIT;
const NO_SLAB: u32 = 0xFFFF;
/** No slot (slots are 0..255): ends a slab's free list, in SI_FREE and in D_NEXT alike. */
const NO_SLOT: u32 = 0xFFFF;
/** The last generation a slot may be issued in; freeing it then retires the slot instead of wrapping. */
const GEN_LAST: u32 = POOL_GENERATION_LAST;
/** Marks a retired slot's descriptor: never carved again, never handed out again. */
const GEN_RETIRED: u32 = 0xFFFF_FFFF;
/** Handles are generation × 2^20 + index; the index (slab << 8 | slot) is the low 20 bits. */
const INDEX_BITS: u64 = 20;
const INDEX_MASK: u64 = 0xF_FFFF;
/** The smallest and largest handle values (generation 1, index 0; generation GEN_LAST, the largest index). */
const HANDLE_MIN: f64 = 1048576.0;
const HANDLE_MAX: f64 = <f64>(((<u64>GEN_LAST) << INDEX_BITS) | INDEX_MASK);
/** First generations lie in GEN_SEED_BASE … GEN_SEED_BASE + GEN_SEED_SPREAD − 1: every handle is above 2^31 from the
 *  first acquire, so a host that squeezes handles into 32 bits fails at once instead of after some hours. */
const GEN_SEED_BASE: u32 = 0x800;
const GEN_SEED_SPREAD: u32 = 0x10_0000;
const SLAB_SHIFT: u32 = 16;
/** log2 of the bucket slot sizes (256, 2048, 65536). */
const SHIFT_SMALL: u32 = 8;
const SHIFT_MTU: u32 = 11;
const SHIFT_MAX: u32 = 16;

// Private state, after the public head (offsets from the pool pointer).
const P_MAGIC: usize = <usize>POOL_PUBLIC_BYTES; //      u32 POOL_MAGIC while the pool lives
const P_SELF: usize = P_MAGIC + 4; //                   u32 the pool's own address: a second check on the pointer
const P_SLABS: usize = P_MAGIC + 8; //                  u32 address of slab 0
const P_SLAB_INFO: usize = P_MAGIC + 12; //             u32 address of the slab table
const P_DESCS: usize = P_MAGIC + 16; //                 u32 address of the descriptor table
// P_MAGIC + 20: reserved
const P_FRESH_SLABS: usize = P_MAGIC + 24; //           u32 slabs ever handed to a bucket; the rest are untouched
const P_GEN_SEED: usize = P_MAGIC + 28; //              u32 first generation of every slot of this pool
const P_BUCKETS: usize = P_MAGIC + 32; //               per bucket: u32 partial-slab list head, u32 empty-slab list head
const PB_PARTIAL: usize = 0;
const PB_EMPTY: usize = 4;
const P_BUCKET_BYTES: usize = 8;
const STATE_HEAD_BYTES: usize = (P_BUCKETS + P_BUCKET_BYTES * <usize>POOL_BUCKET_COUNT + 15) & ~15;

// Slab table: one 16-byte entry per slab.
const SI_BYTES_SHIFT: u32 = 4;
const SI_BUCKET: usize = 0; //  u8  bucket served (0xFF when the slab is with the pool, not a bucket)
const SI_SHIFT: usize = 1; //   u8  log2 slot size of that bucket
const SI_CARVED: usize = 2; //  u16 slots carved so far (bump index)
const SI_IN_USE: usize = 4; //  u16 slots handed out
const SI_SLOTS: usize = 6; //   u16 slots the slab holds in its bucket
const SI_FREE: usize = 8; //    u32 first freed slot (NO_SLOT), linked through the descriptors
const SI_NEXT: usize = 12; //   u16 next slab in the bucket's partial list, or in its empty list
const SI_PREV: usize = 14; //   u16 previous slab in the bucket's partial list

// Descriptor table: 8 bytes per (slab, slot), indexed by the low 20 bits of the handle.
const D_GEN: usize = 0; //  u32 generation (0 = never carved, GEN_RETIRED = retired)
const D_REFS: usize = 4; // u16 reference count (0 = free)
const D_NEXT: usize = 6; // u16 next freed slot of the same slab (NO_SLOT)
const DESC_SHIFT: u32 = 3;
const SLOTS_PER_SLAB_MAX: u32 = 256;

/** Pools created by this instance: spreads the first generations, so a handle of one pool rarely fits another. */
let poolsCreated: u32 = 0;

// @ts-ignore: decorator
@inline
function isPool(p: usize): bool {
  return p != 0 && (p & 15) == 0 && inMemory(p, STATE_HEAD_BYTES)
    && load<u32>(p + P_MAGIC) == POOL_MAGIC && load<u32>(p + P_SELF) == <u32>p;
}

// @ts-ignore: decorator
@inline
function bucketStats(p: usize, b: u32): usize {
  return p + <usize>POOL_BUCKETS + <usize>(b * BUCKET_STATS_BYTES);
}

// @ts-ignore: decorator
@inline
function bucketPrivate(p: usize, b: u32): usize {
  return p + P_BUCKETS + <usize>b * P_BUCKET_BYTES;
}

// @ts-ignore: decorator
@inline
function slabInfo(p: usize, slab: u32): usize {
  return <usize>load<u32>(p + P_SLAB_INFO) + (<usize>slab << SI_BYTES_SHIFT);
}

// @ts-ignore: decorator
@inline
function descriptor(p: usize, index: u32): usize {
  return <usize>load<u32>(p + P_DESCS) + (<usize>index << DESC_SHIFT);
}

// @ts-ignore: decorator
@inline
function bump64(addr: usize): void {
  store<u64>(addr, load<u64>(addr) + 1);
}

/** Counts a stale handle and returns the status, so every failing call site is one line. */
function staleHandle(p: usize): i32 {
  bump64(p + POOL_STALE);
  return POOL_STALE_HANDLE;
}

function invalidHandle(p: usize): i32 {
  bump64(p + POOL_STALE);
  return POOL_INVALID_HANDLE;
}

/**
 * The descriptor index (slab << 8 | slot) of a live handle, or a negative status. A handle is live when its slot is
 * in use and carries the same generation; INVALID when it cannot name a slot this pool ever issued (not an integer in
 * the handle range — NaN, a fraction, a status —, a slab beyond the limit, a slot never carved).
 */
function resolve(p: usize, handle: f64): i32 {
  // The range check comes first: it makes the float-to-integer conversion below exact and trap-free.
  if (!(handle >= HANDLE_MIN && handle <= HANDLE_MAX)) return invalidHandle(p);
  const h = <u64>handle;
  if (<f64>h != handle) return invalidHandle(p);
  const gen = <u32>(h >> INDEX_BITS);
  const index = <u32>(h & INDEX_MASK);
  if ((index >>> 8) >= load<u32>(p + POOL_MAX_SLABS)) return invalidHandle(p);
  const d = descriptor(p, index);
  const current = load<u32>(d, D_GEN);
  if (current == 0) return invalidHandle(p);
  // A retired slot has refs 0 and a generation no handle carries: every handle to it is stale.
  if (current != gen || load<u16>(d, D_REFS) == 0) return staleHandle(p);
  return <i32>index;
}

/** Puts a slab at the head of its bucket's list of slabs with a free slot. */
function pushPartial(p: usize, bp: usize, slab: u32): void {
  const head = load<u32>(bp, PB_PARTIAL);
  const si = slabInfo(p, slab);
  store<u16>(si, <u16>head, SI_NEXT);
  store<u16>(si, <u16>NO_SLAB, SI_PREV);
  if (head != NO_SLAB) store<u16>(slabInfo(p, head), <u16>slab, SI_PREV);
  store<u32>(bp, slab, PB_PARTIAL);
}

function unlinkPartial(p: usize, bp: usize, slab: u32): void {
  const si = slabInfo(p, slab);
  const next = <u32>load<u16>(si, SI_NEXT);
  const prev = <u32>load<u16>(si, SI_PREV);
  if (prev == NO_SLAB) store<u32>(bp, next, PB_PARTIAL); else store<u16>(slabInfo(p, prev), <u16>next, SI_NEXT);
  if (next != NO_SLAB) store<u16>(slabInfo(p, next), <u16>prev, SI_PREV);
  store<u16>(si, <u16>NO_SLAB, SI_NEXT);
  store<u16>(si, <u16>NO_SLAB, SI_PREV);
}

/** Takes an empty slab from its bucket, so another bucket can carve it; its slots leave the bucket's capacity. */
function detachSlab(p: usize, slab: u32): void {
  const si = slabInfo(p, slab);
  const bs = bucketStats(p, <u32>load<u8>(si, SI_BUCKET));
  store<u32>(bs + BUCKET_CAPACITY, load<u32>(bs + BUCKET_CAPACITY) - <u32>load<u16>(si, SI_CARVED));
  store<u32>(bs + BUCKET_SLABS, load<u32>(bs + BUCKET_SLABS) - 1);
  store<u32>(p + POOL_SLABS_IN_USE, load<u32>(p + POOL_SLABS_IN_USE) - 1);
  store<u8>(si, 0xFF, SI_BUCKET);
  store<u16>(si, 0, SI_CARVED);
  store<u32>(si, NO_SLOT, SI_FREE);
}

/**
 * A slab for bucket `b` when none of its slabs has a free slot: one of its own empty slabs first (already carved, so
 * its slots are reused), then one never used, then another bucket's empty slab. NO_SLAB when none is left.
 */
function takeSlab(p: usize, b: u32, bp: usize): u32 {
  let slab = load<u32>(bp, PB_EMPTY);
  if (slab != NO_SLAB) {
    store<u32>(bp, <u32>load<u16>(slabInfo(p, slab), SI_NEXT), PB_EMPTY);
    pushPartial(p, bp, slab);
    return slab;
  }
  const fresh = load<u32>(p + P_FRESH_SLABS);
  if (fresh < load<u32>(p + POOL_MAX_SLABS)) {
    slab = fresh;
    store<u32>(p + P_FRESH_SLABS, fresh + 1);
  } else {
    for (let c: u32 = 0; c < POOL_BUCKET_COUNT; c++) {
      const cp = bucketPrivate(p, c);
      const empty = load<u32>(cp, PB_EMPTY);
      if (empty != NO_SLAB) {
        store<u32>(cp, <u32>load<u16>(slabInfo(p, empty), SI_NEXT), PB_EMPTY);
        detachSlab(p, empty);
        slab = empty;
        break;
      }
    }
    if (slab == NO_SLAB) return NO_SLAB;
  }
  const shift = b == 0 ? SHIFT_SMALL : b == 1 ? SHIFT_MTU : SHIFT_MAX;
  const si = slabInfo(p, slab);
  store<u8>(si, <u8>b, SI_BUCKET);
  store<u8>(si, <u8>shift, SI_SHIFT);
  store<u16>(si, 0, SI_CARVED);
  store<u16>(si, 0, SI_IN_USE);
  store<u16>(si, <u16>(<u32>1 << (SLAB_SHIFT - shift)), SI_SLOTS);
  store<u32>(si, NO_SLOT, SI_FREE);
  pushPartial(p, bp, slab);
  const bs = bucketStats(p, b);
  store<u32>(bs + BUCKET_SLABS, load<u32>(bs + BUCKET_SLABS) + 1);
  store<u32>(p + POOL_SLABS_IN_USE, load<u32>(p + POOL_SLABS_IN_USE) + 1);
  return slab;
}

/**
 * Creates a pool that may use `limitBytes` of memory (floor(limit / 64 KiB) slabs), all reserved now. Returns the
 * pool's address, or 0 when the limit is below one slab or above 4096 slabs (POOL_BAD_LIMIT, which the host checks
 * and explains), `firstGeneration` is above GEN_LAST, or the fixed memory has no room. `firstGeneration` is the
 * generation every slot starts in; 0 picks one that differs from pool to pool (so a handle of one pool rarely fits
 * another). Tests pass one near GEN_LAST to reach a slot's retirement without 4 × 10^9 reuses.
 */
export function pool_create(limitBytes: u32, firstGeneration: u32): usize {
  const maxSlabs = limitBytes / SLAB_BYTES;
  if (maxSlabs == 0 || maxSlabs > MAX_SLABS || firstGeneration > GEN_LAST) return 0;
  const infoBytes = maxSlabs << SI_BYTES_SHIFT;
  const descBytes = (maxSlabs * SLOTS_PER_SLAB_MAX) << DESC_SHIFT;
  const p = region_alloc(<u32>STATE_HEAD_BYTES + infoBytes + descBytes);
  if (p == 0) return 0;
  const slabs = region_alloc(maxSlabs * SLAB_BYTES);
  if (slabs == 0) {
    region_free(p);
    return 0;
  }
  // region_alloc zeroes: counters start at 0 and every descriptor at generation 0 (never carved).
  store<u32>(p + POOL_LIMIT_BYTES, limitBytes);
  store<u32>(p + POOL_MAX_SLABS, maxSlabs);
  store<u32>(bucketStats(p, 0) + BUCKET_SLOT_BYTES, BUCKET_SMALL_BYTES);
  store<u32>(bucketStats(p, 1) + BUCKET_SLOT_BYTES, BUCKET_MTU_BYTES);
  store<u32>(bucketStats(p, 2) + BUCKET_SLOT_BYTES, BUCKET_MAX_BYTES);
  store<u32>(p + P_SLABS, <u32>slabs);
  store<u32>(p + P_SLAB_INFO, <u32>(p + STATE_HEAD_BYTES));
  store<u32>(p + P_DESCS, <u32>(p + STATE_HEAD_BYTES + <usize>infoBytes));
  store<u32>(p + P_FRESH_SLABS, 0);
  store<u32>(p + P_GEN_SEED, firstGeneration != 0
    ? firstGeneration
    : GEN_SEED_BASE + (poolsCreated * 0x9E37) % GEN_SEED_SPREAD);
  poolsCreated++;
  for (let b: u32 = 0; b < POOL_BUCKET_COUNT; b++) {
    const bp = bucketPrivate(p, b);
    store<u32>(bp, NO_SLAB, PB_PARTIAL);
    store<u32>(bp, NO_SLAB, PB_EMPTY);
  }
  store<u32>(p + P_SELF, <u32>p);
  store<u32>(p + P_MAGIC, POOL_MAGIC);
  return p;
}

/** Frees the pool's state and region. Every handle of it becomes meaningless; ERR_BAD_ARGUMENT if `p` is no pool. */
export function pool_destroy(p: usize): i32 {
  if (!isPool(p)) return ERR_BAD_ARGUMENT;
  store<u32>(p + P_MAGIC, 0);
  store<u32>(p + P_SELF, 0);
  region_free(<usize>load<u32>(p + P_SLABS));
  region_free(p);
  return OK;
}

/**
 * A slot of at least `size` bytes from the smallest bucket that fits (never a larger one: each bucket has its own
 * budget of slabs, and a fallback would hide which one is short). Returns the handle (reference count 1; an integer
 * ≥ 2^20 in an f64) or POOL_SIZE_TOO_LARGE / POOL_EXHAUSTED / ERR_BAD_ARGUMENT.
 */
export function pool_acquire(p: usize, size: u32): f64 {
  if (!isPool(p)) return ERR_BAD_ARGUMENT;
  let b: u32;
  if (size <= BUCKET_SMALL_BYTES) b = 0;
  else if (size <= BUCKET_MTU_BYTES) b = 1;
  else if (size <= BUCKET_MAX_BYTES) b = 2;
  else return POOL_SIZE_TOO_LARGE;
  const bp = bucketPrivate(p, b);
  const bs = bucketStats(p, b);
  let slab = load<u32>(bp, PB_PARTIAL);
  if (slab == NO_SLAB) {
    slab = takeSlab(p, b, bp);
    if (slab == NO_SLAB) {
      bump64(p + POOL_EXHAUSTIONS);
      bump64(bs + BUCKET_EXHAUSTIONS);
      return POOL_EXHAUSTED;
    }
  }
  const si = slabInfo(p, slab);
  let slot = load<u32>(si, SI_FREE);
  let d: usize;
  if (slot != NO_SLOT) {
    // A slot freed before: reuse it (its generation moved on when it was freed).
    d = descriptor(p, (slab << 8) | slot);
    store<u32>(si, <u32>load<u16>(d, D_NEXT), SI_FREE);
    bump64(p + POOL_REUSES);
    bump64(bs + BUCKET_REUSES);
  } else {
    // Carve the next slot of the slab: O(1), no slab is ever walked.
    slot = <u32>load<u16>(si, SI_CARVED);
    store<u16>(si, <u16>(slot + 1), SI_CARVED);
    d = descriptor(p, (slab << 8) | slot);
    // A slot carved before, in another bucket, keeps its generation: its old handles stay stale. (A slab holding a
    // retired slot never changes bucket, so a retired descriptor is never carved again.)
    if (load<u32>(d, D_GEN) == 0) store<u32>(d, load<u32>(p + P_GEN_SEED), D_GEN);
    store<u32>(bs + BUCKET_CAPACITY, load<u32>(bs + BUCKET_CAPACITY) + 1);
  }
  store<u16>(d, 1, D_REFS);
  store<u16>(d, <u16>NO_SLOT, D_NEXT);
  const slabInUse = <u32>load<u16>(si, SI_IN_USE) + 1;
  store<u16>(si, <u16>slabInUse, SI_IN_USE);
  if (slabInUse == <u32>load<u16>(si, SI_SLOTS)) unlinkPartial(p, bp, slab);

  const slotBytes = <u32>1 << <u32>load<u8>(si, SI_SHIFT);
  bump64(p + POOL_ACQUIRES);
  bump64(bs + BUCKET_ACQUIRES);
  const inUse = load<u32>(p + POOL_IN_USE) + 1;
  store<u32>(p + POOL_IN_USE, inUse);
  if (inUse > load<u32>(p + POOL_HIGH_WATER)) store<u32>(p + POOL_HIGH_WATER, inUse);
  const bytes = load<u32>(p + POOL_BYTES_IN_USE) + slotBytes;
  store<u32>(p + POOL_BYTES_IN_USE, bytes);
  if (bytes > load<u32>(p + POOL_BYTES_HIGH_WATER)) store<u32>(p + POOL_BYTES_HIGH_WATER, bytes);
  const bucketInUse = load<u32>(bs + BUCKET_IN_USE) + 1;
  store<u32>(bs + BUCKET_IN_USE, bucketInUse);
  if (bucketInUse > load<u32>(bs + BUCKET_HIGH_WATER)) store<u32>(bs + BUCKET_HIGH_WATER, bucketInUse);
  store<u32>(bs + BUCKET_BYTES_IN_USE, load<u32>(bs + BUCKET_BYTES_IN_USE) + slotBytes);
  // The host reads the slot address from here instead of a second call (pool_ptr): one wasm call saved per packet.
  store<u32>(p + POOL_LAST_PTR, load<u32>(p + P_SLABS) + (slab << SLAB_SHIFT) + (slot << <u32>load<u8>(si, SI_SHIFT)));
  return <f64>(((<u64>load<u32>(d, D_GEN)) << INDEX_BITS) | <u64>((slab << 8) | slot));
}

/** Takes one more reference to a live slot. Returns the new count, or a negative status (past 65535: overflow). */
export function pool_retain(p: usize, handle: f64): i32 {
  if (!isPool(p)) return ERR_BAD_ARGUMENT;
  const index = resolve(p, handle);
  if (index < 0) return index;
  const d = descriptor(p, <u32>index);
  const refs = <u32>load<u16>(d, D_REFS);
  if (refs >= 0xFFFF) return POOL_REFCOUNT_OVERFLOW;
  store<u16>(d, <u16>(refs + 1), D_REFS);
  bump64(p + POOL_RETAINS);
  return <i32>(refs + 1);
}

/**
 * Drops one reference. Returns 0 when that was the last one and the slot is free again (its generation moves on,
 * so every handle to it is stale from now on; a slot whose generation is spent is retired instead), 1 while other
 * references remain, or a negative status.
 */
export function pool_release(p: usize, handle: f64): i32 {
  if (!isPool(p)) return ERR_BAD_ARGUMENT;
  const index = resolve(p, handle);
  if (index < 0) return index;
  const d = descriptor(p, <u32>index);
  const refs = <u32>load<u16>(d, D_REFS) - 1;
  store<u16>(d, <u16>refs, D_REFS);
  if (refs != 0) return 1;

  const gen = load<u32>(d, D_GEN);
  const slab = <u32>index >>> 8;
  const slot = <u32>index & 0xFF;
  const si = slabInfo(p, slab);
  const b = <u32>load<u8>(si, SI_BUCKET);
  const bp = bucketPrivate(p, b);
  const bs = bucketStats(p, b);
  const slots = <u32>load<u16>(si, SI_SLOTS);
  const slabInUse = <u32>load<u16>(si, SI_IN_USE) - 1;
  store<u16>(si, <u16>slabInUse, SI_IN_USE);
  if (gen < GEN_LAST) {
    store<u32>(d, gen + 1, D_GEN);
    store<u16>(d, <u16>load<u32>(si, SI_FREE), D_NEXT);
    store<u32>(si, slot, SI_FREE);
    if (slabInUse + 1 == slots) pushPartial(p, bp, slab); // it was full: it has a free slot again
  } else {
    // Generation spent: retire the slot rather than wrap (a wrap would make its oldest handles live again). It leaves
    // the slab's slot count and the bucket's capacity; the slab was full before iff it is full now, so its place on
    // the partial list is unchanged. From now on the slab stays with this bucket (see the empty case below).
    store<u32>(d, GEN_RETIRED, D_GEN);
    store<u16>(si, <u16>(slots - 1), SI_SLOTS);
    store<u32>(bs + BUCKET_CAPACITY, load<u32>(bs + BUCKET_CAPACITY) - 1);
    store<u32>(bs + BUCKET_RETIRED, load<u32>(bs + BUCKET_RETIRED) + 1);
  }

  const shift = <u32>load<u8>(si, SI_SHIFT);
  const slotBytes = <u32>1 << shift;
  bump64(p + POOL_RELEASES);
  bump64(bs + BUCKET_RELEASES);
  store<u32>(p + POOL_IN_USE, load<u32>(p + POOL_IN_USE) - 1);
  store<u32>(p + POOL_BYTES_IN_USE, load<u32>(p + POOL_BYTES_IN_USE) - slotBytes);
  store<u32>(bs + BUCKET_IN_USE, load<u32>(bs + BUCKET_IN_USE) - 1);
  store<u32>(bs + BUCKET_BYTES_IN_USE, load<u32>(bs + BUCKET_BYTES_IN_USE) - slotBytes);

  // An empty slab stays with the bucket (no churn under a steady load) until another bucket takes it, unless it
  // holds a retired slot: then it stays on this bucket's partial list for good (or on no list, once every slot of it
  // is retired), so no other bucket re-carves the retired descriptor.
  if (slabInUse == 0 && <u32>load<u16>(si, SI_SLOTS) == (<u32>1 << (SLAB_SHIFT - shift))) {
    unlinkPartial(p, bp, slab);
    store<u16>(si, <u16>load<u32>(bp, PB_EMPTY), SI_NEXT);
    store<u32>(bp, slab, PB_EMPTY);
  }
  return 0;
}

/** The reference count (≥ 1) of a live handle, or a negative status: how the host checks a lease before a read. */
export function pool_check(p: usize, handle: f64): i32 {
  if (!isPool(p)) return ERR_BAD_ARGUMENT;
  const index = resolve(p, handle);
  if (index < 0) return index;
  return <i32>load<u16>(descriptor(p, <u32>index), D_REFS);
}

/** Address of a live slot's first byte, or 0 when the handle is stale or invalid. */
export function pool_ptr(p: usize, handle: f64): usize {
  if (!isPool(p)) return 0;
  const index = resolve(p, handle);
  if (index < 0) return 0;
  const slab = <u32>index >>> 8;
  const slot = <u32>index & 0xFF;
  const shift = <u32>load<u8>(slabInfo(p, slab), SI_SHIFT);
  return <usize>load<u32>(p + P_SLABS) + (<usize>slab << SLAB_SHIFT) + (<usize>slot << shift);
}

/** Size of a live slot (its bucket's slot size), or 0 when the handle is stale or invalid. */
export function pool_slot_bytes(p: usize, handle: f64): u32 {
  if (!isPool(p)) return 0;
  const index = resolve(p, handle);
  if (index < 0) return 0;
  return <u32>1 << <u32>load<u8>(slabInfo(p, <u32>index >>> 8), SI_SHIFT);
}
