// `wasm-rtsp relay` as a user runs it: the built command (dist/node/cli/index.js) against the GStreamer test server, a
// WebSocket client reading one camera, and the JSON summary at the end (stdout holds only JSON with --json; the
// "open …" line is on stderr). The login options and the refusal to listen off loopback without one. Needs
// `npm run build` first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { basic, getRequest, rawExchange } from './relay-raw.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
/** Bound of the command's whole run. */
const RUN_TIMEOUT_MS = 60_000;

let rtsp: RtspTestServer;

/** Runs the command; `onLine` sees stderr (where the "open …" line is) line by line while it runs. */
function runCli(args: string[], onLine: (line: string) => void = () => {}, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const clean = { ...process.env };
    delete clean.WASM_RTSP_RELAY_AUTH;
    delete clean.WASM_RTSP_RELAY_TOKEN;
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...clean, ...env } });
    let out = '';
    let err = '';
    let pending = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`relay did not exit in ${RUN_TIMEOUT_MS} ms: ${err}`)); }, RUN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      pending += s;
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

beforeAll(async () => {
  rtsp = await startRtspServer({ sessionTimeout: 60 });
}, 30_000);

afterAll(async () => {
  await rtsp?.stop();
});

describe('wasm-rtsp relay (the command)', () => {
  it('serves a camera over WebSocket: describe, then interleaved RTP; --json summarizes what this client got', async () => {
    let received: Promise<{ describe: any; binary: Buffer }> | undefined;
    const run = runCli(['relay', rtsp.url('/h264'), '--port', '0', '--duration', '6', '--json'], (line) => {
      const m = /open (http:\/\/\S+) \(1 camera\)/.exec(line);
      if (!m || received) return;
      const ws = new WebSocket(`${m[1].replace('http:', 'ws:')}ws/0`);
      received = new Promise((ok, fail) => {
        let describe: any;
        ws.on('message', (data: Buffer, binary) => {
          if (!binary) describe ??= JSON.parse(String(data));
          else if (describe) ok({ describe, binary: data }); // the socket stays open: the summary counts it
          else fail(new Error('binary before describe'));
        });
        ws.on('error', fail);
      });
    });
    const { code, out, err } = await run;
    expect(code, err).toBe(0);
    expect(received, `no "open http://…" line in: ${err}`).toBeDefined();
    const { describe, binary } = await received!;
    expect(describe).toMatchObject({ type: 'describe', version: 1, camera: 0, url: rtsp.url('/h264') });
    expect(describe.streams[0]).toMatchObject({ encodingName: 'H264', channel: 0, clockRate: 90000 });
    // One access unit: interleaved frames back to back, each '$', channel 0, length, an RTP version-2 packet.
    let at = 0;
    const nalTypes = new Set<number>();
    while (at < binary.length) {
      expect(binary[at]).toBe(0x24);
      expect(binary[at + 1]).toBe(0);
      expect(binary[at + 4] >> 6).toBe(2);
      const length = binary.readUInt16BE(at + 2);
      const payload = binary.subarray(at + 4 + 12, at + 4 + length); // x264's packets: no CSRC, no extension
      const type = payload[0] & 0x1f;
      if (type === 28) nalTypes.add(payload[1] & 0x1f); //            FU-A: the fragment's type
      else if (type === 24) { //                                       STAP-A: each aggregated NAL's type
        for (let i = 1; i + 2 < payload.length; i += 2 + payload.readUInt16BE(i)) nalTypes.add(payload[i + 2] & 0x1f);
      } else nalTypes.add(type);
      at += 4 + length;
    }
    expect(at).toBe(binary.length);
    // The first unit a new client gets is a keyframe: it carries an IDR slice (5), after AUD (9) / SPS (7) / PPS (8).
    expect([...nalTypes]).toContain(5);
    // stdout is the JSON summary and nothing else (issue 15: the "open" line came first and broke the parse).
    const summary = JSON.parse(out);
    expect(err).toMatch(/wasm-rtsp relay: open http:\/\/127\.0\.0\.1:\d+\/ \(1 camera\)/);
    expect(summary.requests).toMatchObject({ requests: 1, badRequest: 0, handlerErrors: 0 });
    expect(summary.cameras[0]).toMatchObject({ index: 0, state: 'playing', url: rtsp.url('/h264') });
    expect(summary.cameras[0].clients[0].accessUnitsSent).toBeGreaterThan(0);
    expect(summary.cameras[0].streams[0].keyframes).toBeGreaterThanOrEqual(1);
  }, RUN_TIMEOUT_MS + 5_000);

  it('without a URL: exit code 2 and the usage', async () => {
    const { code, err } = await runCli(['relay']);
    expect(code).toBe(2);
    expect(err).toContain('give at least one rtsp:// URL');
    expect(err).toContain('usage: wasm-rtsp relay');
  });

  it('credentials in a camera URL never reach the browser or the output', async () => {
    const withCredentials = rtsp.url('/h264').replace('rtsp://', 'rtsp://someone:s3cret@');
    let describeText = '';
    let done: Promise<void> | undefined;
    const { code, out, err } = await runCli(['relay', withCredentials, '--port', '0', '--duration', '3', '--json'], (line) => {
      const m = /open (http:\/\/\S+) /.exec(line);
      if (!m || done) return;
      const ws = new WebSocket(`${m[1].replace('http:', 'ws:')}ws/0`);
      done = new Promise((ok) => {
        ws.once('message', (data) => { describeText = String(data); ws.close(); ok(); });
        ws.once('error', () => ok());
      });
    });
    await done;
    expect(code, err).toBe(0);
    expect(describeText).toContain('"type":"describe"');
    for (const text of [describeText, out, err]) expect(text).not.toContain('s3cret');
  }, RUN_TIMEOUT_MS + 5_000);
});

