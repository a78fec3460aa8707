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
//
// Safe to expose: every request is screened first (guard.ts: target parses, Host names this relay, a WebSocket's
// Origin is its own, the login), and nothing a client sends can throw out of a listener: each handler answers what
// it cannot parse with 400, and every socket has an error listener. Served over https with `tls`.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { WasmRtspError } from '../../core/errors.js';
import { redactUrl } from '../../core/rtsp/url.js';
import { RtspClient, type MediaStream, type RtspClientOptions } from '../rtsp/client.js';
import type { RtpPacket } from '../../core/media/packet.js';
import { AccessUnitAssembler, DEFAULT_MAX_ACCESS_UNIT_BYTES, type AccessUnit, type AssemblerStats } from './access-unit.js';
import { AUTH_REALM, RelayAccessError, RelayGuard, type RefusalReason, type RelayAuth } from './guard.js';
import { relayPageHtml } from './page.js';

export { RelayAccessError, type RelayAuth } from './guard.js';

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
/** Bound of receiving one request's headers, and of the whole request (a slow client cannot hold a socket longer). */
export const HEADERS_TIMEOUT_MS = 20_000;
export const REQUEST_TIMEOUT_MS = 30_000;

/** A relay error: bad option, no such camera, port in use. */
export class RelayError extends WasmRtspError {}

