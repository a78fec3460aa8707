// H.264 / H.265 on the relay page: the stream's receiver (src/core/media/receiver.ts, wasm depayloader) hands over
// access units, WebCodecs VideoDecoder decodes them (AVC / HEVC format: 4-byte NAL lengths with the avcC / hvcC record
// as `description`, RFC 6381 codec string), and each decoded VideoFrame is drawn on the canvas.
// Whether this browser has the codec is asked with VideoDecoder.isConfigSupported first; the answer is shown.

import { codecConfigFromSdp, type CodecConfig, type Frame } from './index.js';
import { countDrop, type CameraCounters, type RelayStreamInfo, type VideoSink } from './relay-sink.js';

/** Chunks waiting in the decoder (about a second at 30 fps) before the page drops frames up to the next keyframe. */
const MAX_DECODE_QUEUE = 30;
/** Chunk timestamps (µs) kept to tell, for a decoded frame, whether its chunk was a keyframe. */
const MAX_PENDING_TIMESTAMPS = 64;

type VideoCodec = 'H264' | 'H265';

function decoderConfig(c: CodecConfig): VideoDecoderConfig {
  return { codec: c.codecString!, description: c.description, optimizeForLatency: true };
}

/** What tells two configurations apart: the codec string and the avcC/hvcC bytes. */
function configKey(c: CodecConfig): string {
  return `${c.codecString}/${Array.from(c.description ?? []).join(',')}`;
}

/**
 * Decodes one H.264 or H.265 stream with WebCodecs and draws it. Frames come from the stream's receiver: access units
 * with 4-byte NAL lengths (the AVC/HEVC format WebCodecs takes with a `description`), a PTS extended past the 32-bit
 * wrap, and `config` (avcC/hvcC and the RFC 6381 codec string) from the SDP, replaced by in-band parameter sets.
 */
class WebCodecsSink implements VideoSink {
  readonly mode = 'webcodecs';
  readonly waitForKeyframe = true;
  private decoder: VideoDecoder | undefined;
  private configured = '';
  /** The frame configuration object last looked at (the receiver keeps one until the parameter sets change). */
  private seenConfig: CodecConfig | undefined;
  private needKeyframe = true;
  private readonly keyByTimestamp = new Map<number, boolean>();
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement, private readonly codec: VideoCodec,
    private readonly stream: RelayStreamInfo, private readonly counters: CameraCounters, private readonly note: (t: string) => void,
  ) {
    this.ctx = canvas.getContext('2d')!;
  }

  /** Configures the decoder for `config` (checked with isConfigSupported); false, with a note, when unsupported. */
  async configure(c: CodecConfig): Promise<boolean> {
    const config = decoderConfig(c);
    const key = configKey(c);
    if (key === this.configured) return true;
    const support = await VideoDecoder.isConfigSupported(config);
    if (!support.supported) {
      this.counters.mode = 'unsupported';
      this.counters.lastError = `this browser cannot decode ${this.codec} (VideoDecoder.isConfigSupported({ codec: '${config.codec}' }) → supported: false); raw video is still drawn`;
      this.note(this.counters.lastError);
      return false;
    }
    if (!this.decoder || this.decoder.state === 'closed') {
      this.decoder = new VideoDecoder({ output: (f) => this.output(f), error: (e) => this.failed(e) });
    }
    this.decoder.configure(config);
    this.configured = key;
    this.needKeyframe = true;
    this.note(`decoding ${config.codec} with WebCodecs`);
    return true;
  }

  frame(f: Frame): void {
    const config = f.config;
    if (config !== this.seenConfig) {
      // A configuration the decoder may not have (the first one, or new in-band parameter sets): configure first.
      this.seenConfig = config;
      if (config && configKey(config) !== this.configured && this.counters.mode !== 'unsupported') {
        const data = f.data.slice(); // the frame's bytes are only valid during this call
        const pts = f.pts;
        const key = f.keyframe;
        void this.configure(config).then((ok) => { if (ok) this.decode(data, pts, key); });
        return;
      }
    }
    if (!this.decoder || this.decoder.state !== 'configured') {
      countDrop(this.counters, 'decoderNotConfigured');
      return;
    }
    this.decode(f.data, f.pts, f.keyframe);
  }

  private decode(data: Uint8Array, pts: number, key: boolean): void {
    const decoder = this.decoder!;
    if (this.needKeyframe && !key) {
      countDrop(this.counters, 'waitingForKeyframe');
      return;
    }
    if (decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
      // The decoder is behind: drop up to the next keyframe rather than queue without bound.
      countDrop(this.counters, 'decoderQueueFull');
      this.needKeyframe = true;
      return;
    }
    const timestamp = Math.round((pts * 1_000_000) / (this.stream.clockRate || 90000));
    this.keyByTimestamp.set(timestamp, key);
    if (this.keyByTimestamp.size > MAX_PENDING_TIMESTAMPS) this.keyByTimestamp.delete(this.keyByTimestamp.keys().next().value!);
    // EncodedVideoChunk copies `data`, so the frame's view may be reused after this call.
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp, data }));
    this.needKeyframe = false;
    this.counters.framesDecoded++;
    if (key) this.counters.keyframes++;
  }

  private output(frame: VideoFrame): void {
    try {
      if (this.canvas.width !== frame.displayWidth || this.canvas.height !== frame.displayHeight) {
        this.canvas.width = frame.displayWidth;
        this.canvas.height = frame.displayHeight;
      }
      this.ctx.drawImage(frame, 0, 0);
      this.counters.framesDrawn++;
      this.counters.firstFrameWasKeyframe ??= this.keyByTimestamp.get(frame.timestamp) === true;
      this.keyByTimestamp.delete(frame.timestamp);
    } finally {
      frame.close();
    }
  }

  private failed(e: Error): void {
    this.counters.decodeErrors++;
    this.counters.lastError = `decoder: ${e.message}`;
    this.note(this.counters.lastError);
    // A VideoDecoder closes itself on error: a new one is configured with the stream's configuration, and decoding
    // starts again at a keyframe.
    this.decoder = undefined;
    this.configured = '';
    this.needKeyframe = true;
    let c = this.seenConfig;
    try {
      c ??= codecConfigFromSdp(this.stream);
    } catch { /* unreadable in the SDP: the next in-band parameter sets configure it */ }
    if (c) void this.configure(c);
  }

  close(): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
  }
}

