// Process readings shared by the ingest, streams and soak benches: CPU, memory and threads of a process from
// /proc (Linux), child processes started with a line-based JSON protocol, and the bench children bundled with esbuild
// so they run under plain `node` (no tsx loader thread, hooks or transform cache in the figures).

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ → ../../). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the bundled children go (build/ is git-ignored). */
export const CHILD_DIR = `${ROOT}build/bench/`;
/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU (user + system, all threads, exited ones included) of a process from /proc/<pid>/stat, in µs (10 ms steps). */
export function procCpuUs(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which may hold spaces: ") state ppid … utime(14) stime(15)".
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * CPU per thread of a process: thread name → ms on a CPU, from /proc/<pid>/task/<tid>/schedstat (the scheduler's
 * exact run time; the tick-sampled utime/stime of a thread miss short bursts). Threads of one name (V8 workers,
 * libuv workers) are summed; the main thread is listed as '<name> (main)'.
 */
export function threadCpuMs(pid: number | 'self'): Map<string, number> {
  const out = new Map<string, number>();
  const self = String(pid === 'self' ? process.pid : pid);
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      const key = tid === self ? `${name} (main)` : name;
      out.set(key, (out.get(key) ?? 0) + ns / 1e6);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The difference of two threadCpuMs readings, busiest first (threads gone by the second reading are left out). */
export function threadCpuDelta(a: Map<string, number>, b: Map<string, number>): Array<{ thread: string; ms: number }> {
  return [...b].map(([thread, ms]) => ({ thread, ms: ms - (a.get(thread) ?? 0) }))
    .filter((t) => t.ms >= 0.05).sort((x, y) => y.ms - x.ms);
}

/** `pid` and every process below it (worker processes of `--workers`), from the ppid field of /proc/<n>/stat. */
export function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'latin1');
      parent.set(Number(entry), Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* ended meanwhile */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [child, pp] of parent) if (pp === out[i]) out.push(child);
  return out;
}

/** CPU (µs) of a process tree (see procCpuUs), summed over the processes alive now. */
export function treeCpuUs(pids: readonly number[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const us = procCpuUs(pid);
    if (us === undefined) return undefined;
    sum += us;
  }
  return sum;
}

/** Fields of /proc/<pid>/status in kB (VmRSS, VmHWM, …) or counts (Threads). */
export function procStatus(pid: number | 'self'): { rssKb?: number; hwmKb?: number; threads?: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const field = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), threads: field('Threads') };
  } catch {
    return {};
  }
}

/** Bundles the bench children (TypeScript, importing src/) into build/bench/*.mjs; node_modules stay external. */
export async function bundleChildren(entries: string[]): Promise<Record<string, string>> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: entries.map((e) => `${ROOT}${e}`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: CHILD_DIR,
    outExtension: { '.js': '.mjs' },
    sourcemap: true,
    logLevel: 'warning',
  });
  const out: Record<string, string> = {};
  for (const e of entries) out[e] = `${CHILD_DIR}${e.split('/').pop()!.replace(/\.ts$/, '.mjs')}`;
  return out;
}

/** One JSON line from a child. */
export type ChildEvent = { event: string; [k: string]: unknown };

/** A running bench child: its JSON lines as events, stderr kept, exit awaited. */
export interface BenchChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the first line whose `event` matches (rejects when the child exits first or on timeout). */
  next(event: string, timeoutMs: number): Promise<ChildEvent>;
  /** Resolves once the child exited. */
  readonly exited: Promise<number | null>;
  stderr(): string;
  kill(): void;
}

/** Starts `node [nodeArgs] script` with `arg` as one JSON argument; its stdout must be JSON lines. */
export function startChild(script: string, arg: unknown, nodeArgs: string[] = []): BenchChild {
  const child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(arg)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    err = (err + c).slice(-20_000);
  });
  const lines: ChildEvent[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const ev = JSON.parse(line) as ChildEvent;
      if (ev && typeof ev.event === 'string') {
        // The reading nearest the child's own: taken as the line arrives.
        ev.procCpuUs = procCpuUs(child.pid!);
        lines.push(ev);
      }
    } catch {
      err += `[bench] not JSON: ${line}\n`;
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      done = true;
      for (const w of [...waiters]) w();
      resolve(code);
    });
  });
  return {
    process: child,
    pid: child.pid!,
    exited,
    stderr: () => err,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    next(event, timeoutMs) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`child ${script}: no '${event}' within ${timeoutMs} ms; stderr:\n${err.slice(-3000)}`));
        }, timeoutMs);
        const check = () => {
          for (; seen < lines.length; seen++) {
            const ev = lines[seen]!;
            if (ev.event === 'error') {
              clearTimeout(timer);
              waiters.delete(check);
              reject(new Error(`child ${script}: ${String(ev.message)}`));
              return;
            }
            if (ev.event === event) {
              clearTimeout(timer);
              waiters.delete(check);
              lines.splice(0, seen + 1);
              resolve(ev);
              return;
            }
          }
          if (done) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`child ${script} exited before '${event}'; stderr:\n${err.slice(-3000)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Writes one JSON line on stdout (the child side of the protocol). */
export function say(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** CPU of this process (getrusage: all threads) in µs. */
export function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
