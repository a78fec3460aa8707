// --workers: the cameras spread over worker processes, under a supervisor that restarts a worker that dies.
//
// Processes, not worker threads: the GStreamer binding is not safe across threads of one process. The supervisor
// forks the command's own entry with the same arguments plus the internal `--worker-of I/N`; each worker loads the
// cameras itself (URLs or --config, this shard) and keeps those that hash to it (workerOfCamera: rendezvous hashing,
// so a reload never moves a camera between workers). Everything a person or Prometheus sees goes through the
// supervisor over the IPC channel: log lines, --json-progress lines, one /metrics (each worker's text with a `worker`
// label), one /status, one --json summary. A worker ignores signals (a terminal's Ctrl-C reaches the whole process
// group, systemd's stop every process of the unit): the supervisor tells it to stop, reload or report, and a worker
// whose supervisor is gone stops by itself.

import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CameraSpec } from '../fleet/config.js';
import { ConfigError } from '../fleet/errors.js';
import { gstAvailable } from '../gst/index.js';
import { mergeMetricsText, serveMetrics } from '../metrics.js';
import { UsageError, WORKER_FLAG, type Args } from './args.js';
import { CameraSource, workerOfCamera } from './fleet.js';
import { runFleet, watchConfig, type CommandIo, type RunHandle } from './run.js';
import { readiness, type CameraStatus, type StatusReport } from './status.js';
import { EXIT_GSTREAMER, EXIT_OK, EXIT_RTSP, EXIT_USAGE, humanSummary, type Summary } from './summary.js';

/** First wait before a dead worker is started again; it doubles up to WORKER_MAX_BACKOFF_MS. */
export const WORKER_INITIAL_BACKOFF_MS = 500;
/** Longest wait before a dead worker is started again. */
export const WORKER_MAX_BACKOFF_MS = 30_000;
/** A worker that ran this long before dying starts again after the initial wait (its earlier deaths are forgotten). */
const WORKER_STABLE_MS = 60_000;
/** How long a scrape waits for each worker's answer; a worker that does not answer is left out of that scrape. */
const SCRAPE_TIMEOUT_MS = 2_000;
/** How long a stop waits for the workers' summaries before killing them. */
const STOP_WAIT_MS = 15_000;

/** Messages from the supervisor to a worker. */
type ToWorker = { type: 'stop'; reason: string } | { type: 'reload' } | { type: 'scrape'; id: number };
/** Messages from a worker to the supervisor. */
type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'out'; text: string }
  | { type: 'scrape'; id: number; metrics: string; status: StatusReport }
  | { type: 'summary'; summary: Summary };

/**
 * How many worker processes run: `requested` as given; 'auto' is one per core, but only as many as give each worker
 * at least two cameras (a worker per camera buys nothing but memory); 1 means the command runs its cameras itself.
 */
export function workerCount(requested: number | 'auto' | undefined, cameras: number, cores = availableParallelism()): number {
  if (requested === undefined) return 1;
  if (requested === 'auto') return Math.max(1, Math.min(cores, Math.floor(cameras / 2)));
  return requested;
}

