// `npm run bench:streams`: many H.264 streams in ONE Node process on one shared wasm core, in frame mode — 8, 64 and
// 256 streams of one shared 320x240 encode (the test server's `shared` media: it encodes once and sends to every
// session). Each count runs twice: every stream into one GstSink with a frame branch per stream (appsrc ! fakesink:
// what the CLI does with several URLs) and every stream into a frame handler that touches the data (no GStreamer).
// Per run: CPU per stream (% of a core, µs per frame), RSS per stream (growth over the process before the first
// client, and total ÷ streams), pool high-water, loss and drops, frames, threads (/proc/self/status), setup time.
// Before the runs it checks that the server can serve the largest count: its open-file limit, and its CPU while it
// serves (a server at one full core cannot keep up and shows as loss).
//
// BENCH_QUICK=1: short windows. BENCH_STREAMS="8,64" picks the counts, BENCH_STREAMS_SINKS="gst" the sinks. Writes bench/results/streams_perf.json.

import { readdirSync, readFileSync } from 'node:fs';
import { startRtspServer, type RtspTestServer } from '../test/server/harness.js';
import { RtspClient } from '../src/node/rtsp/client.js';
import type { StreamsChildArgs } from './streams_child.js';
import { bundleChildren, procCpuUs, startChild } from './lib/proc.js';
import { fmt, machine, QUICK, table, verdict, writeResults } from './lib/report.js';

const COUNTS = (process.env.BENCH_STREAMS ?? '8,64,256').split(',').map(Number).filter((n) => n > 0);
const SINKS = (process.env.BENCH_STREAMS_SINKS ?? 'gst,handler').split(',') as Array<StreamsChildArgs['sink']>;
const WARMUP_MS = QUICK ? 2_000 : 4_000;
const MEASURE_MS = QUICK ? 4_000 : 15_000;
/** The encode every stream gets: small, so the server can serve hundreds of sessions. */
const WIDTH = 320;
const HEIGHT = 240;
const FPS = 30;
const BITRATE_KBPS = 500;
/** Per client: a small packet pool (a 320x240 stream needs one or two 64 KiB slots) and frame buffers. */
const POOL_LIMIT_BYTES = 256 * 1024;
const MAX_FRAME_BYTES = 256 * 1024;
/** Each branch's appsrc bound: the CLI's default (a bound, not an allocation). */
const MAX_QUEUE_BYTES = 2 * 1024 * 1024;
/** After the warm-up, wait at most this long for a steady frame rate before the window starts anyway. */
const SETTLE_MAX_MS = QUICK ? 10_000 : 30_000;
/** Core memory per stream: pool + the depayloader's two frame buffers + demuxer and records; plus a fixed part. */
const CORE_BYTES_PER_STREAM = POOL_LIMIT_BYTES + 2 * MAX_FRAME_BYTES + 128 * 1024;
const CORE_FIXED_BYTES = 16 * 1024 * 1024;
const CONNECT_CONCURRENCY = 16;
/** Targets. */
const TARGET_STREAMS = 256;
const TARGET_RSS_PER_STREAM_MB = 2;

function openFiles(pid: number): { open?: number; limit?: number } {
  try {
    const open = readdirSync(`/proc/${pid}/fd`).length;
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
    return { open, limit: m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : undefined };
  } catch {
    return {};
  }
}

