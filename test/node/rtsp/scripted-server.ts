// A small RTSP 1.0 server of our own, written by hand for fault-injection tests of the client: it listens on
// 127.0.0.1 (port 0), answers OPTIONS/DESCRIBE/SETUP/PLAY/TEARDOWN/GET_PARAMETER with a one-track H.264 session over
// interleaved TCP, builds its own RTP packets, and lets each test script every reply (status, headers, line ends,
// missing CSeq, …) and every byte it writes (split at chosen points, one octet per write, garbage in between).
//
// Nothing here imports the library: the server must not share the client's parsers, or their bugs would cancel out.

import net from 'node:net';
import { afterEach, expect } from 'vitest';

/** A request the server received (or a reply the client sent to a request of the server). */
export interface ReceivedMessage {
  /** Request method, or undefined for a reply. */
  method?: string;
  uri?: string;
  /** Reply status code (for replies sent by the client). */
  statusCode?: number;
  /** Header names lower-cased; the last value wins, `all` keeps every value. */
  headers: Map<string, string>;
  all: Array<[string, string]>;
  cseq: string | undefined;
  body: Uint8Array;
  /** The start line and headers as received. */
  text: string;
  /** Index of the connection it came on (0 = first accepted). */
  connection: number;
}

/**
 * How to cut bytes into writes: 'whole' (one write), 'bytewise' (one octet per write) or a list of offsets to cut
 * at. Between two writes the writer waits until the event loop has polled sockets at least once, so the client's
 * read callback sees each piece separately.
 */
export type Split = 'whole' | 'bytewise' | readonly number[];

/** The fields of an RTP packet the server builds (RFC 3550 §5.1). */
export interface RtpInit {
  seq: number;
  timestamp?: number;
  ssrc?: number;
  payloadType?: number;
  marker?: boolean;
  /** Version field; 2 unless a test wants an invalid packet. */
  version?: number;
  /** Payload octets; by default `payloadBytes(seq, 100)`. */
  payload?: Uint8Array;
}

/** SSRC of the packets the server sends by default. */
export const SCRIPTED_SSRC = 0x1234abcd;

/** A payload whose octets depend on the sequence number and position, so corruption or mix-ups show. */
export function payloadBytes(seq: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seq * 31 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

/**
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 */
export function rtpPacket(init: RtpInit): Uint8Array {
  const payload = init.payload ?? payloadBytes(init.seq, 100);
  const out = new Uint8Array(12 + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = (init.version ?? 2) << 6; // no padding, no extension, no CSRC
  out[1] = (init.marker ? 0x80 : 0) | ((init.payloadType ?? 96) & 0x7f);
  dv.setUint16(2, init.seq & 0xffff);
  dv.setUint32(4, (init.timestamp ?? init.seq * 3000) >>> 0);
  dv.setUint32(8, (init.ssrc ?? SCRIPTED_SSRC) >>> 0);
  out.set(payload, 12);
  return out;
}

/** An interleaved frame (RFC 2326 §10.12): '$', channel, 16-bit length, data. */
export function interleaved(channel: number, data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new RangeError(`an interleaved frame holds at most 65535 octets, not ${data.length}`);
  const out = new Uint8Array(4 + data.length);
  out[0] = 0x24;
  out[1] = channel;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, 4);
  return out;
}

/** Interleaved RTP frames on channel 0 for the given sequence numbers. */
export function rtpFrames(seqs: readonly number[], init: Partial<RtpInit> = {}): Uint8Array {
  return concat(seqs.map((seq) => interleaved(0, rtpPacket({ ...init, seq }))));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** How a reply is spelled: everything a camera gets wrong that a client should still accept. */
export interface ReplyStyle {
  /** The reason phrase; '' for none at all (`RTSP/1.0 200` then the line end). Default: the usual phrase. */
  reason?: string;
  /** Line end: CRLF by default, '\n' for a bare LF. */
  eol?: '\r\n' | '\n';
  /** Header names in lower case. */
  lowercase?: boolean;
  /** Leave CSeq out. */
  noCSeq?: boolean;
  /** How to split the reply's bytes into writes. */
  split?: Split;
}

const REASONS: Record<number, string> = {
  200: 'OK', 301: 'Moved Permanently', 302: 'Found', 401: 'Unauthorized', 404: 'Not Found', 454: 'Session Not Found',
  500: 'Internal Server Error', 501: 'Not Implemented',
};

/** The SDP the server describes: one H.264 video track. */
export function h264Sdp(): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=scripted',
    'c=IN IP4 0.0.0.0',
    't=0 0',
    'a=control:*',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=Z0LgH5ZUBQHsgA==,aM4xsg==',
    'a=control:track1',
    '',
  ].join('\r\n');
}

/** What a script does with one request; `next()` gives the default answer. */
export type RequestHandler = (req: ReceivedMessage, conn: ScriptedConnection, next: () => Promise<void>) => void | Promise<void>;

