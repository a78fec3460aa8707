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
// 4 GStreamer failure (missing, bad pipeline, error on the bus).
//
// This file is the run: cores, cameras, pipelines, signals, exit codes. camera.ts holds a camera of the command,
// summary.ts what it reports, args.ts the command line; index.ts is the executable entry.

import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { createCore } from '../core.js';
import type { Core } from '../../core/core.js';
import { createGstSink, gstAvailable, type GstBranch } from '../gst/index.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { startDemoServer, type DemoServer } from '../demo/server.js';
import { parseRtspUrl } from '../../core/rtsp/url.js';
import { DEMO_SECONDS, parseCommandLine, planCores, UsageError, USAGE, type Args } from './args.js';
import { runRelay } from '../relay/cli.js';
import { Camera, cameraOfElement, connectToPipeline, type CameraState, type Pipeline } from './camera.js';
import {
  describe, errorOf, EXIT_ERROR, EXIT_GSTREAMER, EXIT_OK, EXIT_RTSP, EXIT_USAGE, humanSummary, progressLines, resetRate,
  statusLine, summarize, type SummaryError,
} from './summary.js';

/** How often --json-progress prints and the TTY status line refreshes. */
const PROGRESS_INTERVAL_MS = 1000;
/** How long the shutdown waits for the pipeline to drain (EOS) before stopping it. */
const EOS_WAIT_MS = 3000;

