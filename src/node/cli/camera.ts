// The per-camera object of `wasm-rtsp`: an RtspCamera plus what the command needs around it (a name, a state, counters
// summed over sessions, media kept until its pipeline exists), and the wiring of a camera into its pipeline's branches.

import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Core } from '../../core/core.js';
import type { ClientStats, MediaStream } from '../rtsp/client.js';
import { RtspCamera, type ReconnectedEvent, type ReconnectingEvent } from '../rtsp/camera.js';
import type { PoolStats } from '../../core/pool.js';
import type { RetainedPacket, RtpPacket } from '../../core/media/packet.js';
import { codecConfigFromSdp, frameCodecOf, type Frame, type FrameStats, type RetainedFrame } from '../../core/media/frames.js';
import { frameFormat, type GstBranchStats, type GstSink } from '../gst/index.js';
import type { CameraSpec } from '../fleet/config.js';
import type { CameraRecording } from './record.js';
import { describe, errorOf } from './summary.js';

/** Where a camera is: connecting (first attempt), playing, reconnecting (after a failure), failed (gave up),
 * stopped (by us). */
export type CameraState = 'connecting' | 'playing' | 'reconnecting' | 'failed' | 'stopped';

/** Per-stream counters of one camera over all its sessions so far. */
type StreamTotals = ClientStats['streams'][number];

/**
 * Bytes of packets a camera keeps (retained in its pool) between its first PLAY and its pipeline's start: about a
 * second of a 4 Mbit/s stream. Beyond it the oldest go (counted in beforePipelineDrops), so what is kept joins the
 * live packets without a gap, and a pipeline built late does not leave a pool near exhaustion behind (its touched
 * pages stay resident).
 */
const MAX_PENDING_PACKET_BYTES = 512 * 1024;

/** Frames a camera keeps (copied into its core, within the retained-frame budget) before its pipeline's start. */
const MAX_PENDING_FRAMES = 512;

/**
 * How much of a stream whose every frame is a keyframe (audio, raw video) a camera keeps before its pipeline's start,
 * in seconds of its clock: its frames since the latest keyframe would be only the last one.
 */
const KEYFRAME_ONLY_KEEP_S = 1;

/**
 * Where a camera's media goes: packets and frames on the hot path (valid during the call), and those retained
 * between the first PLAY and the pipeline's start.
 */
interface MediaTarget {
  packet(p: RtpPacket): void;
  retained(p: RetainedPacket): void;
  frame(f: Frame): void;
  retainedFrame(f: RetainedFrame): void;
}

/** A branch's counters from a pipeline the camera has left. */
export type PastBranch = Pick<GstBranchStats, 'pushedPackets' | 'pushedFrames' | 'rejectedPackets' | 'queueDroppedPackets'> & { sinkBuffers: number };

/** Adds a left pipeline's branch counters to the camera's past ones. */
export function keepPastBranch(cam: { pastBranches: Map<number, PastBranch> }, streamId: number, b: GstBranchStats): void {
  const p = cam.pastBranches.get(streamId) ?? { pushedPackets: 0, pushedFrames: 0, rejectedPackets: 0, queueDroppedPackets: 0, sinkBuffers: 0 };
  p.pushedPackets += b.pushedPackets;
  p.pushedFrames += b.pushedFrames;
  p.rejectedPackets += b.rejectedPackets;
  p.queueDroppedPackets += b.queueDroppedPackets;
  p.sinkBuffers += b.sinkBuffers ?? 0;
  cam.pastBranches.set(streamId, p);
}

/**
 * A camera of the command: an RtspCamera (connect, play, reconnect with backoff, media timeout, TEARDOWN on every
 * exit) plus what the command needs around it: a name, a state for progress lines, per-reason counters summed over
 * sessions, and the packets of its first moments kept until its pipeline exists.
 */
