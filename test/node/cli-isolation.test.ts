// One camera whose branch GStreamer refuses fails alone (issue 15 item 7, issue 14 item 5): the other cameras of its
// pipeline keep playing. The built CLI (dist/node/cli/index.js) runs in a child process with a --config file, against
// GStreamer's RTSP server on 127.0.0.1, into real GStreamer pipelines.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
let server: RtspTestServer;
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-cli-isolation-'));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  server = await startRtspServer({ width: 160, height: 120, framerate: 15, sessionTimeout: 10 });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });
}

/** A config file: camera `good` with the default decode tail, camera `bad` with `badTail` as its pipeline. */
function config(name: string, badTail: string, good = 1): string {
  const file = join(tmp, `${name}.yaml`);
  const goods = Array.from({ length: good }, (_, i) => `  - name: good${i}\n    url: ${server.url('/h264')}\n`).join('');
  writeFileSync(file, `defaults:\n  timeout: 10s\ncameras:\n${goods}  - name: bad\n    url: ${server.url('/h264')}\n` +
    `    pipeline: ${JSON.stringify(badTail)}\n`);
  return file;
}

interface SummaryCamera { name: string; state: string; played: boolean; pipeline?: number; error?: { code: string; camera?: string; message: string } }
interface SummaryStream { camera: string; sinkBuffers?: number; pushed: number }

async function waitUntil<T>(get: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a camera GStreamer refuses fails alone', () => {
  it('at build time: its branch is left out of the pipeline, the other camera plays, exit 0', async () => {
    const r = await cli(['--config', config('build', 'nosuchelement_wasm_rtsp ! fakesink'), '--duration', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/bad: GStreamer: GStreamer refused the branch of bad video0: .*nosuchelement_wasm_rtsp.* \[GST_LAUNCH\]/);
    const summary = JSON.parse(r.stdout) as { exitReason: string; cameras: SummaryCamera[]; streams: SummaryStream[]; sinks?: unknown[] };
    expect(summary.exitReason).toBe('duration');
    const [good, bad] = summary.cameras;
    expect(good).toMatchObject({ name: 'good0', state: 'stopped', played: true, pipeline: 0 });
    expect(good!.error).toBeUndefined();
    expect(bad).toMatchObject({ name: 'bad', state: 'failed', error: { code: 'GST_LAUNCH', camera: 'bad' } });
    expect(bad!.pipeline).toBeUndefined(); // its branch is in no pipeline
    expect(summary.sinks).toBeUndefined(); // one pipeline, for the good camera only
    const stream = summary.streams.find((s) => s.camera === 'good0')!;
    expect(stream.sinkBuffers).toBeGreaterThan(10);
  });

  it('at build time with every camera refused: exit 4, as before', async () => {
    const file = join(tmp, 'all-bad.yaml');
    writeFileSync(file, `defaults:\n  pipeline: "nosuchelement_wasm_rtsp ! fakesink"\ncameras:\n` +
      ['a', 'b'].map((n) => `  - name: ${n}\n    url: ${server.url('/h264')}\n`).join(''));
    const r = await cli(['--config', file, '--duration', '10', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const summary = JSON.parse(r.stdout) as { exitReason: string; error: { code: string; camera: string }; cameras: SummaryCamera[] };
    expect(summary.exitReason).toBe('gstreamer-error');
    expect(summary.error).toMatchObject({ code: 'GST_LAUNCH', camera: 'a' });
    expect(summary.cameras.map((c) => c.state)).toEqual(['failed', 'failed']);
  });

  it('at run time: the shared pipeline is rebuilt without it, the others keep playing, /status names it', async () => {
    // caps=audio/x-raw cannot take H.264: the bad camera's appsrc fails negotiation on its first buffer (bus ERROR).
    const file = config('run', 'capsfilter caps=audio/x-raw ! fakesink', 2);
    const child = spawn(process.execPath, [CLI, '--config', file, '--metrics-port', '0', '--json', '--json-progress'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const framesOf = (name: string) => stdout.split('\n').filter((l) => l.startsWith('{"type":"progress"'))
      .map((l) => JSON.parse(l) as { camera: string; frames?: number }).filter((p) => p.camera === name).at(-1)?.frames ?? 0;
    try {
      const port = await waitUntil(async () => /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 20_000, 'the metrics port');
      type Status = { cameras: Array<{ name: string; state: string; lastError: { code: string; message: string } | null }> };
      const status = await waitUntil(async () => {
        const s = await (await fetch(`http://127.0.0.1:${port}/status`)).json() as Status;
        return s.cameras.find((c) => c.name === 'bad')?.state === 'failed' ? s : undefined;
      }, 30_000, 'the bad camera failed in /status');
      expect(status.cameras.find((c) => c.name === 'bad')!.lastError).toMatchObject({ code: 'GST_PIPELINE_ERROR' });
      expect(status.cameras.find((c) => c.name === 'bad')!.lastError!.message).toMatch(/^video0: .*not-negotiated/);
      expect(status.cameras.filter((c) => c.name !== 'bad').map((c) => c.state)).toEqual(['playing', 'playing']);
      expect(stderr).toMatch(/2 other cameras of its pipeline go on in a new one: good0, good1/);
      // Frames keep growing after the failure, for both good cameras.
      const before = [framesOf('good0'), framesOf('good1')];
      await waitUntil(async () => (framesOf('good0') > before[0]! + 15 && framesOf('good1') > before[1]! + 15 ? true : undefined),
        30_000, 'the good cameras decoding in the new pipeline');
      child.kill('SIGINT');
      expect(await exit, stderr).toBe(0);
      const summary = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"type":"summary"'))!) as
        { cameras: SummaryCamera[]; streams: SummaryStream[]; sinks: unknown[] };
      expect(summary.sinks).toHaveLength(2);
      const byName = Object.fromEntries(summary.cameras.map((c) => [c.name, c]));
      expect(byName.bad).toMatchObject({ state: 'failed', pipeline: 0, error: { code: 'GST_PIPELINE_ERROR', camera: 'bad' } });
      expect(byName.good0).toMatchObject({ state: 'stopped', pipeline: 1 });
      expect(byName.good1).toMatchObject({ state: 'stopped', pipeline: 1 });
      for (const name of ['good0', 'good1']) {
        const st = summary.streams.find((s) => s.camera === name)!;
        expect(st.sinkBuffers).toBeGreaterThan(10);
        // Counted over both pipelines the camera fed: what reached the sink was pushed.
        expect(st.pushed).toBeGreaterThanOrEqual(st.sinkBuffers!);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
