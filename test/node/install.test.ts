// The package as an application installs it from npm (issue 15 item 12): `npm pack` of this repository, installed
// into an empty folder (its dependencies, gstreamer-superficial included, come from the registry and the addon is
// compiled there), then the step the README gives: `node node_modules/wasm-rtsp/scripts/patch-gst-binding.mjs`.
// The bug: the script patched the binding's sources and printed "done", but its `npm rebuild` ran in wasm-rtsp's own
// folder, where no binding is, so the addon stayed the same file and kept leaking on every property read. Checked here:
// the unpatched addon leaks (the measurement can see it), the script rebuilds the addon in place (another file, a
// stamp beside it) and says so, RSS stays flat over 100 000 GstSink.stats() reads (each reads appsrc's guint64 queue
// level and the sink's GstStructure `stats`, the two leaking reads), and a second run knows there is nothing to do.
// One install (it takes a minute); nothing is written outside a temp folder (never this repository's node_modules).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const READS = 100_000;
/** Measured on the unpatched addon: ~93 MB per 100 000 reads (≈ 930 B a read). */
const LEAKING_BYTES = 20 << 20;
/** Measured on the patched addon: ~1 MB (allocator noise). */
const FLAT_BYTES = 4 << 20;

function run(command: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 32 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
  });
}

/** The application's probe: RSS growth over `reads` GstSink.stats() calls on a started sink (after a warm-up). */
const PROBE = `
import { createGstSink } from 'wasm-rtsp';
const reads = Number(process.argv[2]);
const sink = createGstSink({ branches: [{ stream: { type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: {} } }] });
sink.start();
const read = (n) => { let seen = 0; for (let i = 0; i < n; i++) { const b = sink.stats().branches[0]; if (b.queuedBytes !== undefined && b.sinkBuffers !== undefined) seen++; } return seen; };
read(10000);
globalThis.gc();
const before = process.memoryUsage().rss;
const seen = read(reads);
globalThis.gc();
const growth = process.memoryUsage().rss - before;
await sink.close();
console.log(JSON.stringify({ reads, seen, rssGrowthBytes: growth }));
`;

it('an application that installs the tarball runs patch-gst-binding.mjs: the addon is rebuilt and RSS stays flat', async () => {
  for (const f of ['dist/node/index.js', 'build/release.wasm']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
  }
  const packed = await run('npm', ['pack', '--pack-destination', tmp, '--silent'], root, 120_000);
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();

  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(app, 'probe.mjs'), PROBE);
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(tmp, tarball!)], app, 600_000);
  expect(installed.code, installed.stderr).toBe(0);
  const binding = join(app, 'node_modules/gstreamer-superficial');
  const addon = join(binding, 'build/Release/gstreamer-superficial.node');
  // The binding is hoisted to the application's node_modules, not under wasm-rtsp's folder (where the old rebuild ran).
  expect(existsSync(addon)).toBe(true);
  expect(existsSync(join(app, 'node_modules/wasm-rtsp/node_modules/gstreamer-superficial'))).toBe(false);
  const hash = () => createHash('sha256').update(readFileSync(addon)).digest('hex');
  const unpatched = hash();

  const probe = async () => {
    const r = await run(process.execPath, ['--expose-gc', 'probe.mjs', String(READS)], app, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { reads: number; seen: number; rssGrowthBytes: number };
    expect(out.seen).toBe(READS); // every read got the queue level and the sink's counter: the leaking paths ran
    return out.rssGrowthBytes;
  };
  const leaking = await probe();
  expect(leaking).toBeGreaterThan(LEAKING_BYTES);

  const patched = await run(process.execPath, ['node_modules/wasm-rtsp/scripts/patch-gst-binding.mjs'], app, 600_000);
  expect(patched.code, patched.stderr).toBe(0);
  expect(patched.stdout).toMatch(/patch-gst-binding: done/);
  expect(hash()).not.toBe(unpatched);
  expect(JSON.parse(readFileSync(join(binding, 'build/Release/wasm-rtsp-patched.json'), 'utf8')).sha256).toBe(hash());
  expect(readFileSync(join(binding, 'GObjectWrap.cpp'), 'utf8')).toContain('g_value_unset(&gv)');
  // The buffer-list methods GstSink stages frames with (one wake of appsrc's thread per tick): in the source and built.
  expect(readFileSync(join(binding, 'GObjectWrap.cpp'), 'utf8')).toContain('gst_app_src_push_buffer_list');
  expect(readFileSync(addon).includes(Buffer.from('stage(view[, pts]) takes a Uint8Array'))).toBe(true);

  const flat = await probe();
  expect(flat, `RSS grew by ${flat} bytes over ${READS} reads (unpatched: ${leaking})`).toBeLessThan(FLAT_BYTES);

  const again = await run(process.execPath, ['node_modules/wasm-rtsp/scripts/patch-gst-binding.mjs'], app, 120_000);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toMatch(/already patched and rebuilt/);
}, 900_000);