/** Options of startRelay. */
export interface RelayOptions {
  /** RTSP URLs of the cameras (credentials allowed; they never leave the relay). */
  urls: string[];
  /** TCP port of the HTTP/WebSocket server (default 8080; 0 picks a free one). */
  port?: number;
  /**
   * Listen address (default 127.0.0.1). Anything but a loopback address needs `auth` (else RelayAccessError
   * 'AUTH_REQUIRED'): the cameras would otherwise be open to the network.
   */
  host?: string;
  /** Host names (or addresses) accepted in `Host` besides loopback names and the bound address (e.g. a proxy's name). */
  allowHosts?: string[];
  /** Origins allowed to open WebSockets besides the relay's own (a page served elsewhere), e.g. 'https://app.example'. */
  allowOrigins?: string[];
  /** Viewer login (HTTP Basic for the page and the WebSocket upgrade, or a bearer token). Required off loopback. */
  auth?: RelayAuth;
  /** Serve https/wss with this certificate and key (PEM): WebCodecs needs a secure context off localhost. */
  tls?: { cert: string | Buffer; key: string | Buffer };
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

/** Requests the relay answered or refused, by reason (every refusal is counted). */
export interface RelayRequestStats {
  /** HTTP requests and WebSocket handshakes that reached a handler. */
  requests: number;
  /** 400: a target that does not parse, no Host, a bad handshake, a handler that could not finish. */
  badRequest: number;
  /** 403: a Host that does not name this relay (DNS rebinding). */
  forbiddenHost: number;
  /** 403: a WebSocket Origin that is not the relay's own nor allowed (cross-site WebSocket hijacking). */
  forbiddenOrigin: number;
  /** 401: no or wrong login. */
  unauthorized: number;
  notFound: number;
  methodNotAllowed: number;
  /** Requests the HTTP parser refused before any handler (malformed request line or headers), and TLS failures. */
  clientErrors: number;
  /** Unexpected exceptions caught in a handler (should stay 0; each answered 400 or the socket closed). */
  handlerErrors: number;
}

/** A running relay. */
export interface RelayServer {
  readonly port: number;
  /** http(s)://host:port/ */
  readonly url: string;
  stats(): RelayCameraStats[];
  /** Requests answered and refused since the start. */
  requests(): RelayRequestStats;
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
  const bindHost = options.host ?? '127.0.0.1';
  const guard = new RelayGuard({ bindHost, tls: options.tls !== undefined, allowHosts: options.allowHosts, allowOrigins: options.allowOrigins, auth: options.auth });
  if (guard.exposed && !guard.hasAuth) {
    throw new RelayAccessError('AUTH_REQUIRED', `listening on ${bindHost} opens the cameras to the network: give a viewer login (auth; --auth user:password, --auth-file, --auth-token or WASM_RTSP_RELAY_AUTH), or listen on 127.0.0.1`, { context: { host: bindHost } });
  }
  const dist = distDir();
  const cameras = options.urls.map((u, i) => new Camera(i, u, options)); // parses each URL: throws on a bad one
  const html = relayPageHtml(cameras.length);
  let nextClientId = 1;
  const counts: RelayRequestStats = { requests: 0, badRequest: 0, forbiddenHost: 0, forbiddenOrigin: 0, unauthorized: 0, notFound: 0, methodNotAllowed: 0, clientErrors: 0, handlerErrors: 0 };
  const refused = (reason: RefusalReason) => { counts[reason]++; };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    counts.requests++;
    try {
      const screened = guard.screen(req, false);
      if ('status' in screened) {
        refused(screened.reason);
        return sendText(res, screened.status, screened.message, screened.status === 401 ? challenge() : undefined);
      }
      serveHttp(req, res, screened.path, dist, html, cameras, refused);
    } catch {
      // Nothing above should throw; if it does, this request fails alone and the relay serves on.
      counts.handlerErrors++;
      if (!res.headersSent) sendText(res, 400, 'bad request');
      else res.destroy();
    }
  };
  let http: Server;
  try {
    http = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createHttpServer(onRequest);
  } catch (e) {
    throw new RelayAccessError('BAD_TLS', `the TLS certificate or key cannot be used: ${(e as Error).message}`, { cause: e });
  }
  http.headersTimeout = HEADERS_TIMEOUT_MS;
  http.requestTimeout = REQUEST_TIMEOUT_MS;
  // The parser refused the request (bad request line, header, method, version…): answer 400, never throw.
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    counts.clientErrors++;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(rawResponse(status, STATUS_CODES[status] ?? 'bad request'));
  });
  http.on('tlsClientError', (_err: Error, socket: Duplex) => {
    counts.clientErrors++;
    socket.destroy();
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // An upgraded socket has no listener of the HTTP server any more: a reset must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    counts.requests++;
    const refuse = (status: number, reason: RefusalReason, message: string, headers?: Record<string, string>) => {
      refused(reason);
      if (socket.writable) socket.end(rawResponse(status, message, headers));
      else socket.destroy();
    };
    let upgraded = false;
    try {
      const screened = guard.screen(req, true);
      if ('status' in screened) return refuse(screened.status, screened.reason, screened.message, screened.status === 401 ? challenge() : undefined);
      if (req.method !== 'GET') return refuse(405, 'methodNotAllowed', 'a WebSocket handshake is a GET');
      if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuse(400, 'badRequest', 'only WebSocket upgrades are served');
      const m = /^\/ws\/(\d{1,6})$/.exec(screened.path);
      const camera = m ? cameras[Number(m[1])] : undefined;
      if (!camera) return refuse(404, 'notFound', 'no such camera');
      // ws answers a malformed handshake (key, version, extensions) with 400 itself.
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded = true;
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
    } catch {
      // Nothing above should throw; if it does, this client alone is answered (or, past the handshake, cut off).
      counts.handlerErrors++;
      if (upgraded) socket.destroy();
      else refuse(400, 'badRequest', 'bad request');
    }
  });

  await new Promise<void>((ok, fail) => {
    http.once('error', (e) => fail(new RelayError('LISTEN_FAILED', `cannot listen on ${bindHost}:${options.port ?? 8080}: ${e.message}`, { cause: e })));
    http.listen(options.port ?? 8080, bindHost, () => ok());
  });
  // After the start, a server error (none is expected) is not fatal: the relay keeps its listening socket.
  http.on('error', () => { counts.handlerErrors++; });
  for (const c of cameras) c.start();
  const { port, address } = http.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}/`,
    stats: () => cameras.map((c) => c.stats()),
    requests: () => ({ ...counts }),
    close: () => closing ??= (async () => {
      await Promise.all(cameras.map((c) => c.close()));
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    })(),
  };
}

/** Headers of every answer: nothing cached, nothing sniffed, never framed by another site's page. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };

/** The Basic challenge of a 401 (browsers then show their login prompt). */
function challenge(): Record<string, string> {
  return { 'www-authenticate': `Basic realm="${AUTH_REALM}", charset="UTF-8"` };
}

function sendText(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body + '\n');
}

/** A whole HTTP/1.1 answer for a socket no ServerResponse owns (parser errors, refused upgrades). */
function rawResponse(status: number, body: string, headers: Record<string, string> = {}): string {
  const text = body + '\n';
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'connection: close', 'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(text)}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n${text}`;
}

function serveHttp(req: IncomingMessage, res: ServerResponse, path: string, dist: string, html: string, cameras: Camera[],
  refused: (reason: RefusalReason) => void): void {
  const send = (status: number, type: string, body?: string) => {
    res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type });
    res.end(body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    refused('methodNotAllowed');
    res.setHeader('allow', 'GET, HEAD');
    return send(405, 'text/plain', 'method not allowed');
  }
  if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', html);
  if (path === '/cameras.json') {
    return send(200, 'application/json', JSON.stringify(cameras.map((c) => ({ index: c.index, url: c.url, state: c.state }))));
  }
  if (path.startsWith('/lib/')) {
    const file = resolve(dist, path.slice('/lib/'.length));
    const type = CONTENT_TYPES[extname(file)];
    const allowed = file.startsWith(resolve(dist, 'browser') + sep) || file.startsWith(resolve(dist, 'core') + sep);
    if (type && allowed && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { ...COMMON_HEADERS, 'content-type': type });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      // A file that vanishes after the check (a rebuild) ends this answer, not the relay.
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
      return;
    }
  }
  refused('notFound');
  send(404, 'text/plain', 'not found');
}
