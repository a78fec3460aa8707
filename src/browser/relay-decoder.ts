// H.264 / H.265 on the relay page: the wasm Depayloader (src/core/depay.ts) assembles access units from the RTP
// packets the demuxer found, WebCodecs VideoDecoder decodes them (AVC / HEVC format: 4-byte NAL lengths with the
// avcC / hvcC record as `description`, RFC 6381 codec string), and each decoded VideoFrame is drawn on the canvas.
// Whether this browser has the codec is asked with VideoDecoder.isConfigSupported first; the answer is shown.

import {
  avcDecoderConfigurationRecord, codecString, Depayloader, FRAME_KEYFRAME, FRAME_PARAMETER_SETS,
  h264ConfigFromFmtp, h265ConfigFromFmtp, hevcDecoderConfigurationRecord, parameterSetsIn,
  type Core, type H264Config, type H265Config, type RtpRecordView,
} from './index.js';
import { countDrop, depayloadPacket, type CameraCounters, type RelayStreamInfo, type VideoSink } from './relay-view.js';

/** Chunks waiting in the decoder (about a second at 30 fps) before the page drops frames up to the next keyframe. */
const MAX_DECODE_QUEUE = 30;
/** RTP timestamps → microseconds kept to tell, for a decoded frame, whether its chunk was a keyframe. */
const MAX_PENDING_TIMESTAMPS = 64;

type VideoCodec = 'H264' | 'H265';

function configOf(codec: VideoCodec, fmtp: Record<string, string>): H264Config | H265Config | undefined {
  return codec === 'H264' ? h264ConfigFromFmtp(fmtp) : h265ConfigFromFmtp(fmtp);
}

function decoderConfig(codec: VideoCodec, c: H264Config | H265Config): VideoDecoderConfig {
  const description = codec === 'H264' ? avcDecoderConfigurationRecord(c as H264Config) : hevcDecoderConfigurationRecord(c as H265Config);
  return { codec: codecString(codec, c), description, optimizeForLatency: true };
}

/** Decodes one H.264 or H.265 stream with WebCodecs and draws it. */
class WebCodecsSink implements VideoSink {
  readonly mode = 'webcodecs';
  private readonly depay: Depayloader;
  private decoder: VideoDecoder | undefined;
  private configured = '';
  private needKeyframe = true;
  /** Timestamp unwrapping: 32-bit RTP time → microseconds since the first frame. */
  private firstTs = -1;
  private lastTs = 0;
  private wraps = 0;
  private readonly keyByTimestamp = new Map<number, boolean>();
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly core: Core, private readonly canvas: HTMLCanvasElement, private readonly codec: VideoCodec,
    private readonly stream: RelayStreamInfo, private readonly counters: CameraCounters, private readonly note: (t: string) => void,
  ) {
    this.depay = new Depayloader(core, { codec, fmtp: stream.fmtp, waitForKeyframe: true });
    this.ctx = canvas.getContext('2d')!;
  }

  /** Configures the decoder for `config` (checked with isConfigSupported); false, with a note, when unsupported. */
  async configure(c: H264Config | H265Config): Promise<boolean> {
    const config = decoderConfig(this.codec, c);
    const key = `${config.codec}/${Array.from(config.description as Uint8Array).join(',')}`;
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

  push(ptr: number, length: number, record: RtpRecordView): void {
    const n = depayloadPacket(this.depay, ptr, length, record, this.counters);
    for (let i = 0; i < n; i++) this.frame(i);
  }

  private frame(i: number): void {
    const flags = this.depay.frameFlags(i);
    const key = (flags & FRAME_KEYFRAME) !== 0;
    if ((flags & FRAME_PARAMETER_SETS) !== 0) {
      // In-band parameter sets: (re)configure when they differ from what the decoder has (or fmtp had none).
      const sets = parameterSetsIn(this.depay.frameView(i), this.codec);
      if (sets && sets.sps.length > 0 && sets.pps.length > 0 && (this.codec === 'H264' || (sets as H265Config).vps.length > 0)) {
        const config = decoderConfig(this.codec, sets);
        const k = `${config.codec}/${Array.from(config.description as Uint8Array).join(',')}`;
        if (k !== this.configured && this.counters.mode !== 'unsupported') {
          const data = this.depay.frameView(i).slice(); // the bytes are only valid until the next push
          const ts = this.depay.frameTimestamp(i);
          void this.configure(sets).then((ok) => { if (ok) this.decode(data, ts, key); });
          return;
        }
      }
    }
    if (!this.decoder || this.decoder.state !== 'configured') {
      countDrop(this.counters, 'decoderNotConfigured');
      return;
    }
    this.decode(this.depay.frameView(i), this.depay.frameTimestamp(i), key);
  }

  private decode(data: Uint8Array, rtpTs: number, key: boolean): void {
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
    const timestamp = this.micros(rtpTs);
    this.keyByTimestamp.set(timestamp, key);
    if (this.keyByTimestamp.size > MAX_PENDING_TIMESTAMPS) this.keyByTimestamp.delete(this.keyByTimestamp.keys().next().value!);
    // EncodedVideoChunk copies `data`, so the depayloader's view may be reused after this call.
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp, data }));
    this.needKeyframe = false;
    this.counters.framesDecoded++;
    if (key) this.counters.keyframes++;
  }

  private micros(rtpTs: number): number {
    if (this.firstTs < 0) this.firstTs = rtpTs;
    if (rtpTs < this.lastTs && this.lastTs - rtpTs > 0x8000_0000) this.wraps++;
    this.lastTs = rtpTs;
    const ticks = rtpTs - this.firstTs + this.wraps * 0x1_0000_0000;
    return Math.round((ticks * 1_000_000) / (this.stream.clockRate || 90000));
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
    // A VideoDecoder closes itself on error: a new one is configured at the next parameter sets / keyframe.
    this.decoder = undefined;
    this.configured = '';
    this.needKeyframe = true;
    const c = configOf(this.codec, this.stream.fmtp);
    if (c) void this.configure(c);
  }

  close(): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.depay.destroy();
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
  core: Core, canvas: HTMLCanvasElement, stream: RelayStreamInfo, counters: CameraCounters, note: (text: string) => void,
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
  const sink = new WebCodecsSink(core, canvas, codec, stream, counters, note);
  const c = configOf(codec, stream.fmtp);
  if (c && !(await sink.configure(c))) {
    sink.close();
    return undefined;
  }
  if (!c) note(`${codec}: waiting for in-band parameter sets`);
  return sink;
}
