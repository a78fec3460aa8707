// Fleets in the `wasm-rtsp` command (issue 13): --config, reload without restart (SIGHUP, --watch), --workers with a
// supervisor that restarts a killed worker, --shard, /status, /healthz and /readyz — the built CLI in a child process
// against GStreamer's RTSP server on 127.0.0.1, whose session events say which RTSP sessions were set up and torn down.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspServerEvent, type RtspTestServer } from '../server/harness.js';
import { parseConfig } from '../../src/node/fleet/config.js';
import { filterShard } from '../../src/node/fleet/shard.js';
import { workerOfCamera } from '../../src/node/cli/fleet.js';
import { until } from './until.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
let server: RtspTestServer;
const tmp = mkdtempSync(join(tmpdir(), 'wasm-rtsp-fleet-'));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  // One encoder per mount shared by every client: a dozen cameras cost the machine one stream.
  server = await startRtspServer({ shared: true, width: 160, height: 120, framerate: 15, sessionTimeout: 30 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  port(): Promise<number>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  status(): Promise<Status>;
}

interface CameraStatus {
  name: string; state: string; since: string; reconnects: number; worker: number | null; recording: string | null;
  lastError: { code: string } | null; rates: { packetsPerSecond: number; framesPerSecond: number; bitsPerSecond: number };
}
interface Status { cameras: CameraStatus[]; ready: boolean; playing: number; workers?: Array<{ index: number; pid: number | null; restarts: number }> }

function start(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = () => until('the metrics port', () => Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err)?.[1]) || undefined);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`http://127.0.0.1:${await port()}${path}`, { headers });
    return { status: r.status, text: await r.text() };
  };
  return {
    child, stdout: () => out, stderr: () => err, exited, port, get,
    status: async () => JSON.parse((await get('/status')).text) as Status,
  };
}

/** Stops a run with SIGINT and returns its exit code (SIGKILL after a bound, so a hung run fails the test, not the suite). */
async function stop(cli: Cli): Promise<number | null> {
  if (cli.child.exitCode === null) cli.child.kill('SIGINT');
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 20_000);
  const code = await cli.exited;
  clearTimeout(timer);
  return code;
}

/** Every camera playing in /status, with the names expected. */
async function allPlaying(cli: Cli, names: string[]): Promise<Status> {
  return until(`cameras ${names.join(', ')} playing`, async () => {
    const s = await cli.status();
    const got = s.cameras.map((c) => c.name).sort();
    return JSON.stringify(got) === JSON.stringify([...names].sort()) && s.cameras.every((c) => c.state === 'playing') ? s : undefined;
  }, 30_000);
}

/** The server's sessions set up and torn down since event index `from`. */
function sessionsSince(from: number): { created: string[]; removed: RtspServerEvent[] } {
  const events = server.events.slice(from);
  return {
    created: events.filter((e) => e.event === 'session-new').map((e) => String(e.session)),
    removed: events.filter((e) => e.event === 'session-removed'),
  };
}

function camerasYaml(cameras: Array<{ name: string; extra?: string }>, head = ''): string {
  return `${head}defaults:\n  pipeline: fakesink\n  retryDelay: 200ms\n  timeout: 5s\ncameras:\n` +
    cameras.map((c) => `  - name: ${c.name}\n    url: ${server.url('/h264')}\n${c.extra ?? ''}`).join('');
}