export class Camera extends EventEmitter {
  /** The camera's name (from the config file, or its URL without credentials): logs, --json, metrics, /status. */
  readonly name: string;
  /** The URL without credentials. */
  readonly url: string;
  readonly rtsp: RtspCamera;
  state: CameraState = 'connecting';
  /** When `state` was entered (ms since the epoch). */
  since = Date.now();
  /** Failed attempts and failed sessions so far, by error code (the metrics' failure reasons). */
  readonly failuresByReason = new Map<string, number>();
  /**
   * Its recorder (--record): its own pipelines, one per segment, fed by the RtspCamera's frames directly; the camera
   * then has no pipeline of the command's.
   */
  recording?: CameraRecording;
  /** Whether it records (its media go to its recorder, not to a pipeline of the command). */
  readonly records: boolean;
  /** Set when a reload removed (or replaced) the camera: its late pipeline is not built any more. */
  removed = false;
  played = false;
  lastError: unknown;
  /** Streams of the first session (stable across reconnects: RtspCamera ends a camera whose SDP changes). */
  streams: readonly MediaStream[] = [];
  /** Resolves once the first attempt has ended: playing, or failed. */
  readonly firstAnswer: Promise<void>;
  private answered!: () => void;
  private target: MediaTarget | undefined;
  private readonly pending: RetainedPacket[] = [];
  /** Bytes of the packets in `pending`. */
  private pendingBytes = 0;
  /** Per stream id, its frames kept until the pipeline exists: from its latest keyframe on (see trimPendingFrames). */
  private readonly pendingFrames = new Map<number, RetainedFrame[]>();
  private pendingFrameCount = 0;
  /** Per stream id: whether it goes as frames (decided once from its SDP; ids are stable across sessions). */
  private readonly frameInput = new Map<number, boolean>();
  private readonly rtpOnly: boolean;
  /** Packets that arrived before the pipeline and did not fit in `pending`, or whose session ended before it. */
  beforePipelineDrops = 0;
  /**
   * Per stream id, frames kept while the pipeline did not exist and then dropped because a newer keyframe came (a
   * branch starts at a keyframe, so they would never be shown): their memory goes back to the core at once.
   */
  readonly beforeLatestKeyframeDrops = new Map<number, number>();
  /**
   * Per stream id, what the pipelines this camera left (one stopped by another camera's error) counted of its branches:
   * added to the current pipeline's counts in the summary, so its frames balance over every pipeline it fed.
   */
  readonly pastBranches = new Map<number, PastBranch>();
  /** Per stream id, the counters of ended sessions (each session's client starts from zero). */
  private readonly past = new Map<number, StreamTotals>();
  private readonly folded = new WeakSet<ClientStats>();

  constructor(readonly index: number, readonly spec: CameraSpec, core: Core, signal: AbortSignal) {
    super();
    const args = spec;
    this.rtpOnly = !spec.frames;
    this.records = spec.record !== undefined;
    this.rtsp = new RtspCamera(spec.url, {
      core, transport: spec.transport, poolLimitBytes: spec.poolLimitBytes, signal,
      // Frame mode: depayload in wasm only the streams that go as frames; a branch starts at a keyframe. A recording
      // camera depayloads every stream frame mode knows (its recorder picks one; in-band parameter sets suffice).
      frames: this.rtpOnly ? undefined : { waitForKeyframe: true, streams: (s) => (this.records ? frameCodecOf(s.encodingName) !== undefined : this.usesFrames(s)) },
      // Packets are built and dispatched only for the streams that go as RTP (the others' frames go instead); a
      // recording camera has no use for packets.
      packets: (s) => !this.records && !this.usesFrames(s),
      tls: args.tlsFingerprint || args.tlsCaFile ? {
        fingerprint256: args.tlsFingerprint,
        ca: args.tlsCaFile ? readFileSync(args.tlsCaFile, 'utf8') : undefined,
      } : undefined,
      requestTimeoutMs: args.timeoutMs, connectTimeoutMs: args.timeoutMs, mediaTimeoutMs: args.mediaTimeoutMs,
      frameTimeoutMs: args.frameTimeoutMs,
      readIntervalMs: args.readIntervalMs,
      initialDelayMs: args.retryDelayMs, maxDelayMs: args.retryMaxDelayMs,
      maxAttempts: args.retries === Infinity ? Infinity : args.retries + 1,
    });
    this.name = spec.name;
    this.url = this.rtsp.url;
    this.firstAnswer = new Promise((r) => (this.answered = r));
    this.rtsp.on('packet', (p: RtpPacket) => this.onPacket(p));
    if (!this.rtpOnly) this.rtsp.on('frame', (f: Frame) => this.onFrame(f));
    this.rtsp.on('error', (e: unknown) => (this.lastError = e));
    this.rtsp.on('reconnecting', (e: ReconnectingEvent) => {
      this.fold();
      this.countFailure(e.reason);
      this.lastError = e.reason;
      this.setState('reconnecting', `${describe(e.reason)}; retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(1)} s`);
      this.answered();
    });
    this.rtsp.on('reconnected', (e: ReconnectedEvent) => {
      this.setState('playing', `reconnected after ${e.attempts} attempt${e.attempts === 1 ? '' : 's'} (down ${(e.downtimeMs / 1000).toFixed(1)} s)`);
    });
    this.rtsp.on('fallback', (e: { reason: unknown }) => {
      this.fold();
      this.emit('note', `no RTP over UDP (${describe(e.reason)}): TCP from now on`);
    });
    this.rtsp.on('close', (reason: unknown) => {
      this.fold();
      this.dropPending();
      if (reason !== undefined) {
        this.lastError = reason;
        this.countFailure(reason);
        // The line names the camera already.
        const text = describe(reason);
        this.setState('failed', text.startsWith(`${this.url}: `) ? text.slice(this.url.length + 2) : text);
      }
      this.answered();
    });
  }

