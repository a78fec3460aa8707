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
