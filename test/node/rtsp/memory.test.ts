// Wasm memory sized from the options (memory.ts): coreBytesFor for one camera or N sharing a core, the whole pool
// limit range up to 256 MiB working against the GStreamer test server, and BAD_OPTION naming the option to change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coreBytesFor, createCore, MAX_MEMORY_BYTES, POOL_MAX_LIMIT_BYTES, RtspCamera, RtspClient, type RtpPacket,
} from '../../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { waitUntil } from './scripted-server.js';

const MiB = 1024 * 1024;

describe('coreBytesFor', () => {
  it('gives whole pages that grow with cameras and pool limits', () => {
    const one = coreBytesFor({ cameras: 1, poolLimitBytes: 4 * MiB });
    expect(one % 65536).toBe(0);
    expect(one).toBeGreaterThan(4 * MiB);
    expect(coreBytesFor()).toBe(one); // the defaults: one camera, 4 MiB
    expect(coreBytesFor({ cameras: 2, poolLimitBytes: 4 * MiB })).toBeGreaterThan(one + 4 * MiB);
    expect(coreBytesFor({ cameras: 1, poolLimitBytes: 8 * MiB })).toBeGreaterThan(one + 4 * MiB - 65536);
  });

  it('accepts the whole pool range, 64 KiB to 256 MiB', () => {
    expect(POOL_MAX_LIMIT_BYTES).toBe(256 * MiB);
    expect(coreBytesFor({ poolLimitBytes: 65536 })).toBeGreaterThan(65536);
    expect(coreBytesFor({ poolLimitBytes: 256 * MiB })).toBeLessThan(MAX_MEMORY_BYTES);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['a pool limit above 256 MiB', { poolLimitBytes: 256 * MiB + 65536 }, 'poolLimitBytes'],
    ['a pool limit below one slab', { poolLimitBytes: 1000 }, 'poolLimitBytes'],
    ['a fractional pool limit', { poolLimitBytes: 65536.5 }, 'poolLimitBytes'],
    ['zero cameras', { cameras: 0 }, 'cameras'],
    ['a negative frame reserve', { frameAssemblyBytes: -1 }, 'frameAssemblyBytes'],
  ];
  for (const [what, sizing, option] of bad) {
    it(`refuses ${what} with BAD_OPTION naming ${option}`, () => {
      expect(() => coreBytesFor(sizing)).toThrowError(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringContaining(option) }));
    });
  }

  it('refuses more than 4 GiB with the largest pool limit and camera count that would fit', () => {
    let error: { code?: string; message: string; context?: Record<string, number> } | undefined;
    try {
      coreBytesFor({ cameras: 16, poolLimitBytes: 256 * MiB });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error).toMatchObject({ code: 'BAD_OPTION', context: { maxCameras: 15 } });
    expect(error!.message).toContain('poolLimitBytes');
    const maxPool = error!.context!.maxPoolLimitBytes!;
    expect(maxPool).toBeLessThan(256 * MiB);
    expect(maxPool % 65536).toBe(0);
    // The suggestions hold: they fit, one slab more does not.
    expect(coreBytesFor({ cameras: 16, poolLimitBytes: maxPool })).toBeLessThanOrEqual(MAX_MEMORY_BYTES);
    expect(() => coreBytesFor({ cameras: 16, poolLimitBytes: maxPool + 65536 })).toThrow();
    expect(coreBytesFor({ cameras: 15, poolLimitBytes: 256 * MiB })).toBeLessThanOrEqual(MAX_MEMORY_BYTES);
  });

  it('makes RtspClient and RtspCamera refuse an impossible pool limit when constructed', () => {
    for (const make of [
      () => new RtspClient('rtsp://127.0.0.1/x', { poolLimitBytes: 512 * MiB }),
      () => new RtspCamera('rtsp://127.0.0.1/x', { poolLimitBytes: 512 * MiB }),
    ]) {
      expect(make).toThrowError(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringContaining('poolLimitBytes') }));
    }
  });
});

describe('cores sized by coreBytesFor, against gst-rtsp-server', () => {
  let server: RtspTestServer;
  beforeAll(async () => {
    server = await startRtspServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('plays with the largest pool limit (256 MiB) on a core of its own', async () => {
    const client = await RtspClient.open(server.url('/h264'), { poolLimitBytes: 256 * MiB });
    let packets = 0;
    client.on('packet', () => { packets++; });
    await waitUntil(() => packets > 10, 10_000, 'packets');
    expect(client.wasmCore!.memoryBytes).toBe(coreBytesFor({ poolLimitBytes: 256 * MiB }));
    expect(client.stats().pool!.maxSlabs).toBe(4096);
    await client.close();
  }, 30_000);

  it('fits N cameras on one core of coreBytesFor({ cameras: N }) — and not one more', async () => {
    // Pools larger than the slack for frame mode's reserves (unused here), so a fourth one cannot fit in it.
    const poolLimitBytes = 32 * MiB;
    const core = await createCore({ memoryBytes: coreBytesFor({ cameras: 3, poolLimitBytes }) });
    const clients = ['tcp', 'udp', 'tcp'].map((transport) => new RtspClient(server.url('/h264'), { core, poolLimitBytes, transport: transport as 'tcp' | 'udp' }));
    const counts = [0, 0, 0];
    clients.forEach((c, i) => c.on('packet', (_p: RtpPacket) => { counts[i]++; }));
    try {
      await Promise.all(clients.map(async (c) => { await c.connect(); await c.play(); }));
      await waitUntil(() => counts.every((n) => n > 10), 10_000, 'packets on every camera');
      // The sizing is not wildly generous: a fourth pool of the same limit does not fit.
      const extra = new RtspClient(server.url('/h264'), { core, poolLimitBytes });
      await expect(extra.connect()).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
      await extra.close();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 30_000);
});
