// The `wasm-rtsp` command with many cameras and bad ones among them (issue 8): memory sized for every pool, each
// camera on its own, Ctrl-C at any time, errors that name the camera, --json that says what went wrong. The built
// CLI (dist/node/cli/index.js) runs in a child process against GStreamer's RTSP server on 127.0.0.1, plain TCP servers
// for hangs, and the scripted server for faults.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspServerEvent, type RtspTestServer } from '../server/harness.js';
import { rtpFrames, ScriptedServer } from './rtsp/scripted-server.js';
import { camerasPerCore, parseCommandLine, planCores, poolLimitBytes, UsageError } from '../../src/node/cli/args.js';
import { coreBytesFor } from '../../src/core/media/sizing.js';
import { MAX_MEMORY_BYTES } from '../../src/core/core.js';
import { POOL_MAX_LIMIT_BYTES } from '../../src/core/pool.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
const PASSWORD = 'pa/ss@w:rd';
let common: RtspTestServer;
let authed: RtspTestServer;
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-cli-robust-'));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  [common, authed] = await Promise.all([
    // A pipeline per client (not --shared): gst-rtsp-server's shared media was seen to reset simultaneous first
    // sessions and to abort in gst_rtsp_media_get_rates, taking every later test down; 24 tiny encoders are cheap.
    startRtspServer({ width: 160, height: 120, framerate: 15, sessionTimeout: 10 }),
    startRtspServer({ auth: 'basic', user: 'cam', password: PASSWORD, width: 160, height: 120, sessionTimeout: 10 }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([common?.stop(), authed?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function cli(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: options.timeoutMs ?? 90_000, maxBuffer: 32 << 20, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      });
  });
}

/** Resolves when `cond` holds, polling every 50 ms, or rejects after `timeoutMs`. */
async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
}

describe('memory sizing (unit)', () => {
  it('sizes one core for 24 cameras at the default pool and for one at the largest pool', () => {
    const d = planCores(24, poolLimitBytes(4), 16 * 2 ** 30);
    expect(d.cores).toHaveLength(1);
    expect(d.cores[0]!.memoryBytes).toBe(coreBytesFor({ cameras: 24, poolLimitBytes: 4 << 20 }));
    expect(poolLimitBytes(256)).toBe(POOL_MAX_LIMIT_BYTES);
    expect(POOL_MAX_LIMIT_BYTES).toBe(256 << 20);
    expect(poolLimitBytes(255)).toBe(255 << 20);
    expect(poolLimitBytes(0.0625)).toBe(65536);
    expect(poolLimitBytes(0.1)).toBe(65536); // rounded down to whole 64 KiB slabs, as the pool does
  });

  it('groups cameras into several cores when one 4 GiB memory cannot hold them all', () => {
    const plan = planCores(40, poolLimitBytes(256), 64 * 2 ** 40);
    const perCore = camerasPerCore(poolLimitBytes(256));
    expect(perCore).toBeGreaterThan(1);
    expect(() => coreBytesFor({ cameras: perCore + 1, poolLimitBytes: poolLimitBytes(256) })).toThrow();
    expect(plan.cores).toHaveLength(Math.ceil(40 / perCore));
    expect(plan.cores.reduce((a, c) => a + c.cameras, 0)).toBe(40);
    for (const c of plan.cores) expect(c.memoryBytes).toBeLessThanOrEqual(MAX_MEMORY_BYTES);
  });

  it('refuses what the machine cannot hold, naming --pool-limit', () => {
    let caught: unknown;
    try { planCores(64, poolLimitBytes(256), 8 * 2 ** 30); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).option).toBe('--pool-limit');
    expect((caught as Error).message).toMatch(/--pool-limit/);
  });

  it('applies file and environment credentials only to URLs without their own', () => {
    const file = join(tmp, 'one.txt');
    writeFileSync(file, '# comment\ncam:a/b@c:d\n');
    const args = parseCommandLine(['rtsp://h/s', 'rtsp://x:y@h/t', '--credentials-file', file], {});
    if (typeof args === 'string') throw new Error(args);
    expect(args.urls[0]).toBe('rtsp://cam:a%2Fb%40c%3Ad@h/s');
    expect(args.urls[1]).toBe('rtsp://x:y@h/t');
    const env = parseCommandLine(['rtsp://h/s'], { WASM_RTSP_CREDENTIALS: 'u:p' });
    if (typeof env === 'string') throw new Error(env);
    expect(env.urls[0]).toBe('rtsp://u:p@h/s');
    writeFileSync(file, 'a:1\nb:2\nc:3\n');
    expect(() => parseCommandLine(['rtsp://h/s', 'rtsp://h/t', '--credentials-file', file], {})).toThrow(/one for all URLs or one per URL/);
  });
});