describe('wasm-rtsp --config', () => {
  it('runs a file using every camera option: names everywhere, each camera with its own transport, frames, pipeline, recording and pool', async () => {
    const file = join(tmp, 'every.yaml');
    writeFileSync(join(tmp, 'pw'), 'secret\n');
    mkdirSync(join(tmp, 'rec'), { recursive: true }); // a recording's folder must exist (else exit 2, NO_DIRECTORY)
    writeFileSync(file, `# every camera option the test server can exercise (tls* on a disabled rtsps camera)
metrics:
  port: 0
defaults:
  username: env:FLEET_TEST_USER
  password: file:pw
  timeout: 5s
  mediaTimeout: 4s
  retries: 3
  retryDelay: 300ms
  retryMaxDelay: 2s
  queueLimit: 1MiB
cameras:
  - name: tcp-frames
    url: ${server.url('/h264')}
    transport: tcp
    frames: true
    pipeline: fakesink
    poolLimit: 2
  - name: udp-rtp
    url: ${server.url('/h264')}
    transport: udp
    frames: false
    poolLimit: 1MiB
    queueLimit: 512
    retries: inf
  - name: recorder
    url: ${server.url('/h264')}
    credentials: env:FLEET_TEST_CREDENTIALS
    record: rec/{camera}.mp4
    overwrite: true
  - name: secure
    url: rtsps://127.0.0.1:1/x
    tlsFingerprint: "${'AB:'.repeat(31)}AB"
    tlsCa: pw
    enabled: false
`);
    const cli = start(['--config', file, '--json', '--duration', '4'], { FLEET_TEST_USER: 'viewer', FLEET_TEST_CREDENTIALS: 'rec:pass' });
    const status = await allPlaying(cli, ['tcp-frames', 'udp-rtp', 'recorder']);
    // /status names the file being written once the recorder's first keyframe opened it.
    await until('the recording file in /status', async () =>
      (await cli.status()).cameras.find((c) => c.name === 'recorder')!.recording === join(tmp, 'rec/recorder.mp4') || undefined, 15_000);
    expect(status.cameras.find((c) => c.name === 'tcp-frames')!.recording).toBeNull();
    expect(await cli.exited).toBe(0);
    const summary = JSON.parse(cli.stdout());
    expect(summary.cameras.map((c: { name: string }) => c.name)).toEqual(['tcp-frames', 'udp-rtp', 'recorder']);
    const streamOf = (name: string) => summary.streams.find((s: { camera: string }) => s.camera === name);
    expect(streamOf('tcp-frames').input).toBe('frames');
    expect(streamOf('udp-rtp').input).toBe('packets');
    expect(streamOf('recorder').pushed).toBeGreaterThan(10);
    const pool = (name: string) => summary.pools.find((p: { camera: string }) => p.camera === name).limitBytes;
    expect(pool('tcp-frames')).toBe(2 * 2 ** 20);
    expect(pool('udp-rtp')).toBe(2 ** 20);
    expect(pool('recorder')).toBe(4 * 2 ** 20);
    expect(statSync(join(tmp, 'rec/recorder.mp4')).size).toBeGreaterThan(1000);
    // Credentials reached the server's requests but no output.
    expect(cli.stdout() + cli.stderr()).not.toMatch(/secret|rec:pass/);
    // UDP: the server saw a SETUP with a UDP transport for one session.
    expect(server.events.some((e) => e.event === 'request' && e.method === 'SETUP' && /RTP\/AVP(?!\/TCP)/.test(String(e.transport ?? '')))).toBe(true);
  });

  it('a bad file exits 2 with file:line:column, the key and the camera, and --json lists every issue', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, `cameras:\n  - name: ok\n    url: ${server.url('/h264')}\n  - name: broken\n    url: ${server.url('/h264')}\n    transport: carrier-pigeon\n    retries: -1\n`);
    const cli = start(['--config', file, '--json']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain(`${file}:6:16: cameras[1].transport (camera broken):`);
    expect(cli.stderr()).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7:\\d+: cameras\\[1\\]\\.retries`));
    const out = JSON.parse(cli.stdout());
    expect(out).toMatchObject({ exitCode: 2, exitReason: 'usage', error: { code: 'CONFIG' } });
    expect(out.issues.map((i: { path: string; line: number }) => `${i.path}@${i.line}`)).toEqual(['cameras[1].transport@6', 'cameras[1].retries@7']);
    // A camera option on the command line next to --config is refused, not silently ignored.
    const both = start(['--config', file, '--transport', 'udp']);
    expect(await both.exited).toBe(2);
    expect(both.stderr()).toMatch(/--transport is a camera option: with --config set it in the file/);
  });

  it('reloads without restart: added start, removed stop, changed restart, unchanged keep their RTSP session; a bad file changes nothing', async () => {
    const file = join(tmp, 'reload.yaml');
    writeFileSync(file, camerasYaml([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]));
    const cli = start(['--config', file, '--metrics-port', '0', '--watch']);
    try {
      const before = await allPlaying(cli, ['a', 'b', 'c', 'd']);
      const mark = server.events.length;
      // d removed, e added, c changed (a value of its own), a and b unchanged (moved in the file: still unchanged).
      writeFileSync(file, camerasYaml([{ name: 'e' }, { name: 'b' }, { name: 'c', extra: '    retries: 7\n' }, { name: 'a' }]));
      cli.child.kill('SIGHUP');
      await until('the reload line', () => /reloaded .*: 1 added, 1 removed, 1 changed \(c: retries\), 2 unchanged/.test(cli.stderr()));
      const after = await allPlaying(cli, ['a', 'b', 'c', 'e']);
      const s = await until('the sessions of c (old) and d torn down', () => {
        const x = sessionsSince(mark);
        return x.removed.length >= 2 && x.created.length >= 2 ? x : undefined;
      });
      await sleep(500); // anything more (a reconnect of a or b) would show up now
      const x = sessionsSince(mark);
      expect(x.removed.length, JSON.stringify(x)).toBe(2);
      expect(x.created.length, JSON.stringify(x)).toBe(2);
      expect(s.removed.every((e) => e.reason === 'teardown')).toBe(true);
      for (const name of ['a', 'b']) {
        const was = before.cameras.find((c) => c.name === name)!;
        const now = after.cameras.find((c) => c.name === name)!;
        expect(now.since).toBe(was.since); // same session: it never left 'playing'
        expect(now.reconnects).toBe(0);
      }

      // A broken file: refused with its line, the running set unchanged, no session touched.
      const mark2 = server.events.length;
      writeFileSync(file, camerasYaml([{ name: 'a' }, { name: 'b', extra: '    timeout: soon\n' }]));
      cli.child.kill('SIGHUP');
      await until('the refusal', () => /reload refused/.test(cli.stderr()) && new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: cameras\\[1\\]\\.timeout`).test(cli.stderr()));
      expect((await cli.status()).cameras.map((c) => c.name).sort()).toEqual(['a', 'b', 'c', 'e']);

      // --watch: writing the file is enough.
      writeFileSync(file, camerasYaml([{ name: 'a' }, { name: 'b' }, { name: 'c', extra: '    retries: 7\n' }, { name: 'e' }, { name: 'f' }]));
      await until('the --watch reload', () => /--watch: reloaded .*: 1 added, 0 removed, 0 changed, 4 unchanged/.test(cli.stderr()));
      await allPlaying(cli, ['a', 'b', 'c', 'e', 'f']);
      const y = sessionsSince(mark2);
      expect(y.removed).toEqual([]);
      expect(y.created.length).toBe(1);
    } finally {
      expect(await stop(cli)).toBe(0);
    }
    expect(cli.stderr()).toMatch(/SIGINT: stopping 5 cameras \(5 playing\)/);
  });

  it('--shard keeps only the cameras its shard owns (rendezvous hashing of the names)', async () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    const file = join(tmp, 'shard.yaml');
    writeFileSync(file, camerasYaml(names.map((name) => ({ name }))));
    const config = parseConfig(camerasYaml(names.map((name) => ({ name }))), { source: file });
    for (const [option, env] of [[['--shard', '1/3'], {}], [[], { WASM_RTSP_SHARD: '1/3' }]] as const) {
      const cli = start(['--config', file, '--json', '--duration', '1', ...option], env);
      expect(await cli.exited, cli.stderr()).toBe(0);
      const got = JSON.parse(cli.stdout()).cameras.map((c: { name: string }) => c.name);
      expect(got).toEqual(filterShard(config.cameras, { index: 1, count: 3 }).map((c) => c.name));
      expect(cli.stderr()).toContain(`shard 1/3 (from ${option.length ? '--shard' : 'WASM_RTSP_SHARD'}): ${got.length} camera(s)`);
    }
  });
});

