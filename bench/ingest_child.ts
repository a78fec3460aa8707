// One measured ingest process of `npm run bench:ingest` (bench/ingest_perf.ts starts it; bundled to
// build/bench/ingest_child.mjs and run under plain node). argv[2] is a JSON IngestChildArgs.
//
// It plays one stream over TCP, warms up for `warmupMs` after the first packet, then measures for `measureMs`:
// CPU (getrusage of the whole process, every thread: GStreamer's streaming threads included), packets and frames
// counted over exactly that window. Lines on stdout (JSON): 'started', 'window-start', 'result' (or 'error').
//
// Variants:
//   wasm-frames-gst   RtspClient frame mode → GstSink frame branch (appsrc caps=avc/au ! fakesink)
//   wasm-frames       RtspClient frame mode, a frame handler that touches the data
//   wasm-packets-gst  RtspClient packets → GstSink (appsrc caps=rtp ! rtph264depay|rtpvrawdepay ! fakesink)
//   wasm-packets      RtspClient packets, a packet handler that touches the payload
//   node-frames       bench/baselines/node-ingest.ts with its JS depayloader, a frame handler that touches the data
//   node-packets      the same without depayloading, a packet handler that touches the payload

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { RtspClient, createCore, type RtpPacket } from '../src/node/index.js';
import { createGstSink, GstSink } from '../src/node/gst/index.js';
import { NodeIngest, type JsFrame, type JsRtpPacket } from './baselines/node-ingest.js';
import type { IngestChildArgs } from './lib/ingest_args.js';
import { procStatus, say, selfCpuUs, threadCpuDelta, threadCpuMs } from './lib/proc.js';


/** What the variant counted so far. */
interface Counts { packets: number; frames: number; bytes: number; lost: number; dropped: number }

interface Running {
  counts(): Counts;
  extra(): Record<string, unknown>;
  close(): Promise<void>;
}

let touched = 0;
/** What every handler does with the bytes it gets: reads the first and the last byte. */
function touch(data: Uint8Array): void {
  touched = (touched + data[0]! + data[data.length - 1]!) | 0;
}

/** Does this build have frame mode (the client's 'frame' events, GstSink.pushFrame)? */
function frameModeAvailable(): boolean {
  return typeof (GstSink.prototype as unknown as Record<string, unknown>).pushFrame === 'function';
}

async function startWasm(args: IngestChildArgs, onFirstPacket: () => void): Promise<Running> {
  const frames = args.variant.startsWith('wasm-frames');
  const gst = args.variant.endsWith('-gst');
  if (frames && !frameModeAvailable()) throw new Error('frame mode is not in this build (no GstSink.pushFrame)');
  const core = await createCore({ memoryBytes: args.memoryBytes });
  const client = new RtspClient(args.url, { transport: 'tcp', core, ...(frames ? { frames: true } : {}) } as ConstructorParameters<typeof RtspClient>[1]);
  await client.connect();
  const stream = client.streams[0]!;
  let sink: GstSink | undefined;
  if (gst) {
    const branch = frames
      ? { stream, input: 'frames', tail: { launch: 'fakesink name=sink0 sync=false' }, maxQueueBytes: args.maxQueueBytes }
      : { stream, tail: { launch: `${args.depay} ! fakesink name=sink0 sync=false` }, maxQueueBytes: args.maxQueueBytes };
    sink = createGstSink({ branches: [branch as Parameters<typeof createGstSink>[0]['branches'][number]] });
    sink.on('error', (e: Error) => say('error', { message: e.message }));
    sink.start();
  }
  let frameCount = 0;
  let first = true;
  if (frames) {
    const pushFrame = sink ? (sink as unknown as { pushFrame(i: number, f: unknown): boolean }).pushFrame.bind(sink) : undefined;
    client.on('packet', () => {
      if (first) {
        first = false;
        onFirstPacket();
      }
    });
    client.on('frame', (f: { data: Uint8Array }) => {
      frameCount++;
      if (pushFrame) pushFrame(0, f);
      else touch(f.data);
    });
  } else {
    client.on('packet', (p: RtpPacket) => {
      if (first) {
        first = false;
        onFirstPacket();
      }
      if (p.header.marker) frameCount++;
      if (sink) sink.push(0, p);
      else touch(p.payload);
    });
  }
  await client.play();
  return {
    counts() {
      const s = client.stats().streams[0]!;
      const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
      const fs = (s as { frames?: { dropped?: Record<string, number> } }).frames;
      const frameDrops = fs?.dropped ? Object.values(fs.dropped).reduce((a, b) => a + b, 0) : 0;
      return { packets: s.packets, frames: frameCount, bytes: s.bytes, lost: s.lost, dropped: dropped + frameDrops };
    },
    extra() {
      const st = client.stats();
      const b = sink?.stats().branches[0];
      return {
        pool: st.pool ? { highWater: st.pool.highWater, bytesHighWater: st.pool.bytesHighWater, exhaustions: st.pool.exhaustions } : undefined,
        frameStats: (st.streams[0] as { frames?: unknown }).frames,
        dropReasons: st.streams[0]!.dropped,
        sink: b ? { ...b } : undefined,
      };
    },
    async close() {
      await client.close();
      await sink?.close();
    },
  };
}