describe('wasm-rtsp with many and bad cameras', () => {
  it('starts 24 cameras at default settings (issue 8: OUT_OF_MEMORY before any traffic)', async () => {
    const urls = Array.from({ length: 24 }, () => common.url('/h264'));
    const r = await cli([...urls, '--duration', '4', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/OUT_OF_MEMORY/);
    const summary = JSON.parse(r.stdout);
    expect(summary.exitCode).toBe(0);
    expect(summary.cameras).toHaveLength(24);
    for (const c of summary.cameras) expect(c.played).toBe(true);
    for (const s of summary.streams) expect(s.received).toBeGreaterThan(0);
  });

  it('plays one camera at --pool-limit 256, the documented maximum (issue 8: BAD_OPTION)', async () => {
    const r = await cli([common.url('/h264'), '--pool-limit', '256', '--duration', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.pools[0].limitBytes).toBe(POOL_MAX_LIMIT_BYTES);
    expect(summary.streams[0].received).toBeGreaterThan(0);
  });

  it('a bad URL exits 2 naming the URL without its password', async () => {
    const r = await cli(['rtsp://admin:hunter2@cam:99999/live', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rtsp:\/\/\*\*\*@cam:99999\/live/);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    const summary = JSON.parse(r.stdout);
    expect(summary.exitCode).toBe(2);
    expect(summary.error.message).toMatch(/port/);
  });

  it('plays with a password holding "/", "@" and ":" unescaped in the URL (issue 8: "port is not a number")', async () => {
    const url = `rtsp://cam:${PASSWORD}@127.0.0.1:${authed.port}/h264`;
    const r = await cli([url, '--duration', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).streams[0].received).toBeGreaterThan(0);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it('takes credentials from --credentials-file and from WASM_RTSP_CREDENTIALS, never from argv', async () => {
    const file = join(tmp, 'creds.txt');
    writeFileSync(file, `cam:${PASSWORD}\n`);
    const viaFile = await cli([authed.url('/h264'), '--credentials-file', file, '--duration', '2', '--json']);
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(JSON.parse(viaFile.stdout).streams[0].received).toBeGreaterThan(0);
    const viaEnv = await cli([authed.url('/h264'), '--duration', '2', '--json'], { env: { WASM_RTSP_CREDENTIALS: `cam:${PASSWORD}` } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout).streams[0].received).toBeGreaterThan(0);
    const wrong = await cli([authed.url('/h264'), '--duration', '2', '--json'], { env: { WASM_RTSP_CREDENTIALS: 'cam:wrong' } });
    expect(wrong.code).toBe(3);
    expect(JSON.parse(wrong.stdout).error.code).toBe('UNAUTHORIZED');
  });

  it('--json carries the error, the camera and the exit code (issue 8: exitReason "done", no error)', async () => {
    const r = await cli([common.url('/nope'), '--duration', '2', '--json']);
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout);
    expect(summary.exitCode).toBe(3);
    expect(summary.exitReason).not.toBe('done');
    expect(summary.error.camera).toBe(common.url('/nope'));
    expect(summary.error.message).toMatch(/404/);
    expect(typeof summary.error.code).toBe('string');
    expect(r.stderr).toMatch(new RegExp(`wasm-rtsp: ${common.url('/nope').replace(/[/.]/g, '\\$&')}: .*404`));
  });

  it('--version prints the version; no arguments print the usage and exit 2', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^wasm-rtsp \d+\.\d+\.\d+/);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/usage: wasm-rtsp/);
  });

  it('Ctrl-C while connecting to a server that never answers exits 0 within 1 s (issue 8: waited for the timeout)', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [CLI, `rtsp://127.0.0.1:${port}/s`, '--timeout', '30', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.on('data', (d) => (stdout += d));
      const exit = exitOf(child);
      await waitUntil(() => sockets.length > 0, 20_000, 'the CLI to connect');
      // The request is out and will never be answered.
      await waitUntil(() => sockets[0]!.bytesRead > 0, 20_000, 'the first request');
      const sent = Date.now();
      child.kill('SIGINT');
      const { code, at } = await exit;
      expect(code).toBe(0);
      expect(at - sent).toBeLessThan(1000);
      expect(JSON.parse(stdout).exitReason).toBe('SIGINT');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('three cameras, one 404 and one killed and restarted mid-run: the others play on, the killed one comes back, every session is torn down', async () => {
    const killable = await startRtspServer({ width: 160, height: 120, sessionTimeout: 10 });
    let restarted: RtspTestServer | undefined;
    const fromCommon = common.events.length;
    const urls = [common.url('/h264'), common.url('/nope'), killable.url('/h264')];
    const child = spawn(process.execPath, [CLI, ...urls, '--json', '--json-progress', '--retry-delay', '0.2', '--retry-max-delay', '1',
      '--timeout', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = exitOf(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const progress = (index: number) => stdout.split('\n').filter((l) => l.startsWith('{"type":"progress"'))
      .map((l) => JSON.parse(l) as { index: number; state: string; packets: number; frames?: number; reconnects: number })
      .filter((p) => p.index === index);
    const last = (index: number) => progress(index).at(-1);
    try {
      await waitUntil(() => (last(0)?.frames ?? 0) > 10 && (last(2)?.frames ?? 0) > 10, 30_000, 'cameras 0 and 2 decoding');
      await killable.stop();
      await waitUntil(() => last(2)?.state === 'reconnecting', 20_000, 'camera 2 to notice the server is gone');
      expect(stderr).toMatch(new RegExp(`${urls[2]!.replace(/[/.]/g, '\\$&')}: reconnecting: `));
      const packets0 = last(0)!.packets;
      const frames2 = last(2)!.frames ?? 0;
      await waitUntil(() => last(0)!.packets > packets0 + 50, 20_000, 'camera 0 to keep playing while camera 2 is down');
      restarted = await startRtspServer({ width: 160, height: 120, sessionTimeout: 10, port: killable.port });
      await restarted.waitFor((e) => e.event === 'request' && e.method === 'PLAY', 30_000);
      await waitUntil(() => last(2)?.state === 'playing' && (last(2)!.frames ?? 0) > frames2 + 10, 30_000,
        'camera 2 to come back into its pipeline branch');
      expect(last(2)!.reconnects).toBeGreaterThanOrEqual(1);
      expect(stderr).toMatch(new RegExp(`${urls[2]!.replace(/[/.]/g, '\\$&')}: reconnected`));
      expect(last(1)!.state).toBe('reconnecting');
      child.kill('SIGINT');
      const { code } = await exit;
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"type":"summary"'))!);
      expect(summary.exitCode).toBe(0);
      expect(summary.cameras.map((c: { played: boolean }) => c.played)).toEqual([true, false, true]);
      expect(summary.cameras[1].error.message).toMatch(/404/);
      // Every session set up on a server still running got its TEARDOWN.
      const tornDown = async (server: RtspTestServer, from: number) => {
        const sessions = server.events.slice(from).filter((e) => e.event === 'session-new').map((e) => e.session);
        expect(sessions.length).toBeGreaterThan(0);
        for (const session of sessions) {
          await server.waitFor((e: RtspServerEvent) => e.event === 'teardown' && e.session === session, 10_000, from);
        }
      };
      await tornDown(common, fromCommon);
      await tornDown(restarted, 0);
    } finally {
      child.kill('SIGKILL');
      await Promise.all([killable.stop(), restarted?.stop()]);
    }
  });

  it('a stream that stalls is noticed without a terminal: reconnect with the reason on stderr, TEARDOWN of the stalled session', async () => {
    // Ten packets after PLAY, then silence on an open connection.
    const server = await ScriptedServer.start({ onPlay: (conn) => conn.send(rtpFrames([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) });
    try {
      const child = spawn(process.execPath, [CLI, server.url('/cam'), '--media-timeout', '1', '--retry-delay', '0.2',
        '--pipeline', 'fakesink name=sink0', '--json-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exit = exitOf(child);
      let stderr = '';
      let stdout = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdout!.on('data', (d) => (stdout += d));
      await waitUntil(() => /reconnecting: stream 0 \(video H264\) received no RTP packet for \d+ ms \[MEDIA_TIMEOUT\]/.test(stderr), 20_000, 'the stall to be reported');
      await waitUntil(() => server.methods().filter((m) => m === 'PLAY').length >= 2, 20_000, 'a second PLAY after the stall');
      expect(server.methods()).toContain('TEARDOWN');
      expect(stdout).toMatch(/"state":"(playing|reconnecting)"/);
      child.kill('SIGTERM');
      expect((await exit).code).toBe(0);
      expect(server.scriptErrors).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('a GStreamer error names the camera and its cause (issue 8: only "Internal data stream error.")', async () => {
    // A tail that cannot take H.264 RTP: caps negotiation fails at the camera's appsrc.
    const r = await cli([common.url('/h264'), '--pipeline', 'capsfilter caps=audio/x-raw ! fakesink name=sink0', '--duration', '5', '--json']);
    expect(r.code).toBe(4);
    const line = r.stderr.split('\n').find((l) => l.includes('GStreamer error'));
    expect(line, r.stderr).toContain(common.url('/h264'));
    expect(line).toMatch(/not-negotiated/);
    const summary = JSON.parse(r.stdout);
    expect(summary.exitCode).toBe(4);
    expect(summary.error).toMatchObject({ code: 'GST_PIPELINE_ERROR', camera: common.url('/h264') });
    expect(summary.error.message).toMatch(/not-negotiated/);
  });

  it('ends on its own, exit 3, when every camera gave up (--retries 0)', async () => {
    const r = await cli([common.url('/nope'), 'rtsp://127.0.0.1:1/x', '--retries', '0', '--json']);
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout);
    expect(summary.exitReason).toBe('cameras-ended');
    expect(summary.cameras.map((c: { state: string }) => c.state)).toEqual(['failed', 'failed']);
    expect(r.stderr).toMatch(/rtsp:\/\/127\.0\.0\.1:1\/x: failed: gave up after 1 attempts/);
  });

  it('a camera that answers after the pipeline started gets a pipeline of its own and plays', async () => {
    // A port with no server yet: the camera keeps failing (connection refused) past --timeout.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const lateUrl = `rtsp://127.0.0.1:${port}/h264`;
    let late: RtspTestServer | undefined;
    const child = spawn(process.execPath, [CLI, common.url('/h264'), lateUrl, '--timeout', '1', '--retry-delay', '0.2',
      '--retry-max-delay', '0.5', '--json', '--json-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = exitOf(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const last = (index: number) => stdout.split('\n').filter((l) => l.startsWith('{"type":"progress"'))
      .map((l) => JSON.parse(l) as { index: number; state: string; frames?: number }).filter((p) => p.index === index).at(-1);
    try {
      await waitUntil(() => (last(0)?.frames ?? 0) > 10, 30_000, 'camera 0 decoding');
      expect(last(1)?.state).toBe('reconnecting');
      expect(last(1)?.frames).toBeUndefined(); // no pipeline yet
      expect(stderr).toMatch(/gets a pipeline of its own when it answers/);
      late = await startRtspServer({ width: 160, height: 120, sessionTimeout: 10, port });
      await waitUntil(() => (last(1)?.frames ?? 0) > 10, 30_000, 'the late camera decoding in its own pipeline');
      child.kill('SIGINT');
      expect((await exit).code, stderr).toBe(0);
      const summary = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"type":"summary"'))!);
      expect(summary.sinks).toHaveLength(2);
      expect(summary.cameras.map((c: { pipeline?: number }) => c.pipeline)).toEqual([0, 1]);
      expect(summary.streams[1].sinkBuffers).toBeGreaterThan(10);
    } finally {
      child.kill('SIGKILL');
      await late?.stop();
    }
  });
});
