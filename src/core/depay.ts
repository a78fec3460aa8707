// The host side of frame mode: RTP packets in, access units (frames) out. The depayloading itself is
// assembly/depay.ts: one wasm call per packet, payload bytes copied once into an assembly buffer in wasm memory.
// This class checks options, turns statuses into typed errors and reads the frame records through cached views.
// Portable: no Node globals here.

import type { CoreMemory } from './memory.js';
import { WasmRtspError } from './errors.js';
import { coreStatusError, Status } from './status.js';
import {
  DEPAY_BYTES, DEPAY_CODEC_AAC, DEPAY_CODEC_H264, DEPAY_CODEC_H265, DEPAY_CODEC_RAW, DEPAY_DROPPED_LOSS,
  DEPAY_DROPPED_MALFORMED, DEPAY_DROPPED_TOO_LARGE, DEPAY_DROPPED_UNSUPPORTED, DEPAY_DROPPED_WAITING,
  DEPAY_FRAME_BYTES, DEPAY_FRAME_FLAGS, DEPAY_FRAME_LENGTH, DEPAY_FRAME_PTR, DEPAY_FRAME_RECORDS,
  DEPAY_FRAME_TIMESTAMP, DEPAY_FRAMES, DEPAY_LATE_PACKETS, DEPAY_LOST_PACKETS, DEPAY_PACKETS, DEPAY_SKIPPED_PACKETS,
  DEPAY_WAIT_FOR_KEYFRAME, DEPAY_MAX_FRAME_LIMIT, FRAME_KEYFRAME, FRAME_DISCONTINUITY, FRAME_PARAMETER_SETS,
} from './layout.js';
import { rawVideoFormat } from './codec.js';

/** The codecs a Depayloader assembles. */
export type FrameCodec = 'H264' | 'H265' | 'RAW' | 'AAC';

// Frame flags (FRAME_KEYFRAME: H.264 IDR / H.265 IRAP present, RAW and AAC always; FRAME_DISCONTINUITY: packets were
// lost or frames dropped before this frame; FRAME_PARAMETER_SETS: in-band SPS/PPS (VPS) in the frame) come from the
// core's layout.
export { FRAME_KEYFRAME, FRAME_DISCONTINUITY, FRAME_PARAMETER_SETS };

/** Default largest H.264 / H.265 access unit, in octets. */
export const DEFAULT_MAX_VIDEO_FRAME_BYTES = 1024 * 1024;
/** Default largest AAC access unit, in octets. */
export const DEFAULT_MAX_AAC_FRAME_BYTES = 8 * 1024;
/** Largest maxFrameBytes accepted (the core's DEPAY_MAX_FRAME_LIMIT). */
export const MAX_FRAME_BYTES_LIMIT = DEPAY_MAX_FRAME_LIMIT;

/** Options of a Depayloader. */
export interface DepayloaderOptions {
  codec: FrameCodec;
  /** fmtp of the payload type, keys lower-cased (RAW: sampling, width, height, depth; AAC: mode, sizelength, indexlength, indexdeltalength). */
  fmtp?: Readonly<Record<string, string>>;
  /** Largest access unit accepted; bigger ones are dropped and counted as 'tooLarge' as soon as they pass it. Default: H264/H265 1 MiB, RAW the exact frame size, AAC 8 KiB. */
  maxFrameBytes?: number;
  /** After a loss (and at the start), drop frames (counted as 'waitingForKeyframe') until the next keyframe. Default false. */
  waitForKeyframe?: boolean;
}

/** Running totals of a Depayloader. */
export interface DepayStats {
  packets: number; frames: number; bytes: number;
  /** Frames (access units) dropped, by reason; every drop counted. */
  dropped: { loss: number; tooLarge: number; malformed: number; waitingForKeyframe: number; unsupported: number };
  /** Packets missing from the RTP sequence (forward gaps). */
  lostPackets: number;
  /** Packets dropped because they arrived late (reordered or duplicated, up to 64 behind). */
  latePackets: number;
  /**
   * Packets of an access unit already dropped (its drop counted when it happened), passed over unread until the unit
   * ends: a stream that keeps sending one unit past maxFrameBytes moves this counter.
   */
  skippedPackets: number;
}

