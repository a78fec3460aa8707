// Prometheus metrics of a running ingest (`wasm-rtsp --metrics-port N`, or your own HTTP server): per stream and per
// pool, read from the clients' stats() at scrape time — nothing is counted twice and the hot path does no extra work.
//
//   const metrics = createMetrics({ cameras: () => clients.map((c) => ({ camera: c.url, stats: c.stats() })) });
//   const server = await serveMetrics(metrics, { port: 9464 });     // GET /metrics
//   …
//   await server.close();

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { GstSinkStats } from './gst/sink.js';
import type { ClientStats } from './rtsp/client.js';
import { redactUrl } from '../core/rtsp/url.js';

/** One camera's statistics at scrape time; `camera` is its URL (credentials are removed before it becomes a label). */
export interface CameraSample {
  camera: string;
  stats: Pick<ClientStats, 'streams' | 'pool'>;
  /** Reconnects so far (from RtspCamera), when known. */
  reconnects?: number;
}

/** Where the metrics come from: called once per scrape. */
export interface MetricsSources {
  cameras: () => Iterable<CameraSample>;
  /** The GStreamer sinks (pipelines) fed, labelled by their position. */
  sinks?: () => Iterable<GstSinkStats>;
  /** Metric name prefix (default 'wasm_rtsp_'). */
  prefix?: string;
  /** Also export Node's default process metrics (heap, RSS, event loop lag, GC); default true. */
  processMetrics?: boolean;
}

type StreamLabels = 'camera' | 'stream' | 'encoding';
/** Metrics collected within this long of each other share one read of the cameras' statistics. */
const SNAPSHOT_REUSE_MS = 100;

/** A prom-client Registry whose metrics are filled from `sources` at every scrape. */
export function createMetrics(sources: MetricsSources): Registry {
  const registry = new Registry();
  const p = sources.prefix ?? 'wasm_rtsp_';
  let snapshot: CameraSample[] = [];
  let sinkSnapshot: GstSinkStats[] = [];
  let refreshedAt = Number.NEGATIVE_INFINITY;
  // One read of every camera per scrape, shared by all metrics (each metric's collect() runs in turn, within a few ms).
  const fresh = () => {
    const now = Date.now();
    if (now - refreshedAt < SNAPSHOT_REUSE_MS) return;
    refreshedAt = now;
    snapshot = [...sources.cameras()].map((c) => ({ ...c, camera: redactUrl(c.camera) }));
    sinkSnapshot = [...(sources.sinks?.() ?? [])];
  };
  const streamLabels: StreamLabels[] = ['camera', 'stream', 'encoding'];
  const perStream = (name: string, help: string, read: (s: ClientStats['streams'][number]) => number | undefined) =>
    new Counter({
      name: p + name, help, labelNames: streamLabels, registers: [registry],
      collect() {
        fresh();
        this.reset();
        for (const c of snapshot) {
          for (const s of c.stats.streams) {
            const v = read(s);
            if (v !== undefined) this.labels(c.camera, String(s.id), s.encodingName).inc(v);
          }
        }
      },
    });
  perStream('packets_total', 'RTP packets received', (s) => s.packets);
  perStream('bytes_total', 'RTP bytes received', (s) => s.bytes);
  perStream('packets_lost_total', 'RTP packets lost (RFC 3550 A.3)', (s) => s.lost);
  perStream('packets_reordered_total', 'RTP packets that arrived out of order', (s) => s.reordered);
  perStream('frames_total', 'Frames (access units) delivered in frame mode', (s) => s.frames?.delivered);
  perStream('keyframes_total', 'Keyframes delivered in frame mode', (s) => s.frames?.keyframes);
  const perStreamReason = (name: string, help: string, read: (s: ClientStats['streams'][number]) => Iterable<[string, number]>) =>
    new Counter({
      name: p + name, help, labelNames: [...streamLabels, 'reason'], registers: [registry],
      collect() {
        fresh();
        this.reset();
        for (const c of snapshot) {
          for (const s of c.stats.streams) {
            for (const [reason, n] of read(s)) this.labels(c.camera, String(s.id), s.encodingName, reason).inc(n);
          }
        }
      },
    });
  perStreamReason('packets_dropped_total', 'RTP packets dropped before the consumer, by reason', (s) => Object.entries(s.dropped));
  perStreamReason('frames_dropped_total', 'Frames dropped in frame mode, by reason',
    (s) => (s.frames ? [...Object.entries(s.frames.dropped), ['queueFull', s.frames.queueFull]] : []));
  new Gauge({
    name: p + 'jitter_seconds', help: 'Interarrival jitter (RFC 3550 A.8)', labelNames: streamLabels, registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) for (const s of c.stats.streams) this.labels(c.camera, String(s.id), s.encodingName).set(s.jitterMs / 1000);
    },
  });
  const perPool = (name: string, help: string, read: (pool: NonNullable<ClientStats['pool']>) => number) =>
    new Gauge({
      name: p + name, help, labelNames: ['camera'], registers: [registry],
      collect() {
        fresh();
        this.reset();
        for (const c of snapshot) if (c.stats.pool) this.labels(c.camera).set(read(c.stats.pool));
      },
    });
  perPool('pool_slots_in_use', 'Packet pool slots in use', (pool) => pool.inUse);
  perPool('pool_slots_high_water', 'Most packet pool slots in use at once', (pool) => pool.highWater);
  perPool('pool_bytes_in_use', 'Packet pool bytes in use', (pool) => pool.bytesInUse);
  perPool('pool_limit_bytes', 'Packet pool byte limit', (pool) => pool.limitBytes);
  perPool('pool_exhaustions_total', 'Times the packet pool had no slot to give', (pool) => pool.exhaustions);
  new Gauge({
    name: p + 'reconnects', help: 'Reconnects of each camera so far', labelNames: ['camera'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) if (c.reconnects !== undefined) this.labels(c.camera).set(c.reconnects);
    },
  });
  const perBranch = (name: string, help: string, read: (b: GstSinkStats['branches'][number]) => number) =>
    new Counter({
      name: p + name, help, labelNames: ['pipeline', 'branch', 'encoding'], registers: [registry],
      collect() {
        fresh();
        this.reset();
        sinkSnapshot.forEach((sink, i) => {
          for (const b of sink.branches) this.labels(String(i), String(b.index), b.encodingName).inc(read(b));
        });
      },
    });
  perBranch('sink_buffers_pushed_total', 'Buffers pushed into the GStreamer appsrc of each branch', (b) => b.pushedPackets + b.pushedFrames);
  perBranch('sink_queue_dropped_total', 'Buffers not pushed because the appsrc queue was near its bound', (b) => b.queueDroppedPackets);
  if (sources.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: p });
  return registry;
}

/** An HTTP server answering GET /metrics from `registry` (loopback by default: metrics name your cameras). */
export async function serveMetrics(registry: Registry, options: { port: number; host?: string }): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
