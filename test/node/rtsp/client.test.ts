// The RTSP client against GStreamer's own RTSP server (test/server/rtsp_server.py) on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient, type RtpPacket } from '../../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';

let server: RtspTestServer;

beforeAll(async () => {
  server = await startRtspServer({ rawWidth: 320, rawHeight: 240, rawFramerate: 30 });
});
afterAll(async () => {
  await server?.stop();
});

interface Seen { count: number; seqs: number[]; payloadTypes: Set<number>; bytes: number }

/** Polls `cond` every 20 ms until it holds; throws after `timeoutMs` naming `what`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Plays `path` until `packets` packets arrived (at most 20 s: a loaded machine may be slow) and returns what came. */
async function play(path: string, transport: 'tcp' | 'udp', packets: number) {
  const client = new RtspClient(server.url(path), { transport });
  const seen: Seen = { count: 0, seqs: [], payloadTypes: new Set(), bytes: 0 };
  // Listening before PLAY: packets read together with the PLAY reply are delivered before play() resolves.
  client.on('packet', (p: RtpPacket) => {
    seen.count++;
    seen.bytes += p.length;
    seen.payloadTypes.add(p.header.payloadType);
    if (seen.seqs.length < 100_000) seen.seqs.push(p.header.sequenceNumber);
  });
  await client.connect();
  await client.play();
  const from = server.events.length;
  await waitFor(() => seen.count >= packets, 20_000, `${packets} packets`);
  // Both read at the same moment: packets keep arriving until the TEARDOWN is answered.
  const stats = client.stats();
  const countAtStats = seen.count;
  await client.close();
  const teardown = await server.waitFor((e) => e.event === 'teardown', 5000, from);
  // TEARDOWN ended the session on the server (not a timeout, not a dropped connection).
  const removed = await server.waitFor((e) => e.event === 'session-removed' && e.session === teardown.session, 5000, from);
  return { client, seen, stats, countAtStats, teardown, removed };
}

function inOrder(seqs: number[]): boolean {
  for (let i = 1; i < seqs.length; i++) if (((seqs[i] - seqs[i - 1]) & 0xffff) !== 1) return false;
  return true;
}

