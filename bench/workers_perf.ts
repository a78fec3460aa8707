// `npm run bench:workers`: what a dead worker and a reload cost the cameras that have nothing to do with them, with
// the `wasm-rtsp` command itself under `--workers 2` (node dist/node/cli/index.js --config FILE --workers 2
// --metrics-port 0 --json-progress --json), every camera on one shared encode of the test server (160x120 15 fps).
//
// kill:   N cameras (--cameras, default 16). Once every camera plays (GET /status) and a warm-up passed, one worker
//         process (found under the command's pid in /proc by its `--worker-of I/2` argument, and checked against the
//         pid /status names) is sent SIGKILL. Measured: when the new worker first answered /status (the supervisor
//         restarts it after its 0.5 s backoff) and when every camera of that worker played again; then, after
//         --settle seconds, the other worker's cameras: their `lost` (--json-progress, counted since each camera
//         started), `reconnects` and `since` (/status) before the kill and after the settle, and their packets (they
//         must have flowed on).
// reload: M cameras (--reload-cameras, default 100) from the config file; the file is rewritten with the first C
//         removed and C new ones added (--reload-change, default 10) and the command gets SIGHUP. Measured: when
//         every added camera played and every removed one was gone from /status; the SETUP and TEARDOWN requests
//         the server saw after the SIGHUP; and, after --settle seconds, the M − C unchanged cameras' `since`,
//         `reconnects` and `lost` against their values before the SIGHUP.
// Pass: every "other"/"unchanged" delta is 0 and every camera played again within the bound.
//
// Options: npm run bench:workers -- --help. Writes bench/results/workers_perf.json (--out FILE).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startRtspServer, type RtspTestServer } from '../test/server/harness.js';
import { RtspClient } from '../src/node/rtsp/client.js';
import { ROOT, sleep } from './lib/proc.js';
import { fmt, machine, table } from './lib/report.js';

const USAGE = `npm run bench:workers -- [options]
  --cameras N           cameras of the kill measurement (default 16)
  --reload-cameras M    cameras of the reload measurement (default 100)
  --reload-change C     cameras removed and added by the reload (default 10)
  --parts kill,reload   which measurements to run (default both)
  --warmup S            seconds after every camera played before the kill or SIGHUP (default 3)
  --settle S            seconds after the recovery before the others' counters are read again (default 5)
  --out FILE            results file (default bench/results/workers_perf.json)`;

/** The shared encode: small, so the test server can serve a hundred sessions on a busy 2-core machine. */
const ENCODE = { width: 160, height: 120, fps: 15, bitrateKbps: 200 };
const WORKERS = 2;

/** One --json-progress line of the command (src/node/cli/summary.ts ProgressLine), the fields read here. */
interface Progress { camera: string; worker?: number; state: string; packets: number; lost: number; reconnects: number; t: number }
/** GET /status of the supervisor (src/node/cli/workers.ts), the fields read here. */
interface Status {
  cameras: Array<{ name: string; state: string; since: string; reconnects: number; worker: number | null }>;
  workers?: Array<{ index: number; pid: number | null; alive: boolean; restarts: number }>;
}

/** The command under --workers, its metrics port, its progress lines by camera and its stderr. */
class Command {
  readonly child: ChildProcess;
  readonly latest = new Map<string, Progress>();
  summary?: Record<string, unknown>;
  port?: number;
  private err = '';
  readonly exited: Promise<number | null>;

