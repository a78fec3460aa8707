// Prometheus metrics and the periodic 'stats' event, read from a client playing GStreamer's RTSP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient, type ClientStats } from '../../src/node/index.js';
import { createMetrics, serveMetrics } from '../../src/node/metrics.js';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';

let server: RtspTestServer;

beforeAll(async () => {
  server = await startRtspServer();
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value of one sample line `name{labels} value` whose labels include every `want` pair. */
function sample(text: string, name: string, want: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics', () => {
  it('serves per-stream, per-pool and process metrics that follow the client, with credentials removed', async () => {
    const url = server.url('/h264').replace('rtsp://', 'rtsp://someone:secret@');
    const client = new RtspClient(url, { transport: 'tcp', frames: true, statsIntervalMs: 200 });
    const statsEvents: ClientStats[] = [];
    client.on('stats', (s: ClientStats) => statsEvents.push(s));
    client.on('frame', () => {});
    await client.connect();
    await client.play();
    const registry = createMetrics({ cameras: () => [{ camera: url, stats: client.stats(), reconnects: 0 }] });
    const http = await serveMetrics(registry, { port: 0 });
    try {
      const scrape = async () => (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
      let text = await scrape();
      const end = Date.now() + 15_000;
      while ((sample(text, 'wasm_rtsp_frames_total') ?? 0) < 10 && Date.now() < end) {
        await sleep(200);
        text = await scrape();
      }
      expect(text).not.toContain('secret');
      const labels = { stream: '0', encoding: 'H264' };
      const packets = sample(text, 'wasm_rtsp_packets_total', labels)!;
      const frames = sample(text, 'wasm_rtsp_frames_total', labels)!;
      expect(frames).toBeGreaterThanOrEqual(10);
      expect(packets).toBeGreaterThanOrEqual(frames);
      expect(sample(text, 'wasm_rtsp_packets_lost_total', labels)).toBe(0);
      expect(sample(text, 'wasm_rtsp_frames_dropped_total', { ...labels, reason: 'loss' })).toBe(0);
      expect(sample(text, 'wasm_rtsp_pool_limit_bytes')).toBe(client.stats().pool!.limitBytes);
      expect(sample(text, 'wasm_rtsp_pool_slots_high_water')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'wasm_rtsp_process_resident_memory_bytes')).toBeGreaterThan(1e6);
      expect(text).toMatch(/# TYPE wasm_rtsp_packets_total counter/);
      // The counters move with the stream: a later scrape shows more packets.
      const later = Date.now() + 10_000;
      let again = packets;
      while (again <= packets && Date.now() < later) {
        await sleep(100);
        again = sample(await scrape(), 'wasm_rtsp_packets_total', labels)!;
      }
      expect(again).toBeGreaterThan(packets);
      expect((await fetch(`http://127.0.0.1:${http.port}/other`)).status).toBe(404);
    } finally {
      await http.close();
      await client.close();
    }
    // 'stats' came periodically, each one a full snapshot.
    expect(statsEvents.length).toBeGreaterThanOrEqual(2);
    expect(statsEvents.at(-1)!.streams[0]!.packets).toBeGreaterThan(0);
  });
});

describe('metrics types and the HTTP server (issue 15 item 13)', () => {
  const pool = { inUse: 0, highWater: 3, bytesInUse: 0, bytesHighWater: 0, limitBytes: 65536, exhaustions: 2 } as unknown as NonNullable<ClientStats['pool']>;
  const registry = () => createMetrics({
    processMetrics: false,
    cameras: () => [
      { camera: 'front', stats: { streams: [], pool }, reconnects: 4, state: 'backoff', failures: [['TIMEOUT', 3], ['NOT_FOUND', 1]] as Array<[string, number]> },
      { camera: 'back', stats: { streams: [] }, reconnects: 0, state: 'playing' },
    ],
  });

  it('counters are typed counter and end in _total; each camera has a state gauge, an up gauge and failures by reason', async () => {
    const text = await registry().metrics();
    expect(text).toMatch(/^# TYPE wasm_rtsp_pool_exhaustions_total counter$/m);
    expect(text).toMatch(/^# TYPE wasm_rtsp_reconnects_total counter$/m);
    expect(text).not.toMatch(/^wasm_rtsp_reconnects\{/m);
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) {
      const [, , name, type] = line.split(' ');
      if (type === 'counter') expect(name!.endsWith('_total'), name).toBe(true);
    }
    expect(sample(text, 'wasm_rtsp_pool_exhaustions_total', { camera: 'front' })).toBe(2);
    expect(sample(text, 'wasm_rtsp_reconnects_total', { camera: 'front' })).toBe(4);
    expect(sample(text, 'wasm_rtsp_camera_failures_total', { camera: 'front', reason: 'TIMEOUT' })).toBe(3);
    expect(sample(text, 'wasm_rtsp_camera_state', { camera: 'front', state: 'backoff' })).toBe(1);
    expect(sample(text, 'wasm_rtsp_camera_state', { camera: 'front', state: 'playing' })).toBe(0);
    expect(sample(text, 'wasm_rtsp_camera_up', { camera: 'front' })).toBe(0);
    expect(sample(text, 'wasm_rtsp_camera_up', { camera: 'back' })).toBe(1);
  });

  it('never crashes on a request: bad URL 400, other methods 405, unknown paths 404, foreign Host 403 on loopback', async () => {
    let ready = false;
    const http = await serveMetrics(registry(), { port: 0, status: () => ({ cameras: [] }), ready: () => ready, allowedHosts: ['metrics.internal'] });
    const raw = (text: string) => new Promise<string>((resolve) => {
      import('node:net').then(({ connect }) => {
        const s = connect(http.port, '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('close', () => resolve(got.split('\r\n')[0]!));
        s.on('error', () => resolve(got.split('\r\n')[0]!));
      });
    });
    try {
      const base = `http://127.0.0.1:${http.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${base}/status`)).json()).toEqual({ cameras: [] });
      expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
      expect(await raw('GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
      expect(await raw('GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      expect(await raw('\x00\x01garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      expect(await raw('GET /metrics HTTP/1.1\r\nHost: rebound.example:9464\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 403 Forbidden');
      expect(await raw('GET /metrics HTTP/1.1\r\nHost: metrics.internal:9464\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 200 OK');
      expect(await raw('GET /metrics HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 200 OK');
      expect((await fetch(`${base}/healthz`)).status).toBe(200); // still serving
    } finally {
      await http.close();
    }
  });
});
