/**
 * Proves the GStreamer RTSP test server with clients that are not ours: gst-launch-1.0 rtspsrc over TCP and UDP,
 * with and without auth, and a hand-written RTSP exchange over a raw socket for the request-based session timeout.
 * Loopback only; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, RtspServerStartError, type RtspTestServer } from './harness.js';

/** Buffers a gst-launch client must deliver to fakesink to count as playing. */
const CLIENT_BUFFERS = 30;
/** Upper bound for one gst-launch run. */
const GST_LAUNCH_TIMEOUT_MS = 20_000;
/** Session timeout used by the timeout tests, in seconds. */
const SHORT_TIMEOUT_S = 2;
/** Slack allowed past the timeout: the server's watchdog ticks every 200 ms, plus scheduling on a loaded machine. */
const TIMEOUT_MARGIN_MS = 2_000;
/** Clock slack for the lower bound (Node and Python read the same monotonic clock, at different moments). */
const CLOCK_SLACK_MS = 50;

interface GstLaunchResult {
  code: number | null;
  /** fakesink buffers seen (one `chain` last-message per buffer with -v and silent=false). */
  buffers: number;
  output: string;
}

/** Runs `gst-launch-1.0 -v rtspsrc ... ! fakesink num-buffers=N silent=false` and counts the buffers. */
function gstLaunchRtsp(location: string, rtspsrcProperties: string[], buffers = CLIENT_BUFFERS): Promise<GstLaunchResult> {
  const args = ['-v', 'rtspsrc', `location=${location}`, 'latency=0', ...rtspsrcProperties, '!', 'fakesink',
    `num-buffers=${buffers}`, 'silent=false'];
  return new Promise((resolve, reject) => {
    const child = spawn('gst-launch-1.0', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), GST_LAUNCH_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const chains = output.match(/last-message = chain/g)?.length ?? 0;
      resolve({ code, buffers: chains, output });
    });
  });
}

/** One RTSP response read by RawRtspClient. */
interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * A deliberately dumb RTSP client over a raw TCP socket: it sends exactly the requests the test asks for and
 * never a keep-alive, and counts the interleaved ($) frames it reads.
 */
