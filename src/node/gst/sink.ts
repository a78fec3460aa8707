// A GStreamer sink for RTP packets: ONE pipeline with one `appsrc` branch per stream (of one camera or several),
// fed straight from the RTSP client's packet handler.
//
//   const sink = createGstSink({ branches: client.streams.map((stream) => ({ stream })) });   // decode ! fakesink
//   sink.on('error', (e) => …);
//   sink.start();
//   client.on('packet', (p) => sink.push(p.stream.id, p));        // copies synchronously: the slot is free again
//   …
//   await sink.close();                                            // EOS, wait for it, stop: Node can exit
//
// Why one pipeline: gstreamer-superficial's bus polling holds one libuv worker thread per pipeline until the pipeline
// stops (Node's pool has 4 by default), so a pipeline per stream would starve fs/dns/crypto after 4 streams. Here one
// sink holds exactly one thread, whatever the number of branches.
//
// Why the appsrc properties: without `max-bytes` AND `leaky-type=downstream` (an enum, settable only in the launch
// string) appsrc queues without bound when the pipeline is slower than the camera; with both, the oldest buffers are
// dropped and the queue stays near `max-bytes`. `do-timestamp=true` stamps each buffer with the running time at push.
//
// The addon aborts the whole process on a push of anything but an ArrayBufferView, so every argument is checked here
// first, and it is not safe in worker threads, so it is refused there.

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { MediaStream } from '../../core/media/stream.js';
import type { RtpPacket } from '../../core/media/packet.js';
import { codecConfigFromSdp, type Frame } from '../../core/media/frames.js';
import {
  decodeChain, defaultDepayChain, frameFormat, GstError, launchQuote, mp4Recordable, rtpCaps, type FrameCapsConfig,
} from './caps.js';

/** Default bound of each appsrc queue (`max-bytes`): ~35 ms of raw 720p30, seconds of H.264. */
export const DEFAULT_MAX_QUEUE_BYTES = 2 * 1024 * 1024;
/** Default time close() waits for the EOS to reach every sink before it stops the pipeline anyway. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** The npm package of the native binding (an optional dependency). */
export const GST_ADDON_PACKAGE = 'gstreamer-superficial';
/** Environment variable naming another module to load instead of GST_ADDON_PACKAGE (a custom build, or tests). */
export const GST_ADDON_ENV = 'WASM_RTSP_GST_ADDON';
/** Debian packages the binding needs to build and the default chains need to run. */
export const GST_DEBIAN_PACKAGES = [
  'libgstreamer1.0-dev', 'libgstreamer-plugins-base1.0-dev', 'gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good',
  'gstreamer1.0-plugins-bad', 'gstreamer1.0-libav', 'build-essential', 'python3',
] as const;

// ---------------------------------------------------------------------------------------------------------------
// The binding's surface, as read from its C++ (Pipeline.cpp, GObjectWrap.cpp of gstreamer-superficial 1.7.4).

/** An element from `findChild`: every GObject property as a JS property (guint64 ones read as strings). */
interface GstElementHandle {
  [property: string]: unknown;
  /**
   * appsrc only: copies the view's bytes into a new GstBuffer and queues it (gst_app_src_push_buffer); a second
   * argument's first 8 bytes are read as the buffer's PTS in ns, big-endian (it must be a view: anything else aborts).
   */
  push?: (bytes: Uint8Array, ptsBigEndian?: Uint8Array) => void;
  /**
   * appsrc, with the binding patched by scripts/patch-gst-binding.mjs: as push, but the buffer joins a list kept on
   * the element (no wake of the streaming thread yet); answers the list's length.
   */
  stage?: (bytes: Uint8Array, ptsBigEndian?: Uint8Array) => number;
  /** appsrc, patched binding: pushes the staged list as one (gst_app_src_push_buffer_list); answers its length. */
  flush?: () => number;
}

/** One bus message: `type` (error, warning, eos, state-changed, …), the message structure's fields, the source. */
interface GstBusMessage {
  type: string;
  _src_element_name?: string;
  /** error: the source's path; otherwise the structure's name. */
  name?: string;
  message?: string;
  debug?: string;
  [field: string]: unknown;
}

