// Issue 15 ("Safe to expose"), relay findings: a hostile raw-socket client against a running relay. Requests that
// used to kill it (a bad percent escape, an absolute target the URL parser rejects) get 400 and the relay serves on;
// only its own Host and, for WebSockets, its own Origin are accepted (DNS rebinding, cross-site WebSocket hijacking);
// the viewer login (Basic / bearer) guards the page and the upgrade, and is required off loopback. The camera is a
// closed port: these checks need no video, only the relay's HTTP side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, parseHostHeader, parseRequestPath, RelayAccessError } from '../../src/node/relay/guard.js';
import { startRelay, type RelayServer } from '../../src/node/relay/server.js';
import { basic, getRequest, rawExchange, upgradeRequest } from './relay-raw.js';

/** A camera nobody serves: the relay retries it in the background, which these tests do not need. */
const NO_CAMERA = 'rtsp://127.0.0.1:1/none';

let relay: RelayServer;
let own: string;

/** GET / with a good Host answers 200: the relay is still serving. */
async function expectAlive(r: RelayServer = relay): Promise<void> {
  const answer = await rawExchange(r.port, getRequest('/', { Host: `127.0.0.1:${r.port}` }));
  expect(answer.status, 'the relay still answers GET /').toBe(200);
}

beforeAll(async () => {
  relay = await startRelay({ urls: [NO_CAMERA], port: 0 });
  own = `127.0.0.1:${relay.port}`;
});

afterAll(async () => {
  await relay?.close();
});

describe('requests that killed the relay (issue 15, 1–2): 400, and it serves on', () => {
  it.each([
    ['a malformed percent escape', '/%E0%A4%A'],
    ['a malformed escape under /lib/', '/lib/browser/%E0%A4%A.js'],
    ['a lone %', '/%'],
    ['an escaped NUL', '/lib/browser/%00.js'],
    ['an absolute target the URL parser rejects', 'http://[::1'],
    ['an absolute target with a bad port', 'http://127.0.0.1:99999/'],
    ['an asterisk target', '*'],
  ])('GET with %s', async (_what, target) => {
    const before = relay.requests().badRequest;
    const answer = await rawExchange(relay.port, `GET ${target} HTTP/1.1\r\nHost: ${own}\r\nConnection: close\r\n\r\n`);
    expect(answer.status).toBe(400);
    expect(relay.requests().badRequest).toBe(before + 1);
    await expectAlive();
  });

  it.each([
    ['a malformed percent escape', '/ws/%E0%A4%A'],
    ['an absolute target the URL parser rejects', 'http://[::1'],
  ])('a WebSocket upgrade with %s', async (_what, target) => {
    const answer = await rawExchange(relay.port, upgradeRequest(target, { Host: own }));
    expect(answer.status).toBe(400);
    await expectAlive();
  });

  it('a request line the HTTP parser refuses, a header overflow, an unknown upgrade, a reset mid-handshake', async () => {
    expect((await rawExchange(relay.port, 'GARBAGE\r\n\r\n')).status).toBe(400);
    expect((await rawExchange(relay.port, `GET / HTTP/1.1\r\nHost: ${own}\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`)).status).toBe(431);
    expect((await rawExchange(relay.port, `GET /ws/0 HTTP/1.1\r\nHost: ${own}\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n`)).status).toBe(400);
    expect((await rawExchange(relay.port, `POST /ws/0 HTTP/1.1\r\nHost: ${own}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`)).status).toBe(405);
    // A handshake cut off by the client: the socket errors inside the upgrade path.
    const cut = await rawExchange(relay.port, `GET /ws/0 HTTP/1.1\r\nHost: ${own}\r\nUpgrade: websocket\r\nConn`, { timeoutMs: 200 });
    expect(cut.timedOut).toBe(true);
    expect(relay.requests().handlerErrors).toBe(0);
    await expectAlive();
  });

  it('a path that climbs out of /lib/ (plain, escaped, with backslashes) is a 404, not a file', async () => {
    for (const target of ['/lib/browser/../../package.json', '/lib/browser/%2e%2e/%2e%2e/package.json', '/lib/browser/..%2f..%2fpackage.json',
      '/lib/browser/..%5c..%5cpackage.json']) {
      const answer = await rawExchange(relay.port, getRequest(target, { Host: own }));
      expect(answer.status, target).toBe(404);
      expect(answer.body).not.toContain('"name"');
    }
    expect((await rawExchange(relay.port, getRequest('/lib/browser/relay-view.js', { Host: own }))).status).toBe(200);
  });

  it('parseRequestPath: undefined for what does not parse, the decoded path otherwise', () => {
    expect(parseRequestPath('/%E0%A4%A')).toBeUndefined();
    expect(parseRequestPath('http://[::1')).toBeUndefined();
    expect(parseRequestPath('*')).toBeUndefined();
    expect(parseRequestPath('/a%00b')).toBeUndefined();
    expect(parseRequestPath('/ws/0?x=1')).toBe('/ws/0');
    expect(parseRequestPath('http://127.0.0.1:8080/cameras.json')).toBe('/cameras.json');
    expect(parseRequestPath('/caf%C3%A9')).toBe('/café');
  });
});

