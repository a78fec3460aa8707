// `npm run bench`: runs the benchmark suites, prints their tables and writes bench/results/<suite>.json.
// BENCH_QUICK=1 shrinks every suite to a smoke run (seconds; the figures are then too noisy to quote).
// Run it under `tsx --expose-gc` so the allocation figures start from a collected heap (the suite falls back to
// enabling gc at run time through V8's flags when the option is missing).

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runBufferPerf, benchSink, type BufferPerfResult, type Figure, type Target } from './buffer_perf.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** The machine, named in every results file: figures mean nothing without it. */
function machine() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
  };
}

function fmtNs(ns: number | null): string {
  if (ns === null) return '—';
  return ns >= 100 ? ns.toFixed(0) : ns >= 10 ? ns.toFixed(1) : ns.toFixed(2);
}

function fmtRatio(r: number | null): string {
  if (r === null) return '—';
  return r >= 100 ? `${r.toFixed(0)}×` : r >= 10 ? `${r.toFixed(1)}×` : r >= 1 ? `${r.toFixed(2)}×` : `${r.toFixed(3)}×`;
}

function verdict(t: Target | undefined): string {
  if (!t) return '';
  return t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Which target each figure is judged against, for the table's last column. */
const TARGET_OF_FIGURE: Record<string, { target: string; text: string }> = {
  'parse.plain-js': { target: 'parse-vs-plain-js', text: '≥ 2× wasm' },
  'parse.rtp.js': { target: 'parse-vs-rtp.js', text: '≥ 20× wasm' },
  'parse.werift': { target: 'parse-vs-werift', text: '≥ 500× wasm' },
  'pool.wasm-nocopy': { target: 'pool-vs-allocUnsafe', text: '≤ 0.1× allocUnsafe+copy' },
  'pool.wasm-set': { target: 'pool-copy-vs-allocUnsafe', text: '≤ 0.1× allocUnsafe+copy' },
};

function printBufferPerf(r: BufferPerfResult): void {
  const find = (id: string) => r.targets.find((t) => t.id === id);
  for (const group of ['parse', 'pool'] as const) {
    const figures = r.figures.filter((f) => f.group === group);
    const rows = [['' + (group === 'parse' ? 'parse (demux + RTP header), per packet' : 'pool (1400 B packet), per packet'),
      'median ns', 'p75 ns', 'p99 ns', 'samples', `vs ${figures[0].reference}`, 'target', '']];
    for (const f of figures) {
      const t = TARGET_OF_FIGURE[f.id];
      const target = t ? find(t.target) : undefined;
      let extra = '';
      if (t && target) {
        extra = target.measured === null ? verdict(target) : `${fmtRatio(target.measured)} → ${verdict(target)}`;
      }
      rows.push([f.name, f.error ? 'n/a' : fmtNs(f.medianNs), fmtNs(f.p75Ns), fmtNs(f.p99Ns), String(f.samples),
        fmtRatio(f.ratioVsReference), t?.text ?? '', extra]);
    }
    console.log(`\n${table(rows)}`);
    for (const f of figures) if (f.error) console.log(`  n/a ${f.name}: ${f.error}`);
  }
  const rows = [['allocations (demux + parse + pool)', 'packets', 'GCs', 'heap B/packet', 'exact B/packet (no-GC probe)', 'ArrayBuffer B/packet', 'ns/packet']];
  for (const a of r.allocations) {
    rows.push([a.name, a.packets.toLocaleString('en-US'), a.gcs === null ? '—' : String(a.gcs),
      a.heapBytesPerPacket === null ? '—' : a.heapBytesPerPacket.toFixed(2),
      a.probeHeapBytesPerPacket === null ? '—' : `${a.probeHeapBytesPerPacket.toFixed(2)} (${a.probePackets?.toLocaleString('en-US')})`,
      a.arrayBufferBytesPerPacket === null ? '—' : a.arrayBufferBytesPerPacket.toFixed(2), fmtNs(a.nsPerPacket)]);
  }
  console.log(`\n${table(rows)}`);
  for (const a of r.allocations) if (a.error) console.log(`  note ${a.name}: ${a.error}`);
  console.log('\ntargets (goals, not assertions):');
  for (const t of r.targets) {
    const measured = t.measured === null ? 'not measured' : t.id === 'zero-gc' ? `${t.measured} GCs` : fmtRatio(t.measured);
    console.log(`  [${verdict(t).padEnd(12)}] ${t.goal}: ${measured}`);
  }
  const failed = r.checks.filter((c) => !c.ok);
  console.log(`\nchecks: ${r.checks.length - failed.length}/${r.checks.length} passed${failed.length ? ` — FAILED: ${failed.map((c) => c.name).join(', ')}` : ''}`);
}

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const m = machine();
  const started = new Date();
  console.log(`wasm-rtsp benchmarks${quick ? ' (BENCH_QUICK=1: smoke run, figures not quotable)' : ''}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.os}, Node ${m.node}`);
  const result = await runBufferPerf({ quick, log: (line) => console.log(line) });
  printBufferPerf(result);
  const seconds = (Date.now() - started.getTime()) / 1000;
  const out = {
    suite: 'buffer_perf',
    date: started.toISOString(),
    durationSeconds: Math.round(seconds * 10) / 10,
    quick,
    command: process.argv.join(' '),
    machine: m,
    units: 'ns per packet (median, p75, p99 of tinybench samples); ratio = figure median / reference median',
    ...result,
    sink: benchSink() === 0.5 ? 1 : 0, // never true: keeps the timed results observable
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}buffer_perf${quick ? '.quick' : ''}.json`;
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${file} (${seconds.toFixed(1)} s)`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

export type { Figure };
