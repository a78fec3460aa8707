// Fault injection against the RTSP client with a scripted server of our own (scripted-server.ts) on 127.0.0.1:
// authentication challenges, replies and frames split at every octet, frames and garbage between replies, dropped
// connections, camera quirks, timeouts, redirects, bad RTP, server requests, large frames and an exhausted pool.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RtspClient, type RetainedPacket, type RtpPacket, type RtspClientOptions } from '../../../src/node/index.js';
import {
  closedAfterEach,
  concat, h264Sdp, interleaved, payloadBytes, rtpFrames, rtpPacket, ScriptedServer, waitUntil,
  type ReceivedMessage, type ScriptedServerOptions,
} from './scripted-server.js';

const { servers, clients } = closedAfterEach<RtspClient>();

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

describe('bytes cut and mixed', () => {
  it('plays when every reply of the handshake arrives one octet per read', async () => {
    const server = await serve({ style: { split: 'bytewise' }, onPlay: (conn) => conn.send(rtpFrames(range(0, 4)), []) });
    const { client, got } = await start(server.url());
    await waitUntil(() => got.seqs.length === 4, 3000, 'four packets');
    const conn = server.connections[0];
    // Every octet was its own write and the client read each separately.
    expect(conn.writes).toBe(conn.bytesWritten - 4 * (4 + 112) + 1);
    expect(client.stats().connection.readCalls).toBeGreaterThanOrEqual(conn.writes);
    expect(client.streams[0]).toMatchObject({ encodingName: 'H264', clockRate: 90000, payloadType: 96, interleaved: { rtp: 0, rtcp: 1 } });
    expect(client.streams[0].fmtp['packetization-mode']).toBe('1');
    expect(got.seqs).toEqual([0, 1, 2, 3]);
  });

  it('delivers the same packets, in order and intact, when frames arrive one octet per read', async () => {
    const seqs = range(65530, 12); // wraps around 65535 → 0
    const server = await serve({ onPlay: (conn) => conn.send(rtpFrames(seqs, { payload: undefined }), 'bytewise') });
    // Every readable event read (interval 0): the read tick would gather the octets into fewer reads.
    const { client, got } = await start(server.url(), { readIntervalMs: 0 });
    const before = client.stats().connection.readCalls;
    await waitUntil(() => got.seqs.length === seqs.length, 5000, 'all packets');
    await server.connections[0].flushed();
    expect(got.seqs).toEqual(seqs);
    expect(got.corrupt).toEqual([]);
    const stats = client.stats();
    expect(stats.connection.readCalls - before).toBeGreaterThanOrEqual(seqs.length * 116);
    expect(stats.streams[0]).toMatchObject({ packets: seqs.length, lost: 0, duplicates: 0, reordered: 0 });
  });

  it('delivers packets cut at chosen points inside the frame header and payload', async () => {
    const seqs = range(10, 6);
    const bytes = rtpFrames(seqs);
    const cuts = [1, 2, 3, 4, 5, 16, 115, 116, 117, 118, 119, 231, 232, 233, 300, 464, 465];
    const server = await serve({ onPlay: (conn) => conn.send(bytes, cuts) });
    const { got } = await start(server.url());
    await waitUntil(() => got.seqs.length === seqs.length, 3000, 'all packets');
    expect(got.seqs).toEqual(seqs);
    expect(got.corrupt).toEqual([]);
  });

  it('delivers frames sent before the PLAY reply and matches the reply', async () => {
    const server = await serve({
      onRequest: async (req, conn, next) => {
        if (req.method === 'PLAY') await conn.send(rtpFrames(range(0, 3)), [5, 200]);
        return next();
      },
      onPlay: (conn) => conn.send(rtpFrames(range(3, 3))),
    });
    const { client, got } = await start(server.url());
    await waitUntil(() => got.seqs.length === 6, 3000, 'six packets');
    expect(got.seqs).toEqual([0, 1, 2, 3, 4, 5]);
    expect(client.streams[0].rtpInfo).toEqual({ seq: 0, rtptime: 0 });
  });

  it('matches keep-alive replies with frames between request and reply', async () => {
    let seq = 0;
    const server = await serve({
      onRequest: async (req, conn, next) => {
        if (req.method === 'GET_PARAMETER') {
          await conn.send(rtpFrames(range(seq, 3)), [2, 7, 120]);
          seq += 3;
          // The reply itself arrives in two reads, then more frames follow it.
          await conn.reply(req, 200, [['Session', 'ABCDEF0123']], '', { split: [9] });
          await conn.send(rtpFrames(range(seq, 2)));
          seq += 2;
          return;
        }
        return next();
      },
    });
    const { client, got } = await start(server.url(), { keepAlive: true, keepAliveIntervalMs: 40 });
    await waitUntil(() => client.stats().keepAlivesSent >= 3 && got.seqs.length >= 15, 3000, 'three keep-alives answered');
    await waitUntil(() => server.methods().filter((m) => m === 'GET_PARAMETER').length * 5 === got.seqs.length, 1000, 'packets of every keep-alive');
    const stats = client.stats();
    expect(stats.keepAliveFailures).toBe(0);
    expect(got.seqs).toEqual(range(0, got.seqs.length));
    expect(server.requests.filter((r) => r.method === 'GET_PARAMETER').every((r) => r.headers.get('session') === 'ABCDEF0123')).toBe(true);
  });

  for (const split of ['whole', 'bytewise'] as const) {
    it(`counts garbage between frames exactly and loses no packet (${split})`, async () => {
      const garbage = Uint8Array.of(0x00, 0xff, 0x80, 0x01, 0x7f, 0xfe, 0x02);
      const seqs = range(500, 10);
      const parts: Uint8Array[] = [];
      for (const s of seqs) parts.push(interleaved(0, rtpPacket({ seq: s })), garbage.subarray(0, 1 + (s % garbage.length)));
      const garbageTotal = seqs.reduce((n, s) => n + 1 + (s % garbage.length), 0);
      const server = await serve({ onPlay: (conn) => conn.send(concat(parts), split) });
      const { client, got } = await start(server.url());
      await waitUntil(() => got.seqs.length === seqs.length, 5000, 'all packets');
      await server.connections[0].flushed();
      await waitUntil(() => client.stats().demuxer!.garbageBytes >= garbageTotal, 1000, 'the last garbage');
      expect(got.seqs).toEqual(seqs);
      expect(got.corrupt).toEqual([]);
      const stats = client.stats();
      expect(stats.demuxer!.garbageBytes).toBe(garbageTotal);
      expect(stats.streams[0].packets).toBe(seqs.length);
    });
  }
});

