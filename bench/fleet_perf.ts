// `npm run bench:fleet`: the `wasm-rtsp` command itself with N cameras against one gst-launch-1.0 holding N rtspsrc
// branches, on one shared encode of the test server (its --shared media encodes once and sends to every session).
//   frame mode:  node dist/node/cli/index.js URL×N --pipeline 'fakesink sync=false'      (default options)
//                gst-launch-1.0 (rtspsrc location=URL protocols=tcp ! rtph264depay ! fakesink sync=false)×N
//   packet mode: node dist/node/cli/index.js URL×N --rtp --pipeline 'rtph264depay ! fakesink sync=false'
//                gst-launch-1.0 (rtspsrc location=URL protocols=tcp ! fakesink sync=false)×N
// N = 1: 1280x720 30 fps H.264 at 4 Mbit/s; N > 1: 320x240 30 fps at 500 kbit/s. Every run gets a fresh server whose
// shared media one session of the driver's prepares first. Once every camera played (the server saw N PLAYs; for the
// command, every camera's progress line says playing: its pipeline is built then) and a warm-up passed, the window starts:
// CPU of the process from /proc/<pid>/stat (all threads) → % of a core per camera; RSS and threads from
// /proc/<pid>/status; loss and drops from the command's --json-progress lines and its --json summary, counted FROM THE
// START (start-up included: nothing may be lost while the cameras join and the pipeline is built). gst-launch counts
// neither: its loss and drops are "n/a".
// --record-dir DIR (frame mode): the command records instead, `--record DIR/<run>/{camera}.mp4` (a Recorder per
// camera with its own pipeline, fragmented MP4; a fresh folder per run, removed after), against the same gst-launch
// reference; --snapshot-interval S adds `--snapshot DIR/<run>/{camera}.jpg --snapshot-interval S`. Every row and
// result says its variant (pipeline, record, record+snapshot).
//
// Options: npm run bench:fleet -- --help. Writes bench/results/fleet_perf.json (--quick: fleet_perf.quick.json).

import { execFileSync } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { startRtspServer, type RtspTestServer } from '../test/server/harness.js';
import { RtspClient } from '../src/node/rtsp/client.js';
import { FLEET_USAGE, fleetOutputArgs, parseFleetOptions, progressTotals, startFleetProcess, type FleetImpl, type FleetMode, type FleetOptions } from './lib/fleet.js';
import { procCpuUs, processTree, procStatus, ROOT, sleep, threadCpuDelta, threadCpuMs, treeCpuUs } from './lib/proc.js';
import { fmt, machine, table } from './lib/report.js';

/**
 * Drops that are no loss, counted but expected: frames before a stream's first keyframe (a branch starts at one),
 * frames before the latest keyframe freed while the pipeline was being built (the branch would start at that keyframe
 * anyway), frames refused after the stop.
 */
const EXPECTED_DROPS = new Set(['waitingForKeyframe', 'beforeLatestKeyframe', 'sinkClosed']);

/** The encode of a run: one camera gets a 720p stream, a fleet small ones the server can serve hundreds of. */
function encodeFor(count: number) {
  return count === 1 ? { width: 1280, height: 720, fps: 30, bitrateKbps: 4000 } : { width: 320, height: 240, fps: 30, bitrateKbps: 500 };
}

/** How long the cameras may take to play (the server answers a few hundred SETUP/PLAY a second on a busy VM). */
function setupTimeoutMs(count: number): number {
  return 30_000 + count * 250;
}

/** Waits (bounded) until `ok()` holds; returns whether it did. */
async function until(ok: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ok()) return true;
    await sleep(stepMs);
  }
  return ok();
}

function plays(server: RtspTestServer, from: number): number {
  let n = 0;
  for (let i = from; i < server.events.length; i++) if (server.events[i]!.event === 'request' && server.events[i]!.method === 'PLAY') n++;
  return n;
}

type Summary = { streams?: Array<{ lost: number; packets: number; dropped: Record<string, number> }>; exitReason?: string };

