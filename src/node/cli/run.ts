// The `wasm-rtsp` command: RTSP cameras into GStreamer through the wasm core.
//
//   wasm-rtsp <rtsp-url>... [--transport tcp|udp] [--pipeline '<launch after appsrc>' | --record out.mp4]
//             [--duration s] [--timeout s] [--pool-limit MB] [--retries N|inf] [--json] [--json-progress] …
//   wasm-rtsp --demo          the local GStreamer test server, ten seconds of decoded H.264
// (the options: USAGE in args.ts; the behaviour: README, "The command").
//
// Frame mode by default: H.264/H.265/raw/AAC are depayloaded in wasm and pushed one access unit per buffer
// (`video/x-h264,stream-format=avc,alignment=au` with codec_data, …), so GStreamer runs no RTP depayloader and no
// start-code scan; a stream whose SDP lacks its codec configuration, or any stream with --rtp, goes as RTP packets.
//
// Each camera is an RtspCamera: it connects, fails, retries and reconnects on its own, into the same pipeline
// branch, and its sessions are torn down on every exit path. The pipeline needs every stream's caps (from the SDP)
// before it starts, so it is built once every camera has played or failed once, or when --timeout runs out, with the
// cameras that answered (their first packets wait in their pools); a camera that answers later gets a pipeline of
// its own. Ctrl-C/SIGTERM abort everything at once through one AbortSignal.
//
// Exit codes: 0 stopped by the user (Ctrl-C, SIGTERM) or --duration with at least one camera played, 1 unexpected
// error, 2 bad usage (options, URLs, memory that cannot fit), 3 no camera played (or all gave up, one failing),
// 4 GStreamer failure (missing, a pipeline refused for every camera, a bus error naming no camera or ending the last
// one; a camera whose branch GStreamer refuses otherwise fails alone, fleet.ts).
//
// With --config the cameras come from a file; SIGHUP (or --watch) re-reads it and changes only what changed
// (fleet.ts). With --workers the cameras are spread over worker processes (workers.ts).
//
// This file is the run: signals, reloads, the metrics server, exit codes. fleet.ts holds the set of cameras and their
// pipelines, camera.ts a camera of the command, status.ts /status and the terminal's status block, summary.ts what it
// reports, args.ts the command line, workers.ts the worker processes; index.ts is the executable entry.

import { readFileSync, watch as watchFile, type FSWatcher } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { gstAvailable } from '../gst/index.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { startDemoServer, type DemoServer } from '../demo/server.js';
import { ConfigError } from '../fleet/errors.js';
import type { CameraSpec } from '../fleet/config.js';
import { DEMO_SECONDS, parseCommandLine, UsageError, USAGE, type Args } from './args.js';
import { runRelay } from '../relay/cli.js';
import type { Camera } from './camera.js';
import { CameraSource, Fleet } from './fleet.js';
import { RateSampler, StatusDisplay, statusLines, statusReport, readiness, type StatusReport } from './status.js';
import {
  describe, errorOf, EXIT_ERROR, EXIT_GSTREAMER, EXIT_OK, EXIT_RTSP, EXIT_USAGE, humanSummary, progressLines, summarize,
  type Summary, type SummaryError,
} from './summary.js';
import { runSupervisor, runWorker, workerCount } from './workers.js';
import { RecordError } from '../record/index.js';
import { START_UP_RECORD_CODES } from './record.js';

/** How often --json-progress prints, the TTY status block refreshes and the rates are sampled. */
const PROGRESS_INTERVAL_MS = 1000;
/** How long the shutdown waits for the pipeline to drain (EOS) before stopping it. */
const EOS_WAIT_MS = 3000;
/** --watch: changes to the file within this long are one reload (editors write a file in several steps). */
const WATCH_DEBOUNCE_MS = 300;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Where the command's output goes. */
export interface CommandIo {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean; rows?: number; columns?: number };
}

