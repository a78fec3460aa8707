#!/usr/bin/env node
// The `wasm-rtsp` command: RTSP cameras into GStreamer through the wasm core.
//
//   wasm-rtsp <rtsp-url>... [--transport tcp|udp] [--pipeline '<launch after appsrc>' | --record out.mp4]
//             [--duration seconds] [--pool-limit MB] [--json]
//   wasm-rtsp --demo          (or no URL): the local GStreamer test server, ten seconds of decoded H.264
//
// Exit codes: 0 done (also after Ctrl-C), 1 unexpected error, 2 bad usage, 3 RTSP failure (connect, auth, stream),
// 4 GStreamer failure (missing, bad pipeline, error on the bus).

import { parseArgs } from 'node:util';
import { createCore } from './core.js';
import { RtspClient } from './rtsp/client.js';
import type { PoolStats } from '../core/pool.js';
import { RtspError } from './rtsp/errors.js';
import type { RtpPacket } from './rtsp/packet.js';
import { createGstSink, gstAvailable, type GstBranch, type GstSink, type GstSinkStats } from './gst/index.js';
import { startDemoServer, type DemoServer } from './demo/server.js';
import { redactUrl } from '../core/rtsp/url.js';
import { runRelay } from './relay/cli.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_RTSP = 3;
export const EXIT_GSTREAMER = 4;
/** Seconds the demo plays. */
const DEMO_SECONDS = 10;
/** wasm memory per core beyond the pools: demuxers, records, scratch. */
const CORE_OVERHEAD_BYTES = 4 << 20;

const USAGE = `usage: wasm-rtsp <rtsp-url>... [options]
       wasm-rtsp --demo

  --transport tcp|udp     RTP over the RTSP connection (default) or over UDP
  --pipeline '<launch>'   GStreamer launch text after each appsrc (default: depayload, decode, fakesink)
  --record out.mp4        write H.264/H.265 into an MP4 file instead
  --duration seconds      stop after this long (default: until Ctrl-C; the demo: ${DEMO_SECONDS})
  --pool-limit MB         packet pool limit per camera (default 4)
  --queue-limit KB        appsrc queue bound per stream (default 2048); beyond it GStreamer drops the oldest
  --json                  print a JSON summary on stdout at the end
  --demo                  play the local GStreamer test server (needs /usr/bin/python3 with gi)
  -h, --help              this text`;

class UsageError extends Error {}

interface Args {
  urls: string[];
  transport: 'tcp' | 'udp';
  pipeline?: string;
  record?: string;
  durationS?: number;
  poolLimitBytes: number;
  queueLimitBytes: number;
  json: boolean;
  demo: boolean;
}

function parse(argv: string[]): Args | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        transport: { type: 'string' },
        pipeline: { type: 'string' },
        record: { type: 'string' },
        duration: { type: 'string' },
        'pool-limit': { type: 'string' },
        'queue-limit': { type: 'string' },
        json: { type: 'boolean' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const transport = (v.transport ?? 'tcp') as 'tcp' | 'udp';
  if (transport !== 'tcp' && transport !== 'udp') throw new UsageError(`--transport must be tcp or udp, not ${v.transport}`);
  if (v.pipeline !== undefined && v.record !== undefined) throw new UsageError('--pipeline and --record exclude each other');
  const number = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, not ${text}`);
    return n;
  };
  for (const url of parsed.positionals) {
    if (!/^rtsps?:\/\//i.test(url)) throw new UsageError(`not an rtsp:// URL: ${redactUrl(url)}`);
  }
  return {
    urls: parsed.positionals,
    transport,
    pipeline: v.pipeline,
    record: v.record,
    durationS: number('duration', v.duration, 0.1, 365 * 86400),
    poolLimitBytes: Math.round((number('pool-limit', v['pool-limit'], 0.0625, 256) ?? 4) * 1024 * 1024),
    queueLimitBytes: Math.round((number('queue-limit', v['queue-limit'], 16, 1024 * 1024) ?? 2048) * 1024),
    json: v.json ?? false,
    demo: (v.demo ?? false) || parsed.positionals.length === 0,
  };
}

/** The final summary (`--json`): per stream, the pool, duration and the sink. */
export interface Summary {
  durationS: number;
  exitReason: string;
  streams: Array<{
    url: string;
    id: number;
    type: string;
    encodingName: string;
    /** Packets that arrived: pushed + every drop. */
    received: number;
    pushed: number;
    bytes: number;
    lost: number;
    reordered: number;
    duplicates: number;
    dropped: Record<string, number>;
    /** Buffers that reached the pipeline's counted sink (decoded frames with the default pipeline). */
    sinkBuffers?: number;
  }>;
  pools: Array<{ url: string } & PoolStats>;
  sink?: GstSinkStats;
  process: { rssBytes: number; heapUsedBytes: number };
}

