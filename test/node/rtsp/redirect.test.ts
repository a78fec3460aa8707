// Redirects and credentials (issue 15 item 6): credentials given in a URL go only to that URL's origin — same
// scheme, host and port, default ports normalised — never to another port of the same host, and an rtsps → rtsp
// redirect (a TLS downgrade) is refused with INSECURE_REDIRECT before any plain connection is opened. Scripted
// servers on 127.0.0.1 play the cameras; an rtsps one is a TLS front (self-signed, pinned) piped to a scripted server.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRtspUrl, RtspClient, type RtspClientOptions } from '../../../src/node/index.js';
import { sameOrigin } from '../../../src/node/rtsp/client.js';
import {
  closedAfterEach, rtpFrames, ScriptedServer, waitUntil, type ReceivedMessage, type RequestHandler,
  type ScriptedServerOptions } from './scripted-server.js';

const USER = { user: 'admin', password: 's3cret:@/' };
const BASIC = `Basic ${Buffer.from(`${USER.user}:${USER.password}`).toString('base64')}`;
const QUIET: RtspClientOptions = { keepAlive: false, receiverReports: false, requestTimeoutMs: 3000 };

const { servers, clients } = closedAfterEach<RtspClient>();

async function serve(onRequest?: RequestHandler, onPlay?: ScriptedServerOptions['onPlay']): Promise<ScriptedServer> {
  const s = await ScriptedServer.start({ onRequest, onPlay });
  servers.push(s);
  return s;
}

/** A script step: a request without credentials gets a Basic challenge (a camera asking for its password). */
function challenged(req: ReceivedMessage, conn: Parameters<RequestHandler>[1]): Promise<void> | undefined {
  if (req.headers.get('authorization') === undefined) return conn.reply(req, 401, [['WWW-Authenticate', 'Basic realm="cam"']]);
  return undefined;
}

async function open(url: string, options: RtspClientOptions = {}): Promise<RtspClient | Error> {
  const client = new RtspClient(url, { ...QUIET, ...options });
  if (options.onPacket) client.on('packet', () => undefined); // packets are dispatched only when someone listens
  clients.push(client);
  try {
    await client.connect();
    await client.play();
    return client;
  } catch (e) {
    return e as Error;
  }
}

const authorizations = (s: ScriptedServer) => s.requests.map((r) => r.headers.get('authorization'));

describe('the origin of a URL', () => {
  it.each([
    ['rtsp://cam/a', 'rtsp://cam:554/b', true],
    ['rtsps://cam/a', 'rtsps://cam:322/b', true],
    ['rtsp://CAM.example/a', 'rtsp://cam.example/b', true],
    ['rtsp://[::1]:8554/a', 'rtsp://[::1]:8554/b', true],
    ['rtsp://cam/a', 'rtsp://cam:8554/a', false],
    ['rtsp://cam:322/a', 'rtsps://cam:322/a', false],
    ['rtsps://cam/a', 'rtsp://cam/a', false],
    ['rtsp://cam/a', 'rtsp://cam2/a', false],
    ['rtsp://10.0.0.1/a', 'rtsp://10.0.0.2/a', false],
  ])('%s and %s: same origin %s (default ports normalised)', (a, b, same) => {
    expect(sameOrigin(parseRtspUrl(a), parseRtspUrl(b))).toBe(same);
    expect(sameOrigin(parseRtspUrl(b), parseRtspUrl(a))).toBe(same);
  });
});