interface GstPipelineHandle {
  play(): void;
  stop(): void;
  /** gst_element_send_event(pipeline, EOS): the bin hands it to every source (each appsrc drains, then EOS). */
  sendEOS(): void;
  findChild(name: string): GstElementHandle | undefined;
  /** Polls on a libuv worker until a message handled while the pipeline is in NULL (stopped). */
  pollBus(callback: (message: GstBusMessage) => void): void;
}

interface GstAddon {
  Pipeline: new (launch: string) => GstPipelineHandle;
}

type Availability = { ok: true } | { ok: false; message: string };

let loaded: { addon: GstAddon } | { error: GstError } | undefined;

/** Loads the binding once (sync: it is a CommonJS native module); the outcome, good or bad, is cached. */
function loadAddon(): { addon: GstAddon } | { error: GstError } {
  if (loaded) return loaded;
  const specifier = process.env[GST_ADDON_ENV] || GST_ADDON_PACKAGE;
  const howToFix = `Install GStreamer (Debian/Ubuntu: apt-get install ${GST_DEBIAN_PACKAGES.join(' ')}), ` +
    `then run \`npm rebuild ${GST_ADDON_PACKAGE}\` (or \`npm install ${GST_ADDON_PACKAGE}\` if it was skipped).`;
  if (!isMainThread) {
    loaded = { error: new GstError('GST_UNAVAILABLE', `the GStreamer sink works only on the main thread: ${GST_ADDON_PACKAGE} ` +
      'is not safe in worker threads') };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(specifier) as Partial<GstAddon>;
    if (typeof addon?.Pipeline !== 'function') throw new TypeError(`${specifier} has no Pipeline constructor`);
    loaded = { addon: addon as GstAddon };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    loaded = { error: new GstError('GST_UNAVAILABLE', `the GStreamer sink is unavailable: cannot load ${specifier} (${reason}). ${howToFix}`, {
      cause, context: { specifier },
    }) };
  }
  return loaded;
}

// ---------------------------------------------------------------------------------------------------------------
// Options

/** What follows a branch's appsrc. */
export type GstTail =
  /** Depayload, parse, decode, then `fakesink name=sink<N>` (frames that reached it are counted). The default. */
  | 'decode'
  /** Depayload and parse into the sink-wide muxer of `options.record` (one file for every recorded branch). */
  | 'record'
  /** Launch text of your own after `appsrc … !`, e.g. `'rtph264depay ! h264parse ! avdec_h264 ! autovideosink'`. */
  | { launch: string };

/** One stream of the pipeline. */
export interface GstBranch {
  /** The stream whose packets this branch takes (its SDP gives the caps). */
  stream: Pick<MediaStream, 'type' | 'payloadType' | 'encodingName' | 'clockRate' | 'channels' | 'fmtp'>;
  /** Default 'decode'. */
  tail?: GstTail;
  /**
   * What the branch is fed: 'packets' (RTP, depayloaded by GStreamer; the default) or 'frames' (access units from
   * the client's frame mode, pushed with pushFrame(): `video/x-h264,stream-format=avc,alignment=au` with codec_data,
   * `video/x-h265,stream-format=hvc1`, `video/x-raw`, raw AAC — no RTP depayloader or byte-scanning parser runs).
   */
  input?: 'packets' | 'frames';
  /** Frame input: the codec configuration (default: from the stream's SDP; frame.config has in-band updates). */
  config?: FrameCapsConfig;
  /**
   * Frame input: where buffer PTS start. 'running-time' (the default): the running time of the branch's first frame,
   * so a live sink that syncs to the clock shows it now. 'zero': the frame's `pts` as is (a file writer that does not
   * sync, whose file should start at 0; the recorder pushes PTS relative to each segment's first frame).
   */
  ptsOrigin?: 'running-time' | 'zero';
  /** This branch's appsrc bound; default the sink's `maxQueueBytes`. */
  maxQueueBytes?: number;
  /**
   * Name of an element of your tail that derives from GstBaseSink, read by stats() for `sinkBuffers`. The default
   * tails name theirs `sink<N>`; a custom tail is looked up as `sink<N>` too if it has one.
   */
  countElement?: string;
}