  constructor(configFile: string) {
    this.child = spawn(process.execPath, [`${ROOT}dist/node/cli/index.js`, '--config', configFile, '--workers', String(WORKERS),
      '--metrics-port', '0', '--json-progress', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.err = (this.err + line + '\n').slice(-50_000);
      // --metrics-port 0 takes a free port; the command names it in its log line.
      const m = /metrics on http:\/\/[^:]+:(\d+)\/metrics/.exec(line);
      if (m) this.port = Number(m[1]);
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        const o = JSON.parse(line) as { type?: string };
        if (o.type === 'progress') this.latest.set((o as Progress).camera, o as Progress);
        else if (o.type === 'summary') this.summary = o as Record<string, unknown>;
      } catch {
        this.err += `[bench] not JSON: ${line.slice(0, 200)}\n`;
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The stderr lines seen so far (the last 50 kB). */
  stderr(): string {
    return this.err;
  }

  /** GET /status, or undefined while the port is unknown or the request fails. */
  async status(): Promise<Status | undefined> {
    if (this.port === undefined) return undefined;
    try {
      const r = await fetch(`http://127.0.0.1:${this.port}/status`, { signal: AbortSignal.timeout(5000) });
      return r.ok ? ((await r.json()) as Status) : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGINT (the supervisor stops the workers and prints the summary), SIGKILL of the tree after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => {
      for (const pid of childPids(this.pid)) tryKill(pid);
      this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* gone */ }
}

/** The direct children of `pid`, from the ppid field of /proc/<n>/stat. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch { /* ended meanwhile */ }
  }
  return out;
}

/** The child of `pid` that is worker `index` (its command line holds `--worker-of index/count`). */
function workerPid(pid: number, index: number): number | undefined {
  for (const child of childPids(pid)) {
    try {
      const argv = readFileSync(`/proc/${child}/cmdline`, 'latin1').split('\0');
      const i = argv.indexOf('--worker-of');
      if (i >= 0 && argv[i + 1]?.startsWith(`${index}/`)) return child;
    } catch { /* ended meanwhile */ }
  }
  return undefined;
}

/** A config file of cameras `names` on `url`, every camera into `fakesink` (frames depayloaded in wasm). */
function configText(url: string, names: readonly string[]): string {
  return ['defaults:', '  transport: tcp', '  pipeline: "fakesink sync=false"', 'cameras:',
    ...names.flatMap((n) => [`  - name: ${n}`, `    url: "${url}"`]), ''].join('\n');
}

/** Rewrites `file` in one step (write aside, rename), so a reader never sees half a file. */
function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const camName = (i: number) => `cam${String(i).padStart(3, '0')}`;

/** Polls `check` every 100 ms until it returns a value or `timeoutMs` passed. */
async function poll<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(100);
  }
  return undefined;
}

/** How long `count` cameras may take to play on a busy machine. */
const setupTimeoutMs = (count: number) => 30_000 + count * 250;

/** Starts the shared server with a session of the driver's, which prepares the shared media before the command comes. */
async function startServer(): Promise<{ server: RtspTestServer; anchor: RtspClient }> {
  const server = await startRtspServer({ width: ENCODE.width, height: ENCODE.height, framerate: ENCODE.fps, bitrate: ENCODE.bitrateKbps, shared: true, sessionTimeout: 600 });
  const anchor = await RtspClient.open(server.url('/h264'), { transport: 'tcp', receiverReports: false });
  await sleep(1000);
  return { server, anchor };
}

/** Starts the command on `file` and waits until /status shows exactly `names`, every one playing. */
async function startPlaying(file: string, names: readonly string[]): Promise<{ cmd: Command; setupS: number; status: Status }> {
  const t0 = Date.now();
  const cmd = new Command(file);
  const status = await poll(async () => {
    if (cmd.child.exitCode !== null) throw new Error(`the command exited (${cmd.child.exitCode}): ${cmd.stderr().trim().split('\n').slice(-3).join(' | ')}`);
    const s = await cmd.status();
    return s && s.cameras.length === names.length && s.cameras.every((c) => c.state === 'playing') ? s : undefined;
  }, setupTimeoutMs(names.length));
  if (!status) {
    const s = await cmd.status();
    await cmd.stop(3000);
    throw new Error(`not every camera played within ${setupTimeoutMs(names.length) / 1000} s: ${s ? `${s.cameras.filter((c) => c.state === 'playing').length}/${names.length} playing` : 'no /status'}`);
  }
  return { cmd, setupS: (Date.now() - t0) / 1000, status };
}

/** What happened to a set of cameras between two readings: the deltas that must all be 0, and whether they flowed. */
interface Others {
  cameras: number;
  lostBefore: number;
  lostAfter: number;
  lost: number;
  reconnects: number;
  sinceChanged: number;
  /** Cameras whose packet count grew between the readings (all of them, if they kept playing). */
  flowing: number;
  /** Cameras not playing at the second reading. */
  notPlaying: number;
}