describe('wasm-rtsp relay: exposure and login', () => {
  const NO_CAMERA = 'rtsp://127.0.0.1:1/none';
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-relay-login-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--host 0.0.0.0 without a login: exit code 2, a clear message, and with --json only a JSON error on stdout', async () => {
    const { code, out, err } = await runCli(['relay', NO_CAMERA, '--port', '0', '--host', '0.0.0.0', '--json']);
    expect(code).toBe(2);
    expect(err).toContain('opens the cameras to the network');
    expect(err).toContain('--auth');
    expect(JSON.parse(out)).toMatchObject({ exitCode: 2, error: { code: 'AUTH_REQUIRED' } });
  });

  /** Starts the relay on 0.0.0.0 with `args`, asks GET /cameras.json with and without `authorization`, stops it. */
  async function loginRun(args: string[], authorization: string, env: NodeJS.ProcessEnv = {}) {
    let checked: Promise<[number | undefined, number | undefined]> | undefined;
    const run = runCli(['relay', NO_CAMERA, '--port', '0', '--host', '0.0.0.0', '--duration', '3', '--json', ...args], (line) => {
      const m = /open https?:\/\/[^:]+:(\d+)\//.exec(line);
      if (!m || checked) return;
      const port = Number(m[1]);
      const host = `127.0.0.1:${port}`;
      checked = Promise.all([
        rawExchange(port, getRequest('/cameras.json', { Host: host })).then((a) => a.status),
        rawExchange(port, getRequest('/cameras.json', { Host: host, Authorization: authorization })).then((a) => a.status),
      ]);
    }, env);
    const { code, out, err } = await run;
    expect(code, err).toBe(0);
    expect(checked, err).toBeDefined();
    expect(await checked).toEqual([401, 200]);
    expect(err).toContain('warning: plain http off loopback');
    expect(JSON.parse(out).requests).toMatchObject({ unauthorized: 1 });
    return err;
  }

  it('the login from --auth-file, from WASM_RTSP_RELAY_AUTH, and a token from --auth-token-file', async () => {
    writeFileSync(join(dir, 'login'), 'viewer:s3cret pass\n');
    writeFileSync(join(dir, 'token'), 'tok-29af\n');
    const outputs = [
      await loginRun(['--auth-file', join(dir, 'login')], basic('viewer', 's3cret pass')),
      await loginRun([], basic('viewer', 'from env'), { WASM_RTSP_RELAY_AUTH: 'viewer:from env' }),
      await loginRun(['--auth-token-file', join(dir, 'token')], 'Bearer tok-29af'),
    ];
    for (const err of outputs) expect(err).not.toMatch(/s3cret|from env|tok-29af/);
  }, 3 * RUN_TIMEOUT_MS);

  it('bad login and TLS options: exit code 2, naming the option, never the secret', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--auth', 'nocolon'], /--auth must be user:password/],
      [['--auth', 'a:b', '--auth-file', join(dir, 'login')], /not both/],
      [['--auth-file', join(dir, 'missing')], /cannot read --auth-file .*ENOENT/],
      [['--tls-cert', join(dir, 'missing.pem')], /give both --tls-cert and --tls-key/],
      [['--tls-cert', join(dir, 'missing.pem'), '--tls-key', join(dir, 'missing.key')], /cannot read --tls-cert .*ENOENT/],
      [['--tls-cert', join(dir, 'login'), '--tls-key', join(dir, 'login')], /TLS certificate or key cannot be used/],
      [['--allow-origin', 'app.example'], /not an origin/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await runCli(['relay', NO_CAMERA, '--port', '0', ...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(err, args.join(' ')).toMatch(message);
      expect(err).not.toContain('s3cret');
    }
  }, 2 * RUN_TIMEOUT_MS);
});