/**
 * An error of the depayloader: a wasm status (`code` is its name, e.g. 'DEPAY_BAD_RECORD'), or BAD_OPTION,
 * UNSUPPORTED_FORMAT, OUT_OF_MEMORY, NO_SUCH_FRAME, DESTROYED.
 */
export class DepayError extends WasmRtspError {}

const CODECS: Record<FrameCodec, number> = { H264: DEPAY_CODEC_H264, H265: DEPAY_CODEC_H265, RAW: DEPAY_CODEC_RAW, AAC: DEPAY_CODEC_AAC };

/** RFC 3640 field lengths by mode (§3.3.5 AAC-lbr, §3.3.6 AAC-hbr), used when the fmtp omits them. */
const AAC_MODES: Record<string, { sizeLength: number; indexLength: number; indexDeltaLength: number }> = {
  'aac-hbr': { sizeLength: 13, indexLength: 3, indexDeltaLength: 3 },
  'aac-lbr': { sizeLength: 6, indexLength: 2, indexDeltaLength: 2 },
};

function fmtpInt(fmtp: Readonly<Record<string, string>>, key: string, fallback: number, max: number): number {
  const text = fmtp[key];
  if (text === undefined) return fallback;
  const v = Number(text.trim());
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new DepayError('BAD_OPTION', `fmtp ${key} must be an integer between 0 and ${max}`, { context: { [key]: text } });
  }
  return v;
}

/**
 * Assembles the RTP packets of one stream into access units: H.264 / H.265 as 4-octet length-prefixed NAL units,
 * RFC 4175 raw video as whole packed frames, AAC as raw access units. Frames are read in place in wasm memory.
 */
export class Depayloader {
  /** True for the SDP encoding names this class depayloads: H264, H265, RAW, MPEG4-GENERIC (AAC-hbr/lbr). */
  static supports(encodingName: string): boolean {
    const name = String(encodingName).toUpperCase();
    return name === 'H264' || name === 'H265' || name === 'RAW' || name === 'MPEG4-GENERIC';
  }

  /** The codec this depayloader assembles. */
  readonly codec: FrameCodec;
  /** The core whose memory holds the state and the frames. */
  readonly core: CoreMemory;
  /** Largest access unit, in octets. */
  readonly maxFrameBytes: number;
  /** Address of the state (its head is the DEPAY_* statistics and frame records). */
  private state: number;
  /** Frames completed by the last push/flush. */
  private count = 0;
  private u32: Uint32Array;
  private destroyed = false;