  /** Starts the camera; the first PLAY goes out at once, its packets wait (bounded) for attach(). */
  start(): void {
    this.rtsp.start().then((streams) => {
      this.streams = streams;
      this.played = true;
      this.emit('firstPlay');
      this.setState('playing', `playing, ${streams.length} stream${streams.length === 1 ? '' : 's'}: ${streams.map((s) => s.encodingName).join(', ')}`);
      this.answered();
    }, () => { /* ended before it played: 'close' said why */ });
  }

  /**
   * Whether `stream` goes to its branch as frames: frame mode is on, the wasm depayloader knows the codec and the SDP
   * gives what the appsrc caps need (codec_data); otherwise its RTP packets go, for GStreamer to depayload.
   */
  usesFrames(stream: MediaStream): boolean {
    let yes = this.frameInput.get(stream.id);
    if (yes === undefined) {
      yes = false;
      if (!this.rtpOnly && frameCodecOf(stream.encodingName) !== undefined) {
        try {
          frameFormat(codecConfigFromSdp(stream), stream);
          yes = true;
        } catch { /* no codec configuration in the SDP: RTP */ }
      }
      this.frameInput.set(stream.id, yes);
    }
    return yes;
  }

  /** Whether stream `id` was decided to go as frames (see usesFrames). */
  wentAsFrames(id: number): boolean {
    return this.frameInput.get(id) ?? false;
  }

  /** From now on media goes to `target`; what was kept since the first PLAY goes first, in order. */
  attach(target: MediaTarget): void {
    this.target = target;
    for (const frames of this.pendingFrames.values()) {
      for (const f of frames) {
        try {
          target.retainedFrame(f);
        } catch {
          this.beforePipelineDrops++;
        }
        try { f.release(); } catch { /* released with its core block */ }
      }
    }
    this.pendingFrames.clear();
    this.pendingFrameCount = 0;
    for (const r of this.pending.splice(0)) {
      try {
        target.retained(r);
      } catch {
        this.beforePipelineDrops++; // its session ended before the pipeline (the lease is gone with the pool)
      }
      try { r.release(); } catch { /* released with its pool */ }
    }
    this.pendingBytes = 0;
  }

  /** Frames and packets kept for a pipeline that does not exist yet (tests and the status page). */
  pendingMedia(): { frames: number; packets: number; packetBytes: number; framesByStream: Map<number, RetainedFrame[]> } {
    return { frames: this.pendingFrameCount, packets: this.pending.length, packetBytes: this.pendingBytes, framesByStream: this.pendingFrames };
  }

  private onFrame(f: Frame): void {
    if (this.records || !this.usesFrames(f.stream)) return;
    if (this.target) {
      this.target.frame(f);
      return;
    }
    let kept = this.pendingFrames.get(f.stream.id);
    if (kept === undefined) this.pendingFrames.set(f.stream.id, (kept = []));
    this.trimPendingFrames(f, kept);
    if (this.pendingFrameCount >= MAX_PENDING_FRAMES) {
      this.beforePipelineDrops++;
      return;
    }
    try {
      kept.push(f.retain());
      this.pendingFrameCount++;
    } catch {
      this.beforePipelineDrops++; // the retained-frame budget is full
    }
  }

