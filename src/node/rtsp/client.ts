// An RTSP 1.0 client (RFC 2326) that plays cameras and servers over TCP (interleaved) or UDP and feeds every RTP
// packet through the wasm core: TCP bytes are read straight into wasm memory and demuxed there, UDP datagrams are
// copied once into a pool slot (Node's dgram always hands over a fresh Buffer of its own, so one copy is the floor).
//
//   const client = await RtspClient.open('rtsp://user:pass@camera/stream', { transport: 'tcp' });
//   client.on('packet', (p) => { ... p.header.sequenceNumber, p.payload ... });   // reused object: retain() to keep
//   ...
//   await client.close();                                                         // TEARDOWN, always tried
//
// Policy (which media, transports, keep-alive, timeouts) lives here as options; parsing lives in src/core.

import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6, type LookupFunction } from 'node:net';
import { hostname } from 'node:os';
import type { Core } from '../../core/core.js';
import type { InterleavedDemuxer } from '../../core/demuxer.js';
import { RTP_RECORD_BYTES } from '../../core/layout.js';
import type { PacketPool, PoolStats } from '../../core/pool.js';
import { writeReceiverReport, type ReportBlock } from '../../core/rtcp.js';
import type { RtspMessage } from '../../core/rtsp/message.js';
import { parsePublic, parseRtpInfo, parseSession, parseTransport } from '../../core/rtsp/header-values.js';
import { isPlayable, parseSdp, type SdpMedia as MediaDescription, type SessionDescription } from '../../core/rtsp/sdp.js';
import { controlBase, parseRtspUrl, redactUrl, resolveControl, type RtspUrl } from '../../core/rtsp/url.js';
import type { StreamStats } from '../../core/stats.js';
import { createCore } from '../core.js';
import { RtspAuthenticator } from './auth.js';
import {
  DEFAULT_READ_INTERVAL_MS, MAX_READ_INTERVAL_MS, RtspConnection, type ConnectionStats, type RtspTlsOptions,
} from './connection.js';
import { RtspError, statusError } from '../../core/rtsp/errors.js';
import { checkPoolLimit, coreBytesFor, DEFAULT_POOL_LIMIT_BYTES, frameReserveBytes, type CoreSizing } from '../../core/media/sizing.js';
import { RtpPacket, type ReceivedPacket, type RetainedPacket } from '../../core/media/packet.js';
import {
  DEFAULT_RETAINED_FRAME_BYTES, Frame, type FrameModeOptions, type FrameStats, type RetainBudget, type RetainedFrame,
} from '../../core/media/frames.js';
import { MAX_REORDER_DEPTH, type ReorderOptions } from '../../core/media/reorder.js';
import { StreamReceiver, type ReceiverHost, type RtcpStats } from '../../core/media/receiver.js';
import type { MediaStream, MediaStreamDescription } from '../../core/media/stream.js';
import { addUdpReadStats, bindPortPair, UDP_RECEIVE_BUFFER_BYTES, UdpStreamInput, type PortPair, type UdpReadStats } from './udp.js';

export { DEFAULT_POOL_LIMIT_BYTES, UDP_RECEIVE_BUFFER_BYTES, DEFAULT_READ_INTERVAL_MS, MAX_READ_INTERVAL_MS };
export type { MediaStream };
/** Default timeout of one request/reply exchange. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** RFC 3550 §6.2: the minimum interval between RTCP reports. */
export const RECEIVER_REPORT_INTERVAL_MS = 5_000;
/** How long close() waits for the TEARDOWN reply. */
export const TEARDOWN_TIMEOUT_MS = 2_000;
/** Default of `udpTimeoutMs`: no UDP packet at all this long after PLAY means UDP is blocked (rtspsrc waits 5 s). */
export const DEFAULT_UDP_TIMEOUT_MS = 5_000;
/** Longest period of the media watchdog's check (shorter timeouts are checked four times per timeout). */
const WATCHDOG_MAX_PERIOD_MS = 1_000;
const USER_AGENT = 'wasm-rtsp/0.1';