  constructor(core: CoreMemory, options: DepayloaderOptions) {
    if (options === null || typeof options !== 'object') throw new DepayError('BAD_OPTION', 'options must be an object');
    const codec = options.codec;
    if (!Object.prototype.hasOwnProperty.call(CODECS, codec)) {
      throw new DepayError('BAD_OPTION', `codec must be one of ${Object.keys(CODECS).join(', ')}`, { context: { codec } });
    }
    const fmtp = options.fmtp ?? {};
    let a = 0, b = 0, c = 0, d = 0;
    let fallbackMax = DEFAULT_MAX_VIDEO_FRAME_BYTES;
    if (codec === 'RAW') {
      const raw = rawVideoFormat(fmtp);
      if (raw === undefined) {
        throw new DepayError('UNSUPPORTED_FORMAT', 'RAW needs fmtp sampling (YCbCr-4:2:2, RGB, RGBA, BGR, BGRA; depth 8, or 10 for 4:2:2), width and height; progressive only', {
          context: { sampling: fmtp['sampling'], depth: fmtp['depth'], width: fmtp['width'], height: fmtp['height'] },
        });
      }
      a = raw.width; b = raw.height; c = raw.pgroupBytes; d = raw.pgroupPixels;
      fallbackMax = raw.frameBytes;
    } else if (codec === 'AAC') {
      const mode = (fmtp['mode'] ?? 'AAC-hbr').toLowerCase();
      const defaults = AAC_MODES[mode];
      if (defaults === undefined) {
        throw new DepayError('UNSUPPORTED_FORMAT', 'MPEG4-GENERIC is depayloaded in mode AAC-hbr or AAC-lbr only', { context: { mode: fmtp['mode'] } });
      }
      a = fmtpInt(fmtp, 'sizelength', defaults.sizeLength, 16);
      b = fmtpInt(fmtp, 'indexlength', defaults.indexLength, 16);
      c = fmtpInt(fmtp, 'indexdeltalength', defaults.indexDeltaLength, 16);
      d = fmtpInt(fmtp, 'constantduration', 0, 0xffff);
      if (a === 0) throw new DepayError('BAD_OPTION', 'fmtp sizelength must be at least 1', { context: { sizelength: fmtp['sizelength'] } });
      if (fmtp['auxiliarydatasizelength'] !== undefined && fmtp['auxiliarydatasizelength'].trim() !== '0') {
        throw new DepayError('UNSUPPORTED_FORMAT', 'RFC 3640 auxiliary data sections are not supported', { context: { auxiliarydatasizelength: fmtp['auxiliarydatasizelength'] } });
      }
      fallbackMax = DEFAULT_MAX_AAC_FRAME_BYTES;
    }
    const maxFrameBytes = options.maxFrameBytes ?? fallbackMax;
    if (typeof maxFrameBytes !== 'number' || !Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
      throw new DepayError('BAD_OPTION', `maxFrameBytes must be an integer between 1 and ${MAX_FRAME_BYTES_LIMIT}`, { context: { maxFrameBytes } });
    }
    if (codec === 'RAW' && maxFrameBytes < fallbackMax) {
      throw new DepayError('BAD_OPTION', `maxFrameBytes is smaller than one ${a}x${b} frame (${fallbackMax} octets)`, { context: { maxFrameBytes, frameBytes: fallbackMax } });
    }
    this.codec = codec;
    this.core = core;
    this.maxFrameBytes = maxFrameBytes;
    core.assertUsable();
    const options32 = options.waitForKeyframe ? DEPAY_WAIT_FOR_KEYFRAME : 0;
    const result = core.exports.depay_create(CODECS[codec], maxFrameBytes, options32, a, b, c, d) | 0;
    if (result < 0 && result > -256) {
      if (result === Status.ERR_OUT_OF_MEMORY) {
        throw new DepayError('OUT_OF_MEMORY', `no room for a ${codec} depayloader (two buffers of ${maxFrameBytes} octets) in the core's fixed memory; raise memoryBytes or lower maxFrameBytes`, {
          context: { maxFrameBytes, memoryBytes: core.memoryBytes, reservedBytes: core.reservedBytes, largestFree: core.exports.region_largest_free() >>> 0 },
        });
      }
      throw this.statusError(result, { codec, maxFrameBytes, a, b, c, d });
    }
    this.state = result >>> 0;
    this.u32 = new Uint32Array(core.memory.buffer);
  }

  /**
   * Feeds one RTP packet already parsed into an RTP record (rtp_parse / demux_scan wrote it; status 0).
   * packetPtr/packetLength: the whole RTP packet in core memory. ONE wasm call. Returns how many frames (access units)
   * completed with this packet (usually 0 or 1; AAC may give several). Their bytes stay valid until the next push()/flush().
   */
  push(packetPtr: number, packetLength: number, recordPtr: number): number {
    if (this.destroyed) throw new DepayError('DESTROYED', 'this depayloader was destroyed');
    let n: number;
    try {
      n = this.core.exports.depay_push(this.state, packetPtr, packetLength, recordPtr);
    } catch (cause) {
      this.core.guard(() => { throw cause; }); // marks the core unusable on a trap and rethrows as CoreError
      throw cause;
    }
    if (n < 0) {
      this.count = 0;
      throw this.statusError(n, { packetPtr, packetLength, recordPtr });
    }
    this.count = n;
    return n;
  }