async function startNode(args: IngestChildArgs, onFirstPacket: () => void): Promise<Running> {
  const frames = args.variant === 'node-frames';
  let frameCount = 0;
  let first = true;
  const ingest = new NodeIngest(args.url, {
    frames,
    onPacket: (p: JsRtpPacket) => {
      if (first) {
        first = false;
        onFirstPacket();
      }
      if (frames) return;
      if (p.marker) frameCount++;
      touch(p.payload);
    },
    onFrame: (f: JsFrame) => {
      frameCount++;
      touch(f.data);
    },
  });
  await ingest.open();
  return {
    counts: () => ({ packets: ingest.stats.packets, frames: frameCount, bytes: ingest.stats.bytes, lost: ingest.stats.lost,
      dropped: ingest.droppedFrames + ingest.stats.malformed }),
    extra: () => ({ dataEvents: ingest.stats.dataEvents }),
    close: () => ingest.close(),
  };
}

/** Microseconds between two samples of the window's CPU profile (V8's default is 1000). */
const PROFILE_SAMPLING_US = 200;

/** Starts V8's sampling profiler on this thread (what `node --cpu-prof` does, but for the window only). */
async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result)));
  });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_US });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      session.disconnect();
      return profile;
    },
  };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as IngestChildArgs;
  const bail = setTimeout(() => {
    say('error', { message: `no result within ${args.timeoutMs} ms` });
    process.exit(3);
  }, args.timeoutMs);
  let firstPacket!: () => void;
  const firstPacketSeen = new Promise<void>((r) => (firstPacket = r));
  const running = args.variant.startsWith('wasm-') ? await startWasm(args, firstPacket) : await startNode(args, firstPacket);
  say('started');
  await firstPacketSeen;
  await new Promise((r) => setTimeout(r, args.warmupMs));
  const profiler = args.profilePath ? await startProfiler() : undefined;
  const c0 = running.counts();
  const threads0 = threadCpuMs('self');
  const usage0 = process.cpuUsage();
  const cpu0 = selfCpuUs();
  const t0 = performance.now();
  say('window-start', { cpuUs: cpu0 });
  await new Promise((r) => setTimeout(r, args.measureMs));
  // The profile ends before the window's own readings (stats, getrusage) are taken.
  const profile = profiler ? await profiler.stop() : undefined;
  const cpu1 = selfCpuUs();
  const usage = process.cpuUsage(usage0);
  const threads1 = threadCpuMs('self');
  const t1 = performance.now();
  const c1 = running.counts();
  if (profile) writeFileSync(args.profilePath!, JSON.stringify(profile));
  const status = procStatus('self');
  const extra = running.extra();
  say('result', {
    variant: args.variant,
    cpuUs: cpu1 - cpu0,
    userUs: usage.user,
    systemUs: usage.system,
    threadCpu: threadCpuDelta(threads0, threads1),
    wallMs: t1 - t0,
    packets: c1.packets - c0.packets,
    frames: c1.frames - c0.frames,
    bytes: c1.bytes - c0.bytes,
    lost: c1.lost - c0.lost,
    dropped: c1.dropped - c0.dropped,
    totals: c1,
    peakRssKb: status.hwmKb,
    rssKb: status.rssKb,
    threads: status.threads,
    touched,
    ...extra,
  });
  clearTimeout(bail);
  await running.close();
  process.exit(0);
}

// An exception thrown by a handler reaches the socket's read callback: report it, and leave with process.exit's
// fast path rather than Node's uncaught-exception exit, which joins the libuv pool and so waits for ever on the
// GStreamer bus poll of a sink that was never closed.
process.on('uncaughtException', (e: Error) => {
  say('error', { message: `uncaught: ${e?.stack ?? String(e)}` });
  process.exit(4);
});

main().catch((e: Error) => {
  say('error', { message: e?.stack ?? String(e) });
  process.exit(1);
});
