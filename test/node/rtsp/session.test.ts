// Session upkeep and authentication against GStreamer's RTSP server: keep-alive before a short session timeout (over
// UDP and TCP; the test server enforces the timeout on RTSP requests, so a client that sends none is cut off — checked
// too, so these tests can fail), Basic and Digest credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient } from '../../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';

/**
 * The server's session timeout. Short, so the test is quick, but not 2 s: the server also cuts a connection that is
 * idle that long during set-up, and a loaded CI machine was seen to stall longer than that (ECONNRESET in open()).
 */
const TIMEOUT_S = 4;

describe(`keep-alive against a ${TIMEOUT_S} s session timeout`, () => {
  let server: RtspTestServer;
  beforeAll(async () => {
    server = await startRtspServer({ sessionTimeout: TIMEOUT_S });
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`keeps a ${transport} session alive for 4× the timeout, unbroken`, async () => {
      const from = server.events.length;
      const client = await RtspClient.open(server.url('/h264'), { transport });
      const session = (await server.waitFor((e) => e.event === 'session-new', 5000, from)).session;
      let closed = false;
      client.on('close', () => (closed = true));
      const arrivals: number[] = [];
      client.on('packet', () => arrivals.push(Date.now()));
      const start = Date.now();
      await new Promise((r) => setTimeout(r, TIMEOUT_S * 4000));
      // Still playing after 4× the timeout: a packet arrives after the wait (bounded poll, not a one-time sample).
      const waited = Date.now();
      for (let i = 0; i < 250 && !arrivals.some((t) => t >= waited); i++) await new Promise((r) => setTimeout(r, 20));
      expect(arrivals.some((t) => t >= waited), 'packets still flowing').toBe(true);
      expect(closed).toBe(false);
      const stats = client.stats();
      expect(stats.keepAlivesSent).toBeGreaterThanOrEqual(3);
      expect(stats.keepAliveFailures).toBe(0);
      // The server never expired the session (what a missed keep-alive would have done).
      expect(server.events.slice(from).filter((e) => e.session === session && (e.event === 'session-timeout' || e.event === 'session-removed'))).toEqual([]);
      // Never stopped for as long as the timeout (a stall of the loaded machine may pause delivery briefly).
      let gap = 0;
      for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
      expect(gap).toBeLessThan(TIMEOUT_S * 1000);
      expect(arrivals[0] - start).toBeLessThan(TIMEOUT_S * 1000);
      expect(stats.streams[0].lost).toBe(0);
      await client.close();
    }, 60_000);

    it(`is cut off over ${transport} when it sends no keep-alive (the check above can fail)`, async () => {
      const client = await RtspClient.open(server.url('/h264'), { transport, keepAlive: false });
      const closedByServer = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const from = server.events.length;
      const t0 = Date.now();
      await server.waitFor((e) => e.event === 'session-timeout', TIMEOUT_S * 1000 + 4000, from);
      expect(Date.now() - t0).toBeGreaterThan(TIMEOUT_S * 1000 - 500);
      if (transport === 'tcp') {
        // The server closes the connection: the client notices and closes itself.
        await closedByServer;
      }
      await client.close();
    }, 60_000);
  }
});

for (const auth of ['basic', 'digest'] as const) {
  describe(`${auth} authentication`, () => {
    let server: RtspTestServer;
    const user = 'viewer';
    const password = 'p@ss:w/rd é';
    beforeAll(async () => {
      server = await startRtspServer({ auth, user, password });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('plays with the right credentials (percent-encoded in the URL)', async () => {
      const client = await RtspClient.open(server.url('/h264', { user, password }));
      const first = await new Promise<number>((resolve) => client.once('packet', (p) => resolve(p.header.payloadType)));
      expect(first).toBe(96);
      await client.close();
      const requests = server.events.filter((e) => e.event === 'request');
      expect(JSON.stringify(server.events)).not.toContain(password);
      expect(requests.some((e) => e.method === 'PLAY')).toBe(true);
    });

    it('fails with UNAUTHORIZED, without the password in the error', async () => {
      const err = await RtspClient.open(server.url('/h264', { user, password: 'wrong' })).catch((e) => e);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });
      expect(String(err.message) + JSON.stringify(err.context)).not.toContain('wrong');
    });

    it('fails with UNAUTHORIZED when the URL has no credentials', async () => {
      await expect(RtspClient.open(server.url('/h264'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });
  });
}
