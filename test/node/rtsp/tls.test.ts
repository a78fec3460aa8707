// RTSPS: the client over TLS (node:tls) to a TLS front that pipes each connection to GStreamer's RTSP server. The
// certificate is self-signed, made by `openssl req -x509` in a temp dir at test time. Checks: certificate checks are
// on by default (a self-signed certificate is refused with a TLS error before any request leaves), a CA or a pinned
// SHA-256 fingerprint lets it through, a wrong pin is refused, and decrypted bytes land in wasm memory (onread).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTSPS_DEFAULT_PORT, parseRtspUrl, RtspCamera, RtspClient, type RtpPacket, type RtspClientOptions } from '../../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { waitUntil } from './scripted-server.js';

let dir: string;
let cert: Buffer;
let fingerprint: string;
let server: RtspTestServer;
let front: tls.Server;
let frontPort = 0;
/** Connections the front passed on to the RTSP server (only after a completed handshake), and those that ended. */
let upstream = 0;
let upstreamClosed = 0;
/** Plaintext bytes clients sent through the front. */
let forwarded = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
  fingerprint = new X509Certificate(cert).fingerprint256;
  server = await startRtspServer();
  front = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (clear) => {
    upstream++;
    const up = net.connect(server.port, '127.0.0.1');
    clear.on('data', (d: Buffer) => { forwarded += d.length; });
    clear.pipe(up);
    up.pipe(clear);
    let ended = false;
    const end = () => {
      if (!ended) upstreamClosed++;
      ended = true;
      clear.destroy();
      up.destroy();
    };
    clear.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  front.on('tlsClientError', () => undefined); // refused handshakes are the point of some tests
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  frontPort = (front.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => (front ? front.close(() => r()) : r()));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const url = (path = '/h264') => `rtsps://127.0.0.1:${frontPort}${path}`;

async function playOver(options: RtspClientOptions) {
  const client = new RtspClient(url(), { keepAlive: false, ...options });
  const seqs: number[] = [];
  client.on('packet', (p: RtpPacket) => seqs.push(p.header.sequenceNumber));
  const from = server.events.length;
  try {
    await client.connect();
    await client.play();
    await waitUntil(() => seqs.length >= 30, 10_000, '30 packets over TLS');
  } finally {
    await client.close();
  }
  const teardown = await server.waitFor((e) => e.event === 'session-removed' && e.reason === 'teardown', 5000, from);
  return { client, seqs, stats: client.stats(), teardown };
}

describe('RTSPS', () => {
  it('has 322 as its default port', () => {
    expect(RTSPS_DEFAULT_PORT).toBe(322);
    expect(parseRtspUrl('rtsps://camera.example/x').port).toBe(322);
  });

  it('refuses a self-signed certificate by default, with a TLS error, before any request', async () => {
    const before = upstream;
    const err = await RtspClient.open(url(), { keepAlive: false }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TLS' });
    expect(String(err.context?.reason)).toMatch(/SELF_SIGNED|CERT/);
    expect(upstream).toBe(before);
  });

  it('plays with the certificate as CA: in order, decrypted straight into wasm memory, TEARDOWN sent', async () => {
    const { seqs, stats, teardown } = await playOver({ tls: { ca: cert } });
    for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]!) & 0xffff).toBe(1);
    expect(stats.streams[0]).toMatchObject({ lost: 0 });
    // The onread path ran: the socket's reads were counted by the connection (there is no 'data' path any more).
    expect(stats.connection.readCalls).toBeGreaterThan(0);
    expect(stats.connection.bytesRead).toBeGreaterThan(stats.streams[0]!.bytes);
    expect(teardown.session).toBeTruthy();
  });

  it('accepts the self-signed certificate pinned by its SHA-256 fingerprint (any spelling), without a CA', async () => {
    const { seqs } = await playOver({ tls: { fingerprint256: fingerprint.toLowerCase() } });
    expect(seqs.length).toBeGreaterThanOrEqual(30);
    const { seqs: again } = await playOver({ tls: { fingerprint256: fingerprint.replace(/:/g, '') } });
    expect(again.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses another certificate than the pinned one, even with the right CA, before any request', async () => {
    const before = upstream;
    const bytesBefore = forwarded;
    const wrong = fingerprint.replace(/^[0-9A-F]{2}/, (h) => (h === '00' ? '01' : '00'));
    const err = await RtspClient.open(url(), { keepAlive: false, tls: { ca: cert, fingerprint256: wrong } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TLS', context: { fingerprint256: fingerprint } });
    // The client refused at the end of its handshake: not one byte of a request went through the front (which, on
    // TLS 1.3, may not even have seen the handshake complete).
    await waitUntil(() => upstreamClosed === upstream, 5000, 'every front connection to end');
    expect(upstream - before).toBeLessThanOrEqual(1);
    expect(forwarded).toBe(bytesBefore);
  });

  it('refuses a malformed fingerprint with BAD_OPTION', () => {
    expect(() => new RtspClient(url(), { tls: { fingerprint256: 'AB:CD' } })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('works through RtspCamera too', async () => {
    const camera = new RtspCamera(url(), { tls: { ca: cert }, keepAlive: false });
    let packets = 0;
    camera.on('packet', () => { packets++; });
    try {
      await camera.start();
      await waitUntil(() => packets >= 10, 10_000, 'packets');
    } finally {
      await camera.close();
    }
    expect(camera.stats().sessions).toBe(1);
  });
});