  /** Ends the stream: completes a pending access unit if it is whole (returns 0 or 1 like push). */
  flush(): number {
    if (this.destroyed) throw new DepayError('DESTROYED', 'this depayloader was destroyed');
    const n = this.core.guard(() => this.core.exports.depay_flush(this.state));
    if (n < 0) throw this.statusError(n, {});
    this.count = n;
    return n;
  }

  /** Frames completed by the last push() / flush(). */
  get frameCount(): number {
    return this.count;
  }

  private record(i: number): number {
    if (!(i >= 0 && i < this.count && Number.isInteger(i))) {
      throw new DepayError('NO_SUCH_FRAME', `frame ${i} does not exist: the last push completed ${this.count}`, { context: { index: i, count: this.count } });
    }
    if (this.u32.length === 0) this.u32 = new Uint32Array(this.core.memory.buffer);
    return (this.state + DEPAY_FRAME_RECORDS + i * DEPAY_FRAME_BYTES) >>> 2;
  }

  /** Address of completed frame i in core memory. */
  frameOffset(i: number): number {
    return this.u32[this.record(i) + (DEPAY_FRAME_PTR >>> 2)];
  }

  /** Length of completed frame i, in octets. */
  frameLength(i: number): number {
    return this.u32[this.record(i) + (DEPAY_FRAME_LENGTH >>> 2)];
  }

  /** 32-bit RTP timestamp of completed frame i. */
  frameTimestamp(i: number): number {
    return this.u32[this.record(i) + (DEPAY_FRAME_TIMESTAMP >>> 2)];
  }

  /**
   * frameTimestamp as a signed 32-bit value (`ts | 0`): always a small integer, so a caller that is not inlined gets
   * no heap number back (half of all RTP timestamps are ≥ 2^31: one boxed double per frame, issue 12).
   */
  frameTimestampI32(i: number): number {
    return this.u32[this.record(i) + (DEPAY_FRAME_TIMESTAMP >>> 2)] | 0;
  }

  /** FRAME_* flags of completed frame i. */
  frameFlags(i: number): number {
    return this.u32[this.record(i) + (DEPAY_FRAME_FLAGS >>> 2)];
  }

  /** A view of completed frame i (one Uint8Array allocation), valid until the next push()/flush(). */
  frameView(i: number): Uint8Array {
    const r = this.record(i);
    return this.core.view(this.u32[r + (DEPAY_FRAME_PTR >>> 2)], this.u32[r + (DEPAY_FRAME_LENGTH >>> 2)]);
  }

  /** Running totals: packets, frames and their octets, drops by reason, packets lost. */
  stats(): DepayStats {
    if (this.destroyed) throw new DepayError('DESTROYED', 'this depayloader was destroyed');
    if (this.u32.length === 0) this.u32 = new Uint32Array(this.core.memory.buffer);
    const u32 = this.u32;
    const at = (offset: number): number => {
      const p = (this.state + offset) >>> 2;
      return u32[p] + u32[p + 1] * 2 ** 32;
    };
    return {
      packets: at(DEPAY_PACKETS),
      frames: at(DEPAY_FRAMES),
      bytes: at(DEPAY_BYTES),
      dropped: {
        loss: at(DEPAY_DROPPED_LOSS),
        tooLarge: at(DEPAY_DROPPED_TOO_LARGE),
        malformed: at(DEPAY_DROPPED_MALFORMED),
        waitingForKeyframe: at(DEPAY_DROPPED_WAITING),
        unsupported: at(DEPAY_DROPPED_UNSUPPORTED),
      },
      lostPackets: at(DEPAY_LOST_PACKETS),
      latePackets: at(DEPAY_LATE_PACKETS),
      skippedPackets: at(DEPAY_SKIPPED_PACKETS),
    };
  }

  /** Frees the state and buffers. Idempotent; any later use throws DepayError('DESTROYED'). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.count = 0;
    try {
      this.core.assertUsable();
    } catch {
      return; // a trapped core is discarded whole
    }
    this.core.exports.depay_destroy(this.state);
    this.state = 0;
  }

  private statusError(status: number, context: Record<string, unknown>): DepayError {
    return coreStatusError(DepayError, status, undefined, { codec: this.codec, ...context });
  }
}