describe('a connection dropped mid-frame', () => {
  for (const withErrorListener of [true, false]) {
    it(`emits close${withErrorListener ? ' and CONNECTION_CLOSED' : ' (no error listener, nothing thrown)'}, frees the pool`, async () => {
      const frames = rtpFrames(range(0, 6));
      const cut = frames.length - 60; // the sixth frame stops halfway
      const server = await serve({
        onPlay: async (conn) => {
          await conn.send(frames.subarray(0, cut));
          await new Promise((r) => setTimeout(r, 20));
          await conn.drop();
        },
      });
      const { client, got } = newClient(server.url());
      const errors: Array<{ code?: string }> = [];
      if (withErrorListener) client.on('error', (e) => errors.push(e));
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      await client.connect();
      await client.play();
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('no close event')), 2000))]);
      expect(got.seqs).toEqual([0, 1, 2, 3, 4]);
      if (withErrorListener) expect(errors).toMatchObject([{ code: 'CONNECTION_CLOSED' }]);
      await client.close();
      const stats = client.stats();
      expect(stats.pool!.inUse).toBe(0);
      // The session is still torn down: on a fresh connection, since its own one is gone.
      const teardowns = server.requests.filter((r) => r.method === 'TEARDOWN');
      expect(teardowns.map((r) => [r.connection, r.headers.get('session')])).toEqual([[1, 'ABCDEF0123']]);
      expect(stats.teardownsOnFreshConnection).toBe(1);
    });
  }
});

