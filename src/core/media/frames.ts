// Frame mode: the RTP packets of a stream depayloaded in wasm (src/core/depay.ts) into access units — one `Frame`
// per video picture or audio access unit — with an extended RTP timestamp, a PTS in the stream's clock, the sender's
// wall-clock time once an RTCP sender report arrived, and the decoder configuration (avcC / hvcC) from the SDP and
// from in-band parameter sets.
//
// Like RtpPacket, one Frame object per client is reused for every frame: it is valid only during the handler call and
// nothing is allocated per frame unless the consumer asks (`data` makes one view, `retain()` copies the bytes once into
// a block of the core's memory).

import type { Core } from '../core.js';
import {
  aacAudioSpecificConfig, avcDecoderConfigurationRecord, codecString, h264ConfigFromFmtp, h265ConfigFromFmtp,
  hevcDecoderConfigurationRecord, parameterSetsIn, rawVideoFormat, type H264Config, type H265Config,
} from '../codec.js';
import {
  Depayloader, FRAME_DISCONTINUITY, FRAME_KEYFRAME, FRAME_PARAMETER_SETS, type DepayStats, type FrameCodec,
} from '../depay.js';
import { RtspError } from '../rtsp/errors.js';
import type { MediaStream } from './stream.js';

/** Options of frame mode (`RtspClientOptions.frames`). */
export interface FrameModeOptions {
  /** After a loss, drop frames (counted) until the next keyframe. Default false: the next frame is flagged `discontinuity`. */
  waitForKeyframe?: boolean;
  /** Largest access unit accepted (bigger ones are dropped and counted). Default: per codec, see src/core/depay.ts. */
  maxFrameBytes?: number;
  /** Which streams to depayload (default: every stream whose codec frame mode knows); the others stay packets-only. */
  streams?: (stream: MediaStream) => boolean;
  /** Bytes of core memory that retained frames may hold at once, per client; beyond it retain() throws. Default 4 MiB. */
  retainedBytesLimit?: number;
}

/** Default budget of retained frames per client. */
export const DEFAULT_RETAINED_FRAME_BYTES = 4 * 1024 * 1024;

/** How a stream's frames are to be decoded: what a decoder (WebCodecs, GStreamer, a muxer) needs before the first frame. */
export interface CodecConfig {
  codec: FrameCodec;
  /** RFC 6381 codec string for video ('avc1.64001f', 'hvc1.1.6.L93.B0'); 'mp4a.40.2' for AAC; undefined for raw. */
  codecString?: string;
  /** AVCDecoderConfigurationRecord (H.264), HEVCDecoderConfigurationRecord (H.265), AudioSpecificConfig (AAC). */
  description?: Uint8Array;
  /** Raw video: size and GStreamer format of a frame. */
  raw?: { width: number; height: number; gstFormat: string; frameBytes: number };
}

/** The codec configuration a stream starts with, from its SDP (undefined when the SDP carries none). */
export function codecConfigFromSdp(stream: Pick<MediaStream, 'encodingName' | 'fmtp'>): CodecConfig | undefined {
  const codec = frameCodecOf(stream.encodingName);
  if (codec === 'H264') {
    const sets = h264ConfigFromFmtp(stream.fmtp);
    return sets && sets.sps.length > 0 && sets.pps.length > 0 ? h264Config(sets) : undefined;
  }
  if (codec === 'H265') {
    const sets = h265ConfigFromFmtp(stream.fmtp);
    return sets && sets.vps.length > 0 && sets.sps.length > 0 && sets.pps.length > 0 ? h265Config(sets) : undefined;
  }
  if (codec === 'AAC') {
    const description = aacAudioSpecificConfig(stream.fmtp);
    return description ? { codec, description, codecString: `mp4a.40.${description[0]! >> 3}` } : undefined;
  }
  if (codec === 'RAW') {
    const raw = rawVideoFormat(stream.fmtp);
    return raw ? { codec, raw } : undefined;
  }
  return undefined;
}