/** Waits (bounded) until the server has removed every session it created: runs must not overlap a teardown. */
async function serverIdle(server: RtspTestServer, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const created = server.events.filter((e) => e.event === 'session-new').length;
    const removed = server.events.filter((e) => e.event === 'session-removed').length;
    if (removed >= created) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function run(script: string, server: RtspTestServer, count: number, sink: StreamsChildArgs['sink']) {
  const args: StreamsChildArgs = {
    job: 'streams', url: server.url('/h264'), count, sink, poolLimitBytes: POOL_LIMIT_BYTES, maxFrameBytes: MAX_FRAME_BYTES,
    maxQueueBytes: MAX_QUEUE_BYTES, memoryBytes: CORE_FIXED_BYTES + count * CORE_BYTES_PER_STREAM,
    connectConcurrency: CONNECT_CONCURRENCY, warmupMs: WARMUP_MS, fps: FPS, settleMaxMs: SETTLE_MAX_MS, measureMs: MEASURE_MS,
    sampleMs: 0, samples: 0,
    timeoutMs: WARMUP_MS + MEASURE_MS + 120_000,
  };
  const child = startChild(script, args);
  try {
    const started = await child.next('started', args.timeoutMs);
    await child.next('window-start', args.timeoutMs);
    const server0 = procCpuUs(server.pid);
    const files = openFiles(server.pid);
    const r = await child.next('result', args.timeoutMs);
    const server1 = procCpuUs(server.pid);
    await child.exited;
    const seconds = (r.wallMs as number) / 1000;
    const memory = r.memory as { rssKb: number; hwmKb: number; threads: number; heapUsedKb: number };
    const before = r.before as { rssKb: number };
    const frames = r.frames as number;
    return {
      count, sink, mode: started.mode as string, setupMs: started.setupMs as number,
      settledMs: r.settledMs as number, settled: r.settled as boolean,
      played: r.played as number, failedSessions: r.failures as number, firstFailure: started.firstFailure as string | undefined,
      cpuUs: r.cpuUs as number, seconds,
      cpuPercentPerStream: (100 * (r.cpuUs as number)) / 1e6 / seconds / count,
      cpuPercentTotal: (100 * (r.cpuUs as number)) / 1e6 / seconds,
      usPerFrame: frames > 0 ? (r.cpuUs as number) / frames : undefined,
      packets: r.packets as number, frames, expectedFrames: Math.round((r.played as number) * FPS * seconds),
      lost: r.lost as number, dropped: r.dropped as number, frameDrops: r.frameDrops as number, sinkDrops: r.sinkDrops as number,
      rssKb: memory.rssKb, peakRssKb: memory.hwmKb, rssBeforeKb: before.rssKb, threads: memory.threads, heapUsedKb: memory.heapUsedKb,
      rssGrowthPerStreamMb: (memory.rssKb - before.rssKb) / 1024 / count,
      rssPerStreamMb: memory.rssKb / 1024 / count,
      poolHighWater: (r.totals as { poolHighWater: number }).poolHighWater,
      poolBytesHighWater: (r.totals as { poolBytesHighWater: number }).poolBytesHighWater,
      poolExhaustions: (r.totals as { exhaustions: number }).exhaustions,
      silentStreams: (r.totals as { silentStreams: number }).silentStreams,
      server: {
        cpuPercent: server0 !== undefined && server1 !== undefined ? (100 * (server1 - server0)) / 1e6 / seconds : undefined,
        openFiles: files.open, fileLimit: files.limit,
      },
    };
  } catch (e) {
    child.kill();
    const serverGone = procCpuUs(server.pid) === undefined;
    const why = (e as Error).message.split('\n')[0]!.replace(/^child \S+: (Error: )?/, '');
    if (serverGone) console.log(`the test server died; its stderr ends with:\n${server.stderr().slice(-1500)}`);
    return { count, sink, error: serverGone ? `the test server died (${why})` : why };
  }
}

type Run = Awaited<ReturnType<typeof run>>;

async function main(): Promise<void> {
  const started = Date.now();
  const scripts = await bundleChildren(['bench/streams_child.ts']);
  const script = scripts['bench/streams_child.ts']!;
  console.log(`streams_perf${QUICK ? ' (BENCH_QUICK=1: smoke run, figures not quotable)' : ''}: ${COUNTS.join(', ')} streams of one ` +
    `${WIDTH}x${HEIGHT} ${FPS} fps H.264 encode at ${BITRATE_KBPS} kbit/s, ${WARMUP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s window`);
  // A fresh server for every run: gst-rtsp-server's shared media was seen to abort (gst_rtsp_media_get_rates:
  // assertion failed) when hundreds of sessions of one run were torn down and the next run's came in.
  const startServer = () => startRtspServer({ width: WIDTH, height: HEIGHT, framerate: FPS, bitrate: BITRATE_KBPS, shared: true, sessionTimeout: 600 });
  let server = await startServer();
  const runs: Run[] = [];
  const preflight: Record<string, unknown> = {};
  try {
    const biggest = Math.max(...COUNTS);
    const files = openFiles(server.pid);
    const own = openFiles(process.pid);
    // Each session holds one TCP connection on each side, plus what GStreamer and Python keep open.
    const need = biggest + 64;
    preflight.serverOpenFiles = files.open;
    preflight.serverFileLimit = files.limit;
    preflight.clientFileLimit = own.limit;
    preflight.needFiles = need;
    preflight.ok = (files.limit ?? 0) >= need && (own.limit ?? 0) >= need;
    console.log(`pre-flight: server open files ${files.open} of ${files.limit}, client limit ${own.limit}; ${biggest} streams need ~${need} each side → ` +
      `${preflight.ok ? 'ok' : 'NOT enough'}`);
    for (const count of COUNTS) {
      if (!preflight.ok && count === biggest) {
        runs.push({ count, sink: 'gst', error: `file-descriptor limit: server ${files.limit}, client ${own.limit}, need ~${need}` });
        continue;
      }
      for (const sink of SINKS) {
        if (!(await serverIdle(server))) console.log('warning: the server still holds sessions of the previous run');
        await server.stop();
        server = await startServer();
        // One session of the driver's own prepares the shared media before the measured ones come in at once (a
        // fresh server reset most of 8 simultaneous first sessions while it prepared the media).
        const anchor = await RtspClient.open(server.url('/h264'), { transport: 'tcp', receiverReports: false });
        let r: Run;
        try {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          r = await run(script, server, count, sink);
        } finally {
          await anchor.close();
        }
        runs.push(r);
        if ('error' in r) console.log(`${count} streams → ${sink}: error: ${r.error}`);
        else console.log(`${count} streams → ${sink}: ${r.played} played${r.failedSessions ? ` (${r.failedSessions} failed: ${r.firstFailure})` : ''}, ` +
          `set up in ${fmt(r.setupMs / 1000, 1)} s, ${r.settled ? `steady after ${fmt(r.settledMs / 1000, 1)} s more` : 'frame rate NOT steady'}; ` +
          `${fmt(r.cpuPercentTotal, 1)} % CPU, ${fmt(r.rssKb / 1024, 1)} MB RSS, ${r.frames}/${r.expectedFrames} frames, lost ${r.lost}, ` +
          `server ${fmt(r.server.cpuPercent, 0)} % CPU`);
      }
    }
  } finally {
    await server.stop();
  }
  const rows = [['streams', 'sink', 'CPU %/stream', 'µs/frame', 'RSS MB/stream (growth)', 'RSS MB/stream (total)', 'threads',
    'pool hw', 'frames (expected)', 'lost', 'drops', 'setup s', 'server CPU %']];
  for (const r of runs) {
    if ('error' in r) {
      rows.push([String(r.count), r.sink, 'error', r.error!.slice(0, 70), '', '', '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([String(r.count), r.sink, fmt(r.cpuPercentPerStream, 3), fmt(r.usPerFrame, 1), fmt(r.rssGrowthPerStreamMb, 3),
      fmt(r.rssPerStreamMb, 3), String(r.threads), `${r.poolHighWater} (${r.poolBytesHighWater / 1024} KiB)`,
      `${r.frames} (${r.expectedFrames})`, String(r.lost), String(r.dropped + r.frameDrops + r.sinkDrops), fmt(r.setupMs / 1000, 1),
      fmt(r.server.cpuPercent, 0)]);
  }
  console.log(`\n${table(rows)}`);
  console.log('RSS growth = (RSS at the end − RSS of the process before the core and the clients) ÷ streams; pool hw = most slots one client held');
  // What one more stream costs: the RSS slope between the smallest and the largest count (fixed costs cancel out).
  const marginal = SINKS.map((sink) => {
    const ok = runs.filter((x) => x.sink === sink && !('error' in x)) as Array<Extract<Run, { rssKb: number }>>;
    if (ok.length < 2) return { sink, rssMbPerExtraStream: undefined };
    const lo = ok.reduce((a, b) => (b.count < a.count ? b : a));
    const hi = ok.reduce((a, b) => (b.count > a.count ? b : a));
    return { sink, from: lo.count, to: hi.count, rssMbPerExtraStream: (hi.rssKb - lo.rssKb) / 1024 / (hi.count - lo.count),
      cpuPercentPerExtraStream: (hi.cpuPercentTotal - lo.cpuPercentTotal) / (hi.count - lo.count) };
  });
  for (const m of marginal) {
    if (m.rssMbPerExtraStream !== undefined) {
      console.log(`one more stream (${m.sink}, ${m.from} → ${m.to}): +${fmt(m.rssMbPerExtraStream, 3)} MB RSS, +${fmt(m.cpuPercentPerExtraStream, 3)} % CPU`);
    }
  }
  const targets = SINKS.map((sink) => {
    const r = runs.find((x) => x.count === TARGET_STREAMS && x.sink === sink);
    const ok = r && !('error' in r) ? r : undefined;
    return {
      goal: `${TARGET_STREAMS} streams (${sink}) with no loss and ≤ ${TARGET_RSS_PER_STREAM_MB} MB RSS per stream`,
      measured: ok ? { played: ok.played, lost: ok.lost, drops: ok.dropped + ok.frameDrops + ok.sinkDrops, rssGrowthPerStreamMb: ok.rssGrowthPerStreamMb } : undefined,
      met: ok ? ok.played === TARGET_STREAMS && ok.lost === 0 && ok.dropped + ok.frameDrops + ok.sinkDrops === 0 && ok.silentStreams === 0 && ok.rssGrowthPerStreamMb <= TARGET_RSS_PER_STREAM_MB : undefined,
    };
  });
  console.log('\ntargets (benchmark goals, not assertions):');
  for (const t of targets) {
    console.log(`  [${verdict(t.met).padEnd(12)}] ${t.goal}: ${t.measured ? `lost ${t.measured.lost}, drops ${t.measured.drops}, ${fmt(t.measured.rssGrowthPerStreamMb, 3)} MB/stream` : 'not measured'}` +
      (t.measured && t.measured.played !== TARGET_STREAMS ? ` (only ${t.measured.played} played)` : ''));
  }
  const seconds = (Date.now() - started) / 1000;
  const file = writeResults('streams_perf', {
    suite: 'streams_perf', date: new Date(started).toISOString(), durationSeconds: Math.round(seconds), quick: QUICK, machine: machine(),
    stream: { codec: 'H264', width: WIDTH, height: HEIGHT, fps: FPS, bitrateKbps: BITRATE_KBPS, sharedEncode: true },
    warmupMs: WARMUP_MS, measureMs: MEASURE_MS, poolLimitBytes: POOL_LIMIT_BYTES, maxFrameBytes: MAX_FRAME_BYTES, preflight, runs, marginal, targets,
  });
  console.log(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