function compare(names: readonly string[], s0: Status, p0: Map<string, Progress>, s1: Status, p1: Map<string, Progress>): Others {
  const st0 = new Map(s0.cameras.map((c) => [c.name, c]));
  const st1 = new Map(s1.cameras.map((c) => [c.name, c]));
  const o: Others = { cameras: names.length, lostBefore: 0, lostAfter: 0, lost: 0, reconnects: 0, sinceChanged: 0, flowing: 0, notPlaying: 0 };
  for (const n of names) {
    const a = st0.get(n);
    const b = st1.get(n);
    if (!b || b.state !== 'playing') o.notPlaying++;
    if (a && b) {
      o.reconnects += b.reconnects - a.reconnects;
      if (a.since !== b.since) o.sinceChanged++;
    }
    const pa = p0.get(n);
    const pb = p1.get(n);
    o.lostBefore += pa?.lost ?? 0;
    o.lostAfter += pb?.lost ?? 0;
    if (pa && pb && pb.packets > pa.packets) o.flowing++;
  }
  o.lost = o.lostAfter - o.lostBefore;
  return o;
}

const othersClean = (o: Others) => o.lost === 0 && o.reconnects === 0 && o.sinceChanged === 0 && o.notPlaying === 0 && o.flowing === o.cameras;

function requests(server: RtspTestServer, from: number, method: string): number {
  let n = 0;
  for (let i = from; i < server.events.length; i++) if (server.events[i]!.event === 'request' && server.events[i]!.method === method) n++;
  return n;
}

interface Opts { cameras: number; reloadCameras: number; reloadChange: number; parts: string[]; warmupS: number; settleS: number; out?: string }

async function killPart(o: Opts, dir: string) {
  const { server, anchor } = await startServer();
  const file = join(dir, 'kill.yaml');
  const names = Array.from({ length: o.cameras }, (_, i) => camName(i));
  writeAtomic(file, configText(server.url('/h264'), names));
  let cmd: Command | undefined;
  try {
    const started = await startPlaying(file, names);
    cmd = started.cmd;
    await sleep(o.warmupS * 1000);
    const s0 = (await cmd.status())!;
    const p0 = new Map(cmd.latest);
    // The victim: worker 0, unless the hashing gave it no camera.
    const per = [0, 1].map((w) => s0.cameras.filter((c) => c.worker === w).map((c) => c.name));
    const victim = per[0]!.length > 0 ? 0 : 1;
    const victimCams = per[victim]!;
    const otherCams = per[1 - victim]!;
    const pid = workerPid(cmd.pid, victim);
    const statusPid = s0.workers?.find((w) => w.index === victim)?.pid ?? undefined;
    if (pid === undefined) throw new Error(`no child of the command (pid ${cmd.pid}) runs --worker-of ${victim}/${WORKERS}`);
    if (statusPid !== undefined && statusPid !== pid) throw new Error(`/proc says worker ${victim} is pid ${pid}, /status says ${statusPid}`);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    let newWorkerAnswersS: number | undefined;
    const want = new Set(victimCams);
    const s1 = await poll(async () => {
      const s = await cmd!.status();
      const w = s?.workers?.find((x) => x.index === victim);
      if (newWorkerAnswersS === undefined && w?.pid && w.pid !== pid && w.alive) newWorkerAnswersS = (performance.now() - t0) / 1000;
      if (!s || !w?.pid || w.pid === pid) return undefined;
      const playing = s.cameras.filter((c) => want.has(c.name) && c.state === 'playing').length;
      return playing === want.size ? s : undefined;
    }, setupTimeoutMs(victimCams.length));
    const recoveredS = s1 ? (performance.now() - t0) / 1000 : undefined;
    await sleep(o.settleS * 1000);
    const s2 = (await cmd.status()) ?? { cameras: [] };
    const others = compare(otherCams, s0, p0, s2, new Map(cmd.latest));
    const newPid = workerPid(cmd.pid, victim);
    await cmd.stop();
    return {
      part: 'kill', cameras: o.cameras, workers: WORKERS, setupS: started.setupS, victim: { worker: victim, pid, newPid, cameras: victimCams.length },
      newWorkerAnswersS, recoveredS, others, ok: recoveredS !== undefined && othersClean(others) && otherCams.length > 0,
      exitReason: cmd.summary?.exitReason,
    };
  } finally {
    await cmd?.stop(3000);
    await anchor.close().catch(() => {});
    await server.stop();
  }
}