/** Options of a scripted server. */
export interface ScriptedServerOptions {
  /** The script: called for each request (default: `next()`). */
  onRequest?: RequestHandler;
  /** Called when the default PLAY reply has been written (to start sending frames). */
  onPlay?: (conn: ScriptedConnection) => void | Promise<void>;
  /** Style of the default replies. */
  style?: ReplyStyle;
  /** Session timeout announced in SETUP (seconds). */
  sessionTimeoutS?: number;
  /** Public header of OPTIONS. */
  publicMethods?: string;
  /** Transport header of SETUP's reply (default: the interleaved channels 0-1). */
  transport?: string;
}

/** The session id the server hands out. */
export const SESSION_ID = 'ABCDEF0123';

/** One accepted TCP connection: its own write queue, so scripted writes never interleave. */
export class ScriptedConnection {
  /** Replies the client sent to the server's own requests. */
  readonly replies: ReceivedMessage[] = [];
  /** Octets written so far (after the split pieces went out). */
  bytesWritten = 0;
  /** Number of write calls. */
  writes = 0;
  private queue: Promise<void> = Promise.resolve();
  private input = Buffer.alloc(0);
  private ownCseq = 1000;

  constructor(readonly server: ScriptedServer, readonly socket: net.Socket, readonly index: number) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => undefined); // the client may reset; the test looks at the client
  }

  /** Queues bytes, cut as `split` says; resolves when the last piece was written. */
  send(bytes: Uint8Array, split: Split = 'whole'): Promise<void> {
    const run = async () => {
      const cuts = split === 'whole' ? [] : split === 'bytewise' ? Array.from({ length: bytes.length - 1 }, (_, i) => i + 1) : [...split];
      let from = 0;
      for (const to of [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length]) {
        if (to <= from) continue;
        if (this.socket.destroyed) return;
        // A cut also separates this send from what was written before it.
        if (from > 0 || split !== 'whole') await pollTick();
        await new Promise<void>((resolve) => this.socket.write(bytes.subarray(from, to), () => resolve()));
        this.bytesWritten += to - from;
        this.writes++;
        from = to;
      }
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Queues a reply to `req`. */
  reply(req: ReceivedMessage | undefined, status: number, headers: Array<[string, string]> = [], body = '', style: ReplyStyle = {}): Promise<void> {
    const eol = style.eol ?? '\r\n';
    const reason = style.reason ?? REASONS[status] ?? 'Whatever';
    const lines = [reason === '' ? `RTSP/1.0 ${status}` : `RTSP/1.0 ${status} ${reason}`];
    const all: Array<[string, string]> = [];
    if (!style.noCSeq && req?.cseq !== undefined) all.push(['CSeq', req.cseq]);
    all.push(...headers);
    const bodyBytes = new TextEncoder().encode(body);
    if (bodyBytes.length > 0) all.push(['Content-Length', String(bodyBytes.length)]);
    for (const [k, v] of all) lines.push(`${style.lowercase ? k.toLowerCase() : k}: ${v}`);
    const head = new TextEncoder().encode(lines.join(eol) + eol + eol);
    return this.send(concat([head, bodyBytes]), style.split ?? 'whole');
  }

  /** Sends a request of the server's own (GET_PARAMETER, OPTIONS, …); returns its CSeq. */
  request(method: string, uri: string): string {
    const cseq = String(++this.ownCseq);
    void this.send(new TextEncoder().encode(`${method} ${uri} RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`));
    return cseq;
  }

  /** The default answer of the server to `req`. */
  async defaultReply(req: ReceivedMessage): Promise<void> {
    const o = this.server.options;
    const style = o.style ?? {};
    const session: Array<[string, string]> = [['Session', `${SESSION_ID};timeout=${o.sessionTimeoutS ?? 60}`]];
    switch (req.method) {
      case 'OPTIONS':
        return this.reply(req, 200, [['Public', o.publicMethods ?? 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER']], '', style);
      case 'DESCRIBE':
        return this.reply(req, 200, [['Content-Type', 'application/sdp'], ['Content-Base', this.server.url('/stream') + '/']], h264Sdp(), style);
      case 'SETUP':
        return this.reply(req, 200, [['Transport', o.transport ?? 'RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1234ABCD'], ...session], '', style);
      case 'PLAY': {
        const done = this.reply(req, 200, [...session, ['RTP-Info', `url=${this.server.url('/stream')}/track1;seq=0;rtptime=0`]], '', style);
        await done;
        await o.onPlay?.(this);
        return;
      }
      case 'TEARDOWN':
        return this.reply(req, 200, session, '', style);
      case 'GET_PARAMETER':
        return this.reply(req, 200, session, '', style);
      default:
        return this.reply(req, 501, [], '', style);
    }
  }

  /** Drops the connection now (what was queued before is written first when `afterQueued`). */
  async drop(afterQueued = true): Promise<void> {
    if (afterQueued) await this.queue;
    this.socket.destroy();
  }

  /** Waits until everything queued so far was written. */
  flushed(): Promise<void> {
    return this.queue;
  }

  private onData(d: Buffer): void {
    this.input = Buffer.concat([this.input, d]);
    for (;;) {
      if (this.input.length === 0) return;
      if (this.input[0] === 0x24) {
        // An interleaved frame from the client (an RTCP receiver report): skipped.
        if (this.input.length < 4) return;
        const n = this.input.readUInt16BE(2);
        if (this.input.length < 4 + n) return;
        this.server.clientFrames++;
        this.input = this.input.subarray(4 + n);
        continue;
      }
      const end = this.input.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = this.input.subarray(0, end).toString('utf8');
      const lines = text.split('\r\n');
      const headers = new Map<string, string>();
      const all: Array<[string, string]> = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const k = line.slice(0, colon).trim().toLowerCase();
        const v = line.slice(colon + 1).trim();
        headers.set(k, v);
        all.push([k, v]);
      }
      const length = Number(headers.get('content-length') ?? 0);
      if (this.input.length < end + 4 + length) return;
      const body = new Uint8Array(this.input.subarray(end + 4, end + 4 + length));
      this.input = this.input.subarray(end + 4 + length);
      const start = lines[0].split(' ');
      const m: ReceivedMessage = { headers, all, cseq: headers.get('cseq'), body, text, connection: this.index };
      if (start[0].startsWith('RTSP/')) {
        m.statusCode = Number(start[1]);
        this.replies.push(m);
        continue;
      }
      m.method = start[0];
      m.uri = start[1];
      this.server.requests.push(m);
      const next = () => this.defaultReply(m);
      const handler = this.server.options.onRequest ?? ((_r, _c, n) => n());
      void Promise.resolve(handler(m, this, next)).catch((e) => this.server.scriptErrors.push(e as Error));
    }
  }
}

/** Lets the event loop poll sockets at least once: two check phases are always separated by a poll phase. */
function pollTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** A scripted RTSP server on 127.0.0.1 (see the file comment). */
export class ScriptedServer {
  readonly requests: ReceivedMessage[] = [];
  readonly connections: ScriptedConnection[] = [];
  /** Errors thrown by the script (a test asserts this stays empty). */
  readonly scriptErrors: Error[] = [];
  /** Interleaved frames received from the client. */
  clientFrames = 0;
  private server: net.Server;
  port = 0;

  private constructor(readonly options: ScriptedServerOptions) {
    this.server = net.createServer((socket) => {
      socket.setNoDelay(true);
      this.connections.push(new ScriptedConnection(this, socket, this.connections.length));
    });
  }

  /** Starts a server on 127.0.0.1 and an ephemeral port. */
  static async start(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
    const s = new ScriptedServer(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  /** `rtsp://[user:password@]127.0.0.1:port/path`. */
  url(path = '/stream', credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
    return `rtsp://${auth}127.0.0.1:${this.port}${path}`;
  }

  /** Methods of the requests received, in order. */
  methods(): string[] {
    return this.requests.map((r) => r.method!);
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `cond` every 5 ms until it holds; rejects after `timeoutMs` with `what` in the message. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `n` sequence numbers from `from`, wrapping at 16 bits. */
export function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (from + i) & 0xffff);
}

/**
 * Keeps writing `make(i)` (i = 0, 1, …; interleaved frames) to `conn`, `batch` at a time every `everyMs`, until the
 * connection ends or `make` returns undefined. Returns a function that stops it. The writes go through the
 * connection's queue, so they never cut a reply in two.
 */
export function streamUntilClosed(conn: ScriptedConnection, make: (i: number) => Uint8Array | undefined, batch = 4, everyMs = 5): () => void {
  let i = 0;
  let stopped = false;
  const tick = async (): Promise<void> => {
    while (!stopped && !conn.socket.destroyed) {
      const parts: Uint8Array[] = [];
      for (let k = 0; k < batch; k++) {
        const p = make(i++);
        if (p === undefined) {
          stopped = true;
          break;
        }
        parts.push(p);
      }
      if (parts.length > 0) await conn.send(concat(parts));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  void tick();
  return () => { stopped = true; };
}

/**
 * What a test file starts, closed after each test: its clients (anything with close()) first, then its scripted
 * servers, each of which must have run its script without an error. Call it at the top level of the test file.
 */
export function closedAfterEach<C extends { close(): Promise<unknown> }>(): { servers: ScriptedServer[]; clients: C[] } {
  const servers: ScriptedServer[] = [];
  const clients: C[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) {
      await s.stop();
      expect(s.scriptErrors).toEqual([]);
    }
  });
  return { servers, clients };
}
