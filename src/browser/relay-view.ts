// The relay's viewer page (served by `wasm-rtsp relay`, see src/node/relay/server.ts and docs/browser.md). Per camera:
// a WebSocket carrying interleaved RTP, this package's wasm demuxer over it, then the video stream's StreamReceiver —
// the same portable receiver the Node client uses (src/core/media/receiver.ts): statistics and loss, the wasm
// depayloader, extended timestamps and the codec configuration from the SDP and in-band parameter sets — and its
// frames go to
//   - H.264 / H.265: WebCodecs VideoDecoder (relay-decoder.ts; when this browser has the codec: checked with
//     VideoDecoder.isConfigSupported, the answer shown on the page);
//   - RAW (RFC 4175): each packed frame (YCbCr-4:2:2 8-bit = UYVY, or RGB/RGBA/BGR/BGRA) converted to RGBA and drawn
//     with ImageData.
// Live numbers (packet and frame rate, bitrate, loss, relay drops, pool use) and a small chart per camera. Counters
// are on `window.wasmRtspRelay` for tests.

import {
  createCore, Frame, rawVideoFormat, receivedPacket, RtpPacket, StreamReceiver, type Core, type DemuxEvent,
  type InterleavedDemuxer, type PacketPool,
} from './index.js';
import { countDrop, type CameraCounters, type RelayStreamInfo, type VideoSink } from './relay-sink.js';
import { createVideoDecoderSink, whyNoWebCodecs } from './relay-decoder.js';

export type { CameraCounters, RelayStreamInfo, VideoSink } from './relay-sink.js';
export { countDrop };

/** Bound of the core memory of the page: demuxers, depayloaders, raw frames. */
const PAGE_CORE_BYTES = 64 * 1024 * 1024;
/** Samples kept for the chart (one per second). */
const CHART_SAMPLES = 60;

declare global {
  interface Window {
    wasmRtspRelay: { ready: boolean; support: Record<string, unknown>; cameras: CameraCounters[] };
  }
}

/** Packed pixel formats drawn on the canvas: 8-bit UYVY (YCbCr-4:2:2), RGB, RGBA, BGR, BGRA. */
const DRAWN_RAW_FORMATS = new Set(['UYVY', 'RGB', 'RGBA', 'BGR', 'BGRA']);

/**
 * Draws an RFC 4175 stream: the wasm Depayloader packs each frame (line segments into place, e.g. YCbCr-4:2:2 8-bit
 * as UYVY), then the frame is converted to RGBA into an ImageData and put on the canvas.
 */
export class RawVideoSink implements VideoSink {
  readonly mode = 'raw';
  readonly waitForKeyframe = false;
  private readonly format: string;
  private readonly image: ImageData;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(core: Core, canvas: HTMLCanvasElement, fmtp: Record<string, string>, private readonly counters: CameraCounters) {
    const f = rawVideoFormat(fmtp);
    if (!f || !DRAWN_RAW_FORMATS.has(f.gstFormat) || f.width > 7680 || f.height > 4320) {
      throw new Error(`raw video ${fmtp.sampling ?? '?'} ${fmtp.depth ?? 8}-bit ${fmtp.width ?? '?'}x${fmtp.height ?? '?'}: not drawn here (drawn: YCbCr-4:2:2 8-bit, RGB, RGBA, BGR, BGRA)`);
    }
    this.format = f.gstFormat;
    canvas.width = f.width;
    canvas.height = f.height;
    this.ctx = canvas.getContext('2d')!;
    this.image = this.ctx.createImageData(f.width, f.height);
  }

  frame(f: Frame): void {
    this.draw(f.data);
  }

