// Cancel anywhere: an AbortSignal (or close()) ends a DNS lookup, a TCP connect, a request waiting for its reply and
// a camera's backoff wait at once — within ~1 s here, long before any timeout — with RtspError('ABORTED'), and leaves
// no timer behind.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RtspCamera, RtspClient, type RtspCameraOptions } from '../../../src/node/index.js';
import { ScriptedServer, waitUntil } from './scripted-server.js';

/** Generous: the machine is loaded. The timeouts in play are all ≥ 30 s, so passing this bound proves the abort. */
const ABORT_BOUND_MS = 1500;
const SLOW = { requestTimeoutMs: 30_000, connectTimeoutMs: 30_000, keepAlive: false, receiverReports: false };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A resolver that never answers: the lookup stays in progress until the socket is destroyed. */
const hangingLookup: net.LookupFunction = () => undefined;

/**
 * A TCP port whose accept queue is full: a listener (python, which never accepts) with backlog 0, filled by a few
 * connections of ours; a further connect stays in SYN-SENT (the kernel drops its SYN) until aborted.
 */
async function blackHolePort(): Promise<number> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(120)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', () => reject(new Error('the listener exited')));
  });
  // Fill the queue: connect until one attempt has not completed after 300 ms (bounded).
  for (let i = 0; i < 16; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => { clearTimeout(t); resolve(true); });
    });
    if (!connected) return port;
  }
  throw new Error('the accept queue never filled');
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Starts `start`, aborts when `ready()` holds, and returns what it rejected with and how long after the abort. */
async function abortWhen<T>(start: (signal: AbortSignal) => Promise<T>, ready: () => boolean, what: string) {
  const ac = new AbortController();
  const outcome = start(ac.signal).then(() => undefined, (e) => e);
  await waitUntil(ready, 10_000, what);
  const t0 = Date.now();
  ac.abort();
  const error = await outcome;
  return { error, ms: Date.now() - t0 };
}

describe('RtspClient: abort', () => {
  it('ends a DNS lookup in progress', async () => {
    let lookups = 0;
    const lookup: net.LookupFunction = (...args) => { lookups++; hangingLookup(...args); };
    let client: RtspClient | undefined;
    const { error, ms } = await abortWhen((signal) => {
      client = new RtspClient('rtsp://camera.example.invalid/stream', { ...SLOW, signal, lookup });
      return client.connect();
    }, () => lookups === 1, 'the lookup to start');
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(ms).toBeLessThan(ABORT_BOUND_MS);
    await client!.close();
    expect(client!.stats().pool!.inUse).toBe(0);
  });

  it('ends a TCP connect in progress (SYN unanswered)', async () => {
    const port = await blackHolePort();
    let client: RtspClient | undefined;
    const t = Date.now();
    const { error, ms } = await abortWhen((signal) => {
      client = new RtspClient(`rtsp://127.0.0.1:${port}/stream`, { ...SLOW, signal });
      return client.connect();
    }, () => Date.now() - t > 300, '300 ms of connecting');
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(ms).toBeLessThan(ABORT_BOUND_MS);
  });

  it('ends a request waiting for its reply, and the TEARDOWN of a set-up session is still sent', async () => {
    const server = await ScriptedServer.start({ onRequest: (req, _c, next) => (req.method === 'PLAY' ? undefined : next()) });
    cleanups.push(() => server.stop());
    const before = timers();
    const { error, ms } = await abortWhen(async (signal) => {
      const client = new RtspClient(server.url(), { ...SLOW, signal });
      cleanups.push(() => client.close());
      await client.connect();
      await client.play();
    }, () => server.methods().includes('PLAY'), 'the PLAY request');
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(ms).toBeLessThan(ABORT_BOUND_MS);
    await waitUntil(() => server.methods().includes('TEARDOWN'), 5000, 'the TEARDOWN');
    // The 30 s request timer went with the request.
    await waitUntil(() => timers() <= before, 5000, 'no timer left');
  });
});

describe('RtspCamera: abort and close', () => {
  const FAST: RtspCameraOptions = { ...SLOW, jitter: 0 };

  function cameraWith(url: string, options: RtspCameraOptions) {
    const cam = new RtspCamera(url, { ...FAST, ...options });
    cleanups.push(() => cam.close());
    const closed = new Promise<number>((resolve) => cam.once('close', () => resolve(Date.now())));
    return { cam, closed };
  }

  it('ends during a DNS lookup', async () => {
    let lookups = 0;
    const ac = new AbortController();
    const { cam, closed } = cameraWith('rtsp://camera.example.invalid/stream', { signal: ac.signal, lookup: () => { lookups++; } });
    const started = cam.start().catch((e) => e);
    await waitUntil(() => lookups === 1, 10_000, 'the lookup');
    const t0 = Date.now();
    ac.abort();
    expect(await started).toMatchObject({ code: 'ABORTED' });
    expect((await closed) - t0).toBeLessThan(ABORT_BOUND_MS);
    expect(cam.currentState).toBe('closed');
  });

  it('ends during a TCP connect', async () => {
    const port = await blackHolePort();
    const { cam, closed } = cameraWith(`rtsp://127.0.0.1:${port}/x`, {});
    const started = cam.start().catch((e) => e);
    await waitUntil(() => cam.currentState === 'connecting', 10_000, 'connecting');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await cam.close();
    expect((await closed) - t0).toBeLessThan(ABORT_BOUND_MS);
    expect(await started).toMatchObject({ code: 'ABORTED' });
  });

  it('ends during a request', async () => {
    const server = await ScriptedServer.start({ onRequest: (req, _c, next) => (req.method === 'DESCRIBE' ? undefined : next()) });
    cleanups.push(() => server.stop());
    const { cam, closed } = cameraWith(server.url(), {});
    const started = cam.start().catch((e) => e);
    await waitUntil(() => server.methods().includes('DESCRIBE'), 10_000, 'the DESCRIBE');
    const t0 = Date.now();
    await cam.close();
    expect((await closed) - t0).toBeLessThan(ABORT_BOUND_MS);
    expect(await started).toMatchObject({ code: 'ABORTED' });
  });

  it('ends during the backoff wait, leaving no timer behind', async () => {
    // A port nobody listens on: refused at once, then a 60 s wait.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const before = timers();
    const ac = new AbortController();
    const { cam, closed } = cameraWith(`rtsp://127.0.0.1:${port}/x`, { signal: ac.signal, initialDelayMs: 60_000, maxDelayMs: 60_000 });
    const reconnecting: number[] = [];
    cam.on('reconnecting', (e: { delayMs: number }) => reconnecting.push(e.delayMs));
    const started = cam.start().catch((e) => e);
    await waitUntil(() => cam.currentState === 'waiting', 10_000, 'the backoff wait');
    expect(reconnecting).toEqual([60_000]);
    const t0 = Date.now();
    ac.abort();
    expect((await closed) - t0).toBeLessThan(ABORT_BOUND_MS);
    expect(await started).toMatchObject({ code: 'ABORTED' });
    await waitUntil(() => timers() <= before, 5000, 'no timer left');
  });
});