async function run(o: FleetOptions, count: number, mode: FleetMode, impl: FleetImpl) {
  const enc = encodeFor(count);
  // A backlog for hundreds of clients: one gst-launch starts all its rtspsrc elements in the same instant, and with
  // gst-rtsp-server's default of 5 the overflowing accept queue ended it at 256 (an rtspsrc got EOF during set-up).
  const server = await startRtspServer({
    width: enc.width, height: enc.height, framerate: enc.fps, bitrate: enc.bitrateKbps, shared: true, sessionTimeout: 600,
    extraArgs: ['--backlog', '1024'],
  });
  // One session of the driver's prepares the shared media before the measured ones come in at once.
  const anchor = await RtspClient.open(server.url('/h264'), { transport: 'tcp', receiverReports: false });
  await sleep(1000);
  const from = server.events.length;
  const urls = Array.from({ length: count }, () => server.url('/h264'));
  // A recording variant writes into a folder of this run's own (absolute: the command runs in the repository root).
  const runDir = o.recordDir !== undefined && impl === 'command'
    ? resolvePath(o.recordDir, `run-${process.pid}-${count}-${mode}-${Date.now()}`) : undefined;
  if (runDir) mkdirSync(runDir, { recursive: true });
  const output = runDir ? fleetOutputArgs(o, runDir) : undefined;
  const t0 = Date.now();
  const p = startFleetProcess(impl, urls, mode, impl === 'command' ? o.extraArgs : [], output);
  // gst-launch is the same reference whatever the command's variant.
  const variant = impl === 'command' ? o.variant : undefined;
  const base = { count, mode, impl, variant, encode: enc };
  try {
    const ready = await until(() => {
      if (p.child.exitCode !== null) return true;
      if (plays(server, from) < count) return false;
      if (impl === 'gst-launch') return true;
      // Every camera playing: the command builds its pipeline at that moment (the warm-up covers the build).
      const t = progressTotals(p.latest);
      return t.cameras === count && t.playing === count;
    }, setupTimeoutMs(count));
    if (p.child.exitCode !== null) throw new Error(`exited (${p.child.exitCode}) before every camera played: ${p.stderr().trim().split('\n').slice(-3).join(' | ')}`);
    const setupS = (Date.now() - t0) / 1000;
    const played = plays(server, from);
    await sleep(o.warmupS * 1000);
    // The whole process tree: with --workers the cameras run in child processes.
    const tree = processTree(p.pid);
    const cpu0 = treeCpuUs(tree);
    const threads0 = tree.map((pid) => threadCpuMs(pid));
    const server0 = procCpuUs(server.pid);
    const w0 = Date.now();
    await sleep(o.windowS * 1000);
    const cpu1 = treeCpuUs(tree);
    const seconds = (Date.now() - w0) / 1000;
    const statuses = tree.map((pid) => procStatus(pid));
    const status = {
      rssKb: statuses.reduce((a, st) => a + (st.rssKb ?? 0), 0),
      hwmKb: statuses.reduce((a, st) => a + (st.hwmKb ?? 0), 0),
      threads: statuses.reduce((a, st) => a + (st.threads ?? 0), 0),
    };
    // Where the time goes, by thread name over the tree (% of a core in the window), busiest first.
    const perThread = new Map<string, number>();
    tree.forEach((pid, i) => {
      for (const t of threadCpuDelta(threads0[i]!, threadCpuMs(pid))) perThread.set(t.thread, (perThread.get(t.thread) ?? 0) + t.ms);
    });
    const threadCpu = [...perThread].sort((x, y) => y[1] - x[1]).slice(0, 6)
      .map(([thread, ms]) => ({ thread, percent: Math.round((ms / 10 / seconds) * 100) / 100 }));
    const progress = impl === 'command' ? progressTotals(p.latest) : undefined;
    const server1 = procCpuUs(server.pid);
    await p.stop();
    const written = runDir ? folderFiles(runDir) : undefined;
    if (cpu0 === undefined || cpu1 === undefined) throw new Error('the process ended during the window');
    const summary = p.summary as Summary | undefined;
    let lost: number | undefined;
    let drops: Record<string, number> | undefined;
    if (impl === 'command') {
      lost = progress!.lost;
      drops = {};
      for (const s of summary?.streams ?? []) {
        for (const [k, n] of Object.entries(s.dropped)) drops[k] = (drops[k] ?? 0) + n;
      }
      // The summary is taken after the stop: its loss covers the whole run (progress: up to the window's end).
      if (summary?.streams) lost = summary.streams.reduce((a, s) => a + s.lost, 0);
    }
    const cpuPercent = (100 * (cpu1 - cpu0)) / 1e6 / seconds;
    return {
      ...base, ready, played, setupS, seconds,
      cpuPercentTotal: cpuPercent, cpuPercentPerCamera: cpuPercent / count,
      rssKb: status.rssKb, peakRssKb: status.hwmKb, threads: status.threads, processes: tree.length, threadCpu,
      packets: progress?.packets, lost, drops,
      dropsUnexpected: drops ? Object.entries(drops).filter(([k]) => !EXPECTED_DROPS.has(k)).reduce((a, [, n]) => a + n, 0) : undefined,
      exitReason: summary?.exitReason,
      // A server near 100 % of a core cannot keep up: that shows as loss that is not the client's.
      serverCpuPercent: server0 !== undefined && server1 !== undefined ? (100 * (server1 - server0)) / 1e6 / seconds : undefined,
      // What a recording variant wrote over the whole run (proof that it recorded): files by extension and bytes.
      written,
    };
  } catch (e) {
    await p.stop(3000);
    return { ...base, error: (e as Error).message.split('\n')[0]!.slice(0, 300) };
  } finally {
    await anchor.close().catch(() => {});
    await server.stop();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }
}

