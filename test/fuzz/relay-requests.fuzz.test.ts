// Fuzzing the relay's HTTP and WebSocket side over raw TCP (issue 15: one request with a bad percent escape or an
// absolute target the URL parser rejected killed the relay). Two relays run as the built command (a child process,
// so a crash is an exit, not an exception vitest might swallow): one on loopback, one on 0.0.0.0 with a login. Each
// run sends arbitrary request lines, targets, headers (Host, Origin, Upgrade, WebSocket keys, Authorization, lengths),
// bodies and byte-level mutations of them, or a valid handshake followed by garbage frames, on loopback.
// Properties: every answer is a well-formed status line below 500, the relay answers or closes within the bound, it
// still serves GET / after each run, and at the end its summary counts no handler error. Needs `npm run build`.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, getRequest, rawExchange, upgradeRequest } from '../browser/relay-raw.js';
import { FUZZ_TEST_TIMEOUT_MS, fuzzAsync, mutateBytes, mutationsArb, summary } from './fuzz.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
/** Bound of a relay's start and of its graceful stop. */
const START_TIMEOUT_MS = 20_000;
/** Bound of one fuzzed exchange: the relay answers or closes a half-closed connection well within it. */
const EXCHANGE_TIMEOUT_MS = 3_000;
const LOGIN = { user: 'viewer', password: 'pw-fuzz' };
/** Stands for the relay's port in generated text (ports are known only at run time). */
const PORT = '{PORT}';

/** A relay running as the built command. */
interface RelayChild { child: ChildProcess; port: number; stderr: () => string; stdout: () => string }

/** Starts `wasm-rtsp relay` on a camera nobody serves; resolves with its port once it prints the "open" line. */
function startRelayChild(extra: string[], env: NodeJS.ProcessEnv = {}): Promise<RelayChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'relay', 'rtsp://127.0.0.1:1/none', '--port', '0', '--json', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let err = '';
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the relay did not start: ${err}`)); }, START_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      const m = /open https?:\/\/\S+:(\d+)\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), stderr: () => err, stdout: () => out });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the relay exited (${code}) before it started: ${err}`)); });
  });
}

/** SIGTERM, then its --json summary. */
async function stopRelayChild(r: RelayChild): Promise<any> {
  if (r.child.exitCode === null) {
    const exited = new Promise<void>((ok) => r.child.once('exit', () => ok()));
    r.child.kill('SIGTERM');
    const timer = setTimeout(() => r.child.kill('SIGKILL'), START_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  return JSON.parse(r.stdout());
}

const tokenChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEF0123456789-._~!$&\'()*+,;=:@/?#[]%\\ \t"<>^`{|}é€\u0000\u007f\r\n');
/** Short text over URL-ish characters plus controls (CR, LF, NUL, DEL) and non-ASCII. */
const smallText = (max: number) => fc.array(tokenChars, { maxLength: max }).map((a) => a.join(''));
/** Short text of characters a request target may hold as they are. */
const urlText = (max: number) => fc.array(fc.constantFrom(...'abcxyzABC0189-._~!$&\'()*+,;=:@%'), { maxLength: max }).map((a) => a.join(''));

const hostArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(`127.0.0.1:${PORT}`, `localhost:${PORT}`) },
  fc.constantFrom(`127.0.0.1:${PORT}`, `localhost:${PORT}`, `[::1]:${PORT}`, '127.0.0.1', 'evil.example', `evil.example:${PORT}`, '',
    '[::1', '127.0.0.1:99999', 'a@b', '0x7f.1', '[fd00::9]', `127.0.0.1:${PORT}/x`, 'xn--nxasmq6b', 'LOCALHOST'),
  smallText(12),
);
const segmentArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', 'ws', '0', '1', '99999999', 'lib', 'browser', 'core', 'relay-view.js', 'index.js', 'wasm-rtsp.wasm',
    'cameras.json', 'index.html', '..', '.', '%2e%2e', '%2f', '%5c', '%00', '%', '%E0%A4%A', '%C3%A9', '%ff', '%%', '?x=1', '#f') },
  fc.array(fc.constantFrom('%', '0', 'a', 'F', 'g', 'E', '9'), { maxLength: 6 }).map((a) => a.join('')),
  { weight: 3, arbitrary: urlText(6) },
  { weight: 1, arbitrary: smallText(6) },
);
const pathArb = fc.array(segmentArb, { maxLength: 5 }).map((s) => '/' + s.join('/'));
const targetArb = fc.oneof(
  { weight: 5, arbitrary: pathArb },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ws://', 'http:/', 'http://u:p@'), hostArb, pathArb).map(([s, h, p]) => s + h + p) },
  { weight: 1, arbitrary: fc.constantFrom('*', '', 'http://[::1', 'http://[', '//', '\\\\', '/%E0%A4%A', '/ws/%E0%A4%A') },
  { weight: 1, arbitrary: smallText(30) },
);
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('websocket', 'WebSocket', 'h2c', 'Upgrade', 'upgrade, keep-alive', 'close', '13', '8', 'dGhlIHNhbXBsZSBub25jZQ==', 'short',
    'permessage-deflate; client_max_window_bits', 'permessage-deflate; server_max_window_bits=0', `http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`,
    'null', 'https://evil.example', basic(LOGIN.user, LOGIN.password), basic(LOGIN.user, 'wrong'), 'Basic', 'Basic !!!', 'Bearer', 'Bearer x y',
    '0', '-1', '5', '99999999999', 'chunked', 'gzip, chunked', '100-continue', 'x'.repeat(300)) },
  hostArb,
  smallText(20),
);
const headerArb = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.constantFrom('Host', 'Origin', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version',
    'Sec-WebSocket-Extensions', 'Sec-WebSocket-Protocol', 'Authorization', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Cookie'), valueArb) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(urlText(10), smallText(10)), smallText(20)) },
);

