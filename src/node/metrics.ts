// Prometheus metrics of a running ingest (`wasm-rtsp --metrics-port N`, or your own HTTP server): per stream and per
// pool, read from the clients' stats() at scrape time — nothing is counted twice and the hot path does no extra work.
//
//   const metrics = createMetrics({ cameras: () => clients.map((c) => ({ camera: c.url, stats: c.stats() })) });
//   const server = await serveMetrics(metrics, { port: 9464 });     // GET /metrics
//   …
//   await server.close();

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
  /** Where the camera is: connecting, playing, backoff (waiting to retry), failed (gave up); other values count as none. */
  state?: string;
  /** Failed attempts and failed sessions so far, by reason (an error code). */
  failures?: Iterable<[string, number]>;
}

/** The states of the `camera_state` gauge (one series per state, 1 for the camera's current one). */
export const CAMERA_STATES = ['connecting', 'playing', 'backoff', 'failed'] as const;

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

/**
 * Sampling period of the event-loop lag histogram of the process metrics (prom-client's default is 10 ms). Its timer
 * wakes the process every period whether or not anyone scrapes: at 10 ms that was 100 wake-ups a second, the largest
 * single cost of an idle command on a VM where a wake-up costs ~150 µs of CPU (issue 12).
 */
export const EVENT_LOOP_MONITORING_MS = 100;

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
  new Counter({
    name: p + 'pool_exhaustions_total', help: 'Times the packet pool had no slot to give', labelNames: ['camera'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) if (c.stats.pool) this.labels(c.camera).inc(c.stats.pool.exhaustions);
    },
  });
  new Counter({
    name: p + 'reconnects_total', help: 'Sessions of each camera that came back after a failure', labelNames: ['camera'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) if (c.reconnects !== undefined) this.labels(c.camera).inc(c.reconnects);
    },
  });
  new Counter({
    name: p + 'camera_failures_total', help: 'Failed connection attempts and failed sessions of each camera, by reason (error code)',
    labelNames: ['camera', 'reason'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) for (const [reason, n] of c.failures ?? []) this.labels(c.camera, reason).inc(n);
    },
  });
  new Gauge({
    name: p + 'camera_state', help: `Each camera's state: 1 for the current one of ${CAMERA_STATES.join(', ')}`,
    labelNames: ['camera', 'state'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) {
        if (c.state === undefined) continue;
        for (const s of CAMERA_STATES) this.labels(c.camera, s).set(c.state === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: p + 'camera_up', help: 'Whether each camera is playing (1) or not (0)', labelNames: ['camera'], registers: [registry],
    collect() {
      fresh();
      this.reset();
      for (const c of snapshot) if (c.state !== undefined) this.labels(c.camera).set(c.state === 'playing' ? 1 : 0);
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
  if (sources.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: p, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_MS });
  return registry;
}

/** What serveMetrics serves as /metrics: a prom-client Registry, or anything that renders the text format. */
export interface MetricsText {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Options of serveMetrics. */
export interface ServeMetricsOptions {
  port: number;
  /** Listen address (default 127.0.0.1: metrics name your cameras). */
  host?: string;
  /** GET /status: a JSON document (the command's per-camera status). Without it, /status is 404. */
  status?: () => unknown;
  /** GET /readyz: 200 when ready, else 503 (default: always ready). */
  ready?: () => boolean | Promise<boolean>;
  /**
   * Host names (without port) accepted besides the bound address and localhost. Checked only when bound to a loopback
   * address: a web page in the user's browser could otherwise read the metrics through a DNS name it rebinds to
   * 127.0.0.1 (DNS rebinding). A server bound to a public address is reachable under any name anyway.
   */
  allowedHosts?: readonly string[];
}

/** Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-cased; undefined when it does not parse. */
export function hostOfHeader(header: string): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1]!.replace(/^\[|\]$/g, '').toLowerCase() : undefined;
}

/**
 * An HTTP server for monitoring: GET /metrics (Prometheus text from `registry`), /status (JSON, when given), /healthz
 * (the process answers) and /readyz (200 or 503 from `ready`). It never throws on a request: a URL that does not parse
 * is 400, another method 405, an unknown path 404, a Host that is not ours on a loopback server 403.
 */
export async function serveMetrics(registry: MetricsText, options: ServeMetricsOptions): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  const allowed = new Set(['localhost', '127.0.0.1', '::1', host.replace(/^\[|\]$/g, '').toLowerCase(),
    ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  const text = (res: ServerResponse, code: number, body: string) => {
    if (!res.headersSent) res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path: string;
    try {
      path = new URL(req.url ?? '', 'http://localhost').pathname;
    } catch {
      return text(res, 400, 'bad request URL\n');
    }
    if (loopback && req.headers.host !== undefined) {
      const name = hostOfHeader(req.headers.host);
      if (name === undefined || !allowed.has(name)) return text(res, 403, 'this server answers only to its own address (Host)\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return text(res, 405, 'only GET\n');
    }
    switch (path) {
      case '/metrics': {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body);
        return;
      }
      case '/status':
        if (!options.status) break;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(await options.status(), null, 2) + '\n');
        return;
      case '/healthz':
        return text(res, 200, 'ok\n');
      case '/readyz': {
        const ready = options.ready ? await options.ready() : true;
        return text(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
      }
      default:
        break;
    }
    text(res, 404, `try GET /metrics${options.status ? ', /status' : ''}, /healthz or /readyz\n`);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => text(res, 500, `failed: ${e.message}\n`));
  });
  // A malformed request (bad header, bad method token) is answered 400 and its socket closed, never thrown.
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * Merges Prometheus text expositions of several processes (the --workers supervisor scrapes each worker) into one:
 * every sample gets the part's extra labels (e.g. `worker="1"`), and the samples of one metric stay together under one
 * HELP and TYPE, as the format requires.
 */
export function mergeMetricsText(parts: ReadonlyArray<{ labels: Record<string, string>; text: string }>): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const part of parts) {
    const extra = Object.entries(part.labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
    let current: string | undefined;
    for (const line of part.text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?( .*)$/.exec(line);
      if (!m) continue;
      // Histogram and summary samples (_bucket, _sum, _count) belong to the family announced before them.
      const name = current !== undefined && m[1]!.startsWith(current) ? current : m[1]!;
      const labels = [m[2], extra].filter((l) => l !== undefined && l !== '').join(',');
      family(name).samples.push(`${m[1]}${labels ? `{${labels}}` : ''}${m[3]}`);
    }
  }
  let out = '';
  for (const f of families.values()) {
    if (f.help) out += f.help + '\n';
    if (f.type) out += f.type + '\n';
    for (const s of f.samples) out += s + '\n';
  }
  return out;
}