/** Files under `dir` by extension (mp4, jpg, …) and their total bytes. */
function folderFiles(dir: string): { files: Record<string, number>; bytes: number } {
  const files: Record<string, number> = {};
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else {
        const ext = /\.([^./]+)$/.exec(e.name)?.[1] ?? '';
        files[ext] = (files[ext] ?? 0) + 1;
        bytes += statSync(path).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

type Run = Awaited<ReturnType<typeof run>>;
type OkRun = Extract<Run, { cpuPercentTotal: number }>;

async function main(): Promise<void> {
  let o: FleetOptions | 'help';
  try {
    o = parseFleetOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${FLEET_USAGE}`);
    process.exit(2);
  }
  if (o === 'help') {
    console.log(FLEET_USAGE);
    return;
  }
  const started = Date.now();
  console.log(`fleet_perf${o.quick ? ' (--quick: smoke run, figures not quotable)' : ''}: counts ${o.counts.join(', ')}, modes ${o.modes.join(', ')}, ` +
    `${o.warmupS} s warm-up + ${o.windowS} s window, command variant ${o.variant}${o.extraArgs.length ? `, command args: ${o.extraArgs.join(' ')}` : ''}`);
  const runs: Run[] = [];
  for (const count of o.counts) {
    for (const mode of o.modes) {
      for (const impl of o.impls) {
        const r = await run(o, count, mode, impl);
        runs.push(r);
        const who = `${count} × ${mode} ${impl}${r.variant ? ` (${r.variant})` : ''}`;
        if ('error' in r) console.log(`${who}: error: ${r.error}`);
        else console.log(`${who}: ${r.played}/${count} played in ${fmt(r.setupS, 1)} s; ${fmt(r.cpuPercentTotal, 1)} % CPU, ` +
          `${fmt((r.rssKb ?? 0) / 1024, 1)} MB RSS, ${r.threads} threads${r.lost !== undefined ? `, lost ${r.lost}, drops ${JSON.stringify(r.drops)}` : ''}` +
          `${r.written ? `; wrote ${JSON.stringify(r.written.files)} (${fmt(r.written.bytes / 1e6, 1)} MB)` : ''}`);
      }
    }
  }
  const ok = runs.filter((r): r is OkRun => !('error' in r));
  // RSS per extra camera: the slope between two counts of the same small encode, same mode and implementation.
  const slopes: Array<{ mode: FleetMode; impl: FleetImpl; from: number; to: number; rssMbPerCamera: number; cpuPercentPerCamera: number }> = [];
  for (const mode of o.modes) {
    for (const impl of o.impls) {
      const rs = ok.filter((r) => r.mode === mode && r.impl === impl && r.count > 1).sort((a, b) => a.count - b.count);
      for (let i = 1; i < rs.length; i++) {
        const a = rs[i - 1]!;
        const b = rs[i]!;
        slopes.push({ mode, impl, from: a.count, to: b.count, rssMbPerCamera: ((b.rssKb ?? 0) - (a.rssKb ?? 0)) / 1024 / (b.count - a.count),
          cpuPercentPerCamera: (b.cpuPercentTotal - a.cpuPercentTotal) / (b.count - a.count) });
      }
    }
  }
  const rows = [['cameras', 'mode', 'process', 'CPU %/camera', 'CPU % total', 'RSS MB', 'RSS MB/camera', 'threads', 'lost', 'drops (reason n)', 'setup s', 'server CPU %', 'ratio CPU', 'ratio RSS']];
  for (const r of runs) {
    if ('error' in r) {
      rows.push([String(r.count), r.mode, processLabel(r), 'error', r.error.slice(0, 60), '', '', '', '', '', '', '', '', '']);
      continue;
    }
    // Ratios in the same run pair: the command ÷ gst-launch at the same count and mode.
    const peer = ok.find((x) => x.count === r.count && x.mode === r.mode && x.impl !== r.impl);
    const cmd = r.impl === 'command' ? r : peer;
    const gst = r.impl === 'gst-launch' ? r : peer;
    const ratio = (f: (x: OkRun) => number) => (r.impl === 'command' && cmd && gst && f(gst) > 0 ? `${fmt(f(cmd) / f(gst), 2)}×` : '');
    const drops = r.drops ? Object.entries(r.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || '0' : 'n/a';
    rows.push([String(r.count), r.mode, processLabel(r), fmt(r.cpuPercentPerCamera, 3), fmt(r.cpuPercentTotal, 1), fmt((r.rssKb ?? 0) / 1024, 1),
      fmt((r.rssKb ?? 0) / 1024 / r.count, 2), String(r.threads), r.lost === undefined ? 'n/a' : String(r.lost), drops, fmt(r.setupS, 1), fmt(r.serverCpuPercent, 0),
      ratio((x) => x.cpuPercentTotal), ratio((x) => x.rssKb ?? 0)]);
  }
  console.log(`\n${table(rows)}`);
  console.log('lost = RTP sequence gaps from the start (start-up included); drops by reason (waitingForKeyframe: frames before a ' +
    'stream\'s first keyframe, beforeLatestKeyframe: frames before the keyframe a branch starts at, freed while its pipeline was ' +
    'built, sinkClosed: refused after the stop; all expected); ratio = the command ÷ gst-launch, same count and mode');
  console.log('\nwhere the CPU goes (% of a core in the window, by thread name over the process tree, busiest first):');
  for (const r of ok) {
    console.log(`  ${r.count} × ${r.mode} ${processLabel(r)}: ${r.threadCpu.map((t) => `${t.thread} ${fmt(t.percent, 2)}`).join(', ')}`);
  }
  for (const s of slopes) {
    console.log(`one more camera (${s.mode}, ${s.impl}, ${s.from} → ${s.to}): +${fmt(s.rssMbPerCamera, 3)} MB RSS, +${fmt(s.cpuPercentPerCamera, 3)} % CPU`);
  }
  const commandRuns = ok.filter((r) => r.impl === 'command');
  const lossFree = commandRuns.length > 0 && commandRuns.every((r) => r.lost === 0 && r.dropsUnexpected === 0);
  console.log(`\nstart-up loss check (the command, every run): ${commandRuns.length === 0 ? 'not measured' : lossFree ? 'lost 0, no unexpected drops' : 'LOSS OR DROPS SEEN'}`);
  const seconds = (Date.now() - started) / 1000;
  // A recording variant gets a file of its own: the pipeline variant's results stay.
  const file = o.out ?? `${ROOT}bench/results/fleet_perf${o.variant === 'pipeline' ? '' : `.${o.variant}`}${o.quick ? '.quick' : ''}.json`;
  mkdirSync(file.replace(/[^/]*$/, ''), { recursive: true });
  writeFileSync(file, `${JSON.stringify({
    suite: 'fleet_perf', date: new Date(started).toISOString(), durationSeconds: Math.round(seconds), quick: o.quick, machine: machine(),
    gstreamer: gstVersion(), options: { counts: o.counts, modes: o.modes, impls: o.impls, warmupS: o.warmupS, windowS: o.windowS, extraArgs: o.extraArgs,
      variant: o.variant, recordDir: o.recordDir, snapshotIntervalS: o.snapshotIntervalS },
    runs, slopes, startupLossFree: commandRuns.length > 0 ? lossFree : undefined,
  }, null, 2)}\n`);
  console.log(`wrote ${file} (${seconds.toFixed(0)} s)`);
}

/** A row's process: gst-launch, or the command with its variant when it records (`command (record)`). */
function processLabel(r: { impl: FleetImpl; variant?: string }): string {
  return r.impl === 'command' && r.variant && r.variant !== 'pipeline' ? `command (${r.variant})` : r.impl;
}

function gstVersion(): string | undefined {
  try {
    return /GStreamer (\S+)/.exec(execFileSync('gst-launch-1.0', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