/** Options of a GstSink. */
export interface GstSinkOptions {
  branches: readonly GstBranch[];
  /** Default bound of each appsrc queue, in bytes (DEFAULT_MAX_QUEUE_BYTES). */
  maxQueueBytes?: number;
  /** The file that 'record' branches go to, and the muxer (launch text, default 'mp4mux'). */
  record?: { location: string; muxer?: string };
  /** Default timeout of close(). */
  closeTimeoutMs?: number;
}

/** Counters and pipeline readings of one branch. */
export interface GstBranchStats {
  index: number;
  encodingName: string;
  /** Packets and bytes handed to the appsrc (each copied once into a GstBuffer). */
  pushedPackets: number;
  /** Frames handed to a frame branch (one GstBuffer each, bytes counted in pushedBytes). */
  pushedFrames: number;
  pushedBytes: number;
  /** push() calls refused because the sink was not playing (not started, closing, closed or failed). */
  rejectedPackets: number;
  /** Packets not pushed because the branch's queue was near its bound (a pipeline slower than the stream). */
  queueDroppedPackets: number;
  /** appsrc `current-level-bytes`: bytes waiting in the queue; undefined once stopped. */
  queuedBytes: number | undefined;
  /**
   * Buffers that reached the counted sink (GstBaseSink `stats.rendered`): decoded frames for 'decode', RTP packets
   * for a tail that sinks packets 1:1; undefined when the branch has no counted element.
   */
  sinkBuffers: number | undefined;
  /** GstBaseSink `stats.dropped`: buffers the sink itself dropped as late (only with sync=true). */
  sinkDropped: number | undefined;
}

/** Statistics of a GstSink. */
export interface GstSinkStats {
  state: GstSinkState;
  branches: GstBranchStats[];
  busMessages: number;
  errors: number;
  warnings: number;
}

/** 'new' → 'playing' → 'closing' → 'closed'; 'failed' after an ERROR message on the bus (then 'closed'). */
export type GstSinkState = 'new' | 'playing' | 'failed' | 'closing' | 'closed';

/** Whether the GStreamer binding can be loaded here, and if not, what to install. */
export function gstAvailable(): Availability {
  const result = loadAddon();
  return 'addon' in result ? { ok: true } : { ok: false, message: result.error.message };
}

/** A new GstSink; throws GstError 'GST_UNAVAILABLE' when the binding cannot be loaded, 'GST_LAUNCH' on a bad pipeline. */
export function createGstSink(options: GstSinkOptions): GstSink {
  return new GstSink(options);
}

/** Stop pushing (and count drops) when the queue holds this fraction of its bound… */
const QUEUE_DROP_FRACTION = 0.75;
/** …and push again once it is back under this fraction. */
const QUEUE_RESUME_FRACTION = 0.5;

const BASE_SINK_RENDERED = /rendered=\(guint64\)(\d+)/;
const BASE_SINK_DROPPED = /dropped=\(guint64\)(\d+)/;

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new GstError('GST_BAD_ARGUMENT', `${name} must be a positive integer, not ${String(value)}`);
  }
  return value;
}

