// Helpers of `npm run bench:fleet` (bench/fleet_perf.ts): its command line, the two processes it measures (the
// `wasm-rtsp` command and one gst-launch-1.0 with a branch per camera) and their --json-progress lines.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ROOT } from './proc.js';

/** What a run measures: frames (the command's default: depayloaded in wasm) or RTP packets (`--rtp`). */
export type FleetMode = 'frame' | 'packet';
/** Who ingests: the command (`node dist/node/cli/index.js`) or one gst-launch-1.0 with N rtspsrc branches. */
export type FleetImpl = 'command' | 'gst-launch';
/**
 * What the command's output is: `pipeline` (--pipeline, the default), `record` (--record-dir: a Recorder per camera,
 * own pipelines, fragmented MP4) or `record+snapshot` (--snapshot-interval too: a JPEG of the latest keyframe).
 */
export type FleetVariant = 'pipeline' | 'record' | 'record+snapshot';

/** The bench's options (`npm run bench:fleet -- --help`). */
export interface FleetOptions {
  counts: number[];
  modes: FleetMode[];
  impls: FleetImpl[];
  warmupS: number;
  windowS: number;
  /** Extra arguments for the command, appended last (e.g. `--workers auto`). */
  extraArgs: string[];
  quick: boolean;
  out?: string;
  /** --record-dir: the command records each camera into `<dir>/<run>/{camera}.mp4` instead of a --pipeline. */
  recordDir?: string;
  /** --snapshot-interval: with --record-dir, a snapshot `<dir>/<run>/{camera}.jpg` this often (seconds). */
  snapshotIntervalS?: number;
  /** The command's output, from --record-dir and --snapshot-interval. */
  variant: FleetVariant;
}

/** The usage text of the bench. */
export const FLEET_USAGE = `npm run bench:fleet -- [options]
  --counts 1,16,64,256   cameras per run (1: 1280x720 30 fps 4 Mbit/s; more: 320x240 30 fps 500 kbit/s)
  --modes frame,packet   frame: the command's default vs rtspsrc ! rtph264depay; packet: --rtp vs rtspsrc ! fakesink
  --impls command,gst-launch
  --warmup S             seconds after every camera played before the window (default 15: past V8's one-off
                         memory-reducer collections ~8 s after start; --quick 2)
  --window S             measured window in seconds (default 15; --quick 5)
  --args '…'             extra arguments for the command, e.g. --args '--workers auto'
  --quick                counts 1,16 and short windows unless given; writes fleet_perf.quick.json
  --out FILE             results file (default bench/results/fleet_perf[.quick].json; with --record-dir
                         fleet_perf.record[+snapshot][.quick].json)
  --record-dir DIR       the command records instead of --pipeline: --record DIR/<run>/{camera}.mp4 (a Recorder per
                         camera; a fresh folder per run, removed after); frame mode only (gst-launch: the same
                         rtspsrc ! rtph264depay ! fakesink reference)
  --snapshot-interval S  with --record-dir: also --snapshot DIR/<run>/{camera}.jpg --snapshot-interval S`;