async function reloadPart(o: Opts, dir: string) {
  const { server, anchor } = await startServer();
  const file = join(dir, 'reload.yaml');
  const names = Array.from({ length: o.reloadCameras }, (_, i) => camName(i));
  const removed = names.slice(0, o.reloadChange);
  const kept = names.slice(o.reloadChange);
  const added = Array.from({ length: o.reloadChange }, (_, i) => camName(o.reloadCameras + i));
  writeAtomic(file, configText(server.url('/h264'), names));
  let cmd: Command | undefined;
  try {
    const started = await startPlaying(file, names);
    cmd = started.cmd;
    await sleep(o.warmupS * 1000);
    const s0 = (await cmd.status())!;
    const p0 = new Map(cmd.latest);
    writeAtomic(file, configText(server.url('/h264'), [...kept, ...added]));
    const from = server.events.length;
    const errFrom = cmd.stderr().length;
    const t0 = performance.now();
    process.kill(cmd.pid, 'SIGHUP');
    const gone = new Set(removed);
    const want = new Set(added);
    const s1 = await poll(async () => {
      const s = await cmd!.status();
      if (!s || s.cameras.some((c) => gone.has(c.name))) return undefined;
      return s.cameras.filter((c) => want.has(c.name) && c.state === 'playing').length === want.size ? s : undefined;
    }, setupTimeoutMs(added.length));
    const reloadedS = s1 ? (performance.now() - t0) / 1000 : undefined;
    await sleep(o.settleS * 1000);
    const s2 = (await cmd.status()) ?? { cameras: [] };
    const others = compare(kept, s0, p0, s2, new Map(cmd.latest));
    const setups = requests(server, from, 'SETUP');
    const teardowns = requests(server, from, 'TEARDOWN');
    // The workers' own reload lines ("SIGHUP: reloaded …: 4 added, 6 removed … (412 ms)").
    const reloadLines = cmd.stderr().slice(Math.max(0, errFrom - 1)).split('\n').filter((l) => /reloaded|reload refused/.test(l)).map((l) => l.replace(/^wasm-rtsp: /, ''));
    await cmd.stop();
    return {
      part: 'reload', cameras: o.reloadCameras, workers: WORKERS, setupS: started.setupS, added: added.length, removed: removed.length,
      reloadedS, setups, teardowns, reloadLines, others,
      ok: reloadedS !== undefined && othersClean(others) && setups === added.length && teardowns === removed.length,
      exitReason: cmd.summary?.exitReason,
    };
  } finally {
    await cmd?.stop(3000);
    await anchor.close().catch(() => {});
    await server.stop();
  }
}