/** Runs the command; returns the exit code (the caller exits). */
export async function run(argv: string[], io: CommandIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (argv[0] === 'relay') return runRelay(argv.slice(1), io as Parameters<typeof runRelay>[1]);
  let args: Args | 'help' | 'version';
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    io.err.write(`wasm-rtsp: ${(e as Error).message}\n${USAGE}\n`);
    if (argv.includes('--json')) io.out.write(JSON.stringify({ exitReason: 'usage', exitCode: EXIT_USAGE, error: errorOf(e) }, null, 2) + '\n');
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.out.write(USAGE + '\n');
    return EXIT_OK;
  }
  if (args === 'version') {
    io.out.write(`wasm-rtsp ${version()}\n`);
    return EXIT_OK;
  }
  const a = args;
  if (a.workerOf) return runWorker(a);
  const log = (line: string) => io.err.write(`wasm-rtsp: ${line}\n`);
  const gst = gstAvailable();
  if (!gst.ok) {
    log(`GStreamer is not available: ${gst.message}`);
    if (a.json) io.out.write(JSON.stringify({ exitReason: 'gstreamer-error', exitCode: EXIT_GSTREAMER, error: { code: 'GST_UNAVAILABLE', message: gst.message } }, null, 2) + '\n');
    return EXIT_GSTREAMER;
  }
  if (a.demo) return runFleet(a, io, undefined);
  const source = new CameraSource(a);
  let specs: CameraSpec[];
  try {
    specs = source.load();
  } catch (e) {
    return usageExit(e, a, io);
  }
  if (source.shard) log(`shard ${source.shard.index}/${source.shard.count} (from ${source.shard.from}): ${specs.length} camera(s)`);
  const workers = workerCount(a.workers ?? source.settings.workers, specs.length);
  if (workers > 1) return runSupervisor(a, argv, workers, source, specs, io);
  return runFleet(a, io, { source, specs });
}

/** A bad command line or config file: the messages (one per problem), --json, exit 2. */
export function usageExit(e: unknown, a: Pick<Args, 'json'>, io: CommandIo): number {
  if (!(e instanceof ConfigError) && !(e instanceof UsageError)) throw e;
  for (const line of e.message.split('\n')) io.err.write(`wasm-rtsp: ${line}\n`);
  if (a.json) {
    const issues = e instanceof ConfigError ? { issues: e.issues } : {};
    io.out.write(JSON.stringify({ exitReason: 'usage', exitCode: EXIT_USAGE, error: errorOf(e), ...issues }, null, 2) + '\n');
  }
  return EXIT_USAGE;
}

/** What a controlling process (the --workers supervisor) does with a run: a worker's side of it. */
export interface RunControl {
  /** The worker's index and the worker count. */
  worker: { index: number; count: number };
  log(line: string): void;
  out(text: string): void;
  /** Called once set up: how the controller stops, reloads and reads this run. */
  attach(handle: RunHandle): void;
  /** The final summary, before the run returns its exit code. */
  summary(s: Summary): void;
}

/** What a controller may do with a running fleet. */
export interface RunHandle {
  stop(reason: string): void;
  reload(): void;
  metrics(): Promise<string>;
  status(): StatusReport;
}

/**
 * Runs cameras in this process: from `from` (its source and first load), or the demo server's when undefined. With
 * `control` this is a worker: its output, stop, reload and metrics go through the supervisor.
 */
