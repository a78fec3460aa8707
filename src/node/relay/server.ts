// The relay: plays RTSP cameras (RtspClient, packet mode) and serves them to browsers over WebSocket, with a small
// page that runs this package's wasm in the browser (demuxer, depayloader) and decodes with WebCodecs.
//
//   GET /                 the viewer page (one tile per camera)
//   GET /lib/…            the package's built browser files (dist/browser, dist/core) and the wasm module
//   GET /cameras.json     the cameras: index, URL without credentials, state
//   WS  /ws/<camera>      one camera: a JSON text message describing its streams, then binary messages
//
// Binary messages carry interleaved RTP exactly as RTSP over TCP does ('$', channel, 16-bit length, packet; RFC 2326
// §10.12; channel = 2 × stream id), one whole access unit per message. A browser that falls behind (its socket's
// bufferedAmount would pass `maxBufferedBytes`) loses whole access units, then waits for the next keyframe: counted
// per client, and no queue grows past the bound. See docs/browser.md for the protocol.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { WasmRtspError } from '../../core/errors.js';
import { redactUrl } from '../../core/rtsp/url.js';
import { RtspClient, type MediaStream, type RtspClientOptions } from '../rtsp/client.js';
import type { RtpPacket } from '../../core/media/packet.js';
import { AccessUnitAssembler, DEFAULT_MAX_ACCESS_UNIT_BYTES, type AccessUnit, type AssemblerStats } from './access-unit.js';
import { relayPageHtml } from './page.js';

/** Version of the WebSocket protocol, sent in every describe message. */
export const RELAY_PROTOCOL_VERSION = 1;
/** Default bound of one browser's unsent bytes (ws.bufferedAmount) before access units are dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 2 * 1024 * 1024;
/** How often each browser gets a stats message. */
export const STATS_INTERVAL_MS = 1_000;
/** Wait before reconnecting a camera that failed or closed. */
export const RECONNECT_DELAY_MS = 2_000;
/** Most browsers per camera (each costs at most maxBufferedBytes). */
export const DEFAULT_MAX_CLIENTS_PER_CAMERA = 16;

/** A relay error: bad option, no such camera, port in use. */
export class RelayError extends WasmRtspError {}

/** Options of startRelay. */
export interface RelayOptions {
  /** RTSP URLs of the cameras (credentials allowed; they never leave the relay). */
  urls: string[];
  /** TCP port of the HTTP/WebSocket server (default 8080; 0 picks a free one). */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Bound of one browser's unsent bytes; past it, whole access units are dropped (default 2 MiB). */
  maxBufferedBytes?: number;
  /** Largest access unit forwarded; bigger ones are dropped and counted (default 4 MiB). */
  maxAccessUnitBytes?: number;
  /** Most browsers per camera (default 16); more are refused with close code 1013. */
  maxClientsPerCamera?: number;
  /** Options of each RtspClient (transport, pool limit, …). */
  client?: Omit<RtspClientOptions, 'onPacket' | 'signal'>;
  /** Called with every camera error (connect, stream); default: none (errors also go to the browsers). */
  onError?: (camera: number, error: unknown) => void;
}

/** Per-browser counters, sent to it in stats messages and returned by RelayServer.stats(). */
export interface RelayClientStats {
  id: number;
  accessUnitsSent: number;
  bytesSent: number;
  /** Access units dropped because the browser was slow (bufferedAmount at the bound). */
  droppedSlow: number;
  /** Access units dropped while waiting for a keyframe (after joining or after a slow drop). */
  droppedWaitingForKeyframe: number;
  droppedBytes: number;
  bufferedAmount: number;
  /** Highest bufferedAmount seen after a send (bounded by maxBufferedBytes). */
  bufferedHighWater: number;
  /** Stats messages not sent because the browser was not reading. */
  statsSkipped: number;
}