describe('RtspClient against gst-rtsp-server', () => {
  for (const transport of ['tcp', 'udp'] as const) {
    it(`plays the H.264 test pattern over ${transport}: in order, nothing lost, TEARDOWN seen`, async () => {
      const { client, seen, stats, countAtStats, teardown, removed } = await play('/h264', transport, 40);
      expect(client.streams).toHaveLength(1);
      expect(client.streams[0]).toMatchObject({ type: 'video', encodingName: 'H264', clockRate: 90000, payloadType: 96 });
      expect(client.streams[0].fmtp['packetization-mode']).toBe('1');
      expect(seen.count).toBeGreaterThan(30);
      expect([...seen.payloadTypes]).toEqual([96]);
      expect(inOrder(seen.seqs)).toBe(true);
      expect(stats.streams[0]).toMatchObject({ lost: 0, reordered: 0, duplicates: 0 });
      expect(stats.streams[0].packets).toBe(countAtStats);
      expect(Object.values(stats.streams[0].dropped).every((n) => n === 0)).toBe(true);
      expect(teardown.session).toBeTruthy();
      expect(removed.reason).toBe('teardown');
      expect(stats.pool!.inUse).toBeLessThanOrEqual(1);
    });

    it(`plays raw video over ${transport} with no loss`, async () => {
      const { seen, stats } = await play('/raw', transport, 1500);
      expect(seen.count).toBeGreaterThanOrEqual(1500);
      expect(inOrder(seen.seqs)).toBe(true);
      expect(stats.streams[0]).toMatchObject({ lost: 0, reordered: 0, duplicates: 0 });
    });
  }

  it.each(['tcp', 'udp'] as const)('maps RTP time to wall-clock time from RTCP sender reports, and sends receiver reports over %s', async (transport) => {
    const client = await RtspClient.open(server.url('/h264'), { transport });
    let withWallClock = 0;
    let worstSkewMs = 0;
    client.on('packet', (p: RtpPacket) => {
      if (p.wallClockTimeMs === undefined) return;
      withWallClock++;
      // The sender's clock is this machine's: on loopback the mapped time is close to the arrival time.
      worstSkewMs = Math.max(worstSkewMs, Math.abs(p.wallClockTimeMs - p.arrivalTimeMs));
    });
    // Sender reports come every ~5 s, receiver reports leave every 5 s: wait for both (bounded), not a fixed time.
    await waitFor(() => withWallClock > 10 && client.stats().receiverReportsSent > 0, 25_000, 'sender and receiver reports');
    const stats = client.stats();
    await client.close();
    expect(stats.senderReportsReceived).toBeGreaterThan(0);
    expect(client.streams[0].lastSenderReport).toBeDefined();
    expect(withWallClock).toBeGreaterThan(10);
    expect(worstSkewMs).toBeLessThan(1000);
    expect(stats.receiverReportsSent).toBeGreaterThan(0);
  }, 40_000);

  it('plays over UDP when the URL names a host, not an address (datagrams are matched to the resolved server)', async () => {
    const client = await RtspClient.open(server.url('/h264').replace('127.0.0.1', 'localhost'), { transport: 'udp' });
    const n = await new Promise<number>((resolve) => {
      let count = 0;
      client.on('packet', () => { if (++count === 20) resolve(count); });
    });
    const stats = client.stats();
    await client.close();
    expect(n).toBe(20);
    expect(stats.unattributedDrops).toBe(0);
  });

  it('keeps the JS heap and the wasm memory flat while packets stream (no per-packet leak)', async () => {
    expect(typeof globalThis.gc, 'run with --expose-gc (vitest.config.ts execArgv)').toBe('function');
    const client = await RtspClient.open(server.url('/raw'), { transport: 'tcp' });
    const memory = client.wasmCore!.memory.buffer;
    let packets = 0;
    client.on('packet', () => { packets++; });
    const heapAfterGc = () => { globalThis.gc!(); globalThis.gc!(); return process.memoryUsage().heapUsed; };
    // Counted in packets, not seconds: a loaded machine receives fewer per second.
    await waitFor(() => packets >= 5_000, 30_000, 'the warm-up packets');
    const packetsWarm = packets;
    const heapWarm = heapAfterGc();
    await waitFor(() => packets >= packetsWarm + 25_000, 60_000, '25 000 measured packets');
    const heapEnd = heapAfterGc();
    const packetsMeasured = packets - packetsWarm;
    const stats = client.stats();
    await client.close();
    console.log(`client memory: ${packetsMeasured} packets measured, heapUsed ${heapWarm} → ${heapEnd} (${heapEnd - heapWarm} B)`);
    expect(packetsMeasured).toBeGreaterThan(20_000);
    // A leak of even 8 bytes per packet would exceed this.
    expect(heapEnd - heapWarm).toBeLessThan(Math.max(256 * 1024, packetsMeasured * 8));
    expect(client.wasmCore!.memory.buffer).toBe(memory);
    expect(stats.pool!.inUse).toBeLessThanOrEqual(1);
    expect(stats.pool!.highWater).toBeLessThanOrEqual(3);
  }, 120_000);

  it('keeps a retained packet valid after its handler and makes the reused one throw', async () => {
    const client = await RtspClient.open(server.url('/h264'));
    const kept = await new Promise<ReturnType<RtpPacket['retain']>>((resolve) => {
      client.once('packet', (p: RtpPacket) => resolve(p.retain()));
    });
    let reused: RtpPacket | undefined;
    await new Promise<void>((resolve) => client.once('packet', (p: RtpPacket) => { reused = p; resolve(); }));
    expect(() => reused!.view).toThrow(RangeError);
    const copy = kept.lease.view.slice();
    expect(kept.header.version).toBe(2);
    expect(copy[0] >> 6).toBe(2);
    expect(((copy[2] << 8) | copy[3])).toBe(kept.header.sequenceNumber);
    kept.release();
    expect(() => kept.lease.view).toThrowError(expect.objectContaining({ code: 'LEASE_RELEASED' }));
    await client.close();
  });

  it('yields packets through the async iterator and ends it on close', async () => {
    const client = await RtspClient.open(server.url('/h264'));
    let n = 0;
    for await (const p of client.packets()) {
      expect(p.header.payloadType).toBe(96);
      p.release();
      if (++n === 20) break;
    }
    expect(n).toBe(20);
    await client.close();
    expect(client.stats().pool!.inUse).toBe(0);
  });

  it('closes idempotently and stops on an AbortSignal', async () => {
    const ac = new AbortController();
    const client = await RtspClient.open(server.url('/h264'), { signal: ac.signal });
    const closed = new Promise((r) => client.once('close', r));
    ac.abort();
    await closed;
    await client.close();
    await client.close();
  });

  it('reports a missing stream as a STATUS error with the status code', async () => {
    await expect(RtspClient.open(server.url('/nope'))).rejects.toMatchObject({ code: 'NOT_FOUND', statusCode: 404 });
  });

  it('reports a refused connection as CONNECT_FAILED', async () => {
    await expect(RtspClient.open('rtsp://127.0.0.1:1/x')).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
  });
});
