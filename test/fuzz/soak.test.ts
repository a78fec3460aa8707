// The fault soak (scripts/soak-faults.ts) in CI: a ~5 s run must survive every scenario without a leak (exit 0), and a
// run with a leak injected on purpose must be caught (exit 1, the pool, wasm memory and timer leaks reported) — so the
// leak checks are known to be able to fail.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Generous: a 5 s soak finishes at least one full round (about 5 s) even on a loaded machine. */
const RUN_TIMEOUT_MS = 150_000;

interface SoakRow { name: string; runs: number; survived: number; hung: number; poolLeaks: number; memoryLeaks: number; handleLeaks: number; failures: string[] }
interface SoakReport { rounds: number; ok: boolean; scenarios: SoakRow[] }

function soak(args: string[]): Promise<{ code: number | null; report: SoakReport; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/soak-faults.ts', '--json', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`soak did not finish within ${RUN_TIMEOUT_MS} ms\n${err}`)); }, RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(out) as SoakReport, stderr: err });
      } catch (e) {
        reject(new Error(`soak printed no JSON report (exit ${code}): ${out}\n${err}`, { cause: e }));
      }
    });
  });
}

describe('soak:faults', () => {
  it('a 5 s soak survives every scenario, hangs nowhere and leaks nothing (exit 0)', async () => {
    const { code, report, stderr } = await soak(['--seconds', '5']);
    const problems = report.scenarios.filter((r) => r.failures.length > 0).map((r) => `${r.name}: ${r.failures.join('; ')}`);
    expect(problems, stderr).toEqual([]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
    expect(report.rounds).toBeGreaterThanOrEqual(1);
    expect(report.scenarios.map((r) => r.name)).toEqual(expect.arrayContaining([
      'reset-mid-frame', 'stalled-describe', 'stalled-stream', '454-on-keepalive', 'endless-headers', 'endless-body',
      'oversized-lengths', 'ssrc-change', 'seq-ts-wrap', 'garbage-between-frames', 'frames-reset-mid-unit', 'frames-bad-sprop', 'udp-reorder-wrap',
    ]));
    for (const r of report.scenarios) expect(r.runs, r.name).toBeGreaterThanOrEqual(1);
  }, RUN_TIMEOUT_MS + 10_000);

  it('a leak injected on purpose is reported and fails the run (exit 1)', async () => {
    const { code, report } = await soak(['--seconds', '1', '--only', 'injected-leak', '--inject-leak']);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const row = report.scenarios.find((r) => r.name === 'injected-leak')!;
    expect([row.poolLeaks, row.memoryLeaks, row.handleLeaks]).toEqual([1, 1, 1]);
  }, RUN_TIMEOUT_MS + 10_000);
});
