// What the relay page's parts share: the describe message's stream, a camera tile's counters and what a video path
// does with frames. Its own file so the tile (relay-view.ts) and the WebCodecs path (relay-decoder.ts) both import
// it and neither imports the other's module back.

import type { Frame } from './index.js';

/** A stream as the relay's describe message gives it. */
export interface RelayStreamInfo {
  id: number;
  channel: number;
  type: string;
  encodingName: string;
  clockRate: number;
  payloadType: number;
  channels?: number;
  fmtp: Record<string, string>;
}

/** Counters of one camera tile, read by tests from window.wasmRtspRelay.cameras[i]. */
export interface CameraCounters {
  /** 'webcodecs' (H.264/H.265 decoded), 'raw' (RFC 4175 drawn), 'unsupported' or 'none' yet. */
  mode: string;
  encodingName: string;
  messages: number;
  packets: number;
  bytes: number;
  /** Packets of streams the page does not decode (audio, an unsupported codec, before the decoder is ready). */
  packetsNotDecoded: number;
  /** Sequence gaps seen by the page (relay drops included), in packets. */
  lost: number;
  /** Frames drawn on the canvas. */
  framesDrawn: number;
  /** Frames handed to the decoder, and how many of those were keyframes. */
  framesDecoded: number;
  keyframes: number;
  /** Whether the first frame drawn came from a keyframe (undefined before one). */
  firstFrameWasKeyframe: boolean | undefined;
  decodeErrors: number;
  /** Frames dropped on the page: depayloader drops, decoder queue full, waiting for a keyframe. */
  framesDropped: number;
  /** framesDropped by reason. */
  droppedBy: Record<string, number>;
  lastError: string | undefined;
  /** Latest stats message of the relay (its drops for this page, pool, RTSP loss). */
  relay: any;
  describe: any;
}

/** Counts one frame dropped on the page, by reason. */
export function countDrop(c: CameraCounters, reason: string): void {
  c.framesDropped++;
  c.droppedBy[reason] = (c.droppedBy[reason] ?? 0) + 1;
}

/** What a video path does with the frames of its stream (the stream's receiver depayloads them). */
export interface VideoSink {
  readonly mode: string;
  /** Whether the depayloader should drop frames up to the next keyframe after a loss (decoders want it). */
  readonly waitForKeyframe: boolean;
  /** One frame: valid during the call only (its `data` is a view of wasm memory). */
  frame(f: Frame): void;
  close(): void;
}
