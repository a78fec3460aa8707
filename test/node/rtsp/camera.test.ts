// RtspCamera, the supervisor that keeps a camera playing: against GStreamer's RTSP server (killed and restarted on the
// same port, a missing mount point) and the scripted server for faults (454 on keep-alive, a silent stream, blocked
// UDP, a changed SDP). Every wait is a bounded poll or an event with a deadline.
import { afterEach, describe, expect, it } from 'vitest';
import {
  RtspCamera, RtspError, type ReconnectedEvent, type ReconnectingEvent, type RtpPacket, type RtspCameraOptions,
} from '../../../src/node/index.js';
import { startRtspServer, type RtspServerEvent, type RtspTestServer } from '../../server/harness.js';
import { h264Sdp, range, rtpFrames, ScriptedServer, SESSION_ID, waitUntil, type ScriptedServerOptions } from './scripted-server.js';

const cameras: RtspCamera[] = [];
const servers: Array<{ stop(): Promise<void> }> = [];

afterEach(async () => {
  for (const c of cameras.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

/** Fast retries, no jitter (delays are then exact), quiet sessions unless a test wants timers. */
const FAST: RtspCameraOptions = { initialDelayMs: 100, maxDelayMs: 2000, factor: 2, jitter: 0, receiverReports: false, requestTimeoutMs: 3000 };

function camera(url: string, options: RtspCameraOptions = {}) {
  const cam = new RtspCamera(url, { ...FAST, ...options });
  cameras.push(cam);
  const log = {
    packets: 0,
    streamIds: new Set<number>(),
    reconnecting: [] as ReconnectingEvent[],
    reconnected: [] as ReconnectedEvent[],
    fallbacks: [] as Array<{ from: string; to: string }>,
    errors: [] as RtspError[],
    closed: [] as Array<RtspError | undefined>,
  };
  cam.on('packet', (p: RtpPacket) => {
    log.packets++;
    log.streamIds.add(p.stream.id);
  });
  cam.on('reconnecting', (e: ReconnectingEvent) => log.reconnecting.push(e));
  cam.on('reconnected', (e: ReconnectedEvent) => log.reconnected.push(e));
  cam.on('fallback', (e: { from: string; to: string }) => log.fallbacks.push(e));
  cam.on('error', (e: RtspError) => log.errors.push(e));
  cam.on('close', (reason?: RtspError) => log.closed.push(reason));
  return { cam, log };
}

async function scripted(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const s = await ScriptedServer.start(options);
  servers.push(s);
  return s;
}

/** Sessions the GStreamer server created and those it saw a TEARDOWN for. */
function sessionsOf(events: RtspServerEvent[]) {
  return {
    created: events.filter((e) => e.event === 'session-new').map((e) => e.session as string),
    tornDown: events.filter((e) => e.event === 'session-removed' && e.reason === 'teardown').map((e) => e.session as string),
  };
}

describe('RtspCamera against gst-rtsp-server', () => {
  for (const transport of ['tcp', 'udp'] as const) {
    it(`comes back over ${transport} when its server is killed and restarted on the same port, same stream ids, every session torn down`, async () => {
      let server: RtspTestServer = await startRtspServer();
      servers.push(server);
      const port = server.port;
      const { cam, log } = camera(server.url('/h264'), { transport, mediaTimeoutMs: 3000 });
      const streams = await cam.start();
      expect(streams.map((s) => s.id)).toEqual([0]);
      await waitUntil(() => log.packets > 20, 10_000, 'packets of the first session');
      const firstServerEvents = server.events;
      await server.stop(); // SIGTERM: the server goes away, its sessions with it
      // Retried while the server is gone (refused), after the first failure (the dropped connection or session).
      await waitUntil(() => log.reconnecting.some((e) => e.reason.code === 'CONNECT_FAILED'), 15_000, 'a refused reconnect attempt');
      for (const e of log.reconnecting) expect(['CONNECTION_CLOSED', 'MEDIA_TIMEOUT', 'CONNECT_FAILED']).toContain(e.reason.code);
      // (The first server may have set up another session while it shut down: the camera retries at once.)
      expect(sessionsOf(firstServerEvents).created.length).toBeGreaterThanOrEqual(1);

      const reconnectedBefore = log.reconnected.length;
      server = await startRtspServer({ port });
      servers.push(server);
      expect(server.port).toBe(port);
      await waitUntil(() => log.reconnected.length > reconnectedBefore, 15_000, 'the reconnected event');
      const before = log.packets;
      await waitUntil(() => log.packets > before + 20, 10_000, 'packets after the reconnect');
      // It took the refused attempts and this one.
      expect(log.reconnected.at(-1)!.attempts).toBeGreaterThanOrEqual(2);
      expect([...log.streamIds]).toEqual([0]);
      expect(cam.streams.map((s) => s.id)).toEqual([0]);
      const stats = cam.stats();
      expect(stats).toMatchObject({ state: 'playing', sessions: log.reconnected.length + 1, reconnects: log.reconnected.length, transport });
      expect(stats.totals[0]!.packets).toBe(log.packets);

      await cam.close();
      expect(log.closed).toEqual([undefined]);
      // Every session this server set up got a TEARDOWN.
      const s = await waitForTeardowns(server);
      expect(s.created).toHaveLength(1);
      expect(s.tornDown).toEqual(s.created);
    }, 60_000);
  }

  it('keeps retrying a 404 with growing delays (exponential, capped), and stops at close()', async () => {
    const server = await startRtspServer();
    servers.push(server);
    const { cam, log } = camera(server.url('/nope'), { initialDelayMs: 50, factor: 2, maxDelayMs: 400 });
    const started = cam.start();
    await waitUntil(() => log.reconnecting.length >= 5, 15_000, 'five retries');
    expect(log.reconnecting.map((e) => e.delayMs).slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(log.reconnecting.map((e) => e.attempt).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(log.reconnecting[0]!.reason).toMatchObject({ code: 'STATUS', statusCode: 404 });
    expect(cam.stats().failures).toBeGreaterThanOrEqual(5);
    await cam.close();
    await expect(started).rejects.toMatchObject({ code: 'ABORTED' });
    expect(log.closed).toEqual([undefined]);
  }, 30_000);

  it('ends at once on a status listed in fatalStatusCodes, and after maxAttempts otherwise', async () => {
    const server = await startRtspServer();
    servers.push(server);
    const fatal = camera(server.url('/nope'), { fatalStatusCodes: [404] });
    await expect(fatal.cam.start()).rejects.toMatchObject({ code: 'STATUS', statusCode: 404 });
    expect(fatal.log.reconnecting).toEqual([]);
    expect(fatal.log.closed).toHaveLength(1);
    expect(fatal.log.closed[0]).toMatchObject({ code: 'STATUS', statusCode: 404 });
    expect(fatal.cam.currentState).toBe('closed');

    const limited = camera(server.url('/nope'), { maxAttempts: 3, initialDelayMs: 10 });
    const err = await limited.cam.start().catch((e) => e);
    expect(err).toMatchObject({ code: 'STATUS', statusCode: 404, context: { attempts: 3 } });
    expect(limited.log.reconnecting).toHaveLength(2);
    expect(limited.log.closed).toHaveLength(1);
  });
});

/** The GStreamer server logs session-removed right after the TEARDOWN reply: wait (bounded) until each one is seen. */
async function waitForTeardowns(server: RtspTestServer) {
  await waitUntil(() => {
    const s = sessionsOf(server.events);
    return s.created.length > 0 && s.created.every((id) => s.tornDown.includes(id));
  }, 10_000, 'a TEARDOWN for every session').catch(() => undefined);
  return sessionsOf(server.events);
}

describe('RtspCamera against scripted faults', () => {
  it('starts a new session when a keep-alive is answered 454 Session Not Found', async () => {
    let gets = 0;
    const server = await scripted({
      onRequest: async (req, conn, next) => {
        if (req.method === 'GET_PARAMETER' && ++gets === 1) return conn.reply(req, 454);
        return next();
      },
      onPlay: (conn) => conn.send(rtpFrames(range(0, 5))),
    });
    const { cam, log } = camera(server.url(), { keepAliveIntervalMs: 200, mediaTimeoutMs: 0 });
    await cam.start();
    await waitUntil(() => log.reconnected.length === 1, 10_000, 'the second session');
    expect(log.reconnecting[0]!.reason).toMatchObject({ code: 'SESSION_NOT_FOUND', statusCode: 454 });
    expect(log.reconnecting[0]!.delayMs).toBe(100);
    const methods = server.methods();
    expect(methods.filter((m) => m === 'SETUP')).toHaveLength(2);
    expect(methods.filter((m) => m === 'PLAY')).toHaveLength(2);
    // The forgotten session still got its TEARDOWN (harmless, and the rule is: every session set up is torn down).
    expect(methods.indexOf('TEARDOWN')).toBeGreaterThan(methods.indexOf('GET_PARAMETER'));
    expect(methods.indexOf('TEARDOWN')).toBeLessThan(methods.lastIndexOf('SETUP'));
  });

  it('reconnects with MEDIA_TIMEOUT when a stream goes silent', async () => {
    const server = await scripted({ onPlay: (conn) => conn.send(rtpFrames(range(0, 5))) });
    const { cam, log } = camera(server.url(), { mediaTimeoutMs: 400, keepAlive: false });
    await cam.start();
    // A listener added later gets the next sessions' packets too (forwarders follow the client).
    let late = 0;
    cam.on('packet', () => { late++; });
    await waitUntil(() => log.reconnected.length >= 1 && late >= 5, 10_000, 'a new session after the silence');
    expect(log.reconnecting[0]!.reason).toMatchObject({ code: 'MEDIA_TIMEOUT', context: { streamId: 0 } });
    expect(log.errors.some((e) => e.code === 'MEDIA_TIMEOUT')).toBe(true);
    const methods = server.methods();
    expect(methods.slice(0, 6)).toEqual(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN', 'OPTIONS']);
    expect(log.packets).toBeGreaterThanOrEqual(10); // five per session
  });

  it('falls back to TCP when UDP delivers nothing after PLAY, at once and for good', async () => {
    const server = await scripted({
      onRequest: async (req, conn, next) => {
        const transport = req.headers.get('transport') ?? '';
        if (req.method === 'SETUP' && transport.includes('client_port')) {
          // Accept UDP, then send nothing over it (a firewall in the way).
          const ports = /client_port=(\d+)-(\d+)/.exec(transport)!;
          return conn.reply(req, 200, [
            ['Transport', `RTP/AVP;unicast;client_port=${ports[1]}-${ports[2]};server_port=40000-40001`],
            ['Session', `${SESSION_ID};timeout=60`],
          ]);
        }
        return next();
      },
      onPlay: (conn) => conn.send(rtpFrames(range(0, 5))), // interleaved: reaches only a TCP session
    });
    const { cam, log } = camera(server.url(), { transport: 'udp', udpTimeoutMs: 400, keepAlive: false, mediaTimeoutMs: 0 });
    const streams = await cam.start();
    expect(streams[0]!.clientPorts).toBeDefined();
    await waitUntil(() => log.packets >= 5, 10_000, 'packets over TCP');
    expect(log.fallbacks).toEqual([expect.objectContaining({ from: 'udp', to: 'tcp' })]);
    expect(log.reconnecting).toEqual([]); // no backoff for a fallback
    expect(cam.stats()).toMatchObject({ fallbacks: 1, transport: 'tcp' });
    const setups = server.requests.filter((r) => r.method === 'SETUP').map((r) => r.headers.get('transport'));
    expect(setups[0]).toContain('client_port=');
    expect(setups[1]).toContain('RTP/AVP/TCP');
    expect(server.methods().indexOf('TEARDOWN')).toBeLessThan(server.methods().lastIndexOf('SETUP'));
  });

  it('survives 20 dropped sessions in a row without leaking wasm memory, handles or listeners', async () => {
    const server = await scripted({
      onPlay: async (conn) => {
        await conn.send(rtpFrames(range(0, 3)));
        await conn.drop();
      },
    });
    const { cam, log } = camera(server.url(), { initialDelayMs: 5, maxDelayMs: 5, mediaTimeoutMs: 0, keepAlive: false });
    const reserved: number[] = [];
    const listeners: number[] = [];
    const cores = new Set<unknown>();
    cam.on('reconnected', () => {
      // Read at the same point of every session (it may drop right after: the server hangs up after 3 packets).
      const core = cam.currentClient!.wasmCore!;
      cores.add(core);
      reserved.push(core.reservedBytes);
      listeners.push(cam.listenerCount('packet'));
    });
    await cam.start();
    await waitUntil(() => log.reconnected.length >= 20, 30_000, '20 reconnects');
    // One core for the camera's life, the same bytes reserved at every session, nothing piling up.
    expect(cores.size).toBe(1);
    expect(new Set(reserved).size).toBe(1);
    expect(new Set(listeners).size).toBe(1);
    expect(log.reconnecting.every((e) => e.reason.code === 'CONNECTION_CLOSED')).toBe(true);
    // Every session got its TEARDOWN (on a fresh connection, its own having dropped).
    await waitUntil(() => server.methods().filter((m) => m === 'TEARDOWN').length >= 20, 10_000, 'the TEARDOWNs');
    expect(cam.stats().totals[0]!.packets).toBe(log.packets);
  }, 60_000);

  it('ends with SDP_CHANGED when the camera comes back with streams of another shape', async () => {
    let describes = 0;
    const server = await scripted({
      onRequest: async (req, conn, next) => {
        if (req.method !== 'DESCRIBE' || ++describes === 1) return next();
        const sdp = h264Sdp().replace('H264/90000', 'H265/90000').replace('RTP/AVP 96', 'RTP/AVP 96');
        return conn.reply(req, 200, [['Content-Type', 'application/sdp'], ['Content-Base', server.url('/stream') + '/']], sdp);
      },
      onPlay: async (conn) => {
        await conn.send(rtpFrames(range(0, 5)));
        await conn.drop();
      },
    });
    const { cam, log } = camera(server.url(), { mediaTimeoutMs: 0, keepAlive: false });
    await cam.start();
    await waitUntil(() => log.closed.length === 1, 10_000, 'the camera to end');
    expect(log.closed[0]).toMatchObject({ code: 'SDP_CHANGED' });
    expect(log.errors.map((e) => e.code)).toContain('SDP_CHANGED');
    expect(cam.currentState).toBe('closed');
  });
});