describe('only its own origin (issue 15, 3): Host and WebSocket Origin', () => {
  it('the reported hijack: Origin https://evil.example + Host evil.example gets 403, no 101, no stream', async () => {
    const answer = await rawExchange(relay.port, upgradeRequest('/ws/0', { Host: `evil.example:${relay.port}`, Origin: 'https://evil.example' }));
    expect(answer.status).toBe(403);
    expect(answer.headers.upgrade).toBeUndefined();
    expect(answer.closedByRelay || answer.status === 403).toBe(true);
  });

  it('a DNS-rebinding page (Host: its own name) cannot read /cameras.json or the page', async () => {
    const before = relay.requests().forbiddenHost;
    for (const path of ['/cameras.json', '/', '/lib/browser/relay-view.js']) {
      const answer = await rawExchange(relay.port, getRequest(path, { Host: `rebind.evil.example:${relay.port}` }));
      expect(answer.status, path).toBe(403);
      expect(answer.body).not.toContain('rtsp://');
    }
    expect(relay.requests().forbiddenHost).toBe(before + 3);
    // Without Host at all (HTTP/1.0): 400.
    expect((await rawExchange(relay.port, 'GET /cameras.json HTTP/1.0\r\n\r\n')).status).toBe(400);
  });

  it('a foreign Origin with the right Host (a page elsewhere, or null from a sandbox) cannot open a WebSocket', async () => {
    for (const origin of ['https://evil.example', `http://127.0.0.1:${relay.port + 1}`, `https://127.0.0.1:${relay.port}`, 'null', 'not a url']) {
      const answer = await rawExchange(relay.port, upgradeRequest('/ws/0', { Host: own, Origin: origin }));
      expect(answer.status, origin).toBe(403);
    }
  });

  it('its own pages get the stream: Origin = scheme + Host (127.0.0.1, localhost, [::1]), and clients without Origin', async () => {
    for (const host of [own, `localhost:${relay.port}`, `[::1]:${relay.port}`]) {
      const answer = await rawExchange(relay.port, upgradeRequest('/ws/0', { Host: host, Origin: `http://${host}` }));
      expect(answer.status, host).toBe(101);
    }
    expect((await rawExchange(relay.port, upgradeRequest('/ws/0', { Host: own }))).status).toBe(101);
    expect((await rawExchange(relay.port, getRequest('/cameras.json', { Host: `LocalHost:${relay.port}` }))).status).toBe(200);
  });

  it('allowHosts and allowOrigins widen the rules, and only by what they name', async () => {
    const r = await startRelay({ urls: [NO_CAMERA], port: 0, allowHosts: ['cams.example', 'fd00::9'], allowOrigins: ['https://app.example:8443'] });
    try {
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: 'cams.example' }))).status).toBe(200);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: `[fd00::9]:${r.port}` }))).status).toBe(200);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: 'other.example' }))).status).toBe(403);
      const fromApp = await rawExchange(r.port, upgradeRequest('/ws/0', { Host: `127.0.0.1:${r.port}`, Origin: 'https://app.example:8443' }));
      expect(fromApp.status).toBe(101);
      const otherPort = await rawExchange(r.port, upgradeRequest('/ws/0', { Host: `127.0.0.1:${r.port}`, Origin: 'https://app.example' }));
      expect(otherPort.status).toBe(403);
      expect(r.requests()).toMatchObject({ forbiddenHost: 1, forbiddenOrigin: 1 });
    } finally {
      await r.close();
    }
  });

  it('allow-list entries that are not a host or an origin are refused at the start (typed)', async () => {
    await expect(startRelay({ urls: [NO_CAMERA], port: 0, allowHosts: ['http://cams.example/'] })).rejects.toMatchObject({ name: 'RelayAccessError', code: 'BAD_OPTION' });
    await expect(startRelay({ urls: [NO_CAMERA], port: 0, allowOrigins: ['app.example'] })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(startRelay({ urls: [NO_CAMERA], port: 0, allowOrigins: ['https://app.example/path'] })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('parseHostHeader and isLoopbackHost', () => {
    expect(parseHostHeader('Example.COM:80')).toEqual({ hostname: 'example.com', port: '' });
    expect(parseHostHeader('[::1]:8080')).toEqual({ hostname: '[::1]', port: '8080' });
    for (const bad of ['', 'a b', 'user@host', 'host/path', 'host:99999', '[::1', 'h?x']) expect(parseHostHeader(bad), bad).toBeUndefined();
    for (const h of ['localhost', 'LOCALHOST', 'cam.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.0.2.2', 'localhost.example', 'example.com', '']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('the viewer login', () => {
  const login = { user: 'viewer', password: 'correct horse', token: 'tok-3f9a1c7e5b' };

  it('off loopback without a login the relay does not start: RelayAccessError AUTH_REQUIRED', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.2']) { // refused before anything is bound
      const started = startRelay({ urls: [NO_CAMERA], port: 0, host });
      await expect(started).rejects.toBeInstanceOf(RelayAccessError);
      await expect(started).rejects.toMatchObject({ code: 'AUTH_REQUIRED', context: { host } });
    }
  });

  it('bad logins are refused at the start (typed), and never echo the secret', async () => {
    for (const auth of [{ user: 'a' }, { user: 'a:b', password: 'x' }, { user: 'a', password: 'line\nbreak' }, { token: 'has space' }, {}]) {
      const e = await startRelay({ urls: [NO_CAMERA], port: 0, auth }).then(() => undefined, (x) => x);
      expect(e, JSON.stringify(auth)).toMatchObject({ name: 'RelayAccessError', code: 'BAD_AUTH' });
      expect((e as Error).message).not.toContain('line\nbreak');
    }
  });

  it('bound to every interface: Basic or bearer for the page and the upgrade, 401 with a challenge otherwise', async () => {
    const r = await startRelay({ urls: [NO_CAMERA], port: 0, host: '0.0.0.0', auth: login });
    const host = `127.0.0.1:${r.port}`;
    try {
      const none = await rawExchange(r.port, getRequest('/', { Host: host }));
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Basic realm="wasm-rtsp relay"/);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: basic('viewer', 'wrong') }))).status).toBe(401);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: basic('someone', 'correct horse') }))).status).toBe(401);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: 'Bearer nope' }))).status).toBe(401);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: 'Digest x' }))).status).toBe(401);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: basic('viewer', 'correct horse') }))).status).toBe(200);
      expect((await rawExchange(r.port, getRequest('/cameras.json', { Host: host, Authorization: `Bearer ${login.token}` }))).status).toBe(200);
      // A browser's prompt can carry the token as the password (any user).
      expect((await rawExchange(r.port, getRequest('/', { Host: host, Authorization: basic('x', login.token) }))).status).toBe(200);
      const upgradeNone = await rawExchange(r.port, upgradeRequest('/ws/0', { Host: host, Origin: `http://${host}` }));
      expect(upgradeNone.status).toBe(401);
      const upgradeOk = await rawExchange(r.port, upgradeRequest('/ws/0', { Host: host, Origin: `http://${host}`, Authorization: basic('viewer', 'correct horse') }));
      expect(upgradeOk.status).toBe(101);
      // The Host check holds behind the login too: the right password under a foreign name is still 403.
      expect((await rawExchange(r.port, getRequest('/', { Host: 'evil.example', Authorization: basic('viewer', 'correct horse') }))).status).toBe(403);
      expect(r.requests().unauthorized).toBe(6);
    } finally {
      await r.close();
    }
  });
});