/** Options of an RtspClient. */
export interface RtspClientOptions {
  /** 'tcp' (interleaved on the RTSP connection, the default) or 'udp' (an RTP/RTCP port pair per stream). */
  transport?: 'tcp' | 'udp';
  /** The wasm core to use; by default each client makes its own. Share one among many clients to save memory. */
  core?: Core;
  /** Byte limit of the client's packet pool (in 64 KiB slabs). */
  poolLimitBytes?: number;
  /** Timeout of each request. */
  requestTimeoutMs?: number;
  /** Timeout of the TCP connect. */
  connectTimeoutMs?: number;
  /** Redirects (3xx) followed before giving up with TOO_MANY_REDIRECTS. Default 3. */
  maxRedirects?: number;
  /** Which media of the SDP to set up; default: every audio and video medium with an RTP profile. */
  selectMedia?: (media: MediaDescription, index: number) => boolean;
  /** Send keep-alives before the session timeout runs out (default true; false only to test servers). */
  keepAlive?: boolean;
  /** Keep-alive interval; default half the session timeout the server announced. */
  keepAliveIntervalMs?: number;
  /** Send RTCP receiver reports (default true). */
  receiverReports?: boolean;
  /** Handler for every packet, called before 'packet' listeners (the cheapest path). */
  onPacket?: (packet: RtpPacket) => void;
  /**
   * Which streams' packets go to the packet handler and listeners (default: every stream). Packets are only built and
   * dispatched when someone consumes them: a program that wants frames of one stream and packets of another says so.
   */
  packets?: (stream: MediaStream) => boolean;
  /**
   * Frame mode: depayload H.264, H.265, raw video and AAC in wasm into access units ('frame' events, `frames()`).
   * Turned on by this option, by `onFrame`, by a 'frame' listener or by `frames()`; packets still flow beside frames.
   */
  frames?: boolean | FrameModeOptions;
  /** Handler for every frame, called before 'frame' listeners. */
  onFrame?: (frame: Frame) => void;
  /** Emit a 'stats' event with `stats()` this often (off by default). */
  statsIntervalMs?: number;
  /**
   * Closes the client when aborted: DNS lookup, TCP connect and every request waiting for a reply end at once, and
   * connect()/play() reject with RtspError('ABORTED').
   */
  signal?: AbortSignal;
  /**
   * While playing, a stream that receives no RTP packet for this long fails the client with RtspError('MEDIA_TIMEOUT')
   * (emitted as 'error', then the client closes; `closeReason` tells). Default 0: off (RtspCamera turns it on).
   */
  mediaTimeoutMs?: number;
  /**
   * Frame mode: while playing, a depayloaded stream (H.264, H.265, raw, AAC) that completes no frame for this long
   * fails the client with RtspError('FRAME_TIMEOUT'), even if its packets keep coming (every unit too large, broken
   * or never ended). Counted from PLAY until the first frame. Default 0: off.
   */
  frameTimeoutMs?: number;
  /**
   * UDP only: no packet at all on any stream this long after PLAY fails the client with RtspError('UDP_TIMEOUT') (a
   * firewall or NAT dropping the datagrams; RtspCamera then falls back to TCP). Default DEFAULT_UDP_TIMEOUT_MS; 0: off.
   */
  udpTimeoutMs?: number;
  /**
   * TCP: once media flows, read the socket at most this often (ms), everything the kernel buffered at once (read(2)
   * on its descriptor), on one process-wide tick shared by every client with the same interval: one wake-up per
   * interval for all cameras, for up to this much added latency (RTSP replies after PLAY included). Default
   * DEFAULT_READ_INTERVAL_MS (50); 0: read at every readable event; TLS is always read at every event. At most
   * MAX_READ_INTERVAL_MS. Node cannot set SO_RCVBUF on a TCP socket; the kernel autotunes it up to net.ipv4.tcp_rmem's
   * maximum (6 MiB by default): keep bitrate × interval below it. UDP: once the server's first datagram came, the RTP
   * socket is connected to its sender and read by the same tick (udp.ts; `stats().udp`); keep bitrate × interval
   * well below udpReceiveBufferBytes. A tick that brings 64 KiB sends a TCP or UDP socket back to event reads.
   */
  readIntervalMs?: number;
  /** Kernel receive buffer (SO_RCVBUF) of each UDP RTP socket; default UDP_RECEIVE_BUFFER_BYTES. */
  udpReceiveBufferBytes?: number;
  /** Host name resolver (as net.connect's `lookup`); default dns.lookup. close() ends a lookup in progress too. */
  lookup?: LookupFunction;
  /**
   * UDP reorder buffer per stream (reorder.ts): packets that arrive ahead are held in their pool slots and handed on
   * in sequence order. Default on for UDP ({ depth: 16, latencyMs: 50 }); false turns it off. TCP never reorders.
   */
  reorder?: ReorderOptions | false;
  /**
   * TLS of rtsps:// URLs (default port 322): certificates are checked by default (chain and name); `ca` adds trusted
   * roots, `fingerprint256` pins one (self-signed) certificate. Decrypted bytes land in wasm memory directly.
   */
  tls?: RtspTlsOptions;
}

/** Statistics of a client: per stream, the pool, the connection and the demuxer. */
export interface ClientStats {
  streams: Array<{ id: number; type: string; encodingName: string; frames?: FrameStats & { queueFull: number }; rtcp: RtcpStats } & StreamStats>;
  /** Undefined before connect(). */
  pool?: PoolStats;
  connection: ConnectionStats;
  demuxer?: ReturnType<InterleavedDemuxer['stats']>;
  /** Drops that could not be tied to a stream (frames on unknown channels, datagrams from unknown sources). */
  unattributedDrops: number;
  /** How the UDP RTP sockets were read (read tick or dgram events), over the session's streams; zeros over TCP. */
  udp: UdpReadStats;
  keepAlivesSent: number;
  keepAliveFailures: number;
  receiverReportsSent: number;
  senderReportsReceived: number;
  /** TEARDOWNs sent on a new connection because the session's own connection had dropped. */
  teardownsOnFreshConnection: number;
}

type State = 'new' | 'connecting' | 'ready' | 'playing' | 'closing' | 'closed';


/** What a session answers its receivers, through calls into the client. */
interface SessionLinks {
  framesOn(): boolean;
  packetsWanted(): boolean;
  deliverPacket(packet: RtpPacket): void;
  deliverFrame(frame: Frame): void;
  reportError(error: unknown): void;
}

/**
 * The ReceiverHost of a session. A class, not an object literal: a literal's getters are closures of their own, so
 * each client's host had a map of its own and the receivers' per-packet reads of `framesOn`/`packetsWanted` went
 * megamorphic with many clients (the generic property load was 2 % of the process at 256 cameras). Every client's
 * SessionHost shares one map; the per-packet reads stay monomorphic.
 */
class SessionHost implements ReceiverHost {
  constructor(
    readonly core: Core,
    readonly packet: RtpPacket,
    readonly frame: Frame,
    readonly frameOptions: FrameModeOptions,
    readonly packetFilter: ((stream: MediaStream) => boolean) | undefined,
    private readonly links: SessionLinks,
  ) {}

  get framesOn(): boolean {
    return this.links.framesOn();
  }

  get packetsWanted(): boolean {
    return this.links.packetsWanted();
  }

  deliverPacket(packet: RtpPacket): void {
    this.links.deliverPacket(packet);
  }

  deliverFrame(frame: Frame): void {
    this.links.deliverFrame(frame);
  }

  reportError(error: unknown): void {
    this.links.reportError(error);
  }
}