/** Runs the command; returns the exit code (the caller exits). */
export async function run(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (argv[0] === 'relay') return runRelay(argv.slice(1), io);
  let args: Args | 'help';
  try {
    args = parse(argv);
  } catch (e) {
    io.err.write(`wasm-rtsp: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.out.write(USAGE + '\n');
    return EXIT_OK;
  }
  const gst = gstAvailable();
  if (!gst.ok) {
    io.err.write(`wasm-rtsp: GStreamer is not available: ${gst.message}\n`);
    return EXIT_GSTREAMER;
  }

  let demo: DemoServer | undefined;
  const clients: RtspClient[] = [];
  let sink: GstSink | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let stopRequested: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: string) => () => stopRequested(sig);
  const onSigint = onSignal('SIGINT');
  const onSigterm = onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let exitCode = EXIT_OK;
  let exitReason = 'done';
  let finishing = false;
  const started = Date.now();

  try {
    let urls = args.urls;
    let durationS = args.durationS;
    if (args.demo) {
      if (!args.json) io.err.write('wasm-rtsp: demo — starting the local GStreamer RTSP test server…\n');
      demo = await startDemoServer();
      urls = [demo.url('/h264')];
      durationS ??= DEMO_SECONDS;
      if (!args.json) io.err.write(`wasm-rtsp: demo — playing ${urls[0]} over ${args.transport} for ${durationS} s\n`);
    }
    // One core for every camera: the pools are carved out of its fixed memory, each with its own limit.
    const core = await createCore({ memoryBytes: urls.length * args.poolLimitBytes + CORE_OVERHEAD_BYTES });
    for (const url of urls) {
      clients.push(new RtspClient(url, { transport: args.transport, core, poolLimitBytes: args.poolLimitBytes }));
    }
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (e) {
      io.err.write(`wasm-rtsp: ${describe(e)}\n`);
      return (exitCode = EXIT_RTSP);
    }
    // One pipeline, one branch per stream of every camera: the binding's bus polling holds one libuv thread per
    // pipeline, so a branch per stream keeps it at one thread whatever the camera count.
    const branches: GstBranch[] = [];
    const firstBranch: number[] = [];
    for (const c of clients) {
      firstBranch.push(branches.length);
      for (const s of c.streams) {
        branches.push({ stream: s, tail: args.record ? 'record' : args.pipeline ? { launch: args.pipeline } : 'decode' });
      }
    }
    try {
      sink = createGstSink({ branches, maxQueueBytes: args.queueLimitBytes, record: args.record ? { location: args.record } : undefined });
      sink.on('error', (e) => {
        io.err.write(`wasm-rtsp: GStreamer: ${describe(e)}\n`);
        exitCode = EXIT_GSTREAMER;
        stopRequested('gstreamer-error');
      });
      sink.on('warning', (e) => io.err.write(`wasm-rtsp: GStreamer warning: ${describe(e)}\n`));
      sink.start();
    } catch (e) {
      io.err.write(`wasm-rtsp: GStreamer: ${describe(e)}\n`);
      return (exitCode = EXIT_GSTREAMER);
    }
    const s = sink;
    clients.forEach((c, ci) => {
      const base = firstBranch[ci];
      // The hot path: a view of wasm memory into appsrc (which copies it), then the slot goes back to the pool.
      // A refused push is counted by the sink (queue near its bound, or the sink no longer playing).
      c.on('packet', (p: RtpPacket) => {
        s.push(base + p.stream.id, p);
      });
      c.on('error', (e) => io.err.write(`wasm-rtsp: ${redactUrl(c.url)}: ${describe(e)}\n`));
    });
    // When every camera's session has ended on the server side, there is nothing left to wait for.
    const closedClients = new Set<RtspClient>();
    clients.forEach((c) => c.on('close', () => {
      closedClients.add(c);
      if (closedClients.size === clients.length && !finishing) {
        if (exitCode === EXIT_OK) exitCode = EXIT_RTSP;
        stopRequested('connection-closed');
      }
    }));
    try {
      await Promise.all(clients.map((c) => c.play()));
    } catch (e) {
      io.err.write(`wasm-rtsp: ${describe(e)}\n`);
      return (exitCode = EXIT_RTSP);
    }
    lastRate = { t: Date.now(), packets: 0, bytes: 0 };
    if (io.err.isTTY && !args.json) statusTimer = setInterval(() => io.err.write('\r' + statusLine(clients, started) + '\x1b[K'), 1000);
    const timer = durationS === undefined ? undefined : setTimeout(() => stopRequested('duration'), durationS * 1000);
    exitReason = await stopped;
    if (timer) clearTimeout(timer);
    if (exitReason === 'SIGINT' || exitReason === 'SIGTERM') exitCode = EXIT_OK;
    return exitCode;
  } catch (e) {
    io.err.write(`wasm-rtsp: ${describe(e)}\n`);
    return (exitCode = e instanceof RtspError ? EXIT_RTSP : EXIT_ERROR);
  } finally {
    finishing = true;
    if (statusTimer) {
      clearInterval(statusTimer);
      io.err.write('\n');
    }
    // TEARDOWN first (no new packets), then drain the pipeline with EOS, then stop it.
    await Promise.all(clients.map((c) => c.close()));
    await sink?.close();
    const summary = summarize(clients, sink, started, exitReason);
    if (args.json) io.out.write(JSON.stringify(summary, null, 2) + '\n');
    else if (clients.some((c) => c.streams.length > 0)) io.err.write(humanSummary(summary));
    await demo?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error && "code" in e) return `${e.message} [${String((e as { code: unknown }).code)}]`;
  return e instanceof Error ? e.message : String(e);
}

function statusLine(clients: RtspClient[], started: number): string {
  let packets = 0;
  let bytes = 0;
  let lost = 0;
  let inUse = 0;
  let highWater = 0;
  for (const c of clients) {
    const st = c.stats();
    for (const s of st.streams) {
      packets += s.packets;
      bytes += s.bytes;
      lost += s.lost;
    }
    inUse += st.pool?.inUse ?? 0;
    highWater += st.pool?.highWater ?? 0;
  }
  const rate = rateOf(packets, bytes);
  const mem = process.memoryUsage();
  const secs = (Date.now() - started) / 1000;
  return `${secs.toFixed(0)} s  ${rate.pps.toFixed(0)} pkt/s  ${rate.mbps.toFixed(2)} Mbit/s  lost ${lost}  pool ${inUse}/${highWater} slots  heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB  rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB`;
}

let lastRate = { t: 0, packets: 0, bytes: 0 };
function rateOf(packets: number, bytes: number): { pps: number; mbps: number } {
  const t = Date.now();
  const dt = (t - lastRate.t) / 1000;
  const r = lastRate.t === 0 || dt <= 0 ? { pps: 0, mbps: 0 } : { pps: (packets - lastRate.packets) / dt, mbps: ((bytes - lastRate.bytes) * 8) / dt / 1e6 };
  lastRate = { t, packets, bytes };
  return r;
}

function summarize(clients: RtspClient[], sink: GstSink | undefined, started: number, exitReason: string): Summary {
  const sinkStats = sink?.stats();
  const streams: Summary['streams'] = [];
  const pools: Summary['pools'] = [];
  let branch = 0;
  clients.forEach((c) => {
    const st = c.stats();
    if (st.pool) pools.push({ url: c.url, ...st.pool });
    for (const s of st.streams) {
      const b = sinkStats?.branches[branch++];
      const dropped: Record<string, number> = {
        ...s.dropped,
        queueFull: s.dropped.queueFull + (b?.queueDroppedPackets ?? 0),
        sinkClosed: b?.rejectedPackets ?? 0,
      };
      const pushed = b?.pushedPackets ?? 0;
      streams.push({
        url: c.url,
        id: s.id,
        type: s.type,
        encodingName: s.encodingName,
        received: pushed + Object.values(dropped).reduce((a, n) => a + n, 0),
        pushed,
        bytes: s.bytes,
        lost: s.lost,
        reordered: s.reordered,
        duplicates: s.duplicates,
        dropped,
        sinkBuffers: b?.sinkBuffers,
      });
    }
  });
  const mem = process.memoryUsage();
  return {
    durationS: (Date.now() - started) / 1000,
    exitReason,
    streams,
    pools,
    sink: sinkStats,
    process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
  };
}

function humanSummary(s: Summary): string {
  const lines = [`wasm-rtsp: ${s.exitReason} after ${s.durationS.toFixed(1)} s`];
  for (const st of s.streams) {
    const drops = Object.entries(st.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    lines.push(`  ${redactUrl(st.url)} #${st.id} ${st.type} ${st.encodingName}: ${st.received} packets (${(st.bytes / 1e6).toFixed(1)} MB), pushed ${st.pushed}, lost ${st.lost}, reordered ${st.reordered}, dropped: ${drops}` +
      (st.sinkBuffers !== undefined ? `, ${st.sinkBuffers} buffers reached the sink` : ''));
  }
  for (const p of s.pools) lines.push(`  pool: high-water ${p.highWater} slots (${(p.bytesHighWater / 1024).toFixed(0)} KiB) of ${(p.limitBytes / 2 ** 20).toFixed(1)} MiB, exhausted ${p.exhaustions}`);
  lines.push(`  process: rss ${(s.process.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(s.process.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`);
  return lines.join('\n') + '\n';
}

// Run when executed directly (the package's bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:cli\.(?:js|ts)|wasm-rtsp)$/.test(invoked)) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(EXIT_ERROR);
    },
  );
}