  private draw(src: Uint8Array): void {
    const dst = this.image.data;
    if (this.format === 'UYVY') {
      // U Y0 V Y1 per two pixels; BT.601 limited range, integer (×1024) coefficients.
      for (let i = 0, o = 0; i + 3 < src.length; i += 4, o += 8) {
        const u = src[i] - 128;
        const v = src[i + 2] - 128;
        const rv = 1634 * v;
        const guv = -401 * u - 833 * v;
        const bu = 2066 * u;
        for (let k = 0; k < 2; k++) {
          const y = 1192 * (src[i + 1 + 2 * k] - 16);
          const p = o + 4 * k;
          dst[p] = (y + rv) >> 10;
          dst[p + 1] = (y + guv) >> 10;
          dst[p + 2] = (y + bu) >> 10;
          dst[p + 3] = 255;
        }
      }
    } else {
      const bpp = this.format.length; // RGB/BGR 3, RGBA/BGRA 4
      const bgr = this.format.startsWith('BGR');
      for (let i = 0, o = 0; i + bpp - 1 < src.length; i += bpp, o += 4) {
        dst[o] = src[bgr ? i + 2 : i];
        dst[o + 1] = src[i + 1];
        dst[o + 2] = src[bgr ? i : i + 2];
        dst[o + 3] = bpp === 4 ? src[i + 3] : 255;
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
    this.counters.framesDecoded++;
    this.counters.keyframes++;
    this.counters.framesDrawn++;
    this.counters.firstFrameWasKeyframe ??= true;
  }

  close(): void {
    // nothing of its own: the frames belong to the stream's receiver
  }
}

/** One camera tile: its socket, demuxer, video path, numbers and chart. */
class CameraView {
  readonly counters: CameraCounters;
  private ws: WebSocket | undefined;
  private demuxer: InterleavedDemuxer;
  private readonly pool: PacketPool;
  /** The packet and frame objects the receiver reuses (no packet is built: nobody here consumes packets). */
  private readonly packet: RtpPacket;
  private readonly frame: Frame;
  private readonly received = receivedPacket();
  private receiver: StreamReceiver | undefined;
  private sink: VideoSink | undefined;
  private channel = -1;
  private readonly picture: HTMLCanvasElement;
  private readonly chart: HTMLCanvasElement;
  private readonly numbers: HTMLElement;
  private readonly notes: HTMLElement;
  private readonly history: Array<{ kbps: number; fps: number }> = [];
  private last = { t: performance.now(), packets: 0, bytes: 0, frames: 0 };
  private readonly onEvent = (e: DemuxEvent): void => this.onDemuxEvent(e);

  constructor(readonly index: number, private readonly core: Core, tile: HTMLElement) {
    this.picture = tile.querySelector('canvas.picture')!;
    this.chart = tile.querySelector('canvas.chart')!;
    this.numbers = tile.querySelector('.numbers')!;
    this.notes = tile.querySelector('.notes')!;
    this.demuxer = core.createDemuxer();
    this.pool = core.createPool({ limitBytes: 64 * 1024 });
    this.packet = new RtpPacket(core, this.pool);
    // Frames are drawn or decoded (WebCodecs copies them) inside the call: nothing is retained.
    this.frame = new Frame(core, { used: 0, limit: 0 });
    this.counters = {
      mode: 'none', encodingName: '', messages: 0, packets: 0, packetsNotDecoded: 0, bytes: 0, lost: 0, framesDrawn: 0, framesDecoded: 0,
      keyframes: 0, firstFrameWasKeyframe: undefined, decodeErrors: 0, framesDropped: 0, droppedBy: {}, lastError: undefined,
      relay: undefined, describe: undefined,
    };
  }

  connect(): void {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${this.index}`);
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') this.onText(m.data);
      else this.onBinary(new Uint8Array(m.data as ArrayBuffer));
    };
    ws.onclose = (e) => this.note(`socket closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
    this.ws = ws;
  }

  private note(text: string): void {
    this.notes.textContent = text;
  }

  private onText(text: string): void {
    const msg = JSON.parse(text);
    if (msg.type === 'describe') void this.setUp(msg);
    else if (msg.type === 'stats') this.counters.relay = msg;
    else if (msg.type === 'error') this.note(`camera error ${msg.code ?? ''}: ${msg.message}`);
  }

  private async setUp(msg: { url: string; streams: RelayStreamInfo[] }): Promise<void> {
    this.counters.describe = msg;
    (this.picture.parentElement!.querySelector('.url') as HTMLElement).textContent = msg.url;
    this.sink?.close();
    this.sink = undefined;
    this.receiver?.destroy();
    this.receiver = undefined;
    this.demuxer.reset();
    const video = msg.streams.find((s) => s.type === 'video');
    if (!video) return this.note('no video stream');
    this.channel = video.channel;
    this.counters.encodingName = video.encodingName;
    let sink: VideoSink | undefined;
    try {
      if (video.encodingName === 'RAW') {
        sink = new RawVideoSink(this.core, this.picture, video.fmtp, this.counters);
      } else {
        sink = await createVideoDecoderSink(this.picture, video, this.counters, (t) => this.note(t));
      }
      this.counters.mode = sink?.mode ?? 'unsupported';
    } catch (e) {
      this.counters.mode = 'unsupported';
      this.counters.lastError = (e as Error).message;
      this.note((e as Error).message);
    }
    this.sink = sink;
    const counters = this.counters;
    this.receiver = new StreamReceiver({
      core: this.core,
      packet: this.packet,
      frame: this.frame,
      frameOptions: { waitForKeyframe: sink?.waitForKeyframe ?? false },
      framesOn: sink !== undefined,
      packetsWanted: false,
      deliverPacket: () => undefined,
      deliverFrame: (f) => {
        f.live = true;
        try {
          sink!.frame(f);
        } finally {
          f.live = false;
        }
      },
      reportError: (e) => {
        countDrop(counters, 'depayloader');
        counters.lastError = (e as Error).message;
      },
    }, {
      id: video.id, type: video.type, control: `ws/${this.index}`, payloadType: video.payloadType,
      encodingName: video.encodingName, clockRate: video.clockRate, channels: video.channels, fmtp: video.fmtp,
    });
  }

  private onBinary(bytes: Uint8Array): void {
    this.counters.messages++;
    this.counters.bytes += bytes.length;
    try {
      this.demuxer.push(bytes, this.onEvent);
    } catch (e) {
      this.counters.lastError = (e as Error).message;
      countDrop(this.counters, 'demuxer');
    }
  }

  private onDemuxEvent(e: DemuxEvent): void {
    if (e.kind !== 'frame') return;
    if (e.channel !== this.channel) {
      this.counters.packetsNotDecoded++;
      return;
    }
    const core = this.core;
    const receiver = this.receiver;
    if (receiver === undefined) {
      this.counters.packetsNotDecoded++;
      return;
    }
    // The demuxer reported the packet's place; one wasm call parses its header into the page's record.
    const r = this.received;
    r.ptr = e.data.byteOffset;
    r.length = e.data.length;
    r.recordPtr = core.recordPtr;
    r.status = core.parseRtpAt(r.ptr, r.length, r.recordPtr);
    if (r.status !== 0) {
      countDrop(this.counters, 'badRtp');
      return;
    }
    receiver.receive(r, Date.now());
    this.counters.packets = receiver.statistics.packets;
    this.counters.lost = receiver.statistics.lost;
    if (this.sink === undefined) this.counters.packetsNotDecoded++;
  }

  /** Once a second: rates, numbers and the chart. */
  tick(): void {
    const c = this.counters;
    const now = performance.now();
    const dt = (now - this.last.t) / 1000;
    const pps = (c.packets - this.last.packets) / dt;
    const kbps = ((c.bytes - this.last.bytes) * 8) / dt / 1000;
    const fps = (c.framesDrawn - this.last.frames) / dt;
    this.last = { t: now, packets: c.packets, bytes: c.bytes, frames: c.framesDrawn };
    this.history.push({ kbps, fps });
    if (this.history.length > CHART_SAMPLES) this.history.shift();
    const relay = c.relay;
    const client = relay?.client;
    const pool = relay?.pool;
    const rtspLost = relay?.streams?.reduce((n: number, s: { lost: number }) => n + s.lost, 0) ?? 0;
    this.numbers.textContent = [
      `${c.encodingName || '?'} → ${c.mode}`,
      `${pps.toFixed(0)} packets/s   ${fps.toFixed(1)} frames/s   ${kbps.toFixed(0)} kbit/s`,
      `frames drawn ${c.framesDrawn}   keyframes ${c.keyframes}   decode errors ${c.decodeErrors}   page drops ${c.framesDropped}`
        + (c.packetsNotDecoded ? `   packets not decoded ${c.packetsNotDecoded}` : ''),
      `loss: page ${c.lost} packets, camera→relay ${rtspLost} packets`,
      client ? `relay drops for this page: ${client.droppedSlow} slow + ${client.droppedWaitingForKeyframe} awaiting keyframe (buffered ${(client.bufferedAmount / 1024).toFixed(0)} KiB)` : 'relay: no stats yet',
      pool ? `relay pool: ${pool.inUse} packets, ${(pool.bytesInUse / 1024).toFixed(0)} of ${(pool.limitBytes / 1024).toFixed(0)} KiB (high water ${pool.highWater})` : '',
      `page wasm memory: ${(this.core.reservedBytes / 1048576).toFixed(1)} of ${(this.core.memoryBytes / 1048576).toFixed(0)} MiB reserved`,
    ].join('\n');
    this.drawChart();
  }

  private drawChart(): void {
    const g = this.chart.getContext('2d')!;
    const { width: w, height: h } = this.chart;
    g.fillStyle = '#000';
    g.fillRect(0, 0, w, h);
    const series: Array<[string, (s: { kbps: number; fps: number }) => number]> = [['#4caf50', (s) => s.kbps], ['#2196f3', (s) => s.fps]];
    for (const [color, value] of series) {
      const max = Math.max(1, ...this.history.map(value));
      g.strokeStyle = color;
      g.beginPath();
      this.history.forEach((s, i) => {
        const x = (i / (CHART_SAMPLES - 1)) * (w - 1);
        const y = h - 2 - (value(s) / max) * (h - 14);
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
    }
    const latest = this.history.at(-1);
    g.fillStyle = '#ccc';
    g.font = '10px sans-serif';
    g.fillText(`kbit/s ${latest?.kbps.toFixed(0) ?? 0} (green)   frames/s ${latest?.fps.toFixed(1) ?? 0} (blue)`, 4, 10);
  }
}

async function main(): Promise<void> {
  const state: Window['wasmRtspRelay'] = { ready: false, support: {}, cameras: [] };
  window.wasmRtspRelay = state;
  state.support = await probeSupport();
  document.getElementById('support')!.textContent = describeSupport(state.support);
  const core = await createCore({ memoryBytes: PAGE_CORE_BYTES });
  const views = Array.from(document.querySelectorAll<HTMLElement>('section.tile')).map((tile) => new CameraView(Number(tile.dataset.camera), core, tile));
  state.cameras = views.map((v) => v.counters);
  for (const v of views) v.connect();
  setInterval(() => { for (const v of views) v.tick(); }, 1000);
  state.ready = true;
}

/** What this browser can decode, asked early (Debian's Chromium may lack the proprietary codecs). */
async function probeSupport(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    userAgent: navigator.userAgent, secureContext: window.isSecureContext, webCodecs: typeof VideoDecoder === 'function',
  };
  if (typeof VideoDecoder !== 'function') {
    out.reason = whyNoWebCodecs();
    return out;
  }
  for (const [name, codec] of [['h264', 'avc1.42e01f'], ['h265', 'hvc1.1.6.L93.B0']]) {
    try {
      out[name] = (await VideoDecoder.isConfigSupported({ codec, codedWidth: 640, codedHeight: 480 })).supported === true;
    } catch (e) {
      out[name] = `error: ${(e as Error).message}`;
    }
  }
  return out;
}

function describeSupport(s: Record<string, unknown>): string {
  const reason = String(s.reason);
  if (!s.webCodecs) return `${reason[0].toUpperCase()}${reason.slice(1)}. Only raw video (RFC 4175) is drawn.`;
  const yes = (v: unknown) => (v === true ? 'yes' : `no (${String(v)})`);
  return `WebCodecs VideoDecoder.isConfigSupported: H.264 avc1.42e01f ${yes(s.h264)}, H.265 hvc1.1.6.L93.B0 ${yes(s.h265)}. `
    + 'Streams this browser cannot decode say so on their tile; raw video (RFC 4175) is always drawn.';
}

void main().catch((e) => {
  document.getElementById('support')!.textContent = `the viewer failed to start: ${(e as Error).message}`;
  console.error(e);
});