/** An RTSP client; see the file comment. Events: 'packet', 'frame', 'rtcp', 'stats', 'error', 'close', 'poolExhausted'. */
export class RtspClient extends EventEmitter {
  /** The URL as given, without credentials. */
  readonly url: string;
  private target: RtspUrl;
  private readonly options: RtspClientOptions;
  private readonly transportKind: 'tcp' | 'udp';
  private readonly requestTimeoutMs: number;
  private readonly readIntervalMs: number;
  private state: State = 'new';
  private core: Core | undefined;
  private pool: PacketPool | undefined;
  private demuxer: InterleavedDemuxer | undefined;
  private connection: RtspConnection | undefined;
  private auth: RtspAuthenticator | undefined;
  private sessionId: string | undefined;
  private sessionTimeoutSeconds = 60;
  private publicMethods = new Set<string>();
  private baseUrl = '';
  private description: SessionDescription | undefined;
  /** One receiver per set-up stream, by stream id; `streamList` their streams. */
  private readonly receivers: StreamReceiver[] = [];
  private readonly streamList: MediaStream[] = [];
  /** What the receivers share of this client (made at connect()). */
  private host: ReceiverHost | undefined;
  /** Packet consumers changed: `packetsWanted` is recomputed at the next packet. */
  private packetConsumersChanged = true;
  private packetsWanted = false;
  /** Interleaved channel → stream id × 2 (+1 for RTCP), −1 when unknown. */
  private readonly channelMap = new Int16Array(256).fill(-1);
  private readonly udpSockets: dgram.Socket[] = [];
  /** Each UDP stream's RTCP socket, by stream id: receiver reports leave from it. */
  private readonly rtcpSockets = new Map<number, dgram.Socket>();
  private readonly udpInputs: UdpStreamInput[] = [];
  /** The read stats of UDP inputs already closed (stats() adds the live ones). */
  private readonly udpTotals: UdpReadStats = { tickJoins: 0, tickLeaves: 0, tickDatagrams: 0 };
  private packet: RtpPacket | undefined;
  /** Frame mode on (see RtspClientOptions.frames); the reused Frame and the bytes retained frames hold. */
  private frameMode: boolean;
  private readonly frameOptions: FrameModeOptions;
  private frame: Frame | undefined;
  private readonly retainBudget: RetainBudget;
  /** Frames dropped because the frames() queue was full, by stream id. */
  private readonly frameQueueDrops: number[] = [];
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private udpRecordPtr = 0;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private reportTimer: ReturnType<typeof setInterval> | undefined;
  private closePromise: Promise<void> | undefined;
  /** close() was called (or the signal aborted), as opposed to the client closing itself after a failure. */
  private closedByUser = false;
  private finalStats: ClientStats | undefined;
  private readonly localSsrc = (Math.random() * 0x1_0000_0000) >>> 0;
  private readonly cname = `wasm-rtsp@${hostname()}`;
  private rtcpBuffer = new Uint8Array(8 + 31 * 24 + 300);
  private counters = {
    unattributedDrops: 0, keepAlivesSent: 0, keepAliveFailures: 0, receiverReportsSent: 0, senderReportsReceived: 0,
    teardownsOnFreshConnection: 0,
  };
  private watchdogTimer: ReturnType<typeof setInterval> | undefined;
  private playStartedAt = 0;
  private failure: RtspError | undefined;
  private readonly poolLimitBytes: number;

