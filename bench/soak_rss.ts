// `npm run bench:soak -- --minutes 10`: memory over a long run. A few H.264 720p streams in frame mode, in one Node
// process (bench/streams_child.ts, plain node) on one shared core, each into a GstSink frame branch (as the CLI
// does). Every 10 s: RSS, V8 heap used, external and ArrayBuffer memory, threads, frames and loss. After the
// warm-up (the first minute; a fifth of a quick run) a least-squares line is fitted to RSS and to heap over time:
// the slope (kB/min), the growth it implies over the measured span, and the noise (standard deviation of the
// samples about the line). Verdict "flat" when the fitted growth stays within max(1 MB, 2 × noise).
//
// Options: --minutes N (default 10), --streams N (default 4), --sink gst|handler (default gst).
// BENCH_QUICK=1: 30 s, a sample every 2 s. Writes bench/results/soak_rss.json (quick: soak_rss.quick.json).

import { parseArgs } from 'node:util';
import { startRtspServer } from '../test/server/harness.js';
import type { StreamsChildArgs } from './streams_child.js';
import { bundleChildren, startChild, type ChildEvent } from './lib/proc.js';
import { fmt, machine, QUICK, table, writeResults } from './lib/report.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, streams: { type: 'string' }, sink: { type: 'string' } },
  allowPositionals: true,
});
const MINUTES = QUICK ? 0.5 : Number(values.minutes ?? 10);
const STREAMS = Number(values.streams ?? 4);
const SINK = (values.sink ?? 'gst') as StreamsChildArgs['sink'];
const SAMPLE_MS = QUICK ? 2_000 : 10_000;
const WARMUP_MS = QUICK ? 6_000 : 60_000;
/** Growth below this is never called growth: RSS moves in pages and allocator arenas. */
const NOISE_FLOOR_KB = 1024;

interface Fit { slopeKbPerMin: number; growthKb: number; noiseKb: number; flat: boolean; samples: number }

/** Least-squares line of y (kB) over t (s). */
function fit(t: number[], y: number[]): Fit | undefined {
  const n = t.length;
  if (n < 3) return undefined;
  const mt = t.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (t[i]! - mt) * (y[i]! - my);
    sxx += (t[i]! - mt) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (y[i]! - (my + slope * (t[i]! - mt))) ** 2;
  const noiseKb = Math.sqrt(ss / Math.max(1, n - 2));
  const growthKb = slope * (t[n - 1]! - t[0]!);
  return { slopeKbPerMin: slope * 60, growthKb, noiseKb, flat: growthKb <= Math.max(NOISE_FLOOR_KB, 2 * noiseKb), samples: n };
}

async function main(): Promise<void> {
  if (!Number.isFinite(MINUTES) || MINUTES <= 0) throw new Error('--minutes must be a positive number');
  if (!Number.isInteger(STREAMS) || STREAMS <= 0) throw new Error('--streams must be a positive integer');
  if (SINK !== 'gst' && SINK !== 'handler') throw new Error("--sink must be 'gst' or 'handler'");
  const started = Date.now();
  const scripts = await bundleChildren(['bench/streams_child.ts']);
  const samples = Math.floor((MINUTES * 60_000) / SAMPLE_MS) + 1;
  console.log(`soak_rss${QUICK ? ' (BENCH_QUICK=1: 30 s smoke run)' : ''}: ${STREAMS} H.264 1280x720 4 Mbit/s streams, frame mode → ${SINK}, ` +
    `${MINUTES} min, a sample every ${SAMPLE_MS / 1000} s, warm-up ${WARMUP_MS / 1000} s`);
  const server = await startRtspServer({ width: 1280, height: 720, framerate: 30, bitrate: 4_000, shared: true, sessionTimeout: 600 });
  const points: ChildEvent[] = [];
  let result: ChildEvent | undefined;
  try {
    const args: StreamsChildArgs = {
      job: 'soak', url: server.url('/h264'), count: STREAMS, sink: SINK, poolLimitBytes: 1024 * 1024, maxFrameBytes: 1024 * 1024,
      maxQueueBytes: 2 * 1024 * 1024, memoryBytes: 16 * 1024 * 1024 + STREAMS * 4 * 1024 * 1024, connectConcurrency: 4,
      warmupMs: 0, fps: 30, settleMaxMs: 0, measureMs: 0, sampleMs: SAMPLE_MS, samples, timeoutMs: MINUTES * 60_000 + 120_000,
    };
    const child = startChild(scripts['bench/streams_child.ts']!, args);
    try {
      await child.next('started', 60_000);
      for (let k = 0; k < samples; k++) {
        const s = await child.next('sample', SAMPLE_MS + 60_000);
        points.push(s);
        console.log(`  t=${fmt(s.tSec as number, 0).padStart(4)} s  RSS ${fmt((s.rssKb as number) / 1024, 1)} MB  heap ${fmt((s.heapUsedKb as number) / 1024, 1)} MB  ` +
          `external ${fmt((s.externalKb as number) / 1024, 1)} MB  threads ${s.threads}  frames ${s.frames}  lost ${s.lost}`);
      }
      result = await child.next('result', 60_000);
      await child.exited;
    } catch (e) {
      child.kill();
      throw e;
    }
  } finally {
    await server.stop();
  }
  const after = points.filter((p) => (p.tSec as number) * 1000 >= WARMUP_MS);
  const t = after.map((p) => p.tSec as number);
  const rss = fit(t, after.map((p) => p.rssKb as number));
  const heap = fit(t, after.map((p) => p.heapUsedKb as number));
  const external = fit(t, after.map((p) => p.externalKb as number));
  const rows = [['after warm-up', 'slope kB/min', 'fitted growth kB', 'noise kB (σ)', 'samples', 'verdict']];
  for (const [name, f] of [['RSS', rss], ['V8 heap used', heap], ['external', external]] as const) {
    rows.push([name, fmt(f?.slopeKbPerMin, 1), fmt(f?.growthKb, 0), fmt(f?.noiseKb, 0), String(f?.samples ?? 0),
      f ? (f.flat ? 'flat' : 'GROWING') : 'too few samples']);
  }
  console.log(`\n${table(rows)}`);
  const last = points[points.length - 1];
  const totals = result?.totals as { frames?: number; lost?: number } | undefined;
  console.log(`frames ${totals?.frames}, lost ${totals?.lost}; final RSS ${fmt((last?.rssKb as number) / 1024, 1)} MB, peak ${fmt((last?.hwmKb as number) / 1024, 1)} MB`);
  const seconds = (Date.now() - started) / 1000;
  const file = writeResults('soak_rss', {
    suite: 'soak_rss', date: new Date(started).toISOString(), durationSeconds: Math.round(seconds), quick: QUICK, machine: machine(),
    minutes: MINUTES, streams: STREAMS, sink: SINK, sampleMs: SAMPLE_MS, warmupMs: WARMUP_MS, noiseFloorKb: NOISE_FLOOR_KB,
    mode: result?.mode, fits: { rss, heapUsed: heap, external }, totals, samples: points.map(({ event: _e, procCpuUs: _p, ...p }) => p),
  });
  console.log(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