describe('credentials across redirects', () => {
  it('keeps the credentials on a redirect to another path of the same origin (and plays)', async () => {
    let self: ScriptedServer | undefined;
    self = await serve((req, conn, next) => {
      const c = challenged(req, conn);
      if (c) return c;
      if (req.method === 'DESCRIBE' && req.uri!.endsWith('/stream')) return conn.reply(req, 302, [['Location', self!.url('/moved')]]);
      return next();
    }, (conn) => conn.send(rtpFrames([1, 2, 3])));
    const got: number[] = [];
    const client = await open(self.url('/stream', USER), { onPacket: (p) => got.push(p.header.sequenceNumber) });
    expect(client).toBeInstanceOf(RtspClient);
    await waitUntil(() => got.length === 3, 3000, 'three packets after the redirect');
    // After the redirect (a new connection to the same origin), the credentials still answer the challenges.
    const after = self.requests.filter((r) => r.connection > 0);
    expect(after[0]!.uri).toBe(self.url('/moved'));
    expect(after.map((r) => r.method)).toEqual(expect.arrayContaining(['DESCRIBE', 'SETUP', 'PLAY']));
    expect(after.filter((r) => r.method === 'PLAY').every((r) => r.headers.get('authorization') === BASIC)).toBe(true);
  });

  it('does not send the credentials to another port of the same host (another service)', async () => {
    const other = await serve((req, conn, next) => challenged(req, conn) ?? next());
    const first = await serve((req, conn, next) => {
      const c = challenged(req, conn);
      if (c) return c;
      if (req.method === 'DESCRIBE') return conn.reply(req, 302, [['Location', other.url('/elsewhere')]]);
      return next();
    });
    const err = await open(first.url('/stream', USER));
    // The first server got them after its challenge; the other port got a request, a challenge, and no credentials.
    expect(authorizations(first)).toContain(BASIC);
    expect(other.requests.length).toBeGreaterThan(0);
    expect(authorizations(other).every((a) => a === undefined)).toBe(true);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });
    expect(String((err as Error).message)).toMatch(/URL has none/);
    expect(String((err as Error).message)).not.toContain(USER.password);
  });

  it('sends credentials that the Location itself names (the server chose them)', async () => {
    const other = await serve((req, conn, next) => challenged(req, conn) ?? next());
    const first = await serve((req, conn) => conn.reply(req, 302, [['Location', other.url('/x', { user: 'guest', password: 'pw' })]]));
    const client = await open(first.url('/stream', USER));
    expect(client).toBeInstanceOf(RtspClient);
    const guest = `Basic ${Buffer.from('guest:pw').toString('base64')}`;
    expect(authorizations(other).filter(Boolean).every((a) => a === guest)).toBe(true);
    expect(authorizations(other)).toContain(guest);
  });
});

describe('rtsps → rtsp', () => {
  let dir: string;
  let fingerprint: string;
  let front: tls.Server;
  let frontPort = 0;
  /** Where the TLS front pipes its connections (set per test). */
  let upstreamPort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-redirect-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    fingerprint = new X509Certificate(cert).fingerprint256;
    front = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (clear) => {
      const up = net.connect(upstreamPort, '127.0.0.1');
      clear.pipe(up);
      up.pipe(clear);
      const end = () => { clear.destroy(); up.destroy(); };
      clear.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    });
    front.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    frontPort = (front.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => (front ? front.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a redirect from rtsps to plain rtsp with INSECURE_REDIRECT: no plain connection, no credentials', async () => {
    const plain = await serve((req, conn, next) => challenged(req, conn) ?? next());
    const secure = await serve((req, conn) => {
      const c = challenged(req, conn);
      if (c) return c;
      return conn.reply(req, 302, [['Location', plain.url('/stream')]]);
    });
    upstreamPort = secure.port;
    const url = `rtsps://${encodeURIComponent(USER.user)}:${encodeURIComponent(USER.password)}@127.0.0.1:${frontPort}/stream`;
    const err = await open(url, { tls: { fingerprint256: fingerprint } });
    expect(err).toMatchObject({ code: 'INSECURE_REDIRECT', statusCode: 302 });
    expect(String((err as Error).message)).not.toContain(USER.password);
    // The TLS server did get the credentials (over TLS), the plain one never saw a connection.
    expect(authorizations(secure)).toContain(BASIC);
    expect(plain.connections.length).toBe(0);
  });

  it('refuses it even without credentials (the session itself would leave TLS)', async () => {
    const plain = await serve();
    const secure = await serve((req, conn) => conn.reply(req, 301, [['Location', `rtsp://127.0.0.1:${plain.port}/stream`]]));
    upstreamPort = secure.port;
    const err = await open(`rtsps://127.0.0.1:${frontPort}/stream`, { tls: { fingerprint256: fingerprint } });
    expect(err).toMatchObject({ code: 'INSECURE_REDIRECT' });
    expect(plain.connections.length).toBe(0);
  });
});