/** Reads a numeric property the binding may return as number or string (guint64 are transformed to strings). */
function numberProperty(element: GstElementHandle | undefined, property: string): number | undefined {
  if (!element) return undefined;
  const value = element[property];
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function baseSinkCounter(element: GstElementHandle | undefined, pattern: RegExp): number | undefined {
  const stats = element?.stats;
  if (typeof stats !== 'string') return undefined;
  const match = pattern.exec(stats);
  return match ? Number(match[1]) : undefined;
}

/** See the file comment. Events: 'error' (GstError, then the pipeline is stopped), 'warning' (GstError), 'eos'. */
export class GstSink extends EventEmitter {
  /** Whether the binding can be loaded (it is an optional dependency), with a message naming what to install. */
  static available(): Availability {
    return gstAvailable();
  }

  /** The whole gst_parse_launch text of the pipeline. */
  readonly launch: string;
  private readonly pipeline: GstPipelineHandle;
  private readonly branches: readonly GstBranch[];
  private readonly counted: string[];
  private readonly closeTimeoutMs: number;
  private state: GstSinkState = 'new';
  /** appsrc handles by branch index (looked up once: every findChild makes a wrapper and takes a reference). */
  private srcs: GstElementHandle[] = [];
  /**
   * Each appsrc's `push`, looked up once: the binding defines an accessor on the element for every GObject property, so
   * a lookup of `push` on it is a slow dictionary lookup (measured among the main thread's costs at 256 cameras).
   */
  private pushers: Array<NonNullable<GstElementHandle['push']>> = [];
  /**
   * Each appsrc's `stage` and `flush` when the binding has them (patched): what one synchronous run delivers (a read
   * tick's frames, a socket read's packets) is staged per branch and flushed once, in a microtask at the end of the
   * run. Each push signals the appsrc's queue and wakes its streaming thread; at 256 cameras the wake-ups were a
   * quarter of the main thread (the kernel's try_to_wake_up and the context switches it causes), the copying nothing.
   */
  private stagers: Array<NonNullable<GstElementHandle['stage']>> = [];
  private flushers: Array<NonNullable<GstElementHandle['flush']>> = [];
  /** Branches with staged buffers (each once), and whether their flush is queued. */
  private readonly stagedBranches: number[] = [];
  private readonly staged: Uint8Array;
  /** Bytes staged per branch since its last flush: not in the queue level yet, but on their way. */
  private readonly stagedBytes: Float64Array;
  private flushQueued = false;
  private readonly flushStaged = (): void => this.flush();
  private sinks: Array<GstElementHandle | undefined> = [];
  private readonly pushedPackets: Float64Array;
  private readonly pushedFrames: Float64Array;
  /** Frame branches: running time (ns) of each branch's first frame, NaN before it; the PTS of later frames follows. */
  private readonly ptsBase: Float64Array;
  private readonly ptsBytes = new Uint8Array(8);
  private readonly ptsView = new DataView(this.ptsBytes.buffer);
  private startedAt = 0n;
  /** performance.now() at start(): packets staged for a list are stamped from it (see stampPacket). */
  private startedAtMs = 0;
  /** The running time (ns) of the synchronous run being staged, NaN until its first packet; packets staged in it. */
  private runNs = Number.NaN;
  private runPackets = 0;
  private readonly pushedBytes: Float64Array;
  private readonly rejected: Float64Array;
  /** Packets we did not push because the branch's queue was near its bound (see pushView). */
  private readonly queueDropped: Float64Array;
  /** Per branch: queue bound, pushes between two level readings, countdown to the next reading, dropping now. */
  private readonly bounds: Float64Array;
  /**
   * Bytes each branch may still push before its queue level must be read again: the level read last time plus what
   * was pushed since bounds the level now (appsrc only drains), so while that sum stays under the drop threshold no
   * reading is needed. A reading is a GObject property get through the binding (a few µs): per frame it was 4 % of
   * the command's main thread at 256 cameras.
   */
  private readonly headroom: Float64Array;
  private readonly dropping: Uint8Array;
  private counters = { busMessages: 0, errors: 0, warnings: 0 };
  private eosSeen = false;
  private onEos: (() => void) | undefined;
  private closePromise: Promise<void> | undefined;
  private finalStats: GstSinkStats | undefined;

  constructor(options: GstSinkOptions) {
    super();
    const result = loadAddon();
    if ('error' in result) throw result.error;
    if (!options || !Array.isArray(options.branches) || options.branches.length === 0) {
      throw new GstError('GST_BAD_ARGUMENT', 'GstSink needs at least one branch');
    }
    const defaultBound = positiveInteger(options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES, 'maxQueueBytes');
    this.closeTimeoutMs = positiveInteger(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs');
    this.branches = options.branches;
    const n = options.branches.length;
    this.pushedPackets = new Float64Array(n);
    this.pushedFrames = new Float64Array(n);
    this.ptsBase = new Float64Array(n).fill(Number.NaN);
    this.pushedBytes = new Float64Array(n);
    this.rejected = new Float64Array(n);
    this.queueDropped = new Float64Array(n);
    this.bounds = new Float64Array(n);
    this.headroom = new Float64Array(n);
    this.dropping = new Uint8Array(n);
    this.staged = new Uint8Array(n);
    this.stagedBytes = new Float64Array(n);
    this.counted = [];
    const parts: string[] = [];
    let muxerPlaced = false;
    options.branches.forEach((branch, i) => {
      const bound = positiveInteger(branch.maxQueueBytes ?? defaultBound, `branches[${i}].maxQueueBytes`);
      this.bounds[i] = bound;
      const frames = branch.input === 'frames';
      if (branch.input !== undefined && branch.input !== 'packets' && !frames) {
        throw new GstError('GST_BAD_ARGUMENT', `branch ${i}: input must be 'packets' or 'frames'`);
      }
      if (branch.ptsOrigin !== undefined && branch.ptsOrigin !== 'running-time' && branch.ptsOrigin !== 'zero') {
        throw new GstError('GST_BAD_ARGUMENT', `branch ${i}: ptsOrigin must be 'running-time' or 'zero'`);
      }
      if (frames && branch.ptsOrigin === 'zero') this.ptsBase[i] = 0;
      const format = frames ? frameFormat(branch.config ?? codecConfigFromSdp(branch.stream), branch.stream) : undefined;
      // Packets are stamped with the running time at push; frames carry their own PTS (pushFrame).
      const head = `appsrc name=src${i} is-live=true format=time do-timestamp=${frames ? 'false' : 'true'} max-bytes=${bound} ` +
        `leaky-type=downstream block=false caps=${launchQuote(format ? format.caps : rtpCaps(branch.stream))}`;
      const tail = branch.tail ?? 'decode';
      let text: string;
      if (tail === 'decode') {
        const decode = format ? format.decode : decodeChain(branch.stream);
        text = `${format ? '' : defaultDepayChain(branch.stream) + ' ! '}${decode ? decode + ' ! ' : ''}fakesink name=sink${i} sync=false`;
      } else if (tail === 'record') {
        const record = options.record;
        if (!record || typeof record.location !== 'string' || record.location === '' || record.location.includes('\0')) {
          throw new GstError('GST_BAD_ARGUMENT', `branch ${i} records, but options.record.location names no file`);
        }
        const muxer = record.muxer ?? 'mp4mux';
        if (typeof muxer !== 'string' || muxer.trim() === '') throw new GstError('GST_BAD_ARGUMENT', 'options.record.muxer is empty');
        if (muxer === 'mp4mux' && !(format ? format.mp4 : mp4Recordable(branch.stream))) {
          throw new GstError('GST_UNSUPPORTED', `branch ${i}: mp4mux does not take ${branch.stream.encodingName}; ` +
            'choose options.record.muxer (e.g. matroskamux) or a tail of your own', { context: { encodingName: branch.stream.encodingName } });
        }
        text = format ? `${format.recordParse ? format.recordParse + ' ! ' : ''}recordmux.` : `${defaultDepayChain(branch.stream)} ! recordmux.`;
        if (!muxerPlaced) {
          // The muxer is placed once; every recorded branch links to it by name.
          parts.push(`${muxer} name=recordmux ! filesink name=recordfile location=${launchQuote(record.location)}`);
          muxerPlaced = true;
        }
      } else if (tail && typeof tail === 'object' && typeof tail.launch === 'string' && tail.launch.trim() !== '') {
        text = tail.launch;
      } else {
        throw new GstError('GST_BAD_ARGUMENT', `branch ${i}: tail must be 'decode', 'record' or { launch: string }`);
      }
      this.counted.push(typeof branch.countElement === 'string' ? branch.countElement : `sink${i}`);
      parts.push(`${head} ! ${text}`);
    });
    this.launch = parts.join('  ');
    try {
      this.pipeline = new result.addon.Pipeline(this.launch);
    } catch (cause) {
      throw new GstError('GST_LAUNCH', `GStreamer refused the pipeline: ${(cause as Error)?.message ?? String(cause)}`, {
        cause, context: { launch: this.launch },
      });
    }
  }

  /** The sink's state. */
  get currentState(): GstSinkState {
    return this.state;
  }

  /** Number of branches. */
  get branchCount(): number {
    return this.branches.length;
  }

  /** Sets the pipeline playing and starts the (single) bus poll. */
  start(): void {
    if (this.state !== 'new') throw new GstError('GST_STATE', `start() called in state ${this.state}`);
    for (let i = 0; i < this.branches.length; i++) {
      const src = this.pipeline.findChild(`src${i}`);
      if (!src || typeof src.push !== 'function') {
        throw new GstError('GST_LAUNCH', `the pipeline has no appsrc named src${i}`, { context: { launch: this.launch } });
      }
      this.srcs.push(src);
      this.pushers.push(src.push);
      this.sinks.push(this.pipeline.findChild(this.counted[i]!));
    }
    // Buffer lists when the binding has them (one binding for every element: all or none).
    if (this.srcs.every((src) => typeof src.stage === 'function' && typeof src.flush === 'function')) {
      this.srcs.forEach((src, i) => {
        this.stagers.push(src.stage!);
        this.flushers.push(src.flush!);
        // appsrc stamps no buffer of a list: a packet branch's buffers get their running time from stampPacket.
        if (this.branches[i]!.input !== 'frames') src['do-timestamp'] = false;
      });
    }
    this.startedAt = process.hrtime.bigint();
    this.startedAtMs = performance.now();
    this.pipeline.play();
    this.state = 'playing';
    // After play(): the addon stops polling after any message it handles while the pipeline is in NULL.
    this.pipeline.pollBus((message) => this.onBusMessage(message));
  }

  /**
   * Copies `packet` (its bytes in wasm memory, valid during the packet handler) into branch `index`'s appsrc.
   * Returns false, and counts it, when the sink is not playing. Throws GstError 'GST_BAD_BRANCH' for an index that
   * is no branch and 'GST_BAD_ARGUMENT' for something that is not a live RtpPacket.
   */
  push(index: number, packet: RtpPacket): boolean {
    if (this.srcs[index] === undefined && !this.isBranch(index)) throw this.badBranch(index);
    let view: unknown;
    try {
      // The one allocation per packet: a Uint8Array over the pool slot (RtpPacket.view checks it is still live).
      view = packet.view;
    } catch (cause) {
      throw new GstError('GST_BAD_ARGUMENT', `push(${index}, …): not a live RtpPacket (${(cause as Error)?.message ?? String(cause)})`, { cause });
    }
    return this.pushView(index, view);
  }

  /** Like push(), for bytes you hold (e.g. a retained packet's `lease.view`); copied before this returns. */
  pushBytes(index: number, bytes: Uint8Array): boolean {
    if (this.srcs[index] === undefined && !this.isBranch(index)) throw this.badBranch(index);
    return this.pushView(index, bytes);
  }

  /**
   * Copies a frame (frame mode; valid during the 'frame' handler, or a RetainedFrame) into frame branch `index`,
   * one GstBuffer per access unit, with its PTS: the running time of the branch's first frame plus the frame's
   * `pts` in the stream clock. Returns false, and counts it, when the sink is not playing or the queue is full.
   */
  pushFrame(index: number, frame: Pick<Frame, 'data' | 'pts' | 'stream'>): boolean {
    if (this.srcs[index] === undefined && !this.isBranch(index)) throw this.badBranch(index);
    if (this.branches[index]!.input !== 'frames') {
      throw new GstError('GST_BAD_ARGUMENT', `pushFrame(${index}, …): branch ${index} takes packets (create it with input: 'frames')`);
    }
    let view: unknown;
    try {
      view = frame.data;
    } catch (cause) {
      throw new GstError('GST_BAD_ARGUMENT', `pushFrame(${index}, …): not a live Frame (${(cause as Error)?.message ?? String(cause)})`, { cause });
    }
    const clockRate = frame.stream?.clockRate;
    // A pts below 0 is legal: a B-frame shown before the stream's first frame (its buffer time is clamped at 0 below).
    if (typeof frame.pts !== 'number' || !Number.isFinite(frame.pts) || typeof clockRate !== 'number' || !(clockRate > 0)) {
      throw new GstError('GST_BAD_ARGUMENT', `pushFrame(${index}, …): the frame has no usable pts/clock rate`, { context: { pts: frame.pts, clockRate } });
    }
    if (Number.isNaN(this.ptsBase[index]!)) {
      if (this.state !== 'playing') return this.pushView(index, view, true);
      this.ptsBase[index] = Number(process.hrtime.bigint() - this.startedAt);
    }
    this.writePts(Math.max(0, Math.round(this.ptsBase[index]! + (frame.pts * 1e9) / clockRate)));
    return this.pushView(index, view, true);
  }

  private pushView(index: number, view: unknown, isFrame = false): boolean {
    // Anything but an ArrayBufferView reaching the addon aborts the process (node::Buffer::Data CHECKs).
    if (!(view instanceof Uint8Array) || view.byteLength === 0) {
      throw new GstError('GST_BAD_ARGUMENT', `push(${index}, …) takes a non-empty Uint8Array, not ${describe(view)}`);
    }
    if (this.state !== 'playing') {
      this.rejected[index]!++;
      return false;
    }
    // Bounded queue with every drop counted: appsrc's own leaky-type=downstream drops silently (GStreamer 1.22 has
    // no counter for it), so we read the queue level whenever this push could take it past 3/4 of the bound (see
    // headroom) and drop — counting — ourselves while it is there, until it falls below 1/2. The leaky appsrc stays
    // as the backstop it never needs to be.
    const length = view.byteLength;
    if (this.dropping[index] === 1 || this.headroom[index]! < length) {
      const level = (numberProperty(this.srcs[index], 'current-level-bytes') ?? 0) + this.stagedBytes[index]!;
      const bound = this.bounds[index]!;
      if (this.dropping[index]) {
        if (level <= bound * QUEUE_RESUME_FRACTION) this.dropping[index] = 0;
      } else if (level >= bound * QUEUE_DROP_FRACTION) {
        this.dropping[index] = 1;
      }
      this.headroom[index] = bound * QUEUE_DROP_FRACTION - level;
    }
    if (this.dropping[index]) {
      this.queueDropped[index]!++;
      return false;
    }
    this.headroom[index]! -= length;
    if (this.stagers.length !== 0) {
      // Staged (copied now: the view is only valid during this call), pushed with the branch's others at the flush.
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flushStaged);
      }
      if (!isFrame) this.stampPacket();
      this.stagers[index]!.call(this.srcs[index], view, this.ptsBytes);
      this.stagedBytes[index]! += length;
      if (this.staged[index] === 0) {
        this.staged[index] = 1;
        this.stagedBranches.push(index);
      }
    } else if (isFrame) {
      this.pushers[index]!.call(this.srcs[index], view, this.ptsBytes);
    } else {
      this.pushers[index]!.call(this.srcs[index], view);
    }
    if (isFrame) this.pushedFrames[index]!++;
    else this.pushedPackets[index]!++;
    this.pushedBytes[index]! += length;
    return true;
  }

  /**
   * A staged packet's PTS: the running time of the synchronous run that delivers it (one read), as appsrc's
   * do-timestamp would have given it at a push (appsrc stamps no buffer of a list), plus 1 ns per packet before it in
   * the run so that stamps keep increasing. One clock reading per run, not per packet: in Node 20 every reading
   * (performance.now(), Date.now()) is a new heap number, and process.hrtime.bigint() a BigInt. It counts from start(),
   * a little before the pipeline's base time (the PLAYING transition), as frame branches do.
   */
  private stampPacket(): void {
    if (Number.isNaN(this.runNs)) this.runNs = Math.max(0, Math.round((performance.now() - this.startedAtMs) * 1e6));
    this.writePts(this.runNs + this.runPackets++);
  }

  /** `ns` as the big-endian 64-bit PTS the binding reads from ptsBytes. */
  private writePts(ns: number): void {
    this.ptsView.setUint32(0, Math.floor(ns / 0x1_0000_0000));
    this.ptsView.setUint32(4, ns >>> 0);
  }

  /**
   * Pushes every staged buffer now, one list per branch (it runs by itself in a microtask after the pushes of one
   * synchronous run; close() runs it before the EOS).
   */
  flush(): void {
    this.flushQueued = false;
    this.runNs = Number.NaN;
    this.runPackets = 0;
    const branches = this.stagedBranches;
    for (let i = 0; i < branches.length; i++) {
      const index = branches[i]!;
      this.staged[index] = 0;
      this.stagedBytes[index] = 0;
      this.flushers[index]!.call(this.srcs[index]);
    }
    branches.length = 0;
  }

  private isBranch(index: unknown): boolean {
    return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < this.branches.length;
  }

  private badBranch(index: unknown): GstError {
    return new GstError('GST_BAD_BRANCH', `no branch ${String(index)}: this sink has ${this.branches.length} (0–${this.branches.length - 1})`);
  }

  /** Per-branch counters and what the pipeline reports (queue level, buffers at the counted sink). */
  stats(): GstSinkStats {
    // Once stopped, the pipeline's readings are those taken just before the stop; our own counters stay live.
    const frozen = this.finalStats;
    const live = this.state !== 'new' && !frozen;
    return {
      state: this.state,
      branches: this.branches.map((branch, i) => ({
        index: i,
        encodingName: branch.stream.encodingName,
        pushedPackets: this.pushedPackets[i]!,
        pushedFrames: this.pushedFrames[i]!,
        pushedBytes: this.pushedBytes[i]!,
        rejectedPackets: this.rejected[i]!,
        queueDroppedPackets: this.queueDropped[i]!,
        queuedBytes: live ? numberProperty(this.srcs[i], 'current-level-bytes') : frozen?.branches[i]!.queuedBytes,
        sinkBuffers: live ? baseSinkCounter(this.sinks[i], BASE_SINK_RENDERED) : frozen?.branches[i]!.sinkBuffers,
        sinkDropped: live ? baseSinkCounter(this.sinks[i], BASE_SINK_DROPPED) : frozen?.branches[i]!.sinkDropped,
      })),
      ...this.counters,
    };
  }

  /**
   * Ends the pipeline: EOS on every appsrc (each drains its queue first), waits up to `timeoutMs` for the EOS bus
   * message (the muxer has then written its index), then stops the pipeline, which ends the bus poll so Node can
   * exit. Idempotent: every call returns the same promise. Rejects only with 'GST_EOS_TIMEOUT' when `rejectOnTimeout`.
   */
  close(options: { timeoutMs?: number; rejectOnTimeout?: boolean } = {}): Promise<void> {
    this.closePromise ??= this.doClose(options.timeoutMs ?? this.closeTimeoutMs, options.rejectOnTimeout ?? false);
    return this.closePromise;
  }

  private async doClose(timeoutMs: number, rejectOnTimeout: boolean): Promise<void> {
    const was = this.state;
    // What was staged goes before the EOS (appsrc takes no buffer after it).
    if (was === 'playing') this.flush();
    this.state = 'closing';
    let timedOut = false;
    if (was === 'playing') {
      if (!this.eosSeen) {
        const eos = new Promise<void>((resolve) => (this.onEos = resolve));
        this.pipeline.sendEOS();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(() => { timedOut = true; resolve(); }, timeoutMs)));
        await Promise.race([eos, timeout]);
        clearTimeout(timer);
        this.onEos = undefined;
      }
    }
    if (was !== 'new') this.finalStats = this.stats();
    this.pipeline.stop();
    this.state = 'closed';
    if (timedOut && rejectOnTimeout) {
      throw new GstError('GST_EOS_TIMEOUT', `the pipeline did not reach EOS within ${timeoutMs} ms; it was stopped anyway`);
    }
  }

  private onBusMessage(message: GstBusMessage): void {
    this.counters.busMessages++;
    const element = typeof message._src_element_name === 'string' ? message._src_element_name : 'unknown';
    switch (message.type) {
      case 'error': {
        this.counters.errors++;
        const error = new GstError('GST_PIPELINE_ERROR', `GStreamer error from ${element}: ${message.message ?? 'unknown error'}`, {
          element, context: { path: message.name, debug: message.debug },
        });
        if (this.state === 'playing' || this.state === 'closing') {
          // The pipeline is dead after an ERROR: stop it now so the bus poll gives its thread back.
          if (this.state === 'playing') this.state = 'failed';
          if (!this.finalStats) this.finalStats = this.stats();
          this.pipeline.stop();
          this.onEos?.();
        }
        this.emit('error', error);
        break;
      }
      case 'warning':
        this.counters.warnings++;
        this.emit('warning', new GstError('GST_PIPELINE_WARNING', `GStreamer warning from ${element}: ${message.debug ?? message.message ?? ''}`, {
          element, context: { path: message.name },
        }));
        break;
      case 'eos':
        this.eosSeen = true;
        this.onEos?.();
        this.emit('eos');
        break;
      default:
        break;
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  if (ArrayBuffer.isView(value)) return `an empty or non-Uint8Array ${value.constructor.name}`;
  return (value as object).constructor?.name ?? 'an object';
}