  /**
   * Before the pipeline exists, drops the kept frames of `f`'s stream that its branch would never show: a video
   * keyframe makes every earlier frame useless (the branch starts at a keyframe); a stream whose frames are all
   * keyframes keeps its last KEYFRAME_ONLY_KEEP_S. So a camera whose pipeline is built late holds about a GOP, not
   * every frame since its PLAY.
   */
  private trimPendingFrames(f: Frame, kept: RetainedFrame[]): void {
    if (kept.length === 0) return;
    const video = f.stream.type === 'video';
    if (video && !f.keyframe) return;
    let n = 0;
    if (video && kept.some((k) => !k.keyframe)) {
      n = kept.length;
    } else {
      const oldest = f.pts - f.stream.clockRate * KEYFRAME_ONLY_KEEP_S;
      while (n < kept.length && kept[n]!.pts < oldest) n++;
    }
    if (n === 0) return;
    for (const k of kept.splice(0, n)) {
      try { k.release(); } catch { /* released with its core block */ }
    }
    this.pendingFrameCount -= n;
    const id = f.stream.id;
    this.beforeLatestKeyframeDrops.set(id, (this.beforeLatestKeyframeDrops.get(id) ?? 0) + n);
  }

  private onPacket(p: RtpPacket): void {
    if (this.records) return;
    if (this.target) {
      this.target.packet(p);
      return;
    }
    const r = p.retain();
    this.pending.push(r);
    this.pendingBytes += r.lease.length;
    // The oldest go first: what is kept stays contiguous with the live packets.
    while (this.pendingBytes > MAX_PENDING_PACKET_BYTES && this.pending.length > 1) {
      const old = this.pending.shift()!;
      this.pendingBytes -= old.lease.length;
      try { old.release(); } catch { /* released with its pool */ }
      this.beforePipelineDrops++;
    }
  }

  private dropPending(): void {
    this.beforePipelineDrops += this.pending.length + this.pendingFrameCount;
    const frames = [...this.pendingFrames.values()].flat();
    this.pendingFrames.clear();
    this.pendingFrameCount = 0;
    this.pendingBytes = 0;
    for (const r of [...this.pending.splice(0), ...frames]) {
      try { r.release(); } catch { /* released with its pool */ }
    }
  }

  /** Adds the last ended session's counters to `past`, once per session. */
  private fold(): void {
    const cs = this.rtsp.stats().client;
    if (!cs || this.folded.has(cs) || this.rtsp.currentClient) return;
    this.folded.add(cs);
    for (const s of cs.streams) {
      const p = this.past.get(s.id);
      this.past.set(s.id, p ? addStreamStats(p, s) : { ...s, dropped: { ...s.dropped }, ...(s.frames ? { frames: addFrameStats(s.frames, zeroFrames(s.frames)) } : {}) });
    }
  }

  /** Counters over every session so far, per stream, and the current (else last) pool. */
  stats(): { streams: StreamTotals[]; pool?: PoolStats; reconnects: number; failures: number } {
    const cam = this.rtsp.stats();
    const live = this.rtsp.currentClient?.stats();
    const ids = new Set([...this.past.keys(), ...(live?.streams.map((s) => s.id) ?? [])]);
    const streams: StreamTotals[] = [];
    for (const id of [...ids].sort((x, y) => x - y)) {
      const p = this.past.get(id);
      const l = live?.streams.find((s) => s.id === id);
      streams.push(p && l ? addStreamStats(p, l) : (p ?? l)!);
    }
    return { streams, pool: live?.pool ?? cam.client?.pool, reconnects: cam.reconnects, failures: cam.failures };
  }

  /** Ends the camera: a connect or retry wait ends at once, a set-up session gets its TEARDOWN. */
  async stop(): Promise<void> {
    if (this.state !== 'failed' && this.state !== 'stopped') {
      this.state = 'stopped';
      this.since = Date.now();
    }
    await this.rtsp.close();
    this.fold();
    this.dropPending();
  }

