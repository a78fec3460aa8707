// Issue 12: a camera's resident memory follows what it holds, not its limits. The region allocator hands out zeroed
// blocks without writing pages that were never written (assembly/region.ts), so a pool of 256 MiB costs no RAM until
// its slabs carry packets, and a block reused after a free is still zeroed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCore } from '../../src/node/index.js';

const MiB = 1024 * 1024;

/** Resident bytes of the mapping that is exactly the core's memory (V8 maps it read-write on its own). */
function residentOf(memoryBytes: number): number {
  const text = readFileSync('/proc/self/smaps', 'utf8');
  let size = 0;
  let rw = false;
  let found = -1;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      rw = line.split(' ')[1]!.startsWith('rw');
      size = 0;
    } else if (line.startsWith('Size:')) {
      size = Number(line.split(/\s+/)[1]) * 1024;
    } else if (line.startsWith('Rss:') && rw && size === memoryBytes) {
      found = Math.max(found, Number(line.split(/\s+/)[1]) * 1024);
    }
  }
  if (found < 0) throw new Error(`no ${memoryBytes}-byte mapping in /proc/self/smaps`);
  return found;
}

describe('resident memory', () => {
  it('a 256 MiB pool is not resident until its slabs carry packets, and reusing its region touches no new page', async () => {
    const memoryBytes = 300 * MiB + 65536 * 7; // a size no other mapping of this process has
    const core = await createCore({ memoryBytes });
    const before = residentOf(core.memoryBytes);
    const pool = core.createPool({ limitBytes: 256 * MiB, name: 'big' });
    expect(residentOf(core.memoryBytes) - before).toBeLessThan(2 * MiB); // the old memory.fill made 256 MiB resident
    // Use four 64 KiB slots: about four slabs become resident, not the pool's limit.
    const handles = [0, 1, 2, 3].map(() => pool.acquireHandle(65536));
    for (const h of handles) core.u8.fill(0xAB, pool.ptrOf(h), pool.ptrOf(h) + 65536);
    const used = residentOf(core.memoryBytes) - before;
    expect(used).toBeGreaterThanOrEqual(4 * 65536);
    expect(used).toBeLessThan(4 * 65536 + 4 * MiB);
    for (const h of handles) pool.releaseHandle(h);
    pool.destroy();
    // A new pool in the freed region: zeroing it writes only the dirty words, so no page becomes resident.
    const again = core.createPool({ limitBytes: 256 * MiB, name: 'again' });
    expect(residentOf(core.memoryBytes) - before - used).toBeLessThan(2 * MiB);
    again.destroy();
  });

  it('a block is zeroed when handed out again, also where free-list headers of merged blocks lay', async () => {
    const core = await createCore({ memoryBytes: 4 * MiB });
    const sizes = [48, 1000, 70_000, 16, 4096];
    const ptrs = sizes.map((n) => core.alloc(n));
    for (const [i, p] of ptrs.entries()) core.u8.fill(0xFF, p, p + sizes[i]!);
    // Free in an order that splits and merges blocks (headers land inside what will be one block).
    for (const i of [1, 3, 0, 4, 2]) core.free(ptrs[i]!);
    const total = sizes.reduce((a, n) => a + n, 0) + 16 * sizes.length;
    const big = core.alloc(total);
    expect(core.u8.subarray(big, big + total).every((b) => b === 0)).toBe(true);
    // A split: a small block from the freed area, then the rest.
    core.u8.fill(0xEE, big, big + total);
    core.free(big);
    const a = core.alloc(100);
    const b = core.alloc(total - 200);
    expect(core.u8.subarray(a, a + 100).every((x) => x === 0)).toBe(true);
    expect(core.u8.subarray(b, b + total - 200).every((x) => x === 0)).toBe(true);
  });
});