  constructor(url: string, options: RtspClientOptions = {}) {
    super();
    this.target = parseRtspUrl(url);
    this.url = this.target.toString();
    this.options = options;
    this.transportKind = options.transport ?? 'tcp';
    if (this.transportKind !== 'tcp' && this.transportKind !== 'udp') {
      throw new RtspError('BAD_OPTION', `transport must be 'tcp' or 'udp', not ${String(options.transport)}`);
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.poolLimitBytes = options.poolLimitBytes ?? DEFAULT_POOL_LIMIT_BYTES;
    checkPoolLimit(this.poolLimitBytes);
    for (const name of ['mediaTimeoutMs', 'frameTimeoutMs', 'udpTimeoutMs', 'udpReceiveBufferBytes', 'requestTimeoutMs', 'connectTimeoutMs', 'keepAliveIntervalMs'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw new RtspError('BAD_OPTION', `${name} must be a finite number ≥ 0, not ${String(v)}`, { context: { [name]: v } });
      }
    }
    this.readIntervalMs = options.readIntervalMs ?? DEFAULT_READ_INTERVAL_MS;
    if (!Number.isInteger(this.readIntervalMs) || this.readIntervalMs < 0 || this.readIntervalMs > MAX_READ_INTERVAL_MS) {
      throw new RtspError('BAD_OPTION', `readIntervalMs must be an integer from 0 to ${MAX_READ_INTERVAL_MS}, not ${String(options.readIntervalMs)}`,
        { context: { readIntervalMs: options.readIntervalMs } });
    }
    const reorder = options.reorder;
    if (reorder !== undefined && reorder !== false) {
      if (typeof reorder !== 'object' || reorder === null
        || (reorder.depth !== undefined && (!Number.isInteger(reorder.depth) || reorder.depth < 1 || reorder.depth > MAX_REORDER_DEPTH))
        || (reorder.latencyMs !== undefined && (typeof reorder.latencyMs !== 'number' || !Number.isFinite(reorder.latencyMs) || reorder.latencyMs < 0))) {
        throw new RtspError('BAD_OPTION', `reorder must be false or { depth: 1…${MAX_REORDER_DEPTH}, latencyMs ≥ 0 }`, { context: { reorder } });
      }
    }
    const pin = options.tls?.fingerprint256;
    if (pin !== undefined && (typeof pin !== 'string' || !/^([0-9a-f]{2}[:\s-]?){31}[0-9a-f]{2}$/i.test(pin.trim()))) {
      throw new RtspError('BAD_OPTION', 'tls.fingerprint256 must be a SHA-256 fingerprint: 32 hex octets, colons allowed', { context: { fingerprint256: pin } });
    }
    this.frameOptions = typeof options.frames === 'object' && options.frames !== null ? options.frames : {};
    this.frameMode = options.frames !== undefined && options.frames !== false || options.onFrame !== undefined;
    this.retainBudget = { used: 0, limit: this.frameOptions.retainedBytesLimit ?? DEFAULT_RETAINED_FRAME_BYTES };
    // Checked now, so a pool limit beyond what a core can hold fails here rather than at connect().
    if (!options.core) coreBytesFor(this.coreSizing());
    if (this.target.credentials) this.auth = new RtspAuthenticator(this.target.credentials);
    // A 'frame' listener turns frame mode on (depayloaders are made when a stream's first packet arrives).
    this.on('newListener', (event: string | symbol) => {
      if (event === 'frame') this.frameMode = true;
      if (event === 'packet') this.packetConsumersChanged = true;
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'packet') this.packetConsumersChanged = true;
    });
    if (options.signal?.aborted) void this.close();
    else options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /**
   * Why the client closed itself, when it did: the connection dropped (CONNECTION_CLOSED), a stream went silent
   * (MEDIA_TIMEOUT, UDP_TIMEOUT), the server forgot the session (SESSION_NOT_FOUND), … Undefined while it runs and
   * after a close() of the caller's.
   */
  get closeReason(): RtspError | undefined {
    return this.failure;
  }

  /** Connects, describes, sets up and plays: the whole start of a session. */
  static async open(url: string, options: RtspClientOptions = {}): Promise<RtspClient> {
    const client = new RtspClient(url, options);
    try {
      await client.connect();
      await client.play();
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /** What a core of this client's own must hold: its pool and, with its frame options, frame mode's buffers. */
  coreSizing(): CoreSizing {
    return { cameras: 1, poolLimitBytes: this.poolLimitBytes, frameAssemblyBytes: frameReserveBytes(this.frameOptions) };
  }

  /** The streams set up (empty before connect()). */
  get streams(): readonly MediaStream[] {
    return this.streamList;
  }

  /** The receiver of stream `id` (statistics, last sender report, frames), undefined before connect(). */
  receiver(id: number): StreamReceiver | undefined {
    return this.receivers[id];
  }

  /** The parsed SDP of the DESCRIBE reply. */
  get sdp(): SessionDescription | undefined {
    return this.description;
  }

  /** The core this client runs on (after connect()). */
  get wasmCore(): Core | undefined {
    return this.core;
  }

  /**
   * OPTIONS, DESCRIBE (following redirects) and SETUP of each selected medium. close() (or the `signal`) while this
   * runs makes it reject with RtspError('ABORTED') at once, whatever step it was in.
   */
  async connect(): Promise<readonly MediaStream[]> {
    if (this.state !== 'new') {
      if (this.options.signal?.aborted) throw new RtspError('ABORTED', 'the signal was aborted before connect()');
      throw new RtspError('CLOSED', `connect() called in state ${this.state}`);
    }
    this.state = 'connecting';
    try {
      return await this.doConnect();
    } catch (e) {
      throw this.abortedIfClosing(e, 'connecting');
    }
  }

  /** An error that surfaced after close() was called is reported as ABORTED (its cause kept), whatever it was. */
  private abortedIfClosing(e: unknown, what: string): unknown {
    if (!this.closedByUser) return e;
    if (e instanceof RtspError && e.code === 'ABORTED') return e;
    return new RtspError('ABORTED', `the client was closed while it was ${what}`, { cause: e });
  }

  private async doConnect(): Promise<readonly MediaStream[]> {
    // A core of its own unless one is shared; it is garbage-collected with the client.
    this.core = this.options.core ?? await createCore({ memoryBytes: coreBytesFor(this.coreSizing()) });
    this.assertState('connecting');
    this.pool = this.core.createPool({ limitBytes: this.poolLimitBytes, name: this.url });
    this.packet = new RtpPacket(this.core, this.pool);
    this.frame = new Frame(this.core, this.retainBudget);
    this.host = new SessionHost(this.core, this.packet, this.frame, this.frameOptions, this.options.packets, {
      framesOn: () => this.frameMode,
      packetsWanted: () => this.wantsPackets(),
      deliverPacket: (p) => this.dispatch('packet', p, this.options.onPacket),
      deliverFrame: (f) => this.dispatch('frame', f, this.options.onFrame),
      // Reported to 'error' listeners only: without one, emit('error') would throw out of the socket's read callback.
      reportError: (e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      },
    });
    this.udpRecordPtr = this.core.alloc(RTP_RECORD_BYTES, 'RTP record');
    const maxRedirects = this.options.maxRedirects ?? 3;
    let describe: RtspMessage | undefined;
    for (let redirects = 0; ; redirects++) {
      await this.openConnection();
      this.assertState('connecting');
      const options = await this.send('OPTIONS', this.url, {});
      if (isRedirect(options) && this.redirect(options, redirects, maxRedirects)) continue;
      if (options.statusCode === 200) this.publicMethods = parsePublic(options.headers.get('public') ?? '');
      describe = await this.send('DESCRIBE', this.url, { Accept: 'application/sdp' });
      if (isRedirect(describe) && this.redirect(describe, redirects, maxRedirects)) continue;
      break;
    }
    this.expectOk(describe, 'DESCRIBE');
    const text = new TextDecoder().decode(describe.body);
    this.description = parseSdp(text);
    this.baseUrl = controlBase(this.url, describe.headers.get('content-base'), describe.headers.get('content-location'));
    const sessionControl = this.description.control;
    if (sessionControl && sessionControl !== '*') this.baseUrl = resolveControl(sessionControl, this.baseUrl);
    const select = this.options.selectMedia ?? ((m: MediaDescription) => (m.type === 'video' || m.type === 'audio') && /RTP\/S?AVPF?/.test(m.protocol));
    // A medium the SDP parser kept but cannot play (formats that are not payload types, as TP-Link sends) is never set
    // up, whatever selectMedia says: it has no payload type to read.
    const chosen = this.description.media.map((m, i) => [m, i] as const).filter(([m, i]) => isPlayable(m) && select(m, i));
    if (chosen.length === 0) throw new RtspError('NO_MEDIA', `the SDP of ${this.url} offers no medium to play`, { context: { media: this.description.media.map((m) => m.type) } });
    for (const [media] of chosen) {
      this.assertState('connecting');
      await this.setup(media);
    }
    this.assertState('connecting');
    this.state = 'ready';
    return this.streamList;
  }

  /** Whether anyone consumes packets: the handler option or 'packet' listeners (recounted when listeners change). */
  private wantsPackets(): boolean {
    if (this.packetConsumersChanged) {
      this.packetConsumersChanged = false;
      this.packetsWanted = this.options.onPacket !== undefined || this.listenerCount('packet') > 0;
    }
    return this.packetsWanted;
  }

  /** PLAY from now on; starts keep-alives and receiver reports. close() while it waits rejects it with ABORTED. */
  async play(): Promise<void> {
    if (this.state !== 'ready') throw new RtspError('CLOSED', `play() called in state ${this.state}`);
    let res: RtspMessage;
    try {
      // A live session (SDP `a=range:npt=now-`) gets no Range: gst-rtsp-server takes `npt=0.000-` as a flushing seek,
      // and on a media shared between sessions the flush drops the packets in flight of every session already playing.
      const range = this.description?.range;
      const live = range !== undefined && 'start' in range && range.start === 'now';
      res = await this.send('PLAY', this.baseUrl, live ? {} : { Range: 'npt=0.000-' });
    } catch (e) {
      throw this.abortedIfClosing(e, 'starting to play');
    }
    this.assertState('ready');
    this.expectOk(res, 'PLAY');
    const rtpInfo = res.headers.get('rtp-info');
    if (rtpInfo) {
      for (const info of parseRtpInfo(rtpInfo)) {
        const r = this.receivers.find(({ stream: m }) => m.control === info.url || info.url.endsWith(m.control) || m.control.endsWith(info.url));
        if (r) r.rtpInfo = { seq: info.seq, rtptime: info.rtptime };
      }
    }
    this.state = 'playing';
    this.playStartedAt = Date.now();
    this.startTimers();
    // A BYE may have come with the PLAY reply (one read): it was counted then, and it ends the session now.
    const ended = this.receivers.find((r) => r.byeReceived);
    if (ended) this.failOnBye(ended);
  }

  /** Throws RtspError('ABORTED') when close() ran while connect() or play() was waiting. */
  private assertState(expected: State): void {
    if (this.state !== expected) throw new RtspError('ABORTED', `the client was closed while it was ${expected === 'ready' ? 'starting to play' : 'connecting'}`);
  }

  /** Per-stream, pool, connection and demuxer statistics. Credentials never appear here. */
  stats(): ClientStats {
    if (this.finalStats) return this.finalStats;
    return {
      streams: this.receivers.map(({ stream: s, statistics, frames, rtcp }) => ({
        id: s.id, type: s.type, encodingName: s.encodingName, ...statistics.snapshot(),
        ...(frames ? { frames: { ...frames.stats(), queueFull: this.frameQueueDrops[s.id] ?? 0 } } : {}),
        rtcp: { ...rtcp },
      })),
      pool: this.pool?.stats(),
      connection: this.connection ? { ...this.connection.stats } : {
        bytesRead: 0, readCalls: 0, slotRotations: 0, bytesMoved: 0, largeFrames: 0, protocolErrors: 0, exhaustedPauses: 0, tickJoins: 0, tickLeaves: 0,
      },
      demuxer: this.demuxer?.stats(),
      ...this.counters,
      udp: this.udpStats(),
    };
  }

  private udpStats(): UdpReadStats {
    return this.udpInputs.reduce((total, input) => addUdpReadStats(total, input.stats), { ...this.udpTotals });
  }

  /**
   * Packets as an async iterable of retained packets (each must be released). At most `maxQueued` wait; past that a
   * packet is dropped and counted as 'queueFull' on its stream.
   */
  packets(options: { maxQueued?: number } = {}): AsyncGenerator<RetainedPacket> {
    return this.iterate<RtpPacket, RetainedPacket>('packet', options.maxQueued ?? 1024, (p) => p.retain(),
      (p) => this.receivers[p.stream.id]?.drop('queueFull'));
  }

  /**
   * Frames (frame mode) as an async iterable of retained frames (each must be released). At most `maxQueued` wait;
   * past that a frame is dropped and counted in its stream's `frames.queueFull`, as is a frame the retained-frame
   * budget cannot hold.
   */
  frames(options: { maxQueued?: number } = {}): AsyncGenerator<RetainedFrame> {
    return this.iterate<Frame, RetainedFrame>('frame', options.maxQueued ?? 64, (f) => {
      try {
        return f.retain();
      } catch (e) {
        if ((e as RtspError).code === 'FRAME_BUDGET') return undefined;
        throw e;
      }
    }, (f) => {
      this.frameQueueDrops[f.stream.id] = (this.frameQueueDrops[f.stream.id] ?? 0) + 1;
    });
  }

  /** A bounded queue of retained items fed by `event`, ended by 'close'; full (or unretainable) items are counted. */
  private async *iterate<T, R extends { release(): void }>(event: 'packet' | 'frame', maxQueued: number,
    retain: (item: T) => R | undefined, onDrop: (item: T) => void): AsyncGenerator<R> {
    const queue: R[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const onItem = (item: T) => {
      const kept = queue.length < maxQueued ? retain(item) : undefined;
      if (kept === undefined) {
        onDrop(item);
        return;
      }
      queue.push(kept);
      wake?.();
    };
    const onEnd = () => {
      ended = true;
      wake?.();
    };
    this.on(event, onItem);
    this.once('close', onEnd);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off(event, onItem);
      this.off('close', onEnd);
      for (const item of queue) item.release();
    }
  }

  /**
   * Ends the session: TEARDOWN (always tried, bounded by a timeout and by `signal`), then closes sockets and frees
   * the pool. Idempotent: every call returns the same promise.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closePromise) this.closedByUser = true;
    return this.closeInternal(options.signal);
  }

  /** close() for the client's own reasons (the connection ended): start-up errors keep their own code. */
  private closeInternal(signal?: AbortSignal): Promise<void> {
    this.closePromise ??= this.doClose(signal);
    return this.closePromise;
  }

  private async doClose(signal: AbortSignal | undefined): Promise<void> {
    const wasOpen = this.state !== 'new' && this.state !== 'closed';
    this.state = 'closing';
    this.stopTimers();
    // Whatever start-up or keep-alive request still waits fails now (ABORTED): nothing waits for its timeout.
    this.connection?.abortPending();
    if (this.sessionId !== undefined) {
      // Every session that was set up is torn down: on its own connection, or on a fresh one when that one dropped
      // (a UDP session would otherwise stream on until the server's timeout).
      const teardown: Promise<unknown> = this.connection && !this.connection.isClosed
        ? this.send('TEARDOWN', this.baseUrl || this.url, {}, TEARDOWN_TIMEOUT_MS).catch(() => undefined)
        : this.teardownOnFreshConnection(signal);
      await raceAbort(teardown, signal);
    }
    this.connection?.close();
    // The inputs first: the read tick must let go of a descriptor before its socket closes.
    for (const input of this.udpInputs) {
      addUdpReadStats(this.udpTotals, input.stats);
      input.close();
    }
    this.udpInputs.length = 0;
    for (const s of this.udpSockets) {
      try { s.close(); } catch { /* already closed */ }
    }
    this.udpSockets.length = 0;
    this.rtcpSockets.clear();
    if (this.core && this.udpRecordPtr) this.core.free(this.udpRecordPtr);
    this.udpRecordPtr = 0;
    // Kept so stats() still answers after close (the pool and demuxer live in wasm memory that is freed below).
    if (this.pool) this.finalStats = this.stats();
    for (const r of this.receivers) r.destroy();
    this.demuxer?.destroy();
    // Packets the consumer still holds keep their slots until released; a forced destroy would make them throw.
    this.pool?.destroy({ force: true });
    this.state = 'closed';
    if (wasOpen) this.emit('close');
  }

  /**
   * TEARDOWN of the session over a new connection (RFC 2326 allows a session's requests on any connection), bounded
   * by TEARDOWN_TIMEOUT_MS and `signal`; any failure is ignored (a server that is gone has no session to end).
   */
  private async teardownOnFreshConnection(signal: AbortSignal | undefined): Promise<void> {
    if (!this.core || !this.pool || signal?.aborted) return;
    this.counters.teardownsOnFreshConnection++;
    this.dropConnection();
    const demuxer = this.core.createDemuxer({ maxHeaderBytes: 16384, maxBodyBytes: 32768, maxEvents: 128 });
    this.demuxer = demuxer;
    const conn = new RtspConnection(this.core, this.pool, demuxer, {
      onFrame: () => undefined, // media of the old session, if any: dropped
      onServerRequest: () => undefined,
      onClose: () => undefined,
      onPoolExhausted: () => undefined,
    }, this.readIntervalMs);
    this.connection = conn;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = setTimeout(() => conn.close(), TEARDOWN_TIMEOUT_MS);
    try {
      await conn.connect(this.target.host, this.target.port, TEARDOWN_TIMEOUT_MS, ac.signal, this.options.lookup, this.tlsOptions());
      await this.send('TEARDOWN', this.baseUrl || this.url, {}, TEARDOWN_TIMEOUT_MS);
    } catch {
      // gone: nothing to tear down
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Requests

  private async openConnection(): Promise<void> {
    this.dropConnection();
    const core = this.core!;
    this.demuxer = core.createDemuxer({ maxHeaderBytes: 16384, maxBodyBytes: 32768, maxEvents: 128 });
    const conn: RtspConnection = new RtspConnection(core, this.pool!, this.demuxer, {
      onFrame: (packet) => this.onInterleaved(packet),
      onServerRequest: (m) => this.onServerRequest(m),
      // Only the current connection's end ends the session (a redirect closes the old one on purpose).
      onClose: (error) => {
        if (conn === this.connection) this.onConnectionClose(error);
      },
      onPoolExhausted: () => this.emit('poolExhausted'),
    }, this.readIntervalMs);
    this.connection = conn;
    await this.connection.connect(this.target.host, this.target.port, this.options.connectTimeoutMs ?? this.requestTimeoutMs,
      this.options.signal, this.options.lookup, this.tlsOptions());
  }

  /** TLS settings for the current target: rtsps:// only. */
  private tlsOptions(): RtspTlsOptions | undefined {
    return this.target.scheme === 'rtsps' ? this.options.tls ?? {} : undefined;
  }

  /** Closes the current connection (and its demuxer) without ending the session: for redirects. */
  private dropConnection(): void {
    const old = this.connection;
    this.connection = undefined;
    old?.close();
    this.demuxer?.destroy();
    this.demuxer = undefined;
  }

  /** Sends a request with Session, User-Agent and Authorization, answering one 401 challenge (or a stale nonce). */
  private async send(method: string, uri: string, headers: Record<string, string>, timeoutMs = this.requestTimeoutMs): Promise<RtspMessage> {
    const conn = this.connection;
    if (!conn) throw new RtspError('CLOSED', 'not connected');
    for (let attempt = 0; ; attempt++) {
      const h: Record<string, string> = { 'User-Agent': USER_AGENT, ...headers };
      if (this.sessionId !== undefined) h.Session = this.sessionId;
      const authorization = this.auth?.authorization(method, uri);
      if (authorization) h.Authorization = authorization;
      const res = await conn.request(method, uri, h, timeoutMs);
      if (res.statusCode !== 401) return res;
      const challenges = res.headers.getAll('www-authenticate');
      if (!this.auth) {
        throw statusError(method, this.url, res, 'the server asks for credentials and the URL has none');
      }
      let outcome;
      try {
        outcome = this.auth.handleChallenge(challenges);
      } catch (cause) {
        throw statusError(method, this.url, res, (cause as Error).message, { cause });
      }
      // A first challenge, or a stale nonce (RFC 7616 §3.3), is answered; a refusal of credentials we sent is final.
      if (!outcome.credentialsRejected && attempt < 3) continue;
      throw statusError(method, this.url, res, 'the server refused the credentials', { context: { scheme: outcome.scheme } });
    }
  }

  private expectOk(res: RtspMessage, method: string): void {
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) throw statusError(method, this.url, res);
  }

  /** Follows a 3xx: returns true to retry against the Location. */
  private redirect(res: RtspMessage, count: number, max: number): boolean {
    const location = res.headers.get('location');
    if (!location) throw new RtspError('PROTOCOL', `redirect ${res.statusCode} without a Location header`);
    if (count >= max) throw new RtspError('TOO_MANY_REDIRECTS', `more than ${max} redirects from ${this.url}`, { context: { last: redactUrl(location) } });
    const next = parseRtspUrl(location);
    const from = this.target;
    if (from.scheme === 'rtsps' && next.scheme !== 'rtsps') {
      // A TLS downgrade: everything after it (credentials, the session) would cross the network in clear text.
      throw new RtspError('INSECURE_REDIRECT', `${res.statusCode} from ${this.url} to ${redactUrl(location)} refused: it leaves TLS (rtsps → rtsp)`, {
        statusCode: res.statusCode, context: { from: this.url, to: redactUrl(location) },
      });
    }
    // Credentials go only where they were given (the origin rule of browsers and undici): same scheme, host and port.
    const credentials = next.credentials ?? (sameOrigin(next, from) ? from.credentials : undefined);
    this.target = next;
    (this as { url: string }).url = next.toString();
    this.auth = credentials ? new RtspAuthenticator(credentials) : undefined;
    this.dropConnection();
    return true;
  }

  private async setup(media: MediaDescription): Promise<void> {
    const id = this.receivers.length;
    const control = resolveControl(media.control, this.baseUrl);
    const pt = media.formats[0];
    const rtpmap = media.rtpmap.get(pt);
    const clockRate = rtpmap?.clockRate ?? staticClockRate(pt);
    let transportHeader: string;
    let sockets: PortPair | undefined;
    if (this.transportKind === 'tcp') {
      transportHeader = `RTP/AVP/TCP;unicast;interleaved=${id * 2}-${id * 2 + 1}`;
    } else {
      sockets = await bindPortPair(isIPv6(this.connection?.remoteAddress ?? '') ? 'udp6' : 'udp4', this.options.udpReceiveBufferBytes ?? UDP_RECEIVE_BUFFER_BYTES);
      this.udpSockets.push(sockets.rtp, sockets.rtcp);
      transportHeader = `RTP/AVP;unicast;client_port=${sockets.ports.rtp}-${sockets.ports.rtcp}`;
    }
    const res = await this.send('SETUP', control, { Transport: transportHeader });
    this.expectOk(res, 'SETUP');
    const session = res.headers.get('session');
    if (session) {
      const s = parseSession(session);
      this.sessionId = s.id;
      this.sessionTimeoutSeconds = s.timeoutSeconds;
    } else if (this.sessionId === undefined) {
      throw new RtspError('PROTOCOL', `SETUP ${control}: the reply has no Session header`);
    }
    const transportText = res.headers.get('transport');
    const transport = transportText ? parseTransport(transportText) : parseTransport(transportHeader);
    const stream: { -readonly [K in keyof MediaStreamDescription]: MediaStreamDescription[K] } = {
      id,
      type: media.type,
      control,
      payloadType: pt,
      encodingName: (rtpmap?.encodingName ?? '').toUpperCase(),
      clockRate,
      channels: rtpmap?.channels,
      fmtp: Object.fromEntries(media.fmtp.get(pt) ?? []),
      media,
      transport,
    };
    if (this.transportKind === 'tcp') {
      if (transport.lowerTransport !== 'TCP' && transportText) {
        throw new RtspError('UNSUPPORTED', `SETUP ${control}: asked for TCP, the server answered ${transportText}`);
      }
      // A reply without interleaved channels (seen on cameras) means the ones we asked for.
      const rtp = transport.interleaved?.rtp ?? id * 2;
      const rtcp = transport.interleaved?.rtcp ?? rtp + 1;
      stream.interleaved = { rtp, rtcp };
      this.channelMap[rtp] = id * 2;
      this.channelMap[rtcp] = id * 2 + 1;
      this.demuxer!.setChannel(rtp, { rtp: true });
      this.demuxer!.setChannel(rtcp, { rtp: false });
    } else {
      if (transport.lowerTransport === 'TCP') {
        throw new RtspError('UNSUPPORTED', `SETUP ${control}: asked for UDP, the server answered ${transportText}`);
      }
      const sp = transport.serverPort;
      stream.clientPorts = sockets!.ports;
      if (sp) stream.serverPorts = { rtp: sp.rtp, rtcp: sp.rtcp ?? sp.rtp + 1 };
    }
    const receiver = new StreamReceiver(this.host!, stream, transport.ssrc);
    if (sockets) {
      this.listenUdp(receiver, sockets);
      this.rtcpSockets.set(id, sockets.rtcp);
    }
    this.receivers.push(receiver);
    this.streamList.push(receiver.stream);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Packets

  private onInterleaved(packet: ReceivedPacket): void {
    const code = this.channelMap[packet.channel]!;
    const receiver = code < 0 ? undefined : this.receivers[code >> 1];
    if (receiver === undefined) {
      this.counters.unattributedDrops++;
      return;
    }
    if (code & 1) this.onRtcp(receiver, this.core!.u8.subarray(packet.ptr, packet.ptr + packet.length));
    else receiver.receive(packet); // its arrival time in packet.arrivalMs, set once per read
  }

  /** Hands the reused packet or frame to its handler option, then to the listeners; it is live only during the call. */
  private dispatch<T extends { live: boolean }>(event: 'packet' | 'frame', item: T, handler: ((item: T) => void) | undefined): void {
    item.live = true;
    try {
      handler?.(item);
      this.emit(event, item);
    } catch (e) {
      this.emit('error', e);
    } finally {
      item.live = false;
    }
  }

  /** An RTCP compound packet of a stream: sender reports kept, 'rtcp' listeners told, a BYE ends the session. */
  private onRtcp(receiver: StreamReceiver, bytes: Uint8Array): void {
    const srBefore = receiver.rtcp.senderReports;
    const packets = receiver.receiveRtcp(bytes, Date.now());
    if (packets === undefined) return;
    this.counters.senderReportsReceived += receiver.rtcp.senderReports - srBefore;
    if (this.listenerCount('rtcp') > 0) this.emit('rtcp', { stream: receiver.stream, packets });
    if (receiver.byeReceived && this.state === 'playing') this.failOnBye(receiver);
  }

  /** The server ended a stream (RTCP BYE, RFC 3550 §6.6): the session is over (RtspCamera starts a new one). */
  private failOnBye(receiver: StreamReceiver): void {
    const s = receiver.stream;
    this.fail(new RtspError('BYE', `stream ${s.id} (${s.type} ${s.encodingName}): the server said RTCP BYE: the stream ended`, {
      context: { streamId: s.id, ssrc: receiver.ssrc, packets: receiver.statistics.packets },
    }));
  }

  private listenUdp(receiver: StreamReceiver, sockets: PortPair): void {
    // Only the server's datagrams: compare with the address the RTSP connection actually reached (the URL may name
    // a host).
    const server = this.connection?.remoteAddress ?? this.target.host;
    this.udpInputs.push(new UdpStreamInput(this.core!, this.pool!, receiver, sockets, server, this.udpRecordPtr,
      this.options.reorder, {
        onForeign: () => this.counters.unattributedDrops++,
        onRtcp: (bytes) => this.onRtcp(receiver, bytes),
        onError: (e) => this.emit('error', e),
        isOpen: () => this.state !== 'closing' && this.state !== 'closed',
      }, this.readIntervalMs));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Session upkeep

  private startTimers(): void {
    if (this.options.keepAlive !== false) {
      const interval = this.options.keepAliveIntervalMs ?? Math.max(1000, (this.sessionTimeoutSeconds * 1000) / 2);
      this.keepAliveTimer = setInterval(() => void this.sendKeepAlive(), interval);
      this.keepAliveTimer.unref?.();
    }
    if (this.options.receiverReports !== false) {
      this.reportTimer = setInterval(() => this.sendReceiverReports(), RECEIVER_REPORT_INTERVAL_MS);
      this.reportTimer.unref?.();
    }
    const statsEvery = this.options.statsIntervalMs;
    if (statsEvery !== undefined && statsEvery > 0) {
      this.statsTimer = setInterval(() => this.emit('stats', this.stats()), statsEvery);
      this.statsTimer.unref?.();
    }
    const media = this.options.mediaTimeoutMs ?? 0;
    const frames = this.options.frameTimeoutMs ?? 0;
    const udp = this.transportKind === 'udp' ? this.options.udpTimeoutMs ?? DEFAULT_UDP_TIMEOUT_MS : 0;
    const shortest = Math.min(media || Infinity, frames || Infinity, udp || Infinity);
    if (shortest !== Infinity) {
      this.watchdogTimer = setInterval(() => this.checkMedia(media, udp, frames), Math.max(10, Math.min(WATCHDOG_MAX_PERIOD_MS, shortest / 4)));
      this.watchdogTimer.unref?.();
    }
  }

  private stopTimers(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.keepAliveTimer = this.reportTimer = this.watchdogTimer = this.statsTimer = undefined;
  }

  /**
   * The media watchdog: UDP_TIMEOUT when no datagram ever came, MEDIA_TIMEOUT when a stream went silent,
   * FRAME_TIMEOUT when a depayloaded stream's packets come but make no frame.
   */
  private checkMedia(mediaTimeoutMs: number, udpTimeoutMs: number, frameTimeoutMs: number): void {
    if (this.state !== 'playing') return;
    const now = Date.now();
    if (udpTimeoutMs > 0 && now - this.playStartedAt >= udpTimeoutMs && this.receivers.every((r) => r.statistics.packets === 0)) {
      this.fail(new RtspError('UDP_TIMEOUT', `no UDP packet arrived within ${udpTimeoutMs} ms after PLAY (blocked on the way?)`, {
        context: { udpTimeoutMs, streams: this.receivers.length },
      }));
      return;
    }
    for (const r of this.receivers) {
      const { stream: s, statistics } = r;
      const last = statistics.packets > 0 ? statistics.lastArrivalMs : this.playStartedAt;
      if (mediaTimeoutMs > 0 && now - last >= mediaTimeoutMs) {
        this.fail(new RtspError('MEDIA_TIMEOUT', `stream ${s.id} (${s.type} ${s.encodingName}) received no RTP packet for ${now - last} ms`, {
          context: { streamId: s.id, mediaTimeoutMs, silentMs: now - last, packets: statistics.packets },
        }));
        return;
      }
      // Only streams that frame mode depayloads (a depayloader exists once their first packet came).
      const frames = r.frames;
      if (frameTimeoutMs <= 0 || frames === undefined) continue;
      const lastFrame = r.lastFrameAtMs > 0 ? r.lastFrameAtMs : this.playStartedAt;
      if (now - lastFrame >= frameTimeoutMs) {
        const f = frames.stats();
        this.fail(new RtspError('FRAME_TIMEOUT', `stream ${s.id} (${s.type} ${s.encodingName}) made no frame for ${now - lastFrame} ms while its packets came (${statistics.packets} packets; frames dropped: ${describeDrops(f.dropped)})`, {
          context: { streamId: s.id, frameTimeoutMs, silentMs: now - lastFrame, packets: statistics.packets, frames: f.delivered, dropped: f.dropped, skippedPackets: f.skippedPackets },
        }));
        return;
      }
    }
  }

  /** The client fails on its own: 'error' (when someone listens), then close (TEARDOWN tried); closeReason tells. */
  private fail(error: RtspError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.failure = error;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    void this.closeInternal();
  }

  /** GET_PARAMETER when the server lists it in Public (RFC 2326 §10.8), otherwise OPTIONS. */
  private async sendKeepAlive(): Promise<void> {
    if (this.state !== 'playing') return;
    const method = this.publicMethods.has('GET_PARAMETER') ? 'GET_PARAMETER' : 'OPTIONS';
    let res: RtspMessage;
    try {
      this.counters.keepAlivesSent++;
      res = await this.send(method, this.baseUrl, {});
    } catch {
      this.counters.keepAliveFailures++;
      return;
    }
    if (res.statusCode === 454) {
      // RFC 2326 §11.3.5: the server no longer knows the session (it expired or restarted): this one is over.
      this.counters.keepAliveFailures++;
      this.fail(statusError(method, this.url, res, 'the keep-alive found the session gone: the server dropped it'));
    } else if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
      this.counters.keepAliveFailures++;
    }
  }

  private sendReceiverReports(): void {
    if (this.state !== 'playing') return;
    for (const r of this.receivers) {
      const { stream: s, statistics } = r;
      if (r.ssrc === undefined || statistics.packets === 0) continue;
      const sr = r.lastSenderReport;
      const block: ReportBlock = {
        ssrc: r.ssrc,
        fractionLost: statistics.takeFractionLost(),
        cumulativeLost: statistics.lost,
        highestSequence: statistics.extendedMax,
        jitter: statistics.jitter,
        lastSr: sr?.ntpMiddle ?? 0,
        delaySinceLastSr: sr ? Math.round(((Date.now() - sr.receivedAtMs) / 1000) * 65536) : 0,
      };
      const out = this.rtcpBuffer;
      if (this.transportKind === 'tcp' && s.interleaved) {
        const n = writeReceiverReport(out.subarray(4), this.localSsrc, [block], this.cname);
        out[0] = 0x24;
        out[1] = s.interleaved.rtcp;
        out[2] = n >> 8;
        out[3] = n & 0xff;
        this.connection?.write(out.slice(0, n + 4));
      } else if (s.serverPorts && s.clientPorts) {
        const n = writeReceiverReport(out, this.localSsrc, [block], this.cname);
        this.rtcpSockets.get(s.id)?.send(out.slice(0, n), s.serverPorts.rtcp, this.connection?.remoteAddress ?? this.target.host);
      } else {
        continue;
      }
      this.counters.receiverReportsSent++;
    }
  }

  private onServerRequest(m: RtspMessage): void {
    const cseq = m.headers.get('cseq') ?? '0';
    const ok = m.method === 'OPTIONS' || m.method === 'GET_PARAMETER' || m.method === 'SET_PARAMETER';
    const status = ok ? '200 OK' : '501 Not Implemented';
    this.connection?.write(new TextEncoder().encode(`RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\nUser-Agent: ${USER_AGENT}\r\n\r\n`));
  }

  private onConnectionClose(error: Error | undefined): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.failure = error instanceof RtspError ? error
      : new RtspError('CONNECTION_CLOSED', 'the connection closed', { cause: error });
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    void this.closeInternal();
  }
}

/**
 * Whether two URLs have the same origin: scheme, host and port (a port left out is the scheme's default, so
 * `rtsp://cam/` and `rtsp://cam:554/` match). Credentials of one are sent to the other only then.
 */
export function sameOrigin(a: RtspUrl, b: RtspUrl): boolean {
  return a.scheme === b.scheme && a.host === b.host && a.port === b.port;
}

/** `tooLarge 3, loss 1` (or `none`), for a message. */
function describeDrops(dropped: Record<string, number>): string {
  return Object.entries(dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
}

function isRedirect(res: RtspMessage): boolean {
  return res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304;
}

/** Clock rates of the static payload types of RFC 3551 that cameras still use without an rtpmap. */
function staticClockRate(pt: number): number {
  if (pt === 0 || pt === 8 || pt === 3 || pt === 4 || pt === 5 || pt === 9 || pt === 18) return 8000;
  if (pt === 10 || pt === 11) return 44100;
  if (pt === 14) return 90000;
  return 90000;
}

async function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return undefined;
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    });
  });
}