/** The worker side: runs its share of the cameras and talks to the supervisor over IPC. */
export async function runWorker(a: Args): Promise<number> {
  const send = process.send?.bind(process);
  if (!send) {
    process.stderr.write(`wasm-rtsp: ${WORKER_FLAG} is internal to --workers (a worker process needs its supervisor)\n`);
    return EXIT_USAGE;
  }
  const post = (m: FromWorker) => new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    try {
      send(m, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  let handle: RunHandle | undefined;
  let pendingStop: string | undefined;
  const stop = (reason: string) => (handle ? handle.stop(reason) : (pendingStop = reason));
  process.on('message', (m: ToWorker) => {
    if (m.type === 'stop') stop(m.reason);
    else if (m.type === 'reload') handle?.reload();
    else if (m.type === 'scrape' && handle) {
      const h = handle;
      h.metrics().then((metrics) => post({ type: 'scrape', id: m.id, metrics, status: h.status() }), () => {});
    }
  });
  // The supervisor is gone (killed): stop, tearing the sessions down, rather than run on unwatched.
  process.on('disconnect', () => stop('SIGTERM'));
  const io: CommandIo = { out: process.stdout, err: process.stderr };
  const gst = gstAvailable();
  if (!gst.ok) {
    await post({ type: 'log', line: `GStreamer is not available: ${gst.message}` });
    return EXIT_GSTREAMER;
  }
  const source = new CameraSource(a);
  let specs: CameraSpec[];
  try {
    specs = source.load();
  } catch (e) {
    if (!(e instanceof ConfigError) && !(e instanceof UsageError)) throw e;
    for (const line of e.message.split('\n')) await post({ type: 'log', line });
    return EXIT_USAGE;
  }
  let final: Promise<void> = Promise.resolve();
  const code = await runFleet(a, io, { source, specs }, {
    worker: { index: a.workerOf!.index, count: a.workerOf!.count },
    log: (line) => void post({ type: 'log', line }),
    out: (text) => void post({ type: 'out', text }),
    attach: (h) => {
      handle = h;
      if (pendingStop !== undefined) h.stop(pendingStop);
    },
    summary: (summary) => (final = post({ type: 'summary', summary })),
  });
  await final;
  return code;
}

/** One worker process as the supervisor sees it. */
interface WorkerSlot {
  index: number;
  child?: ChildProcess;
  pid?: number;
  startedAt: number;
  restarts: number;
  delayMs: number;
  restartTimer?: ReturnType<typeof setTimeout>;
  summary?: Summary;
  exitCode?: number | null;
  ended: boolean;
}

/**
 * The supervisor: forks `count` workers, restarts one that dies (with backoff, the reason logged), forwards reloads
 * (SIGHUP, --watch) once the file loads, serves the merged /metrics, /status, /healthz and /readyz, and prints one
 * summary at the end.
 */
export async function runSupervisor(a: Args, argv: readonly string[], count: number, source: CameraSource, initial: CameraSpec[],
  io: CommandIo): Promise<number> {
  const log = (line: string) => io.err.write(`wasm-rtsp: ${line}\n`);
  const entry = fileURLToPath(new URL('./index.js', import.meta.url));
  const started = Date.now();
  let specs = initial;
  let stopping: string | undefined;
  let allEnded!: () => void;
  const ended = new Promise<void>((resolve) => (allEnded = resolve));
  const slots: WorkerSlot[] = Array.from({ length: count }, (_, index) => ({ index, startedAt: 0, restarts: 0, delayMs: WORKER_INITIAL_BACKOFF_MS, ended: false }));
  const camerasOf = (i: number) => specs.filter((s) => workerOfCamera(s.name, count) === i);
  let nextScrape = 0;
  const scrapes = new Map<number, { slot: number; resolve: (r: { metrics: string; status: StatusReport } | undefined) => void }>();

  const checkEnded = () => {
    if (slots.every((s) => s.ended)) allEnded();
  };
  const start = (slot: WorkerSlot) => {
    slot.startedAt = Date.now();
    slot.summary = undefined;
    const child = fork(entry, [...argv, WORKER_FLAG, `${slot.index}/${count}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    slot.child = child;
    slot.pid = child.pid;
    child.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'log':
          if (m.line !== '') log(`[worker ${slot.index}] ${m.line}`);
          break;
        case 'out':
          io.out.write(m.text);
          break;
        case 'scrape':
          scrapes.get(m.id)?.resolve({ metrics: m.metrics, status: m.status });
          scrapes.delete(m.id);
          break;
        case 'summary':
          slot.summary = m.summary;
          break;
      }
    });
    child.on('error', (e) => log(`worker ${slot.index}: ${e.message}`));
    child.on('exit', (code, signal) => {
      slot.child = undefined;
      for (const [id, s] of scrapes) {
        if (s.slot !== slot.index) continue;
        s.resolve(undefined);
        scrapes.delete(id);
      }
      // Ended as asked, or by itself with its summary (--duration, every camera gave up, a bad file): not restarted.
      if (slot.summary || stopping !== undefined || code === EXIT_USAGE) {
        slot.exitCode = code;
        slot.ended = true;
        checkEnded();
        return;
      }
      if (Date.now() - slot.startedAt > WORKER_STABLE_MS) slot.delayMs = WORKER_INITIAL_BACKOFF_MS;
      const delay = slot.delayMs;
      slot.delayMs = Math.min(delay * 2, WORKER_MAX_BACKOFF_MS);
      const n = camerasOf(slot.index).length;
      log(`worker ${slot.index} (pid ${slot.pid}, ${n} camera${n === 1 ? '' : 's'}) died: ${signal ? `killed by ${signal}` : `exit code ${code}`}; ` +
        `restarting it in ${(delay / 1000).toFixed(1)} s (restart ${slot.restarts + 1}); the other workers go on`);
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (stopping !== undefined) {
          slot.ended = true;
          checkEnded();
          return;
        }
        slot.restarts++;
        start(slot);
      }, delay);
    });
  };

  const send = (slot: WorkerSlot, m: ToWorker) => {
    try {
      if (slot.child?.connected) slot.child.send(m);
    } catch { /* it is exiting: its 'exit' handles it */ }
  };
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stopAll = (reason: string) => {
    if (stopping !== undefined) return;
    stopping = reason;
    for (const slot of slots) {
      if (slot.restartTimer) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
      }
      if (slot.child) send(slot, { type: 'stop', reason });
      else slot.ended = true;
    }
    checkEnded();
    killTimer = setTimeout(() => {
      for (const slot of slots) slot.child?.kill('SIGKILL');
    }, STOP_WAIT_MS);
  };
  const onSignal = (name: string) => () => {
    if (stopping !== undefined) {
      log(`${name} again: killing the workers without waiting for the shutdown`);
      for (const slot of slots) slot.child?.kill('SIGKILL');
      process.exit(EXIT_OK);
    }
    log(`${name}: stopping ${count} workers`);
    stopAll(name);
  };
  const reload = (why: string) => {
    try {
      specs = source.load();
    } catch (e) {
      if (!(e instanceof ConfigError) && !(e instanceof UsageError)) throw e;
      log(`${why}: reload refused, the running cameras go on unchanged:`);
      for (const line of e.message.split('\n')) log(`  ${line}`);
      return;
    }
    log(`${why}: reloading ${source.file ?? 'the command line'} in ${count} workers`);
    for (const slot of slots) send(slot, { type: 'reload' });
  };
  const onSigint = onSignal('SIGINT');
  const onSigterm = onSignal('SIGTERM');
  const onSighup = () => (source.file ? reload('SIGHUP') : log('SIGHUP: nothing to reload (the cameras come from the command line, not --config)'));
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGHUP', onSighup);
  const watcher = a.watch && source.file ? watchConfig(source.file, () => reload('--watch'), log) : undefined;

  /** Every live worker's metrics and status; a dead or silent worker is undefined. */
  const gather = () => Promise.all(slots.map((slot) => new Promise<{ metrics: string; status: StatusReport } | undefined>((resolve) => {
    if (!slot.child?.connected) return resolve(undefined);
    const id = nextScrape++;
    const timer = setTimeout(() => {
      scrapes.delete(id);
      resolve(undefined);
    }, SCRAPE_TIMEOUT_MS);
    scrapes.set(id, { slot: slot.index, resolve: (r) => { clearTimeout(timer); resolve(r); } });
    send(slot, { type: 'scrape', id });
  })));
  const status = async () => {
    const parts = await gather();
    const cameras: CameraStatus[] = parts.flatMap((p) => p?.status.cameras ?? []);
    const r = readiness(cameras.map((c) => c.state), a.readyMin);
    // A worker that does not answer holds cameras nobody can vouch for.
    const missing = parts.filter((p) => !p).length;
    return {
      cameras, ready: r.ready && (missing === 0 || a.readyMin !== undefined), playing: r.playing,
      workers: slots.map((s, i) => ({ index: s.index, pid: s.child?.pid ?? null, alive: parts[i] !== undefined, restarts: s.restarts })),
    };
  };
  let server: { port: number; close(): Promise<void> } | undefined;
  const metricsPort = a.metricsPort ?? source.settings.metricsPort;
  const metricsHost = a.metricsHost !== '127.0.0.1' || !source.settings.metricsHost ? a.metricsHost : source.settings.metricsHost;
  try {
    if (metricsPort !== undefined) {
      try {
        server = await serveMetrics({
          contentType: 'text/plain; version=0.0.4; charset=utf-8',
          metrics: async () => {
            const parts = await gather();
            const own = '# HELP wasm_rtsp_worker_up Whether each worker process answers (1) or not (0)\n# TYPE wasm_rtsp_worker_up gauge\n' +
              slots.map((s, i) => `wasm_rtsp_worker_up{worker="${s.index}"} ${parts[i] ? 1 : 0}\n`).join('') +
              '# HELP wasm_rtsp_worker_restarts_total Times each worker process was started again after it died\n# TYPE wasm_rtsp_worker_restarts_total counter\n' +
              slots.map((s) => `wasm_rtsp_worker_restarts_total{worker="${s.index}"} ${s.restarts}\n`).join('');
            return mergeMetricsText([
              ...parts.flatMap((p, i) => (p ? [{ labels: { worker: String(i) }, text: p.metrics }] : [])),
              { labels: {}, text: own },
            ]);
          },
        }, {
          port: metricsPort, host: metricsHost, allowedHosts: a.metricsAllowHosts, status,
          ready: async () => (await status()).ready,
        });
      } catch (e) {
        log(`--metrics-port ${metricsPort}: cannot listen on ${metricsHost} (${(e as Error).message})`);
        return EXIT_USAGE;
      }
      log(`metrics on http://${metricsHost}:${server.port}/metrics (also /status, /healthz, /readyz)`);
    }
    log(`${count} workers for ${specs.length} camera${specs.length === 1 ? '' : 's'}: ` +
      slots.map((s) => camerasOf(s.index).length).join(' + '));
    for (const slot of slots) start(slot);
    await ended;
  } finally {
    clearTimeout(killTimer);
    watcher?.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('SIGHUP', onSighup);
  }
  const summary = mergeSummaries(slots, stopping, started);
  if (a.json) io.out.write(a.jsonProgress ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : JSON.stringify(summary, null, 2) + '\n');
  else if (summary.cameras.length > 0) io.err.write(humanSummary(summary));
  await server?.close();
  return summary.exitCode;
}

/** The workers' summaries as one: cameras, streams, pools and pipelines of all, the exit code decided over all. */
export function mergeSummaries(slots: ReadonlyArray<Pick<WorkerSlot, 'index' | 'summary' | 'restarts' | 'exitCode'>>, stopReason: string | undefined,
  started: number): Summary & { workers: Array<{ index: number; restarts: number; exitCode: number | null }> } {
  const parts = slots.map((s) => s.summary).filter((s): s is Summary => s !== undefined);
  const sinks = parts.flatMap((p) => p.sinks ?? (p.sink ? [p.sink] : []));
  const cameras = parts.flatMap((p) => p.cameras);
  const exitReason = stopReason ?? parts[0]?.exitReason ?? 'error';
  let exitCode: number;
  if (parts.some((p) => p.exitCode === EXIT_GSTREAMER)) exitCode = EXIT_GSTREAMER;
  else if (stopReason !== undefined) exitCode = EXIT_OK;
  else if (parts.some((p) => p.exitCode === EXIT_USAGE)) exitCode = EXIT_USAGE;
  else if (!cameras.some((c) => c.played)) exitCode = cameras.length === 0 ? EXIT_OK : EXIT_RTSP;
  else exitCode = exitReason === 'cameras-ended' && cameras.some((c) => c.state === 'failed') ? EXIT_RTSP : EXIT_OK;
  const error = parts.find((p) => p.error && p.exitCode !== EXIT_OK)?.error;
  return {
    durationS: (Date.now() - started) / 1000,
    exitReason,
    exitCode,
    ...(error && exitCode !== EXIT_OK ? { error } : {}),
    cameras,
    streams: parts.flatMap((p) => p.streams),
    pools: parts.flatMap((p) => p.pools),
    sink: sinks[0],
    ...(sinks.length > 1 ? { sinks } : {}),
    process: {
      rssBytes: process.memoryUsage().rss + parts.reduce((x, p) => x + p.process.rssBytes, 0),
      heapUsedBytes: process.memoryUsage().heapUsed + parts.reduce((x, p) => x + p.process.heapUsedBytes, 0),
    },
    workers: slots.map((s) => ({ index: s.index, restarts: s.restarts, exitCode: s.exitCode ?? null })),
  };
}