describe('camera quirks', () => {
  const cases: Array<[string, ScriptedServerOptions]> = [
    ['a status line without a reason phrase', { style: { reason: '' } }],
    ['lower-case header names', { style: { lowercase: true } }],
    ['bare LF line ends', { style: { eol: '\n' } }],
    ['a Transport reply without interleaved channels', { transport: 'RTP/AVP/TCP;unicast' }],
    ['replies without CSeq (each goes to the oldest request waiting)', { style: { noCSeq: true } }],
    ['all of them at once, cut at every octet', { style: { reason: '', lowercase: true, eol: '\n', noCSeq: true, split: 'bytewise' }, transport: 'RTP/AVP/TCP;unicast' }],
  ];
  for (const [name, options] of cases) {
    it(`accepts ${name}, with sequence numbers from 0`, async () => {
      const server = await serve({ ...options, onPlay: (conn) => conn.send(rtpFrames(range(0, 5)), []) });
      const { client, got } = await start(server.url());
      await waitUntil(() => got.seqs.length === 5, 3000, 'five packets');
      expect(got.seqs).toEqual([0, 1, 2, 3, 4]);
      expect(client.streams[0].interleaved).toEqual({ rtp: 0, rtcp: 1 });
      const stats = client.stats();
      expect(stats.streams[0]).toMatchObject({ packets: 5, lost: 0, highestSequence: 4 });
      expect(stats.connection.protocolErrors).toBe(0);
      await client.close();
      expect(server.methods()).toEqual(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN']);
      expect(server.requests.at(-1)!.headers.get('session')).toBe('ABCDEF0123');
    });
  }

  it('gives a reply without CSeq to the oldest of two waiting requests', async () => {
    // Two keep-alives wait at once; the server answers the first (older) without CSeq, delayed until the second
    // arrived, and never answers the second. The older one must succeed and only the younger one time out.
    const held: ReceivedMessage[] = [];
    const server = await serve({
      onRequest: (req, conn, next) => {
        if (req.method !== 'GET_PARAMETER') return next();
        held.push(req);
        if (held.length === 2) return conn.reply(held[0], 200, [], '', { noCSeq: true });
      },
    });
    const { client } = await start(server.url(), { keepAlive: true, keepAliveIntervalMs: 60, requestTimeoutMs: 400 });
    await waitUntil(() => client.stats().keepAliveFailures >= 1, 3000, 'a keep-alive to time out');
    const stats = client.stats();
    // Failures come only from the unanswered ones: every keep-alive but the first.
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(stats.keepAliveFailures).toBeLessThanOrEqual(stats.keepAlivesSent - 1);
    await client.close();
  });
});

describe('timeouts and redirects', () => {
  // Regression (fixed): RtspConnection.onMessage handed a reply whose CSeq matched no pending request to the oldest
  // pending one; now only a reply without CSeq is guessed, and a late reply is dropped.
  it('does not give a late reply to a timed-out request to the next request (only a reply without CSeq is guessed)', async () => {
    // Keep-alive #1 gets no reply in time. When #2 comes, the server sends the late reply to #1 (with #1's CSeq) and
    // never answers #2: #2 must time out too. Intervals: #1 at 400 ms (times out at 550), #2 at 800 (at 950), #3 at 1200.
    const gets: ReceivedMessage[] = [];
    const server = await serve({
      onRequest: (req, conn, next) => {
        if (req.method !== 'GET_PARAMETER') return next();
        gets.push(req);
        if (gets.length === 2) return conn.reply(gets[0], 200, [['Session', 'ABCDEF0123']]);
      },
    });
    const { client } = await start(server.url(), { keepAlive: true, keepAliveIntervalMs: 400, requestTimeoutMs: 150 });
    await waitUntil(() => gets.length >= 3, 3000, 'the third keep-alive');
    const stats = client.stats();
    expect(stats.keepAlivesSent).toBe(3);
    expect(stats.keepAliveFailures).toBe(2);
  });

  it('fails open() with CONNECTION_CLOSED when the server hangs up during the handshake', async () => {
    const server = await serve({ onRequest: (req, conn, next) => (req.method === 'SETUP' ? conn.drop() : next()) });
    const t0 = Date.now();
    const err = await RtspClient.open(server.url(), QUIET).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(server.methods()).toEqual(['OPTIONS', 'DESCRIBE', 'SETUP']);
  });

  it('fails with TIMEOUT within requestTimeoutMs when the server never answers', async () => {
    const server = await serve({ onRequest: (req, _conn, next) => (req.method === 'DESCRIBE' ? undefined : next()) });
    const t0 = Date.now();
    const err = await RtspClient.open(server.url(), { ...QUIET, requestTimeoutMs: 250 }).catch((e) => e);
    const elapsed = Date.now() - t0;
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(1500);
    expect(server.methods()).toEqual(['OPTIONS', 'DESCRIBE']);
  });

  // Regression (fixed): redirect() closed the old connection, whose onClose ran client.close() in state 'connecting':
  // the pool was destroyed and 'close' emitted, so the next connection got no read slot (CONNECT_FAILED). Now only
  // the current connection's end ends the session.
  for (const method of ['OPTIONS', 'DESCRIBE']) {
    it(`follows a 302 on ${method} to a second server and plays from it`, async () => {
      const second = await serve({ onPlay: (conn) => conn.send(rtpFrames(range(40, 3))) });
      const first = await serve({
        onRequest: (req, conn, next) => (req.method === method ? conn.reply(req, 302, [['Location', second.url('/moved')]]) : next()),
      });
      const { client, got } = newClient(first.url('/stream'));
      let closedEarly = false;
      client.on('close', () => (closedEarly = true));
      await client.connect();
      expect(closedEarly).toBe(false);
      await client.play();
      await waitUntil(() => got.seqs.length === 3, 3000, 'three packets from the second server');
      expect(got.seqs).toEqual([40, 41, 42]);
      expect(client.url).toBe(second.url('/moved'));
      expect(first.methods()).toEqual(method === 'OPTIONS' ? ['OPTIONS'] : ['OPTIONS', 'DESCRIBE']);
      expect(second.methods()).toEqual(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']);
      expect(second.requests[0].uri).toBe(second.url('/moved'));
    });
  }

  it('gives up on a redirect loop with TOO_MANY_REDIRECTS', async () => {
    let self: ScriptedServer | undefined;
    self = await serve({ onRequest: (req, conn) => conn.reply(req, 302, [['Location', self!.url('/again')]]) });
    const err = await RtspClient.open(self.url(), { ...QUIET, maxRedirects: 2 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TOO_MANY_REDIRECTS' });
    expect(self.methods()).toEqual(['OPTIONS', 'OPTIONS', 'OPTIONS']);
    expect(self.connections.length).toBe(3);
  });
});

describe('frames the client must cope with', () => {
  it('drops an RTP packet with version 1 as parseError and keeps playing', async () => {
    const server = await serve({
      onPlay: (conn) => conn.send(concat([
        rtpFrames(range(0, 3)), interleaved(0, rtpPacket({ seq: 3, version: 1 })), rtpFrames(range(4, 3)),
      ])),
    });
    const { client, got } = await start(server.url());
    await waitUntil(() => got.seqs.length === 6, 3000, 'six packets');
    expect(got.seqs).toEqual([0, 1, 2, 4, 5, 6]);
    const stats = client.stats();
    expect(stats.streams[0].dropped.parseError).toBe(1);
    expect(stats.streams[0].packets).toBe(6);
  });

  it('answers the server\'s own requests with the same CSeq (200 for GET_PARAMETER/OPTIONS, 501 otherwise)', async () => {
    const server = await serve({ onPlay: (conn) => conn.send(rtpFrames(range(0, 2))) });
    const { client, got } = await start(server.url());
    const conn = server.connections[0];
    const asked = [conn.request('GET_PARAMETER', server.url()), conn.request('OPTIONS', '*'), conn.request('ANNOUNCE', server.url())];
    await conn.send(rtpFrames(range(2, 2)), [3]);
    await waitUntil(() => conn.replies.length === 3 && got.seqs.length === 4, 2000, 'three replies and four packets');
    expect(conn.replies.map((r) => [r.cseq, r.statusCode])).toEqual([[asked[0], 200], [asked[1], 200], [asked[2], 501]]);
    expect(got.seqs).toEqual([0, 1, 2, 3]);
    await client.close();
  });

  for (const split of ['whole', 'cut'] as const) {
    it(`delivers frames too big for a read slot intact (65535 and 65533 octets, ${split})`, async () => {
      const big = (seq: number, frameBytes: number) => interleaved(0, rtpPacket({ seq, payload: payloadBytes(seq, frameBytes - 12) }));
      const bytes = concat([rtpFrames([0]), big(1, 65535), rtpFrames([2]), big(3, 65533), big(4, 65532), rtpFrames([5])]);
      const cuts = split === 'whole' ? [] : [117, 118, 119, 120, 121, 4000, 65536, 65537, 65538, 65539 + 116 - 1, 65539 + 116 + 2];
      const server = await serve({ onPlay: (conn) => conn.send(bytes, cuts) });
      const { client, got } = await start(server.url());
      await waitUntil(() => got.seqs.length === 6, 3000, 'six packets');
      expect(got.seqs).toEqual([0, 1, 2, 3, 4, 5]);
      expect(got.lengths).toEqual([100, 65523, 100, 65521, 65520, 100]);
      expect(got.corrupt).toEqual([]);
      const stats = client.stats();
      expect(stats.connection.largeFrames).toBe(2);
      expect(stats.streams[0].dropped.parseError).toBe(0);
    });
  }
});

describe('a slow consumer and a small pool', () => {
  it('pauses the reader when the pool is exhausted, resumes after release, loses and corrupts nothing', async () => {
    const seqs = range(1000, 300);
    const payload = 1000;
    const frames = concat(seqs.map((s) => interleaved(0, rtpPacket({ seq: s, payload: payloadBytes(s, payload) }))));
    const server = await serve({ onPlay: (conn) => conn.send(frames) });
    const client = new RtspClient(server.url(), { ...QUIET, poolLimitBytes: 128 * 1024 });
    clients.push(client);
    const held: RetainedPacket[] = [];
    const seen: number[] = [];
    const corrupt: number[] = [];
    let exhausted = 0;
    let releases = 0;
    const releaseAll = () => {
      releases++;
      for (const p of held.splice(0)) {
        // Checked when released, long after arrival: a reused slot would show here.
        const view = p.lease.view;
        if (!sameBytes(view.subarray(p.header.payloadOffset, p.header.payloadOffset + p.header.payloadLength), payloadBytes(p.header.sequenceNumber, payload))) {
          corrupt.push(p.header.sequenceNumber);
        }
        p.release();
      }
    };
    client.on('packet', (p: RtpPacket) => {
      seen.push(p.header.sequenceNumber);
      held.push(p.retain());
    });
    client.on('poolExhausted', () => {
      exhausted++;
      setTimeout(releaseAll, 30);
    });
    await client.connect();
    await client.play();
    await waitUntil(() => seen.length === seqs.length, 10_000, 'every packet');
    releaseAll();
    const stats = client.stats();
    expect(exhausted).toBeGreaterThan(0);
    expect(stats.connection.exhaustedPauses).toBe(exhausted);
    expect(seen).toEqual(seqs);
    expect(corrupt).toEqual([]);
    expect(stats.streams[0]).toMatchObject({ packets: seqs.length, lost: 0 });
    expect(Object.values(stats.streams[0].dropped).every((n) => n === 0)).toBe(true);
    expect(stats.pool!.inUse).toBe(1); // only the read slot
    await client.close();
    expect(client.stats().pool!.inUse).toBe(0);
  });
});

describe('close', () => {
  it('tries TEARDOWN but bounds the wait: a server that never answers it does not hold close() past 2 s', async () => {
    const server = await serve({ onRequest: (req, _conn, next) => (req.method === 'TEARDOWN' ? undefined : next()) });
    const client = await RtspClient.open(server.url(), QUIET);
    const t0 = Date.now();
    await client.close();
    const took = Date.now() - t0;
    expect(server.methods()).toContain('TEARDOWN');
    expect(took).toBeGreaterThan(1500);
    expect(took).toBeLessThan(4000);
  });

  it('stops waiting for the TEARDOWN reply as soon as its AbortSignal fires, and stays idempotent', async () => {
    const server = await serve({ onRequest: (req, _conn, next) => (req.method === 'TEARDOWN' ? undefined : next()) });
    const client = await RtspClient.open(server.url(), QUIET);
    const ac = new AbortController();
    const t0 = Date.now();
    const closing = client.close({ signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await closing;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(server.methods()).toContain('TEARDOWN');
    expect(client.close()).toBe(closing);
    expect(client.stats().pool!.inUse).toBe(0);
  });
});

describe('close during start-up', () => {
  // The server holds back its reply to one request; the client is closed once the server has that request (no timer
  // race): the pending connect()/play() must fail with ABORTED at once, long before the 3 s request timeout.
  for (const held of ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY'] as const) {
    it(`makes a pending ${held === 'PLAY' ? 'play()' : 'connect()'} fail with ABORTED when closed while ${held} waits, with every slot back`, async () => {
      const server = await serve({
        onRequest: async (req, _conn, next) => {
          if (req.method !== held) await next(); // the held request is never answered
        },
      });
      const client = new RtspClient(server.url(), QUIET);
      clients.push(client);
      const starting = held === 'PLAY' ? client.connect().then(() => client.play()) : client.connect();
      const failed = starting.then(() => undefined, (e) => e);
      await waitUntil(() => server.methods().includes(held), 10_000, `the ${held} request`);
      const t0 = Date.now();
      const closing = client.close();
      const err = await failed;
      const waitedMs = Date.now() - t0;
      await closing;
      expect(err).toMatchObject({ code: 'ABORTED' });
      expect(waitedMs).toBeLessThan(QUIET.requestTimeoutMs!);
      expect(client.stats().pool!.inUse).toBe(0);
      await expect(client.play()).rejects.toMatchObject({ code: 'CLOSED' });
      // A session that was set up is torn down even when start-up was cut short.
      if (held === 'PLAY') expect(server.methods()).toContain('TEARDOWN');
    });
  }

  it('makes connect() fail with ABORTED when closed right after it was called (before any request)', async () => {
    const server = await serve();
    const client = new RtspClient(server.url(), QUIET);
    clients.push(client);
    const failed = client.connect().then(() => undefined, (e) => e);
    await client.close();
    expect(await failed).toMatchObject({ code: 'ABORTED' });
    expect(server.methods()).toEqual([]);
  });
});

describe('frame mode faults', () => {
  it('regression (soak): a malformed sprop-parameter-sets neither throws out of the socket callback nor stops frames', async () => {
    // The SDP's sprop made StreamFrames throw CodecError BAD_BASE64; the client turned frames off for the stream and
    // emitted 'error' — which, with no 'error' listener, threw out of the read callback and took the process down.
    const idr = (seq: number) => interleaved(0, rtpPacket({ seq, timestamp: seq * 3000, marker: true, payload: Uint8Array.of(0x65, 1, 2, 3) }));
    const server = await serve({
      onRequest: (req, conn, next) => (req.method === 'DESCRIBE'
        ? conn.reply(req, 200, [['Content-Type', 'application/sdp'], ['Content-Base', `${server.url()}/`]],
          h264Sdp().replace(/sprop-parameter-sets=[^\r\n;]*/, 'sprop-parameter-sets=Z*==,aM4xsg=='))
        : next()),
      onPlay: (conn) => conn.send(concat([0, 1, 2].map(idr))),
    });
    const client = new RtspClient(server.url(), { ...QUIET, frames: true });
    clients.push(client);
    let frames = 0;
    client.on('frame', () => frames++); // and deliberately no 'error' listener
    await client.connect();
    await client.play();
    await waitUntil(() => frames === 3, 10_000, '3 frames');
    const st = client.stats().streams[0].frames!;
    expect(st.badParameterSets).toBe(1);
    expect(st.keyframes).toBe(3);
  });
});