/**
 * Why VideoDecoder is missing. WebCodecs exists only in secure contexts: a page opened over http from another
 * device (not localhost) has none even in a browser that has it, and must be told so, not "no WebCodecs".
 */
export function whyNoWebCodecs(): string {
  if (!globalThis.isSecureContext) {
    return `WebCodecs needs a secure context (https or localhost), and this page (${location.origin}) is not one: `
      + 'open the relay over https (wasm-rtsp relay --tls-cert … --tls-key …) or from localhost';
  }
  return `no WebCodecs in this browser (${navigator.userAgent})`;
}

/** A VideoSink decoding `stream` with WebCodecs, or undefined (with a note on the tile, the evidence) when it cannot. */
export async function createVideoDecoderSink(
  canvas: HTMLCanvasElement, stream: RelayStreamInfo, counters: CameraCounters, note: (text: string) => void,
): Promise<VideoSink | undefined> {
  const codec = stream.encodingName === 'H264' ? 'H264' : stream.encodingName === 'H265' ? 'H265' : undefined;
  if (!codec) {
    counters.lastError = `${stream.encodingName}: not a video codec this page decodes`;
    note(counters.lastError);
    return undefined;
  }
  if (typeof VideoDecoder !== 'function') {
    counters.lastError = `${whyNoWebCodecs()}. ${codec} is not decoded here`;
    note(counters.lastError);
    return undefined;
  }
  const sink = new WebCodecsSink(canvas, codec, stream, counters, note);
  let c: CodecConfig | undefined;
  try {
    c = codecConfigFromSdp(stream);
  } catch {
    c = undefined; // unreadable sprop-parameter-sets: in-band ones may still come
  }
  if (c && !(await sink.configure(c))) {
    sink.close();
    return undefined;
  }
  if (!c) note(`${codec}: waiting for in-band parameter sets`);
  return sink;
}
