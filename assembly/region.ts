// The region allocator: carves pools, demuxers and scratch buffers out of the fixed linear memory.
//
// Memory is sized by the host when the module is instantiated and never grows (a grow, even grow(0), detaches every
// view the host holds). Everything above __heap_base is ours: blocks are handed out first-fit from an address-ordered
// free list and coalesced with their neighbours on free. These calls are rare (one per pool, demuxer or scratch
// buffer), so simplicity wins over speed here; the hot paths never allocate.
//
// Blocks are handed out zeroed, without touching a page that is not already resident. A fresh memory is all zeroes
// and the kernel backs it with pages only when they are written, so a memory.fill over a whole pool region would make
// every one of its pages resident (issue 12: 4 MiB of RAM per camera whose pool held one 64 KiB slab). Hence:
// - above `cleanFrom`, the end of the highest block ever handed out, memory was never written (but the 16-byte header
//   of the free block that starts exactly there): nothing to zero;
// - below it, a block may hold an earlier owner's bytes: it is read and only non-zero words are written. Reading a
//   never-written page maps the kernel's shared zero page, which costs no RAM, so only pages already dirty are
//   written.
// A camera's resident memory thus follows what it touched (slabs in use, frames assembled), not its limits.

import { OK, ERR_BAD_ARGUMENT } from "./status";

/** Alignment of every block: records and slabs are read through 32-bit views, slabs like 64-bit ones. */
const ALIGN: usize = 16;
/** A block header: u32 size (including the header), u32 next free block (0 = none). */
const HEADER: usize = 16;
/** Marks a block in use in its header's spare word, so a double free or a foreign pointer is refused. */
const MAGIC_USED: u32 = 0x52545350; // "RTSP"

let freeHead: usize = 0;
let initialized = false;
let reservedBytes: usize = 0;
/** Every byte at or above cleanFrom + HEADER is zero (never written since the memory was made): see the file comment. */
let cleanFrom: usize = 0;

function init(): void {
  const start = (__heap_base + ALIGN - 1) & ~(ALIGN - 1);
  const end = <usize>memory.size() << 16;
  freeHead = start;
  cleanFrom = start;
  store<u32>(start, <u32>(end - start)); // size
  store<u32>(start, 0, 4); //               next
  store<u32>(start, 0, 8); //               magic
  initialized = true;
}

/** Reserves `bytes` of linear memory, aligned to 16. Returns the address, or 0 when no free block is large enough. */
export function region_alloc(bytes: u32): usize {
  if (!initialized) init();
  if (bytes == 0 || bytes > 0xFFFF_0000) return 0;
  const need = ((<usize>bytes + HEADER + ALIGN - 1) & ~(ALIGN - 1));
  let prev: usize = 0;
  let block = freeHead;
  while (block != 0) {
    const size = <usize>load<u32>(block);
    const next = <usize>load<u32>(block, 4);
    if (size >= need) {
      if (size - need >= HEADER + ALIGN) {
        // Split: the tail stays free.
        const rest = block + need;
        store<u32>(rest, <u32>(size - need));
        store<u32>(rest, <u32>next, 4);
        store<u32>(rest, 0, 8);
        if (prev == 0) freeHead = rest; else store<u32>(prev, <u32>rest, 4);
        store<u32>(block, <u32>need);
      } else {
        if (prev == 0) freeHead = next; else store<u32>(prev, <u32>next, 4);
      }
      store<u32>(block, 0, 4);
      store<u32>(block, MAGIC_USED, 8);
      const end = block + <usize>load<u32>(block);
      reservedBytes += end - block;
      zeroDirty(block + HEADER, min(end, cleanFrom + HEADER));
      if (end > cleanFrom) cleanFrom = end;
      return block + HEADER;
    }
    prev = block;
    block = next;
  }
  return 0;
}

/**
 * Zeroes [from, to) (16-byte aligned) writing only the words that are not zero already, so pages that were never
 * written stay unbacked (reads of them map the shared zero page).
 */
function zeroDirty(from: usize, to: usize): void {
  for (let a = from; a < to; a += 16) {
    if ((load<u64>(a) | load<u64>(a, 8)) != 0) {
      store<u64>(a, 0);
      store<u64>(a, 0, 8);
    }
  }
}

/** Returns a block from region_alloc to the free list. ERR_BAD_ARGUMENT for anything else (including a double free). */
export function region_free(ptr: usize): i32 {
  if (!initialized || ptr < HEADER || (ptr & (ALIGN - 1)) != 0) return ERR_BAD_ARGUMENT;
  const block = ptr - HEADER;
  if (block < __heap_base || block >= (<usize>memory.size() << 16)) return ERR_BAD_ARGUMENT;
  if (load<u32>(block, 8) != MAGIC_USED) return ERR_BAD_ARGUMENT;
  store<u32>(block, 0, 8);
  const size = <usize>load<u32>(block);
  reservedBytes -= size;
  // Insert in address order, then merge with the neighbours.
  let prev: usize = 0;
  let next = freeHead;
  while (next != 0 && next < block) {
    prev = next;
    next = <usize>load<u32>(next, 4);
  }
  store<u32>(block, <u32>next, 4);
  if (prev == 0) freeHead = block; else store<u32>(prev, <u32>block, 4);
  if (next != 0 && block + size == next) {
    store<u32>(block, <u32>(size + <usize>load<u32>(next)));
    store<u32>(block, load<u32>(next, 4), 4);
  }
  if (prev != 0 && prev + <usize>load<u32>(prev) == block) {
    store<u32>(prev, load<u32>(prev) + load<u32>(block));
    store<u32>(prev, load<u32>(block, 4), 4);
  }
  return OK;
}

/** Bytes currently reserved (headers included): the host's view of how full the fixed memory is. */
export function region_reserved_bytes(): u32 {
  return <u32>reservedBytes;
}

/** Size of the largest block region_alloc could hand out now. */
export function region_largest_free(): u32 {
  if (!initialized) init();
  let best: usize = 0;
  let block = freeHead;
  while (block != 0) {
    const size = <usize>load<u32>(block);
    if (size > best) best = size;
    block = <usize>load<u32>(block, 4);
  }
  return best > HEADER ? <u32>(best - HEADER) : 0;
}

/** True when [ptr, ptr + len) lies inside linear memory: every exported call checks its input with this. */
// @ts-ignore: decorator
@inline
export function inMemory(ptr: usize, len: usize): bool {
  const end = <usize>memory.size() << 16;
  return ptr <= end && len <= end - ptr;
}