/** Splits a shell-like argument string on spaces, honouring '…' and "…" quotes (no escapes). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  let current: string | undefined;
  let lastEnd = -1;
  while ((m = re.exec(text))) {
    const piece = m[1] ?? m[2] ?? m[3]!;
    // Adjacent pieces (--pipeline='a b') belong to one argument.
    if (current !== undefined && m.index === lastEnd) current += piece;
    else {
      if (current !== undefined) out.push(current);
      current = piece;
    }
    lastEnd = m.index + m[0].length;
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** Parses the bench's command line; throws with the usage on a bad option. */
export function parseFleetOptions(argv: string[]): FleetOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      counts: { type: 'string' }, modes: { type: 'string' }, impls: { type: 'string' }, warmup: { type: 'string' },
      window: { type: 'string' }, args: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' },
      'record-dir': { type: 'string' }, 'snapshot-interval': { type: 'string' }, help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const list = (text: string | undefined, fallback: string) => (text ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  const counts = list(values.counts, quick ? '1,16' : '1,16,64,256').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--counts takes positive integers, not ${values.counts}`);
  const recordDir = values['record-dir'];
  // The command records frames depayloaded in wasm (--record refuses --rtp): packet mode has no recording variant.
  const modes = list(values.modes, recordDir !== undefined ? 'frame' : 'frame,packet') as FleetMode[];
  if (modes.some((m) => m !== 'frame' && m !== 'packet')) throw new Error(`--modes takes frame,packet, not ${values.modes}`);
  if (recordDir !== undefined && modes.includes('packet')) throw new Error('--record-dir records frames (the command refuses --record with --rtp): use --modes frame');
  if (values['snapshot-interval'] !== undefined && recordDir === undefined) throw new Error('--snapshot-interval needs --record-dir (the command takes --snapshot with --record only)');
  const snapshotIntervalS = values['snapshot-interval'] === undefined ? undefined : Number(values['snapshot-interval']);
  if (snapshotIntervalS !== undefined && !(snapshotIntervalS > 0)) throw new Error(`--snapshot-interval takes seconds > 0, not ${values['snapshot-interval']}`);
  const impls = list(values.impls, 'command,gst-launch') as FleetImpl[];
  if (impls.some((m) => m !== 'command' && m !== 'gst-launch')) throw new Error(`--impls takes command,gst-launch, not ${values.impls}`);
  const seconds = (text: string | undefined, fallback: number, name: string) => {
    const n = text === undefined ? fallback : Number(text);
    if (!(n > 0)) throw new Error(`--${name} takes seconds > 0, not ${text}`);
    return n;
  };
  return {
    counts, modes, impls, quick,
    // 15 s: V8's memory reducer runs full collections (on its worker threads) about 8 s after start, once; a 5 s
    // warm-up put them inside the window (0.29 % of a core of the 1.33 % measured at one camera).
    warmupS: seconds(values.warmup, quick ? 2 : 15, 'warmup'),
    windowS: seconds(values.window, quick ? 5 : 15, 'window'),
    extraArgs: values.args ? splitArgs(values.args) : [],
    out: values.out,
    recordDir, snapshotIntervalS,
    variant: recordDir === undefined ? 'pipeline' : snapshotIntervalS === undefined ? 'record' : 'record+snapshot',
  };
}

/** One --json-progress line of the command (see ProgressLine in src/node/cli/summary.ts). */
export interface ProgressLine {
  type: 'progress';
  t: number;
  index: number;
  state: string;
  packets: number;
  frames?: number;
  lost: number;
  drops: number;
}

/** A measured process: the command or gst-launch, its stdout lines kept (the command's as JSON). */
export interface FleetProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The latest progress line per camera (the command only). */
  readonly latest: Map<number, ProgressLine>;
  /** The command's final summary line (`--json` with `--json-progress`), once it exited. */
  summary?: Record<string, unknown>;
  readonly exited: Promise<number | null>;
  stderr(): string;
  /** SIGINT (the command prints its summary), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The command line of the command for `urls` in `mode` (default options; extra args last); `output` (recording
 * options, see fleetOutputArgs) replaces the --pipeline.
 */
export function commandArgv(urls: string[], mode: FleetMode, extra: string[], output?: string[]): string[] {
  const pipeline = output ?? (mode === 'frame' ? ['--pipeline', 'fakesink sync=false'] : ['--rtp', '--pipeline', 'rtph264depay ! fakesink sync=false']);
  return [`${ROOT}dist/node/cli/index.js`, ...urls, ...pipeline, '--json-progress', '--json', ...extra];
}

/** The recording options of `o`'s variant for a run in `dir` (undefined for the pipeline variant). */
export function fleetOutputArgs(o: Pick<FleetOptions, 'recordDir' | 'snapshotIntervalS'>, dir: string): string[] | undefined {
  if (o.recordDir === undefined) return undefined;
  const args = ['--record', `${dir}/{camera}.mp4`];
  if (o.snapshotIntervalS !== undefined) args.push('--snapshot', `${dir}/{camera}.jpg`, '--snapshot-interval', String(o.snapshotIntervalS));
  return args;
}

/** The gst-launch-1.0 line for `urls` in `mode`: one rtspsrc branch per camera in one pipeline. */
export function gstLaunchArgv(urls: string[], mode: FleetMode): string[] {
  const argv = ['-q'];
  for (const url of urls) {
    argv.push('rtspsrc', `location=${url}`, 'protocols=tcp', '!');
    if (mode === 'frame') argv.push('rtph264depay', '!');
    argv.push('fakesink', 'sync=false');
  }
  return argv;
}

/** Starts the command (`impl` 'command', under this node; recording into `output` if given) or gst-launch-1.0. */
/** Node's own flags for the command from FLEET_NODE_ARGS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'): to profile it. */
function nodeArgs(): string[] {
  return (process.env.FLEET_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

export function startFleetProcess(impl: FleetImpl, urls: string[], mode: FleetMode, extra: string[], output?: string[]): FleetProcess {
  const child = impl === 'command'
    ? spawn(process.execPath, [...nodeArgs(), ...commandArgv(urls, mode, extra, output)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('gst-launch-1.0', gstLaunchArgv(urls, mode), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    err = (err + c).slice(-20_000);
  });
  const latest = new Map<number, ProgressLine>();
  const proc: FleetProcess = {
    child, pid: child.pid!, latest,
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
    stderr: () => err,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (impl !== 'command') return;
    try {
      const o = JSON.parse(line) as { type?: string };
      if (o.type === 'progress') latest.set((o as ProgressLine).index, o as ProgressLine);
      else if (o.type === 'summary') proc.summary = o as Record<string, unknown>;
    } catch {
      err += `[bench] not JSON: ${line.slice(0, 200)}\n`;
    }
  });
  return proc;
}

/** Totals over the cameras' latest progress lines. */
export function progressTotals(latest: Map<number, ProgressLine>): { cameras: number; playing: number; packets: number; lost: number; drops: number } {
  let playing = 0;
  let packets = 0;
  let lost = 0;
  let drops = 0;
  for (const l of latest.values()) {
    if (l.state === 'playing') playing++;
    packets += l.packets;
    lost += l.lost;
    drops += l.drops;
  }
  return { cameras: latest.size, playing, packets, lost, drops };
}
