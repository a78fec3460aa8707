// Fault injection against the RTSP client with a scripted server of our own (scripted-server.ts) on 127.0.0.1:
// authentication challenges, replies and frames split at every octet, frames and garbage between replies, dropped
// connections, camera quirks, timeouts, redirects, bad RTP, server requests, large frames and an exhausted pool.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RtspClient, type RetainedPacket, type RtpPacket, type RtspClientOptions } from '../../../src/node/index.js';
import {
  concat, interleaved, payloadBytes, rtpFrames, rtpPacket, ScriptedServer, waitUntil,
  type ReceivedMessage, type ScriptedServerOptions,
} from './scripted-server.js';

const servers: ScriptedServer[] = [];
const clients: RtspClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    await s.stop();
    expect(s.scriptErrors).toEqual([]);
  }
});

async function serve(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const s = await ScriptedServer.start(options);
  servers.push(s);
  return s;
}

/** Quiet defaults: no timers unless a test wants them, short timeouts so a hang fails fast. */
const QUIET: RtspClientOptions = { keepAlive: false, receiverReports: false, requestTimeoutMs: 3000 };

interface Received {
  seqs: number[];
  /** Packets whose payload differed from what the server put in. */
  corrupt: number[];
  lengths: number[];
}

/** A client with a packet listener attached before connect, so frames sent before the PLAY reply are seen too. */
function newClient(url: string, options: RtspClientOptions = {}): { client: RtspClient; got: Received } {
  const client = new RtspClient(url, { ...QUIET, ...options });
  clients.push(client);
  const got: Received = { seqs: [], corrupt: [], lengths: [] };
  client.on('packet', (p: RtpPacket) => {
    const seq = p.header.sequenceNumber;
    got.seqs.push(seq);
    got.lengths.push(p.payload.length);
    if (!sameBytes(p.payload, payloadBytes(seq, p.payload.length))) got.corrupt.push(seq);
  });
  return { client, got };
}

