// The module's export surface, and the agreement of the status and layout tables between AssemblyScript and
// TypeScript (undici checks its llhttp error table the same way). The TypeScript tables are generated from the
// assembly sources (scripts/gen-abi.mjs); this checks the generated copy is current and matches the module's globals.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCore, parseRtpHeader, RtpRecordView, Status, layout } from '../../src/node/index.js';

const FUNCTIONS = [
  'region_alloc', 'region_free', 'region_reserved_bytes', 'region_largest_free',
  'rtp_parse', 'rtp_parse_batch',
  'demux_create', 'demux_destroy', 'demux_reset', 'demux_set_channel', 'demux_scan',
  'pool_create', 'pool_destroy', 'pool_acquire', 'pool_retain', 'pool_release', 'pool_check', 'pool_ptr',
  'pool_slot_bytes',
  'depay_create', 'depay_push', 'depay_flush', 'depay_destroy',
].sort();

describe('the host copy of the ABI', () => {
  it('is what scripts/gen-abi.mjs makes of the assembly sources today (layout.ts, status-codes.ts)', () => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/gen-abi.mjs', import.meta.url)), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('reports a stale copy (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-abi-'));
    try {
      for (const f of ['scripts/gen-abi.mjs', 'assembly/index.ts', 'assembly/layout.ts', 'assembly/status.ts', 'src/core/layout.ts', 'src/core/status-codes.ts']) {
        mkdirSync(join(dir, dirname(f)), { recursive: true });
        copyFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), join(dir, f));
      }
      writeFileSync(join(dir, 'assembly/layout.ts'), readFileSync(join(dir, 'assembly/layout.ts'), 'utf8').replace('RTP_RECORD_BYTES: u32 = 368', 'RTP_RECORD_BYTES: u32 = 376'));
      const run = spawnSync(process.execPath, [join(dir, 'scripts/gen-abi.mjs'), '--check'], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('src/core/layout.ts is not what the assembly sources give');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const debug of [false, true]) {
  describe(`ABI of the ${debug ? 'debug' : 'release'} build`, () => {
    it('exports exactly the documented functions, the memory and the constants', async () => {
      const core = await createCore({ debug, memoryBytes: 1 << 20 });
      const all = WebAssembly.Module.exports(core.module);
      const functions = all.filter((e) => e.kind === 'function').map((e) => e.name).sort();
      expect(functions).toEqual(FUNCTIONS);
      const globals = new Set(all.filter((e) => e.kind === 'global').map((e) => e.name));
      const expectedGlobals = [...Object.keys(Status), ...Object.keys(layout)];
      expect([...globals].sort()).toEqual([...new Set(expectedGlobals)].sort());
      expect(all.filter((e) => e.kind === 'memory').map((e) => e.name)).toEqual(['memory']);
      // 2: the depayloader (depay_*, DEPAY_* statuses and layout); 3: pool handles are f64 integers below 2^53
      // (generations that never wrap), pool_create takes a first generation, BUCKET_RETIRED.
      expect((core.exports.ABI_VERSION as WebAssembly.Global).value).toBe(3);
    });

    it('imports only its memory (and abort in the debug build)', async () => {
      const core = await createCore({ debug, memoryBytes: 1 << 20 });
      const imports = WebAssembly.Module.imports(core.module).map((i) => `${i.module}.${i.name}:${i.kind}`);
      expect(imports).toContain('env.memory:memory');
      for (const i of imports) expect(['env.memory:memory', 'env.abort:function', 'env.trace:function', 'env.seed:function']).toContain(i);
    });

    it('agrees with the TypeScript status table, code by code', async () => {
      const core = await createCore({ debug, memoryBytes: 1 << 20 });
      for (const [name, code] of Object.entries(Status)) {
        const g = core.exports[name] as WebAssembly.Global | undefined;
        expect(g, name).toBeInstanceOf(WebAssembly.Global);
        expect(g!.value, name).toBe(code);
      }
      expect(new Set(Object.values(Status)).size).toBe(Object.keys(Status).length);
    });

    it('agrees with the TypeScript record layouts, offset by offset', async () => {
      const core = await createCore({ debug, memoryBytes: 1 << 20 });
      for (const [name, value] of Object.entries(layout)) {
        const g = core.exports[name] as WebAssembly.Global | undefined;
        expect(g, name).toBeInstanceOf(WebAssembly.Global);
        // Every layout constant is unsigned: a u32 global reads as an i32 in JS (0xFFFF_FFFE as -2).
        expect(g!.value >>> 0, name).toBe(value);
      }
    });
  });
}

describe('core memory', () => {
  it('is fixed at creation: maximum equals initial, and the views survive every call', async () => {
    const core = await createCore({ memoryBytes: 3 << 20 });
    expect(core.memoryBytes).toBe(3 << 20);
    expect(() => core.memory.grow(1)).toThrow(RangeError);
    const before = core.memory.buffer;
    const p = core.alloc(1000);
    core.free(p);
    expect(core.memory.buffer).toBe(before);
  });

  it('refuses sizes it cannot honour with a typed error', async () => {
    await expect(createCore({ memoryBytes: 1000 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(createCore({ memoryBytes: Number.NaN })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('reports OUT_OF_MEMORY instead of growing, and reuses freed regions', async () => {
    const core = await createCore({ memoryBytes: 1 << 20 });
    const free = core.exports.region_largest_free();
    expect(() => core.alloc(free + 1)).toThrowError(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    const a = core.alloc(free);
    core.free(a);
    expect(core.alloc(free)).toBe(a);
    expect(core.memory.buffer.byteLength).toBe(1 << 20);
  });

  it('rejects a double free and a foreign pointer', async () => {
    const core = await createCore({ memoryBytes: 1 << 20 });
    const a = core.alloc(64);
    core.free(a);
    expect(() => core.free(a)).toThrowError(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => core.free(a + 16)).toThrowError(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => core.free(0xffff_fff0)).toThrowError(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });

  it('lets several cores live side by side, sharing one compiled module but not memory', async () => {
    const [a, b] = await Promise.all([createCore({ memoryBytes: 1 << 20 }), createCore({ memoryBytes: 2 << 20 })]);
    expect(a.module).toBe(b.module);
    expect(a.memory).not.toBe(b.memory);
    a.u8[a.scratchPtr] = 7;
    b.u8[b.scratchPtr] = 9;
    expect(a.u8[a.scratchPtr]).toBe(7);
  });

  it('rebuilds its views when someone else detaches the buffer with grow(0)', async () => {
    const core = await createCore({ memoryBytes: 1 << 20 });
    const old = core.u8;
    core.memory.grow(0);
    expect(old.byteLength).toBe(0);
    expect(core.views().byteLength).toBe(1 << 20);
    expect(core.u8.byteLength).toBe(1 << 20);
  });
});

describe('views after a detaching grow(0), on the hot paths that check by length', () => {
  it('an RTP record view and a lease view read the same bytes after grow(0)', async () => {
    const core = await createCore({ memoryBytes: 1 << 20 });
    const packet = Uint8Array.from([0x80, 96, 0x12, 0x34, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    parseRtpHeader(core, packet);
    const record = new RtpRecordView(core, core.recordPtr);
    expect(record.sequenceNumber).toBe(0x1234);
    const pool = core.createPool({ limitBytes: 1 << 16 });
    const lease = pool.acquire(100);
    lease.view.set([5, 6, 7]);
    const before = lease.view;
    core.memory.grow(0);
    expect(before.length).toBe(0);
    expect(record.at(core.recordPtr).sequenceNumber).toBe(0x1234);
    expect(record.ssrc).toBe(0xdeadbeef);
    expect([...lease.view.subarray(0, 3)]).toEqual([5, 6, 7]);
    expect(lease.view.length).toBe(100);
    lease.release();
  });
});