/** The frame codec of an SDP encoding name, or undefined when frame mode does not handle it (its packets still flow). */
export function frameCodecOf(encodingName: string): FrameCodec | undefined {
  switch (encodingName.toUpperCase()) {
    case 'H264': return 'H264';
    case 'H265': return 'H265';
    case 'RAW': return 'RAW';
    case 'MPEG4-GENERIC': return 'AAC';
    default: return undefined;
  }
}

function h264Config(sets: H264Config): CodecConfig {
  return { codec: 'H264', description: avcDecoderConfigurationRecord(sets), codecString: codecString('H264', sets) };
}

function h265Config(sets: H265Config): CodecConfig {
  return { codec: 'H265', description: hevcDecoderConfigurationRecord(sets), codecString: codecString('H265', sets) };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A frame kept past its handler: its bytes copied once into core memory (`data` throws once released). */
export interface RetainedFrame {
  readonly stream: MediaStream;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
  readonly discontinuity: boolean;
  readonly timestamp: number;
  readonly pts: number;
  readonly wallClockTimeMs: number | undefined;
  readonly config: CodecConfig | undefined;
  readonly configChanged: boolean;
  /** Returns the bytes to the core. A second call throws. */
  release(): void;
}

/** The frame handed to `on('frame')` handlers: reused, valid only during the call; `retain()` to keep it. */
export class Frame {
  /** The stream this frame belongs to. */
  stream!: MediaStream;
  /** A keyframe (H.264 IDR, H.265 IRAP; every raw video frame and audio access unit). */
  keyframe = false;
  /** Packets or frames were lost just before this one (a decoder may show artefacts until the next keyframe). */
  discontinuity = false;
  // timestamp and pts are double fields from the start (NaN until the first frame fills them): a field made for small
  // integers changes representation when it first gets 2^31 or more (any RTP timestamp past 2^31; pts after 6.6 h
  // at 90 kHz), deoptimizing the whole frame path mid-stream (issue 12).
  /** RTP timestamp extended past its 32-bit wrap-around (stays exact for years at 90 kHz). */
  timestamp = Number.NaN;
  /**
   * Presentation time in the stream's clock (`stream.clockRate` per second), 0 at the stream's first frame. It never
   * steps back by more than a second: when the RTP timestamps do (timestampJumps), it goes on from the last frame's.
   */
  pts = Number.NaN;
  /** Sender wall-clock time of this frame (ms since the Unix epoch) from the last RTCP sender report, if any. */
  get wallClockTimeMs(): number | undefined {
    return Number.isNaN(this.wallClockMs) ? undefined : this.wallClockMs;
  }
  /** @internal wallClockTimeMs as a double field (NaN: none): a number | undefined field boxes every double stored. */
  wallClockMs = Number.NaN;
  /** How to decode the stream: from the SDP, updated by in-band parameter sets. */
  config: CodecConfig | undefined = undefined;
  /** True on the first frame whose in-band parameter sets changed `config` (a decoder must be reconfigured). */
  configChanged = false;
  /** @internal */ byteOffset = 0;
  /** @internal */ length = 0;
  /** @internal */ live = false;

  constructor(private readonly core: Core, private readonly budget: RetainBudget) {}

  /** The access unit's bytes as a view of wasm memory (H.264/H.265: 4-byte length-prefixed NAL units). */
  get data(): Uint8Array {
    this.assertLive('data');
    return this.core.view(this.byteOffset, this.length);
  }

  /** Keeps the frame past the handler: its bytes are copied once into a block of core memory (freed by release()). */
  retain(): RetainedFrame {
    this.assertLive('retain');
    const length = this.length;
    if (this.budget.used + length > this.budget.limit) {
      throw new RtspError('FRAME_BUDGET', `retaining this ${length}-byte frame would pass the retained-frame budget of ${this.budget.limit} bytes; release frames or raise frames.retainedBytesLimit`, {
        context: { used: this.budget.used, limit: this.budget.limit, length },
      });
    }
    const core = this.core;
    const ptr = core.alloc(Math.max(length, 1), 'retained frame');
    core.u8.copyWithin(ptr, this.byteOffset, this.byteOffset + length);
    this.budget.used += length;
    const budget = this.budget;
    let released = false;
    let view: Uint8Array | undefined;
    return {
      stream: this.stream,
      get data(): Uint8Array {
        if (released) throw new RangeError('RetainedFrame.data used after release()');
        if (view === undefined || view.length === 0) view = core.view(ptr, length);
        return view;
      },
      keyframe: this.keyframe,
      discontinuity: this.discontinuity,
      timestamp: this.timestamp,
      pts: this.pts,
      wallClockTimeMs: this.wallClockTimeMs,
      config: this.config,
      configChanged: this.configChanged,
      release(): void {
        if (released) throw new RangeError('RetainedFrame released twice');
        released = true;
        budget.used -= length;
        core.free(ptr);
      },
    };
  }

  private assertLive(op: string): void {
    if (!this.live) {
      throw new RangeError(`Frame.${op} used after its handler returned; call retain() inside the handler to keep a frame`);
    }
  }
}

/** Bytes held by retained frames of one client, and their limit. */
export interface RetainBudget {
  used: number;
  limit: number;
}

/** Frame counters of one stream (in ClientStats). */
export interface FrameStats extends DepayStats {
  /** Frames handed to the consumer. */
  delivered: number;
  keyframes: number;
  /** In-band parameter-set changes seen. */
  configChanges: number;
  /** Access units whose in-band parameter sets could not be read (the configuration was kept). */
  badParameterSets: number;
  /**
   * Times the RTP timestamps stepped back by more than a second (a server that restarted or seeked its media, an
   * encoder reset): `pts` goes on from the last frame's instead of going back (the frame is marked `discontinuity`).
   */
  timestampJumps: number;
}

/** Maps RTP time to the sender's wall clock (the stream's receiver, from its last sender report). */
export interface WallClock {
  wallClockAt(rtpTimestamp: number): number | undefined;
  /** The same as a double, NaN when unknown, from the RTP timestamp `| 0` (no number boxed per frame). */
  wallClockMsAt(rtpTimestampI32: number): number;
}

/**
 * One stream's frame path: its wasm depayloader, the timestamp extension and the codec configuration. The stream's
 * receiver (receiver.ts) pushes every packet into `depay` and calls `fill` for each completed frame.
 */
export class StreamFrames {
  readonly depay: Depayloader;
  config: CodecConfig | undefined;
  // The extension's state as small integers: a field that held 0 and later gets 2^31 or more changes representation
  // (a deopt of every function that reads it, mid-stream): the count of wraps and the last timestamp as int32 never do.
  private wraps = 0;
  private last32 = 0;
  private started = false;
  private first = Number.NaN;
  /** The last frame's extended timestamp and pts (double fields from the start: see Frame.timestamp). */
  private lastTimestamp = Number.NaN;
  private lastPts = Number.NaN;
  private timestampJumps = 0;
  private delivered = 0;
  private keyframes = 0;
  private configChanges = 0;
  private badParameterSets = 0;
  private finalStats: DepayStats | undefined;

  constructor(private readonly core: Core, readonly stream: MediaStream, codec: FrameCodec, options: FrameModeOptions,
    private readonly clock: WallClock) {
    try {
      this.config = codecConfigFromSdp(stream);
    } catch {
      // Unreadable sprop-* in the SDP (bad base64, a broken SPS): start without a configuration, as for unreadable
      // in-band sets; in-band parameter sets may still bring one. The frames themselves are unaffected.
      this.badParameterSets++;
    }
    this.depay = new Depayloader(core, {
      codec,
      fmtp: stream.fmtp,
      maxFrameBytes: options.maxFrameBytes,
      waitForKeyframe: options.waitForKeyframe,
    });
  }

  /** Fills the reused `frame` with completed frame `i` of the last depayloader call. */
  fill(frame: Frame, i: number): void {
    const d = this.depay;
    const flags = d.frameFlags(i);
    const tsI32 = d.frameTimestampI32(i);
    const ts32 = tsI32 >>> 0;
    // Extend past the 32-bit wrap: a step back by more than half the range is a wrap forwards.
    if (this.started) {
      const last = this.last32 >>> 0;
      if (ts32 < last && last - ts32 > 0x8000_0000) this.wraps++;
      else if (ts32 > last && ts32 - last > 0x8000_0000 && this.wraps > 0) this.wraps--;
    }
    this.started = true;
    this.last32 = tsI32;
    const timestamp = this.wraps * 0x1_0000_0000 + ts32;
    if (Number.isNaN(this.first)) this.first = timestamp;
    let jumped = false;
    // A step back of more than a second is no B-frame reordering (a few frames) but a new timeline: the media was
    // restarted or seeked (gst-rtsp-server does that to a shared media when a client PLAYs with a Range). The pts
    // goes on from the last frame's, one tick later, so that a consumer (appsrc, a muxer) never sees time run back.
    if (timestamp < this.lastTimestamp - this.stream.clockRate) {
      this.first = timestamp - (this.lastPts + 1);
      this.timestampJumps++;
      jumped = true;
    }
    this.lastTimestamp = timestamp;
    frame.stream = this.stream;
    frame.byteOffset = d.frameOffset(i);
    frame.length = d.frameLength(i);
    frame.keyframe = (flags & FRAME_KEYFRAME) !== 0;
    frame.discontinuity = jumped || (flags & FRAME_DISCONTINUITY) !== 0;
    frame.timestamp = timestamp;
    frame.pts = timestamp - this.first;
    this.lastPts = frame.pts;
    frame.configChanged = false;
    if ((flags & FRAME_PARAMETER_SETS) !== 0) this.updateConfig(frame);
    frame.config = this.config;
    frame.wallClockMs = this.clock.wallClockMsAt(ts32 | 0);
    this.delivered++;
    if (frame.keyframe) this.keyframes++;
  }

  /** In-band SPS/PPS (VPS): a new decoder configuration when they differ from the current one. */
  private updateConfig(frame: Frame): void {
    const codec = this.depay.codec;
    if (codec !== 'H264' && codec !== 'H265') return;
    const bytes = this.core.view(frame.byteOffset, frame.length);
    let next: CodecConfig | undefined;
    try {
      if (codec === 'H264') {
        const s = parameterSetsIn(bytes, codec);
        if (!s || s.sps.length === 0 || s.pps.length === 0) return;
        next = h264Config(s);
      } else {
        const s = parameterSetsIn(bytes, codec);
        if (!s || s.vps.length === 0 || s.sps.length === 0 || s.pps.length === 0) return;
        next = h265Config(s);
      }
    } catch {
      // Unparsable in-band sets: keep the configuration we have; the frame itself is still delivered.
      this.badParameterSets++;
      return;
    }
    if (sameBytes(next.description, this.config?.description)) return;
    const first = this.config === undefined;
    this.config = next;
    if (!first) {
      this.configChanges++;
      frame.configChanged = true;
    }
  }

  stats(): FrameStats {
    const d = this.finalStats ?? this.depay.stats();
    return { ...d, dropped: { ...d.dropped }, delivered: this.delivered, keyframes: this.keyframes, configChanges: this.configChanges, badParameterSets: this.badParameterSets, timestampJumps: this.timestampJumps };
  }

  destroy(): void {
    if (this.finalStats) return;
    this.finalStats = this.depay.stats();
    this.depay.destroy();
  }
}