async function start(url: string, options: RtspClientOptions = {}): Promise<{ client: RtspClient; got: Received }> {
  const r = newClient(url, options);
  await r.client.connect();
  await r.client.play();
  return r;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (from + i) & 0xffff);
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Parses `Digest k=v, k="v", …` (values without escapes: the client sends none here). */
function parseDigest(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]*))/gi)) {
    out.set(m[1].toLowerCase(), m[2] ?? m[3]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

describe('authentication against a scripted server', () => {
  const user = 'viewer';
  const password = 'se:cr@t é';
  const realm = 'scripted';

  /** A Digest MD5 qop=auth server that checks every response hash; `staleAt` answers that method once with stale. */
  async function digestServer(opts: { password: string; staleAt?: string }) {
    const log = { challenges: 0, stale: 0, verified: [] as Array<{ method: string; nonce: string; nc: number }>, refused: 0 };
    let nonce = 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
    let staleSent = false;
    const server = await serve({
      onRequest: (req, conn, next) => {
        const challenge = (n: string, stale: boolean) => conn.reply(req, 401, [
          ['WWW-Authenticate', `Digest realm="${realm}", nonce="${n}", qop="auth", algorithm=MD5${stale ? ', stale=true' : ''}`],
        ]);
        const auth = req.headers.get('authorization');
        if (!auth) {
          log.challenges++;
          return challenge(nonce, false);
        }
        const p = parseDigest(auth);
        const ha1 = md5(`${p.get('username')}:${realm}:${opts.password}`);
        const ha2 = md5(`${req.method}:${p.get('uri')}`);
        const expected = md5(`${ha1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:${p.get('qop')}:${ha2}`);
        const ok = p.get('username') === user && p.get('realm') === realm && p.get('uri') === req.uri && p.get('qop') === 'auth'
          && /^[0-9a-f]{8}$/.test(p.get('nc') ?? '') && (p.get('cnonce') ?? '') !== '' && p.get('response') === expected;
        if (!ok) {
          log.refused++;
          return challenge(nonce, false);
        }
        if (p.get('nonce') !== nonce) {
          log.refused++;
          return challenge(nonce, true);
        }
        if (opts.staleAt === req.method && !staleSent) {
          staleSent = true;
          log.stale++;
          nonce = '7e1f8cbb0a2b4c3d9e8f00112233aabb';
          return challenge(nonce, true);
        }
        log.verified.push({ method: req.method!, nonce: p.get('nonce')!, nc: Number.parseInt(p.get('nc')!, 16) });
        return next();
      },
      onPlay: (conn) => conn.send(rtpFrames(range(100, 5))),
    });
    return { server, log };
  }

  it('answers a Digest MD5 qop=auth challenge with a correct response and counts nc up on the same nonce', async () => {
    const { server, log } = await digestServer({ password });
    const { client, got } = await start(server.url('/stream', { user, password }));
    await waitUntil(() => got.seqs.length === 5, 2000, 'five packets');
    expect(got.seqs).toEqual(range(100, 5));
    await client.close();
    expect(log.challenges).toBe(1);
    expect(log.refused).toBe(0);
    expect(log.verified.map((v) => v.method)).toEqual(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN']);
    expect(log.verified.map((v) => v.nc)).toEqual([1, 2, 3, 4, 5]);
    // The request that was challenged was sent again, once.
    expect(server.methods()).toEqual(['OPTIONS', 'OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN']);
    expect(JSON.stringify(client.stats())).not.toContain('se:cr');
  });

  it('retries once on stale=true with the new nonce (nc back to 1) and does not ask again', async () => {
    const { server, log } = await digestServer({ password, staleAt: 'SETUP' });
    const { client, got } = await start(server.url('/stream', { user, password }));
    await waitUntil(() => got.seqs.length === 5, 2000, 'five packets');
    await client.close();
    expect(log.challenges).toBe(1);
    expect(log.stale).toBe(1);
    expect(log.refused).toBe(0);
    expect(server.methods()).toEqual(['OPTIONS', 'OPTIONS', 'DESCRIBE', 'SETUP', 'SETUP', 'PLAY', 'TEARDOWN']);
    const [o, d, s, p, t] = log.verified;
    expect([o.nc, d.nc]).toEqual([1, 2]);
    expect(o.nonce).toBe(d.nonce);
    expect(s.nonce).not.toBe(d.nonce);
    expect([s.method, s.nc, p.nc, t.nc]).toEqual(['SETUP', 1, 2, 3]);
  });

  it('gives up with UNAUTHORIZED after one refusal of wrong Digest credentials', async () => {
    const { server, log } = await digestServer({ password });
    const err = await RtspClient.open(server.url('/stream', { user, password: 'wrong' }), QUIET).catch((e) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });
    expect(String(err.message)).not.toContain('wrong');
    expect(log.refused).toBe(1);
    expect(server.methods()).toEqual(['OPTIONS', 'OPTIONS']);
  });

  async function basicServer() {
    const expected = 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
    const seen: Array<string | undefined> = [];
    const server = await serve({
      onRequest: (req, conn, next) => {
        const auth = req.headers.get('authorization');
        seen.push(auth);
        if (auth !== expected) return conn.reply(req, 401, [['WWW-Authenticate', `Basic realm="${realm}"`]]);
        return next();
      },
      onPlay: (conn) => conn.send(rtpFrames(range(7, 3))),
    });
    return { server, seen, expected };
  }

  it('plays with Basic credentials sent on every request after the challenge', async () => {
    const { server, seen, expected } = await basicServer();
    const { client, got } = await start(server.url('/stream', { user, password }));
    await waitUntil(() => got.seqs.length === 3, 2000, 'three packets');
    expect(got.seqs).toEqual([7, 8, 9]);
    expect(seen).toEqual([undefined, expected, expected, expected, expected]);
    await client.close();
  });

  it('fails with UNAUTHORIZED on wrong Basic credentials, after a single retry', async () => {
    const { server } = await basicServer();
    const err = await RtspClient.open(server.url('/stream', { user, password: 'nope' }), QUIET).catch((e) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });
    expect(server.methods()).toEqual(['OPTIONS', 'OPTIONS']);
  });

  it('fails with UNAUTHORIZED when the URL has no credentials', async () => {
    const { server } = await basicServer();
    await expect(RtspClient.open(server.url('/stream'), QUIET)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(server.methods()).toEqual(['OPTIONS']);
  });
});
