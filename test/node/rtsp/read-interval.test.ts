// Issue 12: the read interval (readIntervalMs / --read-interval).
// - With an interval, a TCP client reads its socket on the shared tick: every packet still arrives (lost 0, sequence
//   numbers contiguous), RTSP requests still get their replies, and the socket is read far fewer times than packets.
// - Bad values are refused with BAD_OPTION / a usage error naming the option.
// The receive path's allocations per packet are a benchmark figure, not a test: npm run bench:alloc.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_READ_INTERVAL_MS, MAX_READ_INTERVAL_MS, RtspClient, type RtpPacket } from '../../../src/node/index.js';
import { parseCommandLine } from '../../../src/node/cli/args.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { closedAfterEach, concat, interleaved, payloadBytes, rtpPacket, ScriptedServer, waitUntil } from './scripted-server.js';

const { servers, clients: closers } = closedAfterEach<{ close(): Promise<void> }>();

let server: RtspTestServer;

beforeAll(async () => {
  server = await startRtspServer({ framerate: 30 });
});
afterAll(async () => {
  await server?.stop();
});

describe('readIntervalMs', () => {
  it('reads on the tick: no packet lost, contiguous sequence numbers, fewer reads than packets, requests answered', async () => {
    const intervalMs = 50;
    // Keep-alives every 300 ms: RTSP request/reply exchanges while the socket is read on the tick.
    const client = new RtspClient(server.url('/h264'), { readIntervalMs: intervalMs, keepAliveIntervalMs: 300 });
    const seqs: number[] = [];
    client.on('packet', (p: RtpPacket) => seqs.push(p.header.sequenceNumber));
    try {
      await client.connect();
      await client.play();
      const started = Date.now();
      await waitUntil(() => seqs.length >= 300, 20_000, '300 packets');
      const elapsed = Date.now() - started;
      await waitUntil(() => client.stats().keepAlivesSent >= 2, 5_000, 'two keep-alives');
      const stats = client.stats();
      expect(stats.keepAliveFailures).toBe(0);
      expect(stats.streams[0]!.lost).toBe(0);
      for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]! + 65536) % 65536).toBe(1);
      // One read per tick (a few more when a tick's data exceeds the read buffer, plus the handshake's).
      expect(stats.connection.readCalls).toBeLessThan(seqs.length / 2);
      expect(stats.connection.readCalls).toBeLessThan((elapsed / intervalMs) * 3 + 20);
    } finally {
      await client.close();
    }
  });

  it('UDP: the RTP socket moves to the tick after the first datagram; every packet arrives, in order; 0 keeps dgram events', async () => {
    // Reaching dgram's handle must not print a deprecation warning to the user (socket._handle is DEP0112).
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.name);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    for (const readIntervalMs of [50, 0]) {
      const client = new RtspClient(server.url('/h264'), { transport: 'udp', readIntervalMs, reorder: false });
      const seqs: number[] = [];
      client.on('packet', (p: RtpPacket) => seqs.push(p.header.sequenceNumber));
      try {
        await client.connect();
        await client.play();
        await waitUntil(() => seqs.length >= 300, 20_000, '300 packets');
        const stats = client.stats();
        expect(stats.streams[0]!.lost).toBe(0);
        for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]! + 65536) % 65536).toBe(1);
        if (readIntervalMs > 0) {
          expect(stats.udp.tickJoins).toBe(1);
          expect(stats.udp.tickLeaves).toBe(0);
          // All but the datagrams that came before the socket was connected were read by the tick.
          expect(stats.udp.tickDatagrams).toBeGreaterThan(seqs.length - 50);
        } else {
          expect(stats.udp).toEqual({ tickJoins: 0, tickLeaves: 0, tickDatagrams: 0 });
        }
      } finally {
        await client.close();
      }
      // After close the tick has let the descriptor go: the counters stay, nothing more is read.
      const after = client.stats().udp.tickDatagrams;
      await new Promise((r) => setTimeout(r, 150));
      expect(client.stats().udp.tickDatagrams).toBe(after);
    }
    await new Promise((r) => setImmediate(r));
    expect(warnings).not.toContain('DEP0112');
  });

  it('UDP: a busy stream (raw video) leaves the tick for dgram events, and every packet still arrives', async () => {
    const client = new RtspClient(server.url('/raw'), { transport: 'udp', reorder: false, udpTimeoutMs: 10_000 });
    let packets = 0;
    client.on('packet', () => packets++);
    try {
      await client.connect();
      await client.play();
      await waitUntil(() => client.stats().udp.tickLeaves >= 1 && packets >= 20_000, 20_000, 'a tick leave and 20 000 packets');
      const stats = client.stats();
      expect(stats.udp.tickJoins).toBeGreaterThanOrEqual(1);
      expect(stats.streams[0]!.lost).toBe(0);
    } finally {
      await client.close();
    }
  });

  // The tick reads with read(2) on the socket's descriptor, where Node never sees the end of the stream: the tick must.
  for (const ending of ['end', 'reset'] as const) {
    it(`a server that ${ending === 'end' ? 'closes' : 'resets'} the connection mid-stream: every packet sent before it, then CONNECTION_CLOSED`, async () => {
      const sent = 40;
      const server = await ScriptedServer.start({
        onPlay: async (conn) => {
          for (let i = 0; i < sent; i++) await conn.send(interleaved(0, rtpPacket({ seq: i, timestamp: i * 3000, marker: true })));
          // Let a few ticks read them before the end comes.
          await new Promise((r) => setTimeout(r, 200));
          if (ending === 'end') conn.socket.end();
          else conn.socket.resetAndDestroy();
        },
      });
      servers.push(server);
      const client = new RtspClient(server.url(), { readIntervalMs: 20, keepAlive: false, receiverReports: false, mediaTimeoutMs: 0 });
      closers.push(client);
      const seqs: number[] = [];
      client.on('packet', (p: RtpPacket) => seqs.push(p.header.sequenceNumber));
      client.on('error', () => undefined);
      await client.connect();
      await client.play();
      await waitUntil(() => client.closeReason !== undefined, 5000, 'the end of the connection');
      expect(client.closeReason).toMatchObject({ code: 'CONNECTION_CLOSED' });
      if (ending === 'end') expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i));
      // Read on the tick: far fewer reads than packets.
      expect(client.stats().connection.readCalls).toBeLessThan(sent);
    });
  }

  // A socket that is not read is no longer an active libuv handle: the tick must keep the process alive in its place
  // (a script that plays and only listens for packets exited 45 ms after PLAY before that).
  it('keeps a process that only listens for packets alive, and lets it exit once the client is closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-tick-alive-'));
    try {
      const file = join(dir, 'alive.mts');
      const index = fileURLToPath(new URL('../../../src/node/index.ts', import.meta.url));
      writeFileSync(file, `
        import { RtspClient } from ${JSON.stringify(index)};
        const client = new RtspClient(${JSON.stringify(server.url('/h264'))}, { readIntervalMs: 20 });
        let packets = 0;
        client.on('packet', () => { packets++; });
        await client.connect();
        await client.play();
        const started = Date.now();
        // Nothing but the client keeps this process alive: no timer of ours is ref'd until it closes the client.
        const check = setInterval(() => {
          if (Date.now() - started < 1500) return;
          clearInterval(check);
          process.stdout.write(JSON.stringify({ packets, aliveMs: Date.now() - started }) + '\\n');
          void client.close();
        }, 100);
        check.unref();
      `);
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (code) => { clearTimeout(kill); resolve({ code, stdout, stderr }); });
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout.trim()) as { packets: number; aliveMs: number };
      expect(report.aliveMs).toBeGreaterThanOrEqual(1500);
      expect(report.packets).toBeGreaterThan(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  // A socket read every 50 ms does not get its receive window grown by the kernel (it stayed near 95 KB): a camera
  // above ~15 Mbit/s would be held back. A tick that brings TICK_SATURATED_BYTES moves the connection to reads at every
  // event; an interval that brings little moves it back.
  it('leaves the tick for a fast stream (every packet, in order) and comes back when it slows down', async () => {
    const fastPackets = 2000;
    const slowPackets = 40;
    const payload = payloadBytes(7, 1400);
    let phase = 'fast';
    const server = await ScriptedServer.start({
      onPlay: async (conn) => {
        // ~5 MB/s (40 Mbit/s) in bursts of 70 packets every 20 ms, then one small packet every 25 ms.
        for (let i = 0; i < fastPackets; i += 70) {
          const n = Math.min(70, fastPackets - i);
          await conn.send(concat(Array.from({ length: n }, (_, k) => interleaved(0, rtpPacket({ seq: i + k, timestamp: (i + k) * 100, payload })))));
          await new Promise((r) => setTimeout(r, 20));
        }
        phase = 'slow';
        for (let i = 0; i < slowPackets && !conn.socket.destroyed; i++) {
          await conn.send(interleaved(0, rtpPacket({ seq: fastPackets + i, timestamp: (fastPackets + i) * 100 })));
          await new Promise((r) => setTimeout(r, 25));
        }
      },
    });
    servers.push(server);
    const client = new RtspClient(server.url(), { readIntervalMs: 50, keepAlive: false, receiverReports: false, mediaTimeoutMs: 0 });
    closers.push(client);
    const seqs: number[] = [];
    let leftDuringFast = false;
    let corrupt = 0;
    client.on('packet', (p: RtpPacket) => {
      seqs.push(p.header.sequenceNumber);
      if (p.header.sequenceNumber < fastPackets) {
        const got = p.payload;
        if (got.length !== payload.length || got.some((v, k) => v !== payload[k])) corrupt++;
      }
      if (phase === 'fast' && client.stats().connection.tickLeaves > 0) leftDuringFast = true;
    });
    await client.connect();
    await client.play();
    await waitUntil(() => seqs.length === fastPackets + slowPackets, 20_000, 'every packet');
    expect(seqs).toEqual(Array.from({ length: fastPackets + slowPackets }, (_, i) => i));
    expect(corrupt).toBe(0);
    const c = client.stats().connection;
    expect(leftDuringFast).toBe(true);
    expect(c.tickLeaves).toBeGreaterThanOrEqual(1);
    // Back on the tick: joined at the first frame, and again after the stream slowed down.
    expect(c.tickJoins).toBeGreaterThanOrEqual(2);
    expect(client.stats().streams[0]!.lost).toBe(0);
  });

  for (const bad of [-1, 1.5, MAX_READ_INTERVAL_MS + 1, Number.NaN]) {
    it(`refuses readIntervalMs ${bad} with BAD_OPTION`, () => {
      expect(() => new RtspClient('rtsp://127.0.0.1/x', { readIntervalMs: bad }))
        .toThrowError(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringContaining('readIntervalMs') }));
    });
  }

  it('--read-interval: parsed in ms, default DEFAULT_READ_INTERVAL_MS, bad values name the option', () => {
    const args = parseCommandLine(['rtsp://127.0.0.1/x', '--read-interval', '20']);
    expect(args).toMatchObject({ readIntervalMs: 20 });
    expect(parseCommandLine(['rtsp://127.0.0.1/x'])).toMatchObject({ readIntervalMs: DEFAULT_READ_INTERVAL_MS });
    expect(parseCommandLine(['rtsp://127.0.0.1/x', '--read-interval', '0'])).toMatchObject({ readIntervalMs: 0 });
    for (const bad of ['-5', '2.5', 'x', String(MAX_READ_INTERVAL_MS + 1)]) {
      expect(() => parseCommandLine(['rtsp://127.0.0.1/x', '--read-interval', bad])).toThrowError(/--read-interval/);
    }
  });
});
