// `npm run bench:ingest`: CPU per packet and per frame of a whole RTSP ingest, side by side in one run, on the same
// streams from GStreamer's RTSP server on 127.0.0.1 (shared media: one encode per stream for every client):
//   wasm-frames-gst   our client in frame mode → GstSink frame branch (appsrc ! fakesink)
//   wasm-frames       our client in frame mode, frame handler only
//   wasm-packets-gst  our client in packet mode → GstSink (appsrc caps=rtp ! rtph264depay ! fakesink): rtspsrc's work
//   wasm-packets      our client in packet mode, packet handler only
//   rtspsrc           gst-launch-1.0 rtspsrc protocols=tcp ! rtph264depay ! fakesink (raw: rtpvrawdepay)
//   node-frames       bench/baselines/node-ingest.ts: net socket, Buffer per packet, JS RTP parse and JS depayloader
//   node-packets      the same without depayloading
// Streams: H.264 1280x720 30 fps at 4 and at 20 Mbit/s, raw 1280x720 30 fps (RFC 4175 UYVY, ~40 000 packets/s).
//
// Every variant runs in a process of its own (ours and the baseline bundled by esbuild and run under plain node).
// Node processes measure a window after a warm-up: getrusage (all threads) and the packets and frames they counted
// in it. gst-launch is run twice, to `num-buffers` = warm-up frames and to warm-up + window frames, through a
// wait4() wrapper (user + system CPU of all its threads, and its peak RSS); the difference is the window's CPU, so
// its start-up and warm-up cancel out. H.264 streams run every variant at once (low packet rates; every process sees
// the same packets at the same time); raw runs one variant at a time (each alone takes ~40 000 packets/s).
// Then one more frame-mode process (→ GStreamer) runs with V8's sampling profiler on over its window (the inspector's
// Profiler, which `node --cpu-prof` also uses, started at the window instead of at start-up) for "where the time goes".
//
// BENCH_QUICK=1: short windows. BENCH_SEQUENTIAL=1: one variant at a time for H.264 too (slower, quieter).
// BENCH_INGEST_STREAMS=h264-720p-4M,raw-720p: only those streams.
// Writes bench/results/ingest_perf.json (quick: ingest_perf.quick.json). Needs GStreamer (bash scripts/setup.sh).

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { promisify } from 'node:util';
import { GstSink } from '../src/node/gst/index.js';
import { fileURLToPath } from 'node:url';
import { startRtspServer, type RtspServerOptions, type RtspTestServer } from '../test/server/harness.js';
import { INGEST_VARIANTS, type IngestChildArgs, type IngestVariant } from './lib/ingest_args.js';
import { bundleChildren, CHILD_DIR, startChild } from './lib/proc.js';
import { fmt, machine, QUICK, table, verdict, writeResults } from './lib/report.js';

const SEQUENTIAL = process.env.BENCH_SEQUENTIAL === '1';
/** Warm-up after the first packet (connect, JIT, caps negotiation), then the measured window. */
const WARMUP_MS = QUICK ? 1_500 : 3_000;
const MEASURE_MS = QUICK ? 3_000 : 12_000;
const FPS = 30;
/** Appsrc bound for the GStreamer branches: several raw 720p frames (1.8 MB each), so nothing is dropped there. */
const MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/** Linear memory of each wasm core: the 4 MiB pool plus room for two raw 720p frames being assembled. */
const CORE_MEMORY_BYTES = 32 * 1024 * 1024;
/** Targets (benchmark goals, printed with the figures; never assertions). */
const TARGET_FRAMES_VS_RTSPSRC = 0.1;
const TARGET_PACKETS_VS_RTSPSRC = 0.25;
/** Functions listed from the CPU profile. */
const PROFILE_TOP = 12;

interface StreamSpec {
  id: string;
  label: string;
  path: string;
  depay: string;
  codec: 'H264' | 'RAW';
  server: RtspServerOptions;
  concurrent: boolean;
}