class RawRtspClient {
  private buffer = Buffer.alloc(0);
  private cseq = 0;
  private readonly pending = new Map<number, (response: RawResponse) => void>();
  interleavedFrames = 0;
  interleavedBytes = 0;
  readonly closed: Promise<number>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(performance.now())));
  }

  static async open(port: number): Promise<RawRtspClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawRtspClient(socket);
  }

  request(method: string, url: string, headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<RawResponse> {
    const cseq = ++this.cseq;
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${cseq}`, 'User-Agent: wasm-rtsp-raw-test'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cseq);
        reject(new Error(`${method} ${url}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(cseq, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    // Bounded: every pass consumes at least one frame or message, or waits for more bytes.
    while (this.buffer.length > 0) {
      if (this.buffer[0] === 0x24) {
        // RFC 2326 10.12: '$', channel, 16-bit big-endian length, data.
        if (this.buffer.length < 4) return;
        const length = this.buffer.readUInt16BE(2);
        if (this.buffer.length < 4 + length) return;
        this.interleavedFrames++;
        this.interleavedBytes += length;
        this.buffer = this.buffer.subarray(4 + length);
        continue;
      }
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const bodyLength = Number(headers.get('content-length') ?? 0);
      if (this.buffer.length < end + 4 + bodyLength) return;
      const body = this.buffer.subarray(end + 4, end + 4 + bodyLength).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + bodyLength);
      const status = Number(/^RTSP\/1\.0 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const cseq = Number(headers.get('cseq'));
      this.pending.get(cseq)?.({ status, headers, body });
      this.pending.delete(cseq);
    }
  }
}

/** OPTIONS, DESCRIBE, SETUP (TCP interleaved or UDP to `udpPorts`), PLAY; returns the session id and PLAY url. */
async function rawPlay(
  client: RawRtspClient,
  server: RtspTestServer,
  path: string,
  udpPorts?: [number, number],
): Promise<{ session: string; playUrl: string; playSentAt: number }> {
  const url = server.url(path);
  expect((await client.request('OPTIONS', url)).status).toBe(200);
  const describe = await client.request('DESCRIBE', url, { Accept: 'application/sdp' });
  expect(describe.status).toBe(200);
  const base = describe.headers.get('content-base') ?? `${url}/`;
  const control = /^a=control:(.+)$/m.exec(describe.body.split(/^m=/m)[1] ?? '')?.[1]?.trim() ?? '';
  const setupUrl = control.startsWith('rtsp://') ? control : base + control;
  const transport = udpPorts
    ? `RTP/AVP;unicast;client_port=${udpPorts[0]}-${udpPorts[1]}`
    : 'RTP/AVP/TCP;unicast;interleaved=0-1';
  const setup = await client.request('SETUP', setupUrl, { Transport: transport });
  expect(setup.status).toBe(200);
  const session = (setup.headers.get('session') ?? '').split(';')[0]!;
  expect(session).not.toBe('');
  expect(setup.headers.get('session')).toMatch(/timeout=\d+/);
  // The server stamps the request when it arrives, after this and before the response: a safe lower bound.
  const playSentAt = performance.now();
  const play = await client.request('PLAY', base, { Session: session, Range: 'npt=0-' });
  expect(play.status).toBe(200);
  return { session, playUrl: base, playSentAt };
}

/** Two bound UDP sockets on consecutive ports (RTP, RTCP) that swallow what the server sends. */
async function udpPair(): Promise<{ ports: [number, number]; packets: () => number; close: () => void }> {
  // Bounded: a handful of attempts to find an even port whose successor is free.
  for (let attempt = 0; attempt < 20; attempt++) {
    const rtp = createSocket('udp4');
    await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
    const port = rtp.address().port;
    const rtcp: UdpSocket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      rtcp.once('error', () => resolve(false));
      rtcp.bind(port + 1, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      rtp.close();
      continue;
    }
    let count = 0;
    rtp.on('message', () => count++);
    rtcp.on('message', () => {});
    return { ports: [port, port + 1], packets: () => count, close: () => (rtp.close(), rtcp.close()) };
  }
  throw new Error('no free consecutive UDP port pair on 127.0.0.1');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const requestsOf = (server: RtspTestServer, client: unknown): string[] =>
  server.events.filter((e) => e.event === 'request' && e.client === client).map((e) => String(e.method));

describe('rtspsrc against the test server (no auth)', () => {
  let server: RtspTestServer;
  beforeAll(async () => {
    server = await startRtspServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reports ready with a port and its mount points', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.mounts).toEqual(expect.arrayContaining(['/h264', '/raw']));
    expect(server.events[0]).toMatchObject({ event: 'ready', ready: true, port: server.port });
  });

  it.each([
    ['/h264', 'tcp'],
    ['/h264', 'udp'],
    ['/raw', 'tcp'],
    ['/raw', 'udp'],
  ])('%s over %s plays and the server reports the requests', async (path, protocol) => {
    const from = server.events.length;
    const result = await gstLaunchRtsp(server.url(path), [`protocols=${protocol}`]);
    // rtspsrc sometimes reports a failed PAUSE after its own TEARDOWN on shutdown; the buffers are the proof.
    expect(result.buffers, result.output).toBeGreaterThanOrEqual(CLIENT_BUFFERS);
    const setup = await server.waitFor((e) => e.event === 'request' && e.method === 'SETUP', 5_000, from);
    expect(String(setup.transport)).toMatch(protocol === 'tcp' ? /RTP\/AVP\/TCP.*interleaved=/ : /client_port=/);
    expect(setup.path).toMatch(new RegExp(`^${path}/`));
    await server.waitFor((e) => e.event === 'client-closed' && e.client === setup.client, 5_000, from);
    expect(requestsOf(server, setup.client)).toEqual(expect.arrayContaining(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']));
    const sessionId = setup.session ?? server.events.find((e) => e.event === 'session-new' && e.client === setup.client)?.session;
    expect(server.events.some((e) => e.event === 'session-new' && e.session === sessionId)).toBe(true);
    const play = server.events.find((e) => e.event === 'request' && e.client === setup.client && e.method === 'PLAY');
    expect(play?.session).toBe(sessionId);
    expect(server.events.some((e) => e.event === 'response' && e.client === setup.client && e.cseq === play?.cseq && e.status === 200)).toBe(true);
  });

  it('/h265 plays over tcp when x265enc is installed', async (context) => {
    if (!server.mounts.includes('/h265')) context.skip();
    const result = await gstLaunchRtsp(server.url('/h265'), ['protocols=tcp'], 10);
    expect(result.buffers, result.output).toBeGreaterThanOrEqual(10);
  });

  it('answers 404 for an unknown mount point', async () => {
    const from = server.events.length;
    const result = await gstLaunchRtsp(server.url('/nope'), ['protocols=tcp'], 5);
    expect(result.buffers).toBe(0);
    expect(result.code).not.toBe(0);
    await server.waitFor((e) => e.event === 'response' && e.status === 404, 5_000, from);
  });
});

describe.each(['basic', 'digest'] as const)('%s auth', (auth) => {
  const user = 'camera';
  const password = 'p@ss:w0rd';
  let server: RtspTestServer;
  beforeAll(async () => {
    server = await startRtspServer({ auth, user, password });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('plays with the right credentials', async () => {
    const from = server.events.length;
    const result = await gstLaunchRtsp(server.url('/h264'), ['protocols=tcp', `user-id=${user}`, `user-pw=${password}`]);
    expect(result.buffers, result.output).toBeGreaterThanOrEqual(CLIENT_BUFFERS);
    // The first DESCRIBE is challenged, the retry with credentials passes.
    await server.waitFor((e) => e.event === 'response' && e.status === 401, 5_000, from);
    await server.waitFor((e) => e.event === 'session-new', 5_000, from);
  });

  it('fails with a wrong password and never creates a session', async () => {
    const from = server.events.length;
    const result = await gstLaunchRtsp(server.url('/h264'), ['protocols=tcp', `user-id=${user}`, 'user-pw=wrong']);
    expect(result.buffers).toBe(0);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Unauthorized|401/);
    // The previous test's client may still be closing: follow the connection this test opened.
    const connected = await server.waitFor((e) => e.event === 'client-connected', 5_000, from);
    await server.waitFor((e) => e.event === 'client-closed' && e.client === connected.client, 5_000, from);
    const mine = server.events.slice(from).filter((e) => e.client === connected.client);
    expect(mine.some((e) => e.event === 'response' && e.status === 401)).toBe(true);
    expect(mine.some((e) => e.event === 'session-new')).toBe(false);
  });

  it('fails without credentials', async () => {
    const from = server.events.length;
    const result = await gstLaunchRtsp(server.url('/h264'), ['protocols=tcp']);
    expect(result.buffers).toBe(0);
    expect(result.code).not.toBe(0);
    const connected = await server.waitFor((e) => e.event === 'client-connected', 5_000, from);
    await server.waitFor((e) => e.event === 'response' && e.client === connected.client && e.status === 401, 5_000, from);
  });

  it('never logs the password', () => {
    const everything = JSON.stringify(server.events) + server.stderr();
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(encodeURIComponent(password));
  });
});

describe.concurrent('request-based session timeout', () => {
  // The tests run concurrently, each with its own server and client, so nothing here is shared between them.
  const servers: RtspTestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  async function freshServer(): Promise<RtspTestServer> {
    const server = await startRtspServer({ sessionTimeout: SHORT_TIMEOUT_S });
    servers.push(server);
    return server;
  }

  it('cuts off a TCP-interleaved client that only reads media', async ({ onTestFinished }) => {
    const server = await freshServer();
    const client = await RawRtspClient.open(server.port);
    onTestFinished(() => client.close());
    const { session, playSentAt: lastRequestAt } = await rawPlay(client, server, '/h264');
    const closedAt = await Promise.race([client.closed, sleep(SHORT_TIMEOUT_S * 1000 + TIMEOUT_MARGIN_MS + 2_000).then(() => -1)]);
    expect(closedAt, 'connection still open well past the timeout').toBeGreaterThan(0);
    const elapsed = closedAt - lastRequestAt;
    expect(elapsed).toBeGreaterThanOrEqual(SHORT_TIMEOUT_S * 1000 - CLOCK_SLACK_MS);
    expect(elapsed).toBeLessThan(SHORT_TIMEOUT_S * 1000 + TIMEOUT_MARGIN_MS);
    // Media was flowing the whole time: stock gst-rtsp-server would have counted it as keep-alive.
    expect(client.interleavedFrames).toBeGreaterThan(10);
    await server.waitFor((e) => e.event === 'session-timeout' && e.session === session, 2_000);
    await server.waitFor((e) => e.event === 'session-removed' && e.session === session && e.reason === 'timeout', 2_000);
  });

  it('cuts off a UDP client that sends no requests', async ({ onTestFinished }) => {
    const server = await freshServer();
    const udp = await udpPair();
    const client = await RawRtspClient.open(server.port);
    onTestFinished(() => client.close());
    try {
      const { session, playSentAt: lastRequestAt } = await rawPlay(client, server, '/h264', udp.ports);
      const closedAt = await Promise.race([client.closed, sleep(SHORT_TIMEOUT_S * 1000 + TIMEOUT_MARGIN_MS + 2_000).then(() => -1)]);
      expect(closedAt, 'connection still open well past the timeout').toBeGreaterThan(0);
      expect(closedAt - lastRequestAt).toBeGreaterThanOrEqual(SHORT_TIMEOUT_S * 1000 - CLOCK_SLACK_MS);
      expect(closedAt - lastRequestAt).toBeLessThan(SHORT_TIMEOUT_S * 1000 + TIMEOUT_MARGIN_MS);
      expect(udp.packets()).toBeGreaterThan(10);
      await server.waitFor((e) => e.event === 'session-removed' && e.session === session && e.reason === 'timeout', 2_000);
      // After removal the server stops sending: the count settles.
      await sleep(500);
      const settled = udp.packets();
      await sleep(500);
      expect(udp.packets()).toBe(settled);
    } finally {
      udp.close();
    }
  });

  it.for(['GET_PARAMETER', 'OPTIONS'])('keeps a client that sends %s every timeout/2', async (method, { onTestFinished }) => {
    const server = await freshServer();
    const client = await RawRtspClient.open(server.port);
    onTestFinished(() => client.close());
    const { session, playUrl } = await rawPlay(client, server, '/h264');
    let open = true;
    void client.closed.then(() => (open = false));
    const rounds = 6; // 6 × timeout/2 = 3 × timeout
    for (let round = 0; round < rounds; round++) {
      await sleep((SHORT_TIMEOUT_S * 1000) / 2);
      expect(open, `connection closed in keep-alive round ${round}`).toBe(true);
      const response = await client.request(method, method === 'OPTIONS' ? server.url('/h264') : playUrl, { Session: session });
      expect(response.status).toBe(200);
    }
    expect(server.events.some((e) => e.event === 'session-timeout')).toBe(false);
    // Still streaming: more frames arrive (bounded wait, not one sample after a fixed sleep).
    const framesBefore = client.interleavedFrames;
    for (let i = 0; i < 100 && client.interleavedFrames <= framesBefore; i++) await sleep(50);
    expect(client.interleavedFrames).toBeGreaterThan(framesBefore);
    expect((await client.request('TEARDOWN', playUrl, { Session: session })).status).toBe(200);
    await server.waitFor((e) => e.event === 'session-removed' && e.session === session && e.reason === 'teardown', 2_000);
    await server.waitFor((e) => e.event === 'teardown' && e.session === session, 100);
  });
});

describe('harness', () => {
  it('stop() ends the process and frees the port', async () => {
    const server = await startRtspServer();
    await server.stop();
    expect(server.events.at(-1)?.event).toBe('stopped');
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    await server.stop(); // idempotent
  });

  it('rejects with the server stderr when the script fails', async () => {
    const error = await startRtspServer({ extraArgs: ['--no-such-option'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RtspServerStartError);
    expect(String((error as Error).message)).toMatch(/unrecognized arguments: --no-such-option/);
  });

  it('rejects clearly when the interpreter is missing', async () => {
    const error = await startRtspServer({ python: '/nonexistent/python3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RtspServerStartError);
    expect(String((error as Error).message)).toMatch(/cannot run \/nonexistent\/python3/);
  });
});