describe('wasm-rtsp /status, /healthz, /readyz', () => {
  it('/status agrees with the server; /readyz waits for every camera (or --ready-min); bad requests get 4xx, never a crash', async () => {
    const file = join(tmp, 'status.yaml');
    writeFileSync(file, camerasYaml([{ name: 'good' }, { name: 'other' }]) +
      `  - name: missing\n    url: ${server.url('/nope')}\n    retryDelay: 100ms\n    retryMaxDelay: 200ms\n`);
    const mark = server.events.length;
    for (const readyMin of [undefined, '1']) {
      const cli = start(['--config', file, '--metrics-port', '0', ...(readyMin ? ['--ready-min', readyMin] : [])]);
      try {
        const s = await until('good and other playing, missing failing', async () => {
          const st = await cli.status();
          const by = Object.fromEntries(st.cameras.map((c) => [c.name, c]));
          return by.good?.state === 'playing' && by.other?.state === 'playing' && by.missing?.lastError && by.good.rates.framesPerSecond > 0 ? st : undefined;
        });
        const missing = s.cameras.find((c) => c.name === 'missing')!;
        expect(missing.state).toMatch(/reconnecting|connecting/);
        expect(missing.lastError!.code).toBe('NOT_FOUND'); // the server's 404
        expect(missing.rates).toEqual({ packetsPerSecond: 0, framesPerSecond: 0, bitsPerSecond: 0 });
        const good = s.cameras.find((c) => c.name === 'good')!;
        // 15 fps from the server: the rate is of that order (a loaded machine may bunch packets).
        expect(good.rates.framesPerSecond).toBeGreaterThan(3);
        expect(good.rates.framesPerSecond).toBeLessThan(40);
        expect(good.rates.bitsPerSecond).toBeGreaterThan(1000);
        expect(good).toMatchObject({ worker: null, recording: null, lastError: null, reconnects: 0 });
        expect(s.playing).toBe(2);
        // The server's view: one live session per playing camera of this run (the 404 never gets one).
        const live = new Set<string>();
        for (const e of server.events.slice(mark)) {
          if (e.event === 'session-new') live.add(String(e.session));
          if (e.event === 'session-removed') live.delete(String(e.session));
        }
        expect(live.size).toBe(2);
        expect((await cli.get('/healthz')).status).toBe(200);
        expect((await cli.get('/readyz')).status).toBe(readyMin ? 200 : 503);
        expect(s.ready).toBe(Boolean(readyMin));
        // Requests that are not ours.
        // DNS rebinding: a page whose name resolves to 127.0.0.1 sends its own name as Host (fetch cannot set Host).
        const port = await cli.port();
        expect(await rawRequest(port, 'GET /status HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 403/);
        expect(await rawRequest(port, `GET /status HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200/);
        expect((await cli.get('/nothing')).status).toBe(404);
        expect((await fetch(`http://127.0.0.1:${await cli.port()}/metrics`, { method: 'POST' })).status).toBe(405);
        expect(await rawRequest(await cli.port(), 'GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
        expect(await rawRequest(await cli.port(), 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
        // Metrics: state, up and failures by reason.
        const metrics = (await cli.get('/metrics')).text;
        expect(metrics).toMatch(/^wasm_rtsp_camera_up\{camera="good"\} 1$/m);
        expect(metrics).toMatch(/^wasm_rtsp_camera_up\{camera="missing"\} 0$/m);
        expect(metrics).toMatch(/^wasm_rtsp_camera_state\{camera="good",state="playing"\} 1$/m);
        expect(metrics).toMatch(/^wasm_rtsp_camera_failures_total\{camera="missing",reason="NOT_FOUND"\} [1-9]\d*$/m);
        expect((await cli.get('/healthz')).status).toBe(200); // still alive after all that
      } finally {
        expect(await stop(cli)).toBe(0);
      }
    }
  });
});

/** Sends raw bytes to the metrics port and returns the first line of the answer. */
async function rawRequest(port: number, text: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (d) => (got += d));
    socket.on('end', () => resolve(got.split('\r\n')[0]!));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(got.split('\r\n')[0]!);
    }, 2000);
  });
}

describe('wasm-rtsp --workers', () => {
  it('spreads cameras over worker processes; a killed worker is restarted with its cameras, the others untouched; one summary and one /metrics', async () => {
    // Names that put two cameras in each of two workers.
    const names: string[] = [];
    for (let i = 0; names.filter((n) => workerOfCamera(n, 2) === 0).length < 2 || names.filter((n) => workerOfCamera(n, 2) === 1).length < 2; i++) {
      const n = `w${i}`;
      if (names.filter((x) => workerOfCamera(x, 2) === workerOfCamera(n, 2)).length < 2) names.push(n);
    }
    const file = join(tmp, 'workers.yaml');
    writeFileSync(file, camerasYaml(names.map((name) => ({ name }))));
    const cli = start(['--config', file, '--workers', '2', '--metrics-port', '0', '--json']);
    let code: number | null = null;
    try {
      const s = await allPlaying(cli, names);
      for (const c of s.cameras) expect(c.worker).toBe(workerOfCamera(c.name, 2));
      const victim = s.workers!.find((w) => w.index === 1)!;
      const survivors = s.cameras.filter((c) => c.worker === 0);
      const mark = server.events.length;
      process.kill(victim.pid!, 'SIGKILL');
      await until('the restart line', () => /worker 1 \(pid \d+, 2 cameras\) died: killed by SIGKILL; restarting it in/.test(cli.stderr()));
      const back = await allPlaying(cli, names);
      expect(back.workers!.find((w) => w.index === 1)).toMatchObject({ restarts: 1 });
      expect(back.workers!.find((w) => w.index === 1)!.pid).not.toBe(victim.pid);
      for (const c of survivors) expect(back.cameras.find((x) => x.name === c.name)!.since).toBe(c.since);
      // The server: the killed worker's two sessions die with their connections (no TEARDOWN); two new ones; nothing else.
      const x = await until('two new sessions', () => (sessionsSince(mark).created.length >= 2 ? sessionsSince(mark) : undefined));
      expect(x.created.length).toBe(2);
      expect(x.removed.filter((e) => e.reason === 'teardown')).toEqual([]);
      const metrics = (await cli.get('/metrics')).text;
      for (const n of names) expect(metrics).toMatch(new RegExp(`^wasm_rtsp_camera_up\\{camera="${n}",worker="${workerOfCamera(n, 2)}"\\} 1$`, 'm'));
      expect(metrics).toMatch(/^wasm_rtsp_worker_restarts_total\{worker="1"\} 1$/m);
      expect(metrics.match(/^# TYPE wasm_rtsp_packets_total counter$/gm)).toHaveLength(1);
      expect((await cli.get('/readyz')).status).toBe(200);
    } finally {
      code = await stop(cli);
    }
    expect(code).toBe(0);
    const summary = JSON.parse(cli.stdout());
    expect(summary.exitReason).toBe('SIGINT');
    expect(summary.cameras.map((c: { name: string }) => c.name).sort()).toEqual([...names].sort());
    expect(summary.workers.map((w: { restarts: number }) => w.restarts)).toEqual([0, 1]);
  });
});

describe('wasm-rtsp stopping', () => {
  it('Ctrl-C before any camera answers says what it stopped, and exits 0', async () => {
    const { createServer } = await import('node:net');
    let connected = false;
    const silent = createServer(() => (connected = true)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const cli = start([`rtsp://127.0.0.1:${port}/x`, '--timeout', '30']);
      // Connected: the command is up, its signal handlers too, and the camera waits for an answer.
      await until('the camera connecting', () => connected);
      expect(await stop(cli)).toBe(0);
      expect(cli.stderr()).toContain(`SIGINT: stopping 1 camera (1 connecting): rtsp://127.0.0.1:${port}/x (connecting)`);
    } finally {
      silent.close();
    }
  });
});