const STREAMS: StreamSpec[] = [
  { id: 'h264-720p-4M', label: 'H.264 1280x720 30 fps, 4 Mbit/s', path: '/h264', depay: 'rtph264depay', codec: 'H264',
    server: { width: 1280, height: 720, framerate: FPS, bitrate: 4_000 }, concurrent: !SEQUENTIAL },
  { id: 'h264-720p-20M', label: 'H.264 1280x720 30 fps, 20 Mbit/s', path: '/h264', depay: 'rtph264depay', codec: 'H264',
    server: { width: 1280, height: 720, framerate: FPS, bitrate: 20_000 }, concurrent: !SEQUENTIAL },
  { id: 'raw-720p', label: 'raw 1280x720 30 fps UYVY (RFC 4175)', path: '/raw', depay: 'rtpvrawdepay', codec: 'RAW',
    server: { rawWidth: 1280, rawHeight: 720, rawFramerate: FPS }, concurrent: false },
];

/** One variant's figures over its window. */
interface Row {
  variant: IngestVariant | 'rtspsrc';
  error?: string;
  cpuUs?: number;
  /** /proc/<pid>/stat reading of the same window (10 ms resolution), as a cross-check of cpuUs. */
  procCpuUs?: number;
  wallMs?: number;
  packets?: number;
  frames?: number;
  /** rtspsrc: packets are not counted by gst-launch; estimated from the packets per frame our clients counted. */
  packetsEstimated?: boolean;
  usPerPacket?: number;
  usPerFrame?: number;
  peakRssKb?: number;
  lost?: number;
  dropped?: number;
  detail?: Record<string, unknown>;
}

const execFileP = promisify(execFile);

/**
 * Runs a command (argv[2:]) and prints its rusage as JSON: user + system CPU of all its threads and its peak RSS,
 * reaped with wait4(), and whether its stdout said "Got EOS". Python is the thin wrapper (Node cannot read a child's
 * rusage). argv[1] is a timeout in seconds after which the command is killed (so it never outlives the bench).
 */
const WAIT4_WRAPPER = [
  'import json, os, signal, subprocess, sys, time',
  't = time.monotonic()',
  'p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE)',
  'signal.signal(signal.SIGALRM, lambda *_: p.kill())',
  'signal.signal(signal.SIGTERM, lambda *_: p.kill())',
  'signal.alarm(int(sys.argv[1]))',
  '_, status, ru = os.wait4(p.pid, 0)',
  'p.returncode = 0',
  "eos = b'Got EOS from element' in p.stdout.read()",
  "print(json.dumps({'status': status, 'eos': eos, 'cpuUs': (ru.ru_utime + ru.ru_stime) * 1e6, 'maxRssKb': ru.ru_maxrss, 'wallMs': (time.monotonic() - t) * 1e3}))",
].join('\n');

interface Wait4Result { status: number; eos: boolean; cpuUs: number; maxRssKb: number; wallMs: number }