/** Resolves when `p` does or `signal` aborts, whichever is first. */
function raceAbort(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command; returns the exit code (the caller exits). */
export async function run(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (argv[0] === 'relay') return runRelay(argv.slice(1), io);
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
  const log = (line: string) => io.err.write(`wasm-rtsp: ${line}\n`);
  const gst = gstAvailable();
  if (!gst.ok) {
    log(`GStreamer is not available: ${gst.message}`);
    if (a.json) io.out.write(JSON.stringify({ exitReason: 'gstreamer-error', exitCode: EXIT_GSTREAMER, error: { code: 'GST_UNAVAILABLE', message: gst.message } }, null, 2) + '\n');
    return EXIT_GSTREAMER;
  }

  let demo: DemoServer | undefined;
  const cameras: Camera[] = [];
  const pipelines: Pipeline[] = [];
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let progressTimer: ReturnType<typeof setInterval> | undefined;
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
  // A second signal while shutting down (TEARDOWN replies, the pipeline drain) leaves at once.
  const onSignal = (name: string) => () => {
    if (stopController.signal.aborted) {
      log(`${name} again: exiting without waiting for the shutdown`);
      process.exit(EXIT_OK);
    }
    stopRequested(name);
  };
  const onSigint = onSignal('SIGINT');
  const onSigterm = onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let exitCode = EXIT_OK;
  let exitReason = 'error';
  let error: SummaryError | undefined;
  const started = Date.now();
  const userStopped = (r: string) => r === 'SIGINT' || r === 'SIGTERM';

  try {
    let urls = a.urls;
    let durationS = a.durationS;
    if (a.demo) {
      if (!a.json) log('demo — starting the local GStreamer RTSP test server…');
      demo = await startDemoServer();
      urls = [demo.url('/h264')];
      durationS ??= DEMO_SECONDS;
      if (!a.json) log(`demo — playing ${urls[0]} over ${a.transport} for ${durationS} s`);
    }
    // wasm memory sized for every camera's pool; cameras grouped into cores when one 4 GiB memory is not enough.
    const plan = planCores(urls.length, a.poolLimitBytes);
    const cores: Core[] = [];
    for (const c of plan.cores) {
      try {
        cores.push(await createCore({ memoryBytes: c.memoryBytes }));
      } catch (e) {
        throw new UsageError(`cannot reserve ${(c.memoryBytes / 2 ** 20).toFixed(0)} MiB of wasm memory for ${c.cameras} camera(s) ` +
          `(${(e as Error).message}): lower --pool-limit or run fewer cameras per process`, { option: '--pool-limit' });
      }
    }
    let next = 0;
    plan.cores.forEach((c, ci) => {
      for (let i = 0; i < c.cameras; i++, next++) {
        const plain = String(parseRtspUrl(urls[next]!));
        const duplicate = urls.filter((u) => String(parseRtspUrl(u)) === plain).length > 1;
        cameras.push(new Camera(next, urls[next]!, cores[ci]!, a, stopController.signal, duplicate));
      }
    });
    for (const cam of cameras) {
      cam.on('state', (state: CameraState, reason: string) => {
        // Printed with or without a terminal: a camera that stalls or drops is visible in any log.
        log(`${cam.label}: ${state === 'playing' ? reason : `${state}: ${reason}`}`);
        if (state === 'failed' && !error) error = errorOf(cam.lastError, cam);
      });
      cam.on('note', (text: string) => log(`${cam.label}: ${text}`));
    }
    const startPipeline = (p: Pipeline) => {
      p.sink.on('error', (e) => {
        const cam = cameraOfElement(p, (e as { element?: string }).element);
        log(`${cam ? cam.label + ': ' : ''}GStreamer: ${describe(e)}`);
        if (exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
        exitCode = EXIT_GSTREAMER;
        stopRequested('gstreamer-error');
      });
      p.sink.on('warning', (e) => log(`GStreamer warning: ${describe(e)}`));
      p.sink.start();
      pipelines.push(p);
      // Only now: attach() hands over the media kept since the first PLAY, which a sink not yet playing would refuse.
      for (const m of p.cameras) connectToPipeline(m.camera, p.sink, m.firstBranch);
    };
    if (a.metricsPort !== undefined) {
      const registry = createMetrics({
        cameras: () => cameras.map((c) => ({ camera: c.label, stats: c.stats(), reconnects: c.stats().reconnects })),
        sinks: () => pipelines.map((p) => p.sink.stats()),
      });
      try {
        metrics = await serveMetrics(registry, { port: a.metricsPort, host: a.metricsHost });
      } catch (e) {
        throw new UsageError(`--metrics-port ${a.metricsPort}: cannot listen on ${a.metricsHost} (${(e as Error).message})`, { option: '--metrics-port' });
      }
      if (!a.json) log(`metrics on http://${a.metricsHost}:${metrics.port}/metrics`);
    }
    for (const cam of cameras) cam.start();
    resetRate();
    if (io.err.isTTY && !a.json && !a.jsonProgress) {
      statusTimer = setInterval(() => io.err.write('\r' + statusLine(cameras, started) + '\x1b[K'), PROGRESS_INTERVAL_MS);
    }
    if (a.jsonProgress) progressTimer = setInterval(() => io.out.write(progressLines(cameras, pipelines, started)), PROGRESS_INTERVAL_MS);

    // The pipeline needs every stream's caps: wait (at most --timeout) until every camera has answered or failed once,
    // then build it with the cameras that answered. The others keep retrying; each gets a pipeline of its own when it
    // answers.
    const firstWait = AbortSignal.any([stopController.signal, AbortSignal.timeout(a.timeoutMs)]);
    await raceAbort(Promise.all(cameras.map((c) => c.firstAnswer)).then(() => {}), firstWait);
    if (stopController.signal.aborted) {
      exitReason = await stopped;
      return (exitCode = EXIT_OK);
    }
    const ready = cameras.filter((c) => c.streams.length > 0);
    for (const cam of cameras) {
      if (ready.includes(cam) || cam.state === 'failed') continue;
      log(`${cam.label}: not playing (${cam.lastError !== undefined ? describe(cam.lastError) : `no answer within --timeout ${a.timeoutMs / 1000} s`}); ` +
        'it keeps trying and gets a pipeline of its own when it answers');
      cam.once('firstPlay', () => {
        if (stopController.signal.aborted) return;
        try {
          startPipeline(buildPipeline([cam], a, pipelines.length));
        } catch (e) {
          log(`${cam.label}: GStreamer: ${describe(e)}`);
          if (exitCode !== EXIT_GSTREAMER) error = errorOf(e, cam);
          exitCode = EXIT_GSTREAMER;
          stopRequested('gstreamer-error');
        }
      });
    }
    if (ready.length > 0) {
      try {
        startPipeline(buildPipeline(ready, a, pipelines.length));
      } catch (e) {
        log(`GStreamer: ${describe(e)}`);
        error = errorOf(e);
        exitReason = 'gstreamer-error';
        return (exitCode = EXIT_GSTREAMER);
      }
    }
    // Every camera on its own: the run goes on while one may still play; it ends when all have given up.
    const checkEnded = () => {
      if (cameras.every((c) => c.state === 'failed' || c.state === 'stopped')) stopRequested('cameras-ended');
    };
    for (const cam of cameras) cam.on('state', checkEnded);
    checkEnded();
    // --duration counts from here: the pipeline is up (or the wait for first answers is over).
    const timer = durationS === undefined ? undefined : setTimeout(() => stopRequested('duration'), durationS * 1000);
    exitReason = await stopped;
    if (timer) clearTimeout(timer);
    if (exitCode === EXIT_GSTREAMER) return exitCode;
    if (userStopped(exitReason)) return (exitCode = EXIT_OK);
    const played = cameras.some((c) => c.played);
    if (!played) {
      const failed = cameras.find((c) => c.lastError !== undefined);
      if (!error && failed) error = errorOf(failed.lastError, failed);
      return (exitCode = EXIT_RTSP);
    }
    // Ended by --duration: fine. All cameras ended by themselves: a failure if any of them failed.
    return (exitCode = exitReason === 'cameras-ended' && cameras.some((c) => c.state === 'failed') ? EXIT_RTSP : EXIT_OK);
  } catch (e) {
    if (e instanceof UsageError) {
      log(e.message);
      exitReason = 'usage';
      error = errorOf(e);
      return (exitCode = EXIT_USAGE);
    }
    log(describe(e));
    error = errorOf(e);
    return (exitCode = EXIT_ERROR);
  } finally {
    if (statusTimer) {
      clearInterval(statusTimer);
      io.err.write('\n');
    }
    if (progressTimer) clearInterval(progressTimer);
    // TEARDOWN first (no new packets), then drain the pipelines, then stop them.
    await Promise.all(cameras.map((c) => c.stop()));
    await Promise.all(pipelines.map((p) => p.sink.close({ timeoutMs: userStopped(exitReason) ? Math.min(EOS_WAIT_MS, 800) : EOS_WAIT_MS })));
    const summary = summarize(cameras, pipelines, started, exitReason, exitCode, error);
    if (a.json) io.out.write(a.jsonProgress ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : JSON.stringify(summary, null, 2) + '\n');
    else if (cameras.some((c) => c.streams.length > 0)) io.err.write(humanSummary(summary));
    await metrics?.close();
    await demo?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

/** One pipeline with a branch per stream of each camera (the binding's bus polling holds one thread per pipeline); the
 * cameras are connected once it plays (startPipeline). */
function buildPipeline(cams: Camera[], a: Args, index: number): Pipeline {
  const branches: GstBranch[] = [];
  const members: Pipeline['cameras'] = [];
  for (const camera of cams) {
    members.push({ camera, firstBranch: branches.length });
    for (const stream of camera.streams) {
      branches.push({
        stream, input: camera.usesFrames(stream) ? 'frames' : 'packets',
        tail: a.record ? 'record' : a.pipeline ? { launch: a.pipeline } : 'decode',
      });
    }
  }
  // A pipeline built later (for a camera that answered late) records into a file of its own.
  const location = a.record && index > 0 ? a.record.replace(/(\.[^./\\]*)?$/, (ext) => `-${index}${ext}`) : a.record;
  const sink = createGstSink({ branches, maxQueueBytes: a.queueLimitBytes, record: location ? { location } : undefined });
  return { sink, cameras: members };
}