export async function runFleet(a: Args, io: CommandIo, from: { source: CameraSource; specs: CameraSpec[] } | undefined,
  control?: RunControl): Promise<number> {
  const worker = control?.worker.index;
  const display = !control && io.err.isTTY && !a.json && !a.jsonProgress ? new StatusDisplay(io.err) : undefined;
  const log = control ? control.log : (line: string) => (display ? display.log(`wasm-rtsp: ${line}`) : io.err.write(`wasm-rtsp: ${line}\n`));
  const out = control ? control.out : (text: string) => io.out.write(text);
  let demo: DemoServer | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let watcher: FSWatcher | undefined;
  let metrics: { port: number; close(): Promise<void> } | undefined;
  // Ctrl-C / SIGTERM: everything waiting (connects, requests, the first-answer wait) gives up at once.
  const stopController = new AbortController();
  let stopRequested: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stopRequested = (reason) => {
    if (!stopController.signal.aborted) stopController.abort(reason);
    resolve(reason);
  }));
  // Every camera listens on it (cameras × a few listeners is no leak).
  setMaxListeners(0, stopController.signal);
  let exitCode = EXIT_OK;
  let exitReason = 'error';
  let error: SummaryError | undefined;
  const started = Date.now();
  const userStopped = (r: string) => r === 'SIGINT' || r === 'SIGTERM' || r === 'stop';
  let setUp = false;
  // A camera failed because GStreamer refused its branch: if every camera ends, the run ends as a GStreamer failure.
  let gstFailed = false;

  const fleet = new Fleet(stopController.signal, {
    log,
    stateChanged: (cam, state) => {
      if (state === 'failed' && !error) error = errorOf(cam.lastError, cam);
      checkEnded();
    },
    gstreamerError: (e, cam, fatal) => {
      log(`${cam ? cam.name + ': ' : ''}GStreamer: ${describe(e)}`);
      // Not fatal: the fleet fails that camera alone; the run ends (exit 4) only once no camera is left (checkEnded).
      if (!fatal) {
        gstFailed = true;
        return;
      }
      if (exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
      exitCode = EXIT_GSTREAMER;
      stopRequested('gstreamer-error');
    },
    // The camera itself is failed by the fleet (its state line names the error); a start-up mistake ends the run.
    recordingFailed: (e, cam, usage) => {
      if (!usage || exitCode === EXIT_USAGE) return;
      exitCode = EXIT_USAGE;
      error = errorOf(e, cam);
      stopRequested('usage');
    },
  });
  // Every running camera on its own: the run goes on while one may still play; it ends when all have given up. A
  // config file's fleet left without cameras waits for a reload instead.
  const checkEnded = () => {
    if (!setUp) return;
    const cams = fleet.cameras;
    if (cams.length === 0 || !cams.every((c) => c.state === 'failed' || c.state === 'stopped')) return;
    if (gstFailed && exitCode === EXIT_OK) {
      exitCode = EXIT_GSTREAMER;
      stopRequested('gstreamer-error');
    } else {
      stopRequested('cameras-ended');
    }
  };

  // Reloads run one at a time; a request during one runs once it is over.
  let reloading: Promise<void> | undefined;
  let reloadAgain = false;
  const reload = (why: string): void => {
    if (!from?.source.file || stopController.signal.aborted) {
      if (!from?.source.file) log(`${why}: nothing to reload (the cameras come from the command line, not --config)`);
      return;
    }
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = (async () => {
      do {
        reloadAgain = false;
        let next: CameraSpec[];
        try {
          next = from.source.load();
        } catch (e) {
          if (!(e instanceof ConfigError) && !(e instanceof UsageError)) throw e;
          log(`${why}: reload refused, the running cameras go on unchanged:`);
          for (const line of e.message.split('\n')) log(`  ${line}`);
          continue;
        }
        const t0 = Date.now();
        try {
          const d = await fleet.reload(next);
          log(`${why}: reloaded ${from.source.file}: ${d.added.length} added, ${d.removed.length} removed, ` +
            `${d.changed.length} changed${d.changed.length ? ` (${d.changed.map((c) => `${c.name}: ${c.keys.join(', ')}`).join('; ')})` : ''}, ` +
            `${d.unchanged.length} unchanged (${Date.now() - t0} ms)`);
        } catch (e) {
          log(`${why}: reload failed: ${describe(e)}`);
        }
      } while (reloadAgain && !stopController.signal.aborted);
    })().finally(() => (reloading = undefined));
  };

  // Signals: a worker leaves them to its supervisor (a terminal's Ctrl-C reaches the whole process group).
  const onSignal = (name: string) => () => {
    if (stopController.signal.aborted) {
      log(`${name} again: exiting without waiting for the shutdown`);
      process.exit(EXIT_OK);
    }
    stopRequested(name);
  };
  const onSigint = onSignal('SIGINT');
  const onSigterm = onSignal('SIGTERM');
  const onSighup = () => reload('SIGHUP');
  if (!control) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    process.on('SIGHUP', onSighup);
  }
  const sampler = new RateSampler();
  // Made on first use (a /metrics server, or the supervisor asking a worker): the process metrics it registers keep a
  // timer running, which a command that nobody scrapes should not pay for.
  let registryMade: ReturnType<typeof createMetrics> | undefined;
  const registry = () => (registryMade ??= createMetrics({
    cameras: () => fleet.cameras.map((c) => {
      const st = c.stats();
      return {
        camera: c.name, stats: st, reconnects: st.reconnects, failures: c.failuresByReason,
        state: c.state === 'reconnecting' ? 'backoff' : c.state,
      };
    }),
    sinks: () => fleet.pipelines.map((p) => p.sink.stats()),
  }));
  const status = () => statusReport(fleet.cameras, sampler, a.readyMin, worker);
  control?.attach({
    stop: (reason) => stopRequested(reason),
    reload: () => reload('reload'),
    metrics: () => registry().metrics(),
    status,
  });

  try {
    let specs = from?.specs ?? [];
    let durationS = a.durationS;
    if (a.demo) {
      if (!a.json) log('demo — starting the local GStreamer RTSP test server…');
      demo = await startDemoServer();
      const source = new CameraSource(a, [demo.url('/h264')]);
      specs = source.load();
      durationS ??= DEMO_SECONDS;
      if (!a.json) log(`demo — playing ${specs[0]!.name} over ${a.transport} for ${durationS} s`);
    }
    const metricsPort = a.metricsPort ?? from?.source.settings.metricsPort;
    const metricsHost = a.metricsHost !== '127.0.0.1' || !from?.source.settings.metricsHost ? a.metricsHost : from.source.settings.metricsHost;
    if (!control && metricsPort !== undefined) {
      try {
        metrics = await serveMetrics(registry(), {
          port: metricsPort, host: metricsHost, allowedHosts: a.metricsAllowHosts, status,
          ready: () => readiness(fleet.cameras.map((c) => c.state), a.readyMin).ready,
        });
      } catch (e) {
        throw new UsageError(`--metrics-port ${metricsPort}: cannot listen on ${metricsHost} (${(e as Error).message})`, { option: '--metrics-port' });
      }
      log(`metrics on http://${metricsHost}:${metrics.port}/metrics (also /status, /healthz, /readyz)`);
    }
    if (a.watch && !control && from?.source.file) watcher = watchConfig(from.source.file, () => reload('--watch'), log);
    ticker = setInterval(() => {
      sampler.sample(fleet.cameras);
      display?.draw(statusLines(fleet.cameras, sampler, started));
      if (a.jsonProgress) out(progressLines(fleet.cameras, fleet.pipelines, started, worker));
    }, PROGRESS_INTERVAL_MS);
    if (specs.length === 0) log(from?.source.file ? `${from.source.file}: no camera to run here; waiting for a reload` : 'no camera to run here');
    await fleet.add(specs, true);
    setUp = true;
    if (stopController.signal.aborted) {
      exitReason = await stopped;
      return (exitCode = exitCode === EXIT_GSTREAMER || exitCode === EXIT_USAGE ? exitCode : EXIT_OK);
    }
    checkEnded();
    // A worker without cameras and without a file to reload has nothing to do.
    if (specs.length === 0 && !from?.source.file) stopRequested('cameras-ended');
    // --duration counts from here: the pipeline is up (or the wait for first answers is over).
    const timer = durationS === undefined ? undefined : setTimeout(() => stopRequested('duration'), durationS * 1000);
    exitReason = await stopped;
    if (timer) clearTimeout(timer);
    if (exitCode === EXIT_GSTREAMER || exitCode === EXIT_USAGE) return exitCode;
    if (userStopped(exitReason)) return (exitCode = EXIT_OK);
    const cameras = fleet.all;
    if (cameras.length === 0) return (exitCode = EXIT_OK);
    if (!cameras.some((c) => c.played)) {
      const failed = cameras.find((c) => c.lastError !== undefined);
      if (!error && failed) error = errorOf(failed.lastError, failed);
      return (exitCode = EXIT_RTSP);
    }
    // Ended by --duration: fine. All cameras ended by themselves: a failure if any of them failed.
    return (exitCode = exitReason === 'cameras-ended' && fleet.cameras.some((c) => c.state === 'failed') ? EXIT_RTSP : EXIT_OK);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError || (e instanceof RecordError && START_UP_RECORD_CODES.has(e.code))) {
      for (const line of (e instanceof RecordError ? describe(e) : e.message).split('\n')) log(line);
      exitReason = 'usage';
      error = errorOf(e);
      return (exitCode = EXIT_USAGE);
    }
    log(describe(e));
    error = errorOf(e);
    return (exitCode = EXIT_ERROR);
  } finally {
    if (!stopController.signal.aborted) stopController.abort(exitReason);
    if (ticker) clearInterval(ticker);
    watcher?.close();
    display?.clear();
    // Say what the stop ends: a Ctrl-C before any camera played is not silent.
    if (userStopped(exitReason)) log(`${exitReason === 'stop' ? 'stopped' : exitReason}: stopping ${whatRuns(fleet.cameras)}`);
    await reloading?.catch(() => {});
    // TEARDOWN first (no new packets), then drain the pipelines, then stop them.
    await Promise.all(fleet.cameras.map((c) => c.stop()));
    await fleet.stopRecordings();
    await Promise.all(fleet.pipelines.map((p) => p.sink.close({ timeoutMs: userStopped(exitReason) ? Math.min(EOS_WAIT_MS, 800) : EOS_WAIT_MS })));
    const summary = summarize(fleet.all, fleet.pipelines, started, exitReason, exitCode, error, worker);
    if (control) control.summary(summary);
    else if (a.json) out(a.jsonProgress ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : JSON.stringify(summary, null, 2) + '\n');
    else if (fleet.all.some((c) => c.streams.length > 0)) io.err.write(humanSummary(summary));
    await metrics?.close();
    await demo?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('SIGHUP', onSighup);
  }
}