async function gstLaunch(url: string, depay: string, frames: number, timeoutMs: number): Promise<Wait4Result> {
  // Not -q: the "Got EOS" line tells that num-buffers was reached (rtspsrc may still exit 1 on a failed PAUSE at shutdown).
  const argv = ['gst-launch-1.0', 'rtspsrc', `location=${url}`, 'protocols=tcp', '!', depay, '!',
    'fakesink', 'sync=false', `num-buffers=${frames}`];
  const { stdout, stderr } = await execFileP('/usr/bin/python3', ['-c', WAIT4_WRAPPER, String(Math.ceil(timeoutMs / 1000)), ...argv],
    { timeout: timeoutMs + 10_000 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Wait4Result;
  if (!r.eos) {
    const why = (r.status & 0x7f) !== 0 ? `killed by signal ${r.status & 0x7f} after ${Math.round(r.wallMs)} ms (timeout?)` : `exit code ${r.status >> 8}`;
    throw new Error(`gst-launch ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return r;
}

/** rtspsrc ! depay ! fakesink: CPU of (warm-up + window) frames minus CPU of warm-up frames. */
async function measureRtspsrc(server: RtspTestServer, s: StreamSpec, concurrentWith?: Promise<unknown>): Promise<Row> {
  const warm = Math.round((WARMUP_MS / 1000) * FPS);
  const window = Math.round((MEASURE_MS / 1000) * FPS);
  const timeout = WARMUP_MS + MEASURE_MS + 60_000;
  try {
    const url = server.url(s.path);
    let short: Wait4Result;
    let long: Wait4Result;
    if (concurrentWith) {
      [short, long] = await Promise.all([gstLaunch(url, s.depay, warm, timeout), gstLaunch(url, s.depay, warm + window, timeout)]);
    } else {
      short = await gstLaunch(url, s.depay, warm, timeout);
      long = await gstLaunch(url, s.depay, warm + window, timeout);
    }
    const cpuUs = long.cpuUs - short.cpuUs;
    return {
      variant: 'rtspsrc', cpuUs, frames: window, wallMs: long.wallMs - short.wallMs, usPerFrame: cpuUs / window,
      peakRssKb: long.maxRssKb, detail: { warmupFrames: warm, short, long },
    };
  } catch (e) {
    return { variant: 'rtspsrc', error: (e as Error).message };
  }
}

async function measureChild(script: string, server: RtspTestServer, s: StreamSpec, variant: IngestVariant, profilePath?: string): Promise<Row> {
  const args: IngestChildArgs = {
    profilePath,
    url: server.url(s.path), variant, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, depay: s.depay,
    maxQueueBytes: MAX_QUEUE_BYTES, memoryBytes: CORE_MEMORY_BYTES, timeoutMs: WARMUP_MS + MEASURE_MS + 60_000,
  };
  const child = startChild(script, args);
  try {
    const start = await child.next('window-start', args.timeoutMs);
    const r = await child.next('result', args.timeoutMs);
    await child.exited;
    const { cpuUs, wallMs, packets, frames, lost, dropped, peakRssKb } = r as unknown as Required<Row>;
    const { event: _e, variant: _v, procCpuUs, ...detail } = r;
    return {
      variant, cpuUs, wallMs, packets, frames, lost, dropped, peakRssKb,
      procCpuUs: (procCpuUs as number) - (start.procCpuUs as number),
      usPerPacket: packets > 0 ? cpuUs / packets : undefined,
      usPerFrame: frames > 0 ? cpuUs / frames : undefined,
      detail,
    };
  } catch (e) {
    child.kill();
    const message = (e as Error).message.split('\n')[0]!.replace(/^child \S+: (Error: )?/, '');
    return { variant, error: message };
  }
}

/** Self time by function from a .cpuprofile (V8 sampling profile of the main thread), located in src/ via the bundle's source map. */
function summarizeProfile(file: string): { sampledMs: number; idleMs: number; top: Array<{ fn: string; where: string; selfMs: number; percent: number }> } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
    samples: number[]; timeDeltas: number[];
  };
  const maps = new Map<string, SourceMap | undefined>();
  const locate = (url: string, line: number, column: number): string => {
    if (!url) return '';
    if (!maps.has(url)) {
      try {
        maps.set(url, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'))));
      } catch {
        maps.set(url, undefined);
      }
    }
    const entry = maps.get(url)?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource) return `${entry.originalSource.replace(/^.*?\/(src|bench)\//, '$1/')}:${(entry.originalLine ?? 0) + 1}`;
    return `${url.replace(/^.*\/(build|node_modules)\//, '$1/')}:${line + 1}`;
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // The profiler's own start and stop (node:inspector's post → dispatch) are the measurement, not the ingest.
  const excluded = new Set<number>();
  const exclude = (id: number) => {
    excluded.add(id);
    for (const c of byId.get(id)?.children ?? []) exclude(c);
  };
  for (const n of prof.nodes) if (n.callFrame.url === 'node:inspector') exclude(n.id);
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    if (excluded.has(id)) return;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    const where = locate(url, lineNumber, columnNumber);
    const key = `${functionName}@${where}`;
    const e = self.get(key) ?? { fn: functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  const top = [...self.values()].sort((a, b) => b.us - a.us).slice(0, PROFILE_TOP)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, percent: total > 0 ? (100 * e.us) / total : 0 }));
  return { sampledMs: total / 1000, idleMs: idle / 1000, top };
}

async function profile(script: string, server: RtspTestServer, s: StreamSpec) {
  const dir = `${CHILD_DIR}prof/`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${s.id}.cpuprofile`;
  rmSync(file, { force: true });
  const row = await measureChild(script, server, s, 'wasm-frames-gst', file);
  if (row.error) return { stream: s.id, error: row.error };
  return { stream: s.id, variant: 'wasm-frames-gst', file, ...summarizeProfile(file) };
}

async function measureStream(script: string, s: StreamSpec, withProfile: boolean) {
  // Shared media: the variants that run at once get one encode. (No idle session holds the media between the
  // sequential runs: rtspsrc stalls on a shared media resumed from PAUSED, so each sequential run gets a fresh one.)
  const server = await startRtspServer({ ...s.server, shared: true, sessionTimeout: 600 });
  try {
    let rows: Row[];
    const variants = [...INGEST_VARIANTS];
    if (s.concurrent) {
      const children = Promise.all(variants.map((v) => measureChild(script, server, s, v)));
      const gst = measureRtspsrc(server, s, children);
      rows = [...(await children), await gst];
    } else {
      rows = [];
      for (const v of variants) rows.push(await measureChild(script, server, s, v));
      rows.push(await measureRtspsrc(server, s));
    }
    // gst-launch does not count packets: use the packets per frame our clients counted on the same encode.
    const ratios = rows.filter((r) => !r.error && r.variant !== 'rtspsrc' && r.packets && r.frames).map((r) => r.packets! / r.frames!);
    const packetsPerFrame = ratios.length ? ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)]! : undefined;
    const gst = rows.find((r) => r.variant === 'rtspsrc')!;
    if (!gst.error && packetsPerFrame) {
      gst.packets = Math.round(gst.frames! * packetsPerFrame);
      gst.packetsEstimated = true;
      gst.usPerPacket = gst.usPerFrame! / packetsPerFrame;
    }
    const prof = withProfile ? await profile(script, server, s) : undefined;
    return { id: s.id, label: s.label, concurrent: s.concurrent, packetsPerFrame, rows, profile: prof };
  } finally {
    await server.stop();
  }
}

type StreamResult = Awaited<ReturnType<typeof measureStream>>;

/** CPU per frame of `variant` over that of `reference` (same stream, same run), or undefined. */
function ratio(r: StreamResult, variant: string, reference: string): number | undefined {
  const a = r.rows.find((x) => x.variant === variant);
  const b = r.rows.find((x) => x.variant === reference);
  if (!a?.usPerFrame || !b?.usPerFrame) return undefined;
  return a.usPerFrame / b.usPerFrame;
}

const NODE_PEER: Record<string, string> = {
  'wasm-frames-gst': 'node-frames', 'wasm-frames': 'node-frames', 'wasm-packets-gst': 'node-packets', 'wasm-packets': 'node-packets',
};

function print(r: StreamResult): void {
  console.log(`\n${r.label} — ${r.concurrent ? 'all variants at once' : 'one variant at a time'}, ` +
    `${MEASURE_MS / 1000} s window, ${fmt(r.packetsPerFrame)} packets/frame`);
  const rows = [['variant', 'µs/packet', 'µs/frame', '÷ rtspsrc', '÷ node', 'peak RSS MB', 'packets', 'frames', 'lost', 'dropped', '/proc CPU ms']];
  for (const x of r.rows) {
    if (x.error) {
      rows.push([x.variant, 'error', x.error.slice(0, 60), '', '', '', '', '', '', '', '']);
      continue;
    }
    const peer = NODE_PEER[x.variant];
    rows.push([
      x.variant, fmt(x.usPerPacket) + (x.packetsEstimated ? '*' : ''), fmt(x.usPerFrame),
      x.variant === 'rtspsrc' ? '1.00' : fmt(ratio(r, x.variant, 'rtspsrc'), 3),
      peer ? fmt(ratio(r, x.variant, peer), 3) : '',
      fmt((x.peakRssKb ?? NaN) / 1024, 1), String(x.packets ?? '—') + (x.packetsEstimated ? '*' : ''), String(x.frames ?? '—'),
      String(x.lost ?? '—'), String(x.dropped ?? '—'), x.procCpuUs === undefined ? '' : fmt(x.procCpuUs / 1000, 0),
    ]);
  }
  console.log(table(rows));
  if (r.rows.some((x) => x.packetsEstimated)) console.log('* gst-launch counts frames (num-buffers); its packets = frames × the packets/frame our clients counted');
  if (r.profile && 'top' in r.profile && r.profile.top) {
    const p = r.profile;
    console.log(`\nwhere the time goes (${p.variant}, main thread, V8 profile: ${fmt(p.sampledMs, 0)} ms busy, ${fmt(p.idleMs, 0)} ms idle):`);
    // Threads from the measured (unprofiled) run: the profiler's own sampling thread would blur the profiled one.
    const measured = r.rows.find((x) => x.variant === 'wasm-frames-gst' && !x.error);
    const d = measured?.detail as { userUs?: number; systemUs?: number; threadCpu?: Array<{ thread: string; ms: number }> } | undefined;
    if (measured && d?.threadCpu) {
      console.log(`measured run: ${fmt((measured.cpuUs ?? 0) / 1000, 0)} ms CPU over the window (user ${fmt((d.userUs ?? 0) / 1000, 0)}, ` +
        `system ${fmt((d.systemUs ?? 0) / 1000, 0)}); by thread (ms, schedstat): ${d.threadCpu.slice(0, 8).map((t) => `${t.thread} ${fmt(t.ms, 0)}`).join(', ')}`);
    }
    console.log(table([['function', 'where', 'self ms', '% busy'], ...p.top.map((t) => [t.fn, t.where, fmt(t.selfMs, 1), fmt(t.percent, 1)])]));
  } else if (r.profile && 'error' in r.profile) {
    console.log(`profile: ${r.profile.error}`);
  }
}

async function main(): Promise<void> {
  const available = GstSink.available();
  if (!available.ok) throw new Error(available.message);
  const started = Date.now();
  const scripts = await bundleChildren(['bench/ingest_child.ts']);
  const script = scripts['bench/ingest_child.ts']!;
  console.log(`ingest_perf${QUICK ? ' (BENCH_QUICK=1: smoke run, figures not quotable)' : ''}: ` +
    `${WARMUP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s window per variant`);
  const results: StreamResult[] = [];
  const only = process.env.BENCH_INGEST_STREAMS?.split(',');
  for (const s of STREAMS.filter((x) => !only || only.includes(x.id))) {
    const r = await measureStream(script, s, s.id !== 'h264-720p-4M');
    print(r);
    results.push(r);
  }
  const targets = results.filter((r) => r.id.startsWith('h264')).flatMap((r) => {
    const f = ratio(r, 'wasm-frames-gst', 'rtspsrc');
    const p = ratio(r, 'wasm-packets-gst', 'rtspsrc');
    return [
      { stream: r.id, goal: `frame mode → GStreamer ≤ ${TARGET_FRAMES_VS_RTSPSRC}× the CPU of rtspsrc + depay`, measured: f,
        met: f === undefined ? undefined : f <= TARGET_FRAMES_VS_RTSPSRC },
      { stream: r.id, goal: `packet mode → GStreamer (+ depay) ≤ ${TARGET_PACKETS_VS_RTSPSRC}× the CPU of rtspsrc + depay`, measured: p,
        met: p === undefined ? undefined : p <= TARGET_PACKETS_VS_RTSPSRC },
    ];
  });
  const raw = results.find((r) => r.id === 'raw-720p');
  if (raw) {
    const p = ratio(raw, 'wasm-packets-gst', 'rtspsrc');
    targets.push({ stream: raw.id, goal: `packet mode → GStreamer (+ depay) ≤ ${TARGET_PACKETS_VS_RTSPSRC}× the CPU of rtspsrc + depay`,
      measured: p, met: p === undefined ? undefined : p <= TARGET_PACKETS_VS_RTSPSRC });
  }
  console.log('\ntargets (benchmark goals, not assertions):');
  for (const t of targets) console.log(`  [${verdict(t.met).padEnd(12)}] ${t.stream}: ${t.goal}: ${t.measured === undefined ? 'not measured' : `${fmt(t.measured, 3)}×`}`);
  const seconds = (Date.now() - started) / 1000;
  const file = writeResults('ingest_perf', {
    suite: 'ingest_perf', date: new Date(started).toISOString(), durationSeconds: Math.round(seconds), quick: QUICK,
    sequential: SEQUENTIAL, machine: machine(), warmupMs: WARMUP_MS, measureMs: MEASURE_MS,
    units: 'CPU µs (user + system, all threads of the process) per RTP packet / per frame over the window; ratios are per frame, same stream, same run',
    streams: results, targets,
  });
  console.log(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