/** One request: structured, possibly mutated at the byte level, or a good handshake followed by garbage frames. */
const requestArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    // Mostly well-formed around the part being varied, so the runs get past the parser to the guard and handlers.
    method: fc.oneof({ weight: 12, arbitrary: fc.constant('GET') }, fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'get', 'M-SEARCH'), smallText(8)),
    target: targetArb,
    version: fc.oneof({ weight: 12, arbitrary: fc.constant('HTTP/1.1') }, fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '', 'HTTP/0.9', 'http/1.1')),
    eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
    host: fc.option(hostArb, { freq: 8 }), // absent 1 time in 8
    headers: fc.array(headerArb, { maxLength: 6 }),
    body: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, smallText(20)),
    mutations: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, mutationsArb(3)),
  }).map(({ method, target, version, eol, host, headers, body, mutations }) => {
    const all = host === null ? headers : [['Host', host] as [string, string], ...headers];
    const text = `${method} ${target} ${version}${eol}${all.map(([k, v]) => `${k}: ${v}`).join(eol)}${eol}${eol}${body}`;
    return (port: number) => {
      const bytes = Buffer.from(text.replaceAll(PORT, String(port)), 'utf8');
      return mutations ? mutateBytes(bytes, mutations) : bytes;
    };
  }) },
  { weight: 2, arbitrary: fc.record({
    path: fc.constantFrom('/ws/0', '/ws/1', '/ws/00', '/ws/0/', '/ws/%30'),
    host: hostArb,
    origin: fc.option(fc.constantFrom(`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`, `https://127.0.0.1:${PORT}`, 'https://evil.example',
      `http://evil.example:${PORT}`, 'null', 'file://', '', `http://127.0.0.1:${PORT}/path`, 'http://[::1')),
    login: fc.boolean(),
    frames: fc.uint8Array({ maxLength: 64 }),
  }).map(({ path, host, origin, login, frames }) => (port: number) => {
    const headers: Record<string, string> = { Host: host };
    if (origin !== null) headers.Origin = origin;
    if (login) headers.Authorization = basic(LOGIN.user, LOGIN.password);
    const head = upgradeRequest(path, headers).replaceAll(PORT, String(port));
    return Buffer.concat([Buffer.from(head, 'utf8'), frames]); // garbage frames after the handshake
  }) },
);

let plain: RelayChild;
let exposed: RelayChild;

beforeAll(async () => {
  [plain, exposed] = await Promise.all([
    startRelayChild([]),
    startRelayChild(['--host', '0.0.0.0'], { WASM_RTSP_RELAY_AUTH: `${LOGIN.user}:${LOGIN.password}` }),
  ]);
}, START_TIMEOUT_MS + 5_000);

afterAll(async () => {
  for (const r of [plain, exposed]) if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('fuzz: the relay over raw TCP', () => {
  afterAll(() => console.log(summary()));

  it('arbitrary request lines, targets and headers: a status below 500 or a close, and the relay serves on', async () => {
    const statuses = new Map<number, number>();
    let closedWithoutAnswer = 0;
    await fuzzAsync('relay raw requests', 0x5eed_0c15, 1500, fc.asyncProperty(requestArb, fc.boolean(), async (request, toExposed) => {
      const r = toExposed ? exposed : plain;
      const answer = await rawExchange(r.port, request(r.port), { halfClose: true, timeoutMs: EXCHANGE_TIMEOUT_MS });
      expect(answer.timedOut, 'the relay neither answered nor closed').toBe(false);
      if (answer.statusLine === '') closedWithoutAnswer++;
      else {
        expect(answer.statusLine).toMatch(/^HTTP\/1\.1 \d{3} /);
        expect(answer.status).toBeLessThan(500);
        statuses.set(answer.status!, (statuses.get(answer.status!) ?? 0) + 1);
      }
      expect(r.child.exitCode, r.stderr()).toBeNull();
      const headers: Record<string, string> = { Host: `127.0.0.1:${r.port}` };
      if (toExposed) headers.Authorization = basic(LOGIN.user, LOGIN.password);
      const probe = await rawExchange(r.port, getRequest('/cameras.json', headers), { timeoutMs: EXCHANGE_TIMEOUT_MS });
      expect(probe.status, `the relay stopped serving: ${r.stderr()}`).toBe(200);
    }));
    console.log(`relay raw requests: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}, closed without an answer ${closedWithoutAnswer}`);
    // The generators reach the parser's refusals, the guard's refusals and the handlers.
    for (const status of [200, 400, 401, 403, 404]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    const [plainSummary, exposedSummary] = await Promise.all([stopRelayChild(plain), stopRelayChild(exposed)]);
    for (const s of [plainSummary, exposedSummary]) {
      expect(s.requests.handlerErrors).toBe(0);
      expect(s.requests.requests + s.requests.clientErrors).toBeGreaterThan(0);
    }
    expect(exposedSummary.requests.unauthorized).toBeGreaterThan(0);
    expect(plainSummary.requests.forbiddenOrigin + exposedSummary.requests.forbiddenOrigin).toBeGreaterThan(0);
    console.log(`relay summaries: ${JSON.stringify(plainSummary.requests)} ${JSON.stringify(exposedSummary.requests)}`);
  }, FUZZ_TEST_TIMEOUT_MS + 2 * START_TIMEOUT_MS);
});