function options(argv: string[]): Opts | 'help' {
  const { values: v } = parseArgs({
    args: argv, strict: true,
    options: {
      cameras: { type: 'string' }, 'reload-cameras': { type: 'string' }, 'reload-change': { type: 'string' }, parts: { type: 'string' },
      warmup: { type: 'string' }, settle: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (v.help) return 'help';
  const int = (text: string | undefined, fallback: number, name: string, min: number) => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes an integer ≥ ${min}, not ${text}`);
    return n;
  };
  const secs = (text: string | undefined, fallback: number, name: string) => {
    const n = text === undefined ? fallback : Number(text);
    if (!(n >= 0)) throw new Error(`--${name} takes seconds ≥ 0, not ${text}`);
    return n;
  };
  const parts = (v.parts ?? 'kill,reload').split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0 || parts.some((p) => p !== 'kill' && p !== 'reload')) throw new Error(`--parts takes kill,reload, not ${v.parts}`);
  const o: Opts = {
    cameras: int(v.cameras, 16, 'cameras', 2), reloadCameras: int(v['reload-cameras'], 100, 'reload-cameras', 2),
    reloadChange: int(v['reload-change'], 10, 'reload-change', 1), parts, warmupS: secs(v.warmup, 3, 'warmup'), settleS: secs(v.settle, 5, 'settle'), out: v.out,
  };
  if (o.reloadChange >= o.reloadCameras) throw new Error('--reload-change must leave some cameras unchanged (less than --reload-cameras)');
  return o;
}

async function main(): Promise<void> {
  let o: Opts | 'help';
  try {
    o = options(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (o === 'help') {
    console.log(USAGE);
    return;
  }
  const started = Date.now();
  console.log(`workers_perf: --workers ${WORKERS}, parts ${o.parts.join(', ')}; kill: ${o.cameras} cameras; reload: ${o.reloadCameras} cameras, ` +
    `−${o.reloadChange} +${o.reloadChange}; ${o.warmupS} s warm-up, ${o.settleS} s settle; encode ${ENCODE.width}x${ENCODE.height} ${ENCODE.fps} fps`);
  const dir = mkdtempSync(join(tmpdir(), 'workers-perf-'));
  const results: Array<Record<string, unknown>> = [];
  try {
    if (o.parts.includes('kill')) {
      const r = await killPart(o, dir).catch((e: Error) => ({ part: 'kill', cameras: o.cameras, error: e.message.split('\n')[0]!.slice(0, 300), ok: false }));
      results.push(r);
      console.log(`kill: ${JSON.stringify(r)}`);
    }
    if (o.parts.includes('reload')) {
      const r = await reloadPart(o, dir).catch((e: Error) => ({ part: 'reload', cameras: o.reloadCameras, error: e.message.split('\n')[0]!.slice(0, 300), ok: false }));
      results.push(r);
      console.log(`reload: ${JSON.stringify(r)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [['part', 'cameras', 'event', 'back in s', 'others', 'others lost', 'others reconnects', 'others since changed', 'others flowing', 'server SETUP/TEARDOWN', 'verdict']];
  for (const r of results as Array<Record<string, any>>) {
    if (r.error) {
      rows.push([r.part, String(r.cameras), 'error', r.error.slice(0, 60), '', '', '', '', '', '', 'FAIL']);
      continue;
    }
    const x = r.others as Others;
    const event = r.part === 'kill'
      ? `SIGKILL worker ${r.victim.worker} (${r.victim.cameras} cameras); new worker answered /status at ${fmt(r.newWorkerAnswersS, 2)} s`
      : `SIGHUP −${r.removed} +${r.added}`;
    rows.push([r.part, String(r.cameras), event, fmt(r.part === 'kill' ? r.recoveredS : r.reloadedS, 2), String(x.cameras), String(x.lost),
      String(x.reconnects), String(x.sinceChanged), `${x.flowing}/${x.cameras}`, r.part === 'reload' ? `${r.setups}/${r.teardowns}` : '', r.ok ? 'ok' : 'FAIL']);
  }
  console.log(`\n${table(rows)}`);
  console.log('back in s: kill — until every camera of the killed worker plays again (/status); reload — until every added camera ' +
    'plays and every removed one is gone. others: the other worker\'s cameras (kill) or the unchanged ones (reload); lost, ' +
    'reconnects and since changes between before the event and the settle; all must be 0, and every one must have flowed.');
  for (const r of results as Array<Record<string, any>>) for (const l of r.reloadLines ?? []) console.log(`  ${l}`);
  const seconds = (Date.now() - started) / 1000;
  const file = o.out ?? `${ROOT}bench/results/workers_perf.json`;
  writeFileSync(file, `${JSON.stringify({
    suite: 'workers_perf', date: new Date(started).toISOString(), durationSeconds: Math.round(seconds), machine: machine(), encode: ENCODE,
    options: { ...o, out: undefined, workers: WORKERS }, results, ok: results.every((r) => r.ok),
  }, null, 2)}\n`);
  console.log(`wrote ${file} (${seconds.toFixed(0)} s)`);
  if (!results.every((r) => r.ok)) process.exitCode = 1;
}

main().then(() => process.exit(process.exitCode ?? 0), (e) => {
  console.error(e);
  process.exit(1);
});