/** "3 cameras (1 playing, 2 connecting)", or what was not started yet. */
export function whatRuns(cameras: readonly Camera[]): string {
  if (cameras.length === 0) return 'before any camera started';
  const counts = new Map<string, number>();
  for (const c of cameras) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const states = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const names = cameras.length <= 5 ? `: ${cameras.map((c) => `${c.name} (${c.state})`).join(', ')}` : '';
  return `${cameras.length} camera${cameras.length === 1 ? '' : 's'} (${states})${names}`;
}

/**
 * Watches the config file for changes: its folder, so an editor's save by rename or a Kubernetes ConfigMap's
 * symlink swap is seen too; changes within WATCH_DEBOUNCE_MS are one reload.
 */
export function watchConfig(file: string, onChange: () => void, log: (line: string) => void): FSWatcher | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const name = basename(file);
  try {
    const w = watchFile(dirname(resolvePath(file)), (_event, changed) => {
      if (changed !== null && changed !== name && !String(changed).startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, WATCH_DEBOUNCE_MS);
    });
    w.on('error', (e) => log(`--watch ${file}: ${e.message}; SIGHUP still reloads`));
    w.unref();
    return w;
  } catch (e) {
    log(`--watch ${file}: cannot watch (${(e as Error).message}); SIGHUP still reloads`);
    return undefined;
  }
}