  /**
   * The camera fails for a reason of its own outside RTSP (its recording cannot go on): it is marked failed with
   * `e` as its last error and its session is torn down; other cameras are not touched.
   */
  failWith(e: unknown): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.lastError = e;
    this.countFailure(e);
    this.setState('failed', describe(e));
    void this.rtsp.close();
  }

  private countFailure(reason: unknown): void {
    const code = errorOf(reason).code;
    this.failuresByReason.set(code, (this.failuresByReason.get(code) ?? 0) + 1);
  }

  private setState(state: CameraState, reason: string): void {
    if (this.state === 'stopped') return;
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.emit('state', state, reason);
  }
}

function addCounts<T extends Record<string, number>>(a: T, b: T): T {
  const sum = { ...a } as Record<string, number>;
  for (const [k, n] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + n;
  return sum as T;
}

function addFrameStats(a: FrameStats & { queueFull: number }, b: FrameStats & { queueFull: number }): FrameStats & { queueFull: number } {
  const { dropped: da, ...ca } = a;
  const { dropped: db, ...cb } = b;
  return { ...addCounts(ca, cb), dropped: addCounts(da, db) };
}

function addStreamStats(a: StreamTotals, b: StreamTotals): StreamTotals {
  const frames = a.frames && b.frames ? addFrameStats(a.frames, b.frames) : (b.frames ?? a.frames);
  return {
    ...b, packets: a.packets + b.packets, bytes: a.bytes + b.bytes, lost: a.lost + b.lost, reordered: a.reordered + b.reordered,
    duplicates: a.duplicates + b.duplicates, dropped: addCounts(a.dropped, b.dropped), ...(frames ? { frames } : {}),
  };
}

/** A GStreamer pipeline with the cameras whose streams it takes (branch `firstBranch + stream id`). */
export interface Pipeline {
  sink: GstSink;
  cameras: Array<{ camera: Camera; firstBranch: number }>;
}

/** A copy of `f` with every counter 0 (the first fold of a session's frame counters copies them through it). */
function zeroFrames(f: FrameStats & { queueFull: number }): FrameStats & { queueFull: number } {
  const zero = <T extends Record<string, number>>(o: T) => Object.fromEntries(Object.keys(o).map((k) => [k, 0])) as T;
  const { dropped, ...counts } = f;
  return { ...zero(counts), dropped: zero(dropped) } as FrameStats & { queueFull: number };
}

/**
 * The hot path of one camera into its pipeline: a view of wasm memory (a frame, or a packet) into the stream's
 * appsrc, which copies it; then the slot goes back to the pool. A refused push is counted by the sink (queue near
 * its bound, sink stopped). `resumed`: the camera moves from a pipeline that failed into a new one mid-session, so
 * each frame stream starts again at a keyframe (the frames before it are counted in beforePipelineDrops).
 */
export function connectToPipeline(camera: Camera, sink: GstSink, firstBranch: number, resumed = false): void {
  const waiting = new Set<number>(resumed ? camera.streams.map((s) => s.id) : []);
  camera.attach({
    packet: (p: RtpPacket) => {
      sink.push(firstBranch + p.stream.id, p);
    },
    frame: (f: Frame) => {
      if (waiting.size > 0 && waiting.has(f.stream.id)) {
        if (!f.keyframe) {
          camera.beforePipelineDrops++;
          return;
        }
        waiting.delete(f.stream.id);
      }
      sink.pushFrame(firstBranch + f.stream.id, f);
    },
    // Media of the first moments, kept until the pipeline existed.
    retained: (p: RetainedPacket) => {
      sink.pushBytes(firstBranch + p.stream.id, p.lease.view);
    },
    retainedFrame: (f: RetainedFrame) => {
      sink.pushFrame(firstBranch + f.stream.id, f);
    },
  });
}

/** The camera whose branch holds element `src<N>`/`sink<N>`, if the element is one of those. */
export function cameraOfElement(p: Pipeline, element: string | undefined): Camera | undefined {
  const m = /^(?:src|sink)(\d+)$/.exec(element ?? '');
  if (!m) return undefined;
  const branch = Number(m[1]);
  let found: Camera | undefined;
  for (const c of p.cameras) if (c.firstBranch <= branch) found = c.camera;
  return found;
}