/** State of one camera as the relay sees it. */
export interface RelayCameraStats {
  index: number;
  url: string;
  state: 'connecting' | 'playing' | 'failed' | 'closed';
  error?: { code?: string; message: string };
  /** Per stream: RTSP loss (camera → relay) and the assembler's counters. */
  streams: Array<{ id: number; encodingName: string; lost: number } & AssemblerStats>;
  pool?: { inUse: number; bytesInUse: number; limitBytes: number; highWater: number; exhaustions: number };
  clients: RelayClientStats[];
}

/** A running relay. */
export interface RelayServer {
  readonly port: number;
  /** http://host:port/ */
  readonly url: string;
  stats(): RelayCameraStats[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The package's dist/ folder: next to this file when built, or ../../../dist from src/ (tests run the sources). */
function distDir(): string {
  for (const rel of ['../../', '../../../dist/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(resolve(dir, 'browser/relay-view.js'))) return resolve(dir);
  }
  throw new RelayError('NOT_BUILT', 'dist/browser/relay-view.js is missing: run `npm run build` (the relay serves the built browser files)');
}

interface Client {
  stats: RelayClientStats;
  socket: WebSocket;
  /** Stream id → waiting for a keyframe before anything more is sent. */
  waiting: Map<number, boolean>;
}

/** One camera: its RTSP client (reconnected after failures), the assemblers of its streams and its browsers. */
class Camera {
  readonly index: number;
  readonly url: string;
  private readonly rawUrl: string;
  state: RelayCameraStats['state'] = 'connecting';
  error: RelayCameraStats['error'];
  client: RtspClient | undefined;
  assemblers = new Map<number, AccessUnitAssembler>();
  readonly clients = new Set<Client>();
  private describeText: string | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly emitUnit = (au: AccessUnit): void => this.forward(au);
  private readonly maxBuffered: number;

  constructor(index: number, url: string, private readonly options: RelayOptions) {
    this.index = index;
    this.maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.rawUrl = url;
    this.url = redactUrl(url);
  }

  start(): void {
    if (this.closed) return;
    this.state = 'connecting';
    const client = new RtspClient(this.rawUrl, { transport: 'tcp', ...this.options.client });
    this.client = client;
    client.on('packet', (p: RtpPacket) => this.onPacket(p));
    // Only the current client's end counts: a late event of a replaced one must not stop its successor.
    client.on('error', (e) => {
      if (this.client === client) this.fail(e);
    });
    client.on('close', () => {
      if (this.client === client && !this.closed) this.fail(new RelayError('CAMERA_CLOSED', `the RTSP session of ${this.url} ended`));
    });
    client.connect().then(() => {
      // The assemblers exist before PLAY: the first packets may arrive in the same read as PLAY's reply.
      this.assemblers = new Map(client.streams.map((s) => [s.id, new AccessUnitAssembler({
        streamId: s.id, channel: 2 * s.id, encodingName: s.encodingName, maxBytes: this.options.maxAccessUnitBytes,
      })]));
      return client.play();
    }).then(() => {
      if (this.client !== client || this.closed) return;
      this.state = 'playing';
      this.error = undefined;
      this.describeText = JSON.stringify(this.describe(client.streams));
      for (const c of this.clients) this.greet(c);
    }, (e) => {
      if (this.client === client) this.fail(e);
    });
  }

  private describe(streams: readonly MediaStream[]) {
    return {
      type: 'describe', version: RELAY_PROTOCOL_VERSION, camera: this.index, url: this.url,
      maxBufferedBytes: this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      streams: streams.map((s) => ({
        id: s.id, channel: 2 * s.id, type: s.type, encodingName: s.encodingName, clockRate: s.clockRate,
        payloadType: s.payloadType, channels: s.channels, fmtp: s.fmtp,
      })),
    };
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    const err = e as { code?: string; message?: string };
    this.state = 'failed';
    this.error = { code: err?.code, message: String(err?.message ?? e) };
    this.options.onError?.(this.index, e);
    const text = JSON.stringify({ type: 'error', camera: this.index, ...this.error });
    for (const c of this.clients) if (this.canTakeText(c)) c.socket.send(text);
    const old = this.client;
    this.client = undefined;
    this.describeText = undefined;
    void old?.close();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), RECONNECT_DELAY_MS);
  }

  private onPacket(p: RtpPacket): void {
    const assembler = this.assemblers.get(p.stream.id);
    if (!assembler) return;
    const h = p.header;
    // Audio and other non-video media: each packet is a unit (their marker bit means something else).
    const marker = p.stream.type === 'video' ? h.marker : true;
    assembler.push(p.view, h.payloadOffset, h.timestamp, marker, this.emitUnit);
  }

  /** Sends a unit to each browser that can take it; a slow one loses it and waits for the next keyframe. */
  private forward(au: AccessUnit): void {
    const bound = this.maxBuffered;
    for (const c of this.clients) {
      const s = c.stats;
      if (c.socket.readyState !== c.socket.OPEN || c.waiting.get(-1)) continue; // -1: not greeted yet
      if (c.waiting.get(au.streamId) && !au.keyframe) {
        s.droppedWaitingForKeyframe++;
        s.droppedBytes += au.data.length;
        continue;
      }
      if (c.socket.bufferedAmount + au.data.length > bound) {
        s.droppedSlow++;
        s.droppedBytes += au.data.length;
        c.waiting.set(au.streamId, this.assemblers.get(au.streamId)?.codec !== 'OTHER');
        continue;
      }
      c.waiting.set(au.streamId, false);
      c.socket.send(au.data, { binary: true });
      s.accessUnitsSent++;
      s.bytesSent += au.data.length;
      const buffered = c.socket.bufferedAmount;
      if (buffered > s.bufferedHighWater) s.bufferedHighWater = buffered;
    }
  }

  /** True when a text message may be queued for `c`: it is open and reading (its queue under half the bound). */
  private canTakeText(c: Client): boolean {
    return c.socket.readyState === c.socket.OPEN && c.socket.bufferedAmount <= this.maxBuffered / 2;
  }

  /** Sends the describe message; from then on the browser gets units, starting at a keyframe of each video stream. */
  greet(c: Client): void {
    if (!this.describeText || c.socket.readyState !== c.socket.OPEN) return;
    if (!this.canTakeText(c)) {
      // A new session while this browser is not reading: it cannot be told, so it is let go (it may reconnect).
      c.socket.close(1013, 'not reading; reconnect');
      return;
    }
    c.socket.send(this.describeText);
    c.waiting.clear();
    for (const a of this.assemblers.values()) c.waiting.set(a.streamId, a.codec !== 'OTHER');
  }

  add(socket: WebSocket, id: number): Client {
    const c: Client = {
      socket, waiting: new Map([[-1, true]]),
      stats: { id, accessUnitsSent: 0, bytesSent: 0, droppedSlow: 0, droppedWaitingForKeyframe: 0, droppedBytes: 0, bufferedAmount: 0, bufferedHighWater: 0, statsSkipped: 0 },
    };
    this.clients.add(c);
    if (this.describeText) this.greet(c);
    else if (this.state === 'failed') socket.send(JSON.stringify({ type: 'error', camera: this.index, ...this.error }));
    return c;
  }

  stats(): RelayCameraStats {
    const streams = this.client?.stats().streams ?? [];
    const pool = this.client?.stats().pool;
    return {
      index: this.index, url: this.url, state: this.state, error: this.error,
      streams: [...this.assemblers.values()].map((a) => {
        const s = streams.find((x) => x.id === a.streamId);
        return { id: a.streamId, encodingName: s?.encodingName ?? '', lost: s?.lost ?? 0, ...a.stats() };
      }),
      pool: pool && { inUse: pool.inUse, bytesInUse: pool.bytesInUse, limitBytes: pool.limitBytes, highWater: pool.highWater, exhaustions: pool.exhaustions },
      clients: [...this.clients].map((c) => ({ ...c.stats, bufferedAmount: c.socket.bufferedAmount })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    for (const c of this.clients) c.socket.close(1001, 'relay closing');
    await this.client?.close();
  }
}

/** Starts the relay: connects every camera (retrying failed ones) and listens for browsers. */
export async function startRelay(options: RelayOptions): Promise<RelayServer> {
  if (!Array.isArray(options.urls) || options.urls.length === 0) {
    throw new RelayError('BAD_OPTION', 'the relay needs at least one rtsp:// URL');
  }
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  if (!Number.isInteger(maxBuffered) || maxBuffered < 64 * 1024) {
    throw new RelayError('BAD_OPTION', 'maxBufferedBytes must be an integer of at least 65536', { context: { maxBufferedBytes: maxBuffered } });
  }
  const maxAu = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  if (!Number.isInteger(maxAu) || maxAu < 1024 || maxAu > 64 * 1024 * 1024) {
    throw new RelayError('BAD_OPTION', 'maxAccessUnitBytes must be an integer between 1024 and 64 MiB', { context: { maxAccessUnitBytes: maxAu } });
  }
  const maxClients = options.maxClientsPerCamera ?? DEFAULT_MAX_CLIENTS_PER_CAMERA;
  const dist = distDir();
  const cameras = options.urls.map((u, i) => new Camera(i, u, options)); // parses each URL: throws on a bad one
  const html = relayPageHtml(cameras.length);
  let nextClientId = 1;

  const http: Server = createServer((req, res) => serveHttp(req, res, dist, html, cameras));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on('upgrade', (req, socket, head) => {
    const m = /^\/ws\/(\d+)$/.exec(new URL(req.url ?? '/', 'http://relay').pathname);
    const camera = m ? cameras[Number(m[1])] : undefined;
    if (!camera) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (camera.clients.size >= maxClients) {
        ws.close(1013, `at most ${maxClients} viewers per camera`);
        return;
      }
      const c = camera.add(ws, nextClientId++);
      const timer = setInterval(() => {
        if (ws.readyState !== ws.OPEN) return;
        // A browser that does not read gets no stats either: its queue stays within the bound.
        if (ws.bufferedAmount > maxBuffered / 2) {
          c.stats.statsSkipped++;
          return;
        }
        const st = camera.stats();
        ws.send(JSON.stringify({ type: 'stats', camera: camera.index, state: st.state, streams: st.streams, pool: st.pool,
          client: { ...c.stats, bufferedAmount: ws.bufferedAmount }, viewers: st.clients.length }));
      }, STATS_INTERVAL_MS);
      ws.on('close', () => {
        clearInterval(timer);
        camera.clients.delete(c);
      });
      ws.on('error', () => ws.terminate());
      // The page sends nothing the relay needs; incoming messages are ignored (bounded by maxPayload).
    });
  });

  await new Promise<void>((ok, fail) => {
    http.once('error', (e) => fail(new RelayError('LISTEN_FAILED', `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8080}: ${e.message}`, { cause: e })));
    http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => ok());
  });
  for (const c of cameras) c.start();
  const { port, address } = http.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}/`,
    stats: () => cameras.map((c) => c.stats()),
    close: () => closing ??= (async () => {
      await Promise.all(cameras.map((c) => c.close()));
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    })(),
  };
}

function serveHttp(req: IncomingMessage, res: ServerResponse, dist: string, html: string, cameras: Camera[]): void {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://relay').pathname);
  const send = (status: number, type: string, body?: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
  if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', html);
  if (path === '/cameras.json') {
    return send(200, 'application/json', JSON.stringify(cameras.map((c) => ({ index: c.index, url: c.url, state: c.state }))));
  }
  if (path.startsWith('/lib/')) {
    const file = resolve(dist, path.slice('/lib/'.length));
    const type = CONTENT_TYPES[extname(file)];
    const allowed = file.startsWith(resolve(dist, 'browser') + sep) || file.startsWith(resolve(dist, 'core') + sep);
    if (type && allowed && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      createReadStream(file).pipe(res);
      return;
    }
  }
  send(404, 'text/plain', 'not found');
}
