// Small helpers the process benches share: the machine, tables, JSON results.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ROOT } from './proc.js';

/** Set BENCH_QUICK=1 for a smoke run (seconds; figures not quotable). */
export const QUICK = process.env.BENCH_QUICK === '1';

/** The machine, named in every results file. */
export function machine() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A text table; the first row is the header, the first column left-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Writes bench/results/<suite>.json (or <suite>.quick.json) and returns the path. */
export function writeResults(suite: string, result: unknown): string {
  const dir = `${ROOT}bench/results/`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${suite}${QUICK ? '.quick' : ''}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** A number with sensible digits ('—' when missing). */
export function fmt(n: number | undefined | null, digits = 2): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  return a >= 1000 ? n.toFixed(0) : a >= 100 ? n.toFixed(Math.min(digits, 1)) : n.toFixed(digits);
}

/** 'met' / 'NOT met' / 'not measured'. */
export function verdict(met: boolean | undefined): string {
  return met === undefined ? 'not measured' : met ? 'met' : 'NOT met';
}
