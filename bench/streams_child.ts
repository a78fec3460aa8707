// The measured process of `npm run bench:streams` and `npm run bench:soak` (bundled to build/bench/streams_child.mjs,
// run under plain node). argv[2] is a JSON StreamsChildArgs.
//
// N RtspClients over TCP on ONE shared wasm core (sized for them), all in frame mode, playing the same URL, each
// stream into either
//   sink 'gst':     one GstSink with a frame branch per stream (appsrc caps=avc/au ! fakesink) — what the CLI does
//                   with several URLs (one pipeline, a branch per stream), or
//   sink 'handler': a frame handler that touches the data (no GStreamer).
// When the build has no frame mode it falls back to packets (and says so in 'mode').
//
// 'streams' job: warm-up, then one measured window (CPU, frames, loss, RSS, threads, pool high-water).
// 'soak' job: `samples` 'sample' lines, one every `sampleMs` (RSS, heap, external, array buffers, counts).

import { RtspClient, createCore } from '../src/node/index.js';
import { createGstSink, GstSink } from '../src/node/gst/index.js';
import { procStatus, say, selfCpuUs, sleep } from './lib/proc.js';

/** Arguments of the child (one JSON argument). */
export interface StreamsChildArgs {
  job: 'streams' | 'soak';
  url: string;
  count: number;
  sink: 'gst' | 'handler';
  /** Each client's packet pool limit. */
  poolLimitBytes: number;
  /** Frame mode maxFrameBytes (the depayloader's buffers are sized by it). */
  maxFrameBytes: number;
  /** Appsrc bound of each branch. */
  maxQueueBytes: number;
  memoryBytes: number;
  /** Handshakes in flight at once. */
  connectConcurrency: number;
  warmupMs: number;
  /** streams: the source's frame rate, and how long to wait at most for a steady frame rate after warmupMs. */
  fps: number;
  settleMaxMs: number;
  measureMs: number;
  /** soak: sampling interval and number of samples (the first at the first play). */
  sampleMs: number;
  samples: number;
  timeoutMs: number;
}

/** Step of the settling check. */
const SETTLE_STEP_MS = 500;

let touched = 0;
function touch(data: Uint8Array): void {
  touched = (touched + data[0]! + data[data.length - 1]!) | 0;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
}

function mem() {
  const m = process.memoryUsage();
  const s = procStatus('self');
  return { rssKb: s.rssKb, hwmKb: s.hwmKb, threads: s.threads, heapUsedKb: m.heapUsed / 1024, heapTotalKb: m.heapTotal / 1024,
    externalKb: m.external / 1024, arrayBuffersKb: m.arrayBuffers / 1024 };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as StreamsChildArgs;
  const bail = setTimeout(() => {
    say('error', { message: `not done within ${args.timeoutMs} ms` });
    process.exit(3);
  }, args.timeoutMs);
  const frameMode = typeof (GstSink.prototype as unknown as Record<string, unknown>).pushFrame === 'function';
  const before = mem();
  const core = await createCore({ memoryBytes: args.memoryBytes });
  if (args.sink === 'gst') {
    const ok = GstSink.available();
    if (!ok.ok) throw new Error(ok.message);
  }
  const base = mem();
  const all: RtspClient[] = [];
  for (let i = 0; i < args.count; i++) {
    all.push(new RtspClient(args.url, {
      transport: 'tcp', core, poolLimitBytes: args.poolLimitBytes,
      ...(frameMode ? { frames: { maxFrameBytes: args.maxFrameBytes } } : {}),
    } as ConstructorParameters<typeof RtspClient>[1]));
  }
  const t0 = performance.now();
  // A session the server refuses or drops during setup is counted, not fatal: the result says how many played.
  const failures: string[] = [];
  const failed = new Set<RtspClient>();
  await pool(all, args.connectConcurrency, async (c) => {
    try {
      await c.connect();
    } catch (e) {
      failures.push((e as Error).message);
      failed.add(c);
      await c.close();
    }
  });
  const clients = all.filter((c) => !failed.has(c));
  if (clients.length === 0) throw new Error(`no stream connected: ${failures[0]}`);
  let sink: GstSink | undefined;
  let pushFrame: ((i: number, f: unknown) => boolean) | undefined;
  if (args.sink === 'gst') {
    sink = createGstSink({
      maxQueueBytes: args.maxQueueBytes,
      branches: clients.map((c, i) => (frameMode
        ? { stream: c.streams[0]!, input: 'frames', tail: { launch: `fakesink name=sink${i} sync=false` } }
        : { stream: c.streams[0]!, tail: { launch: `fakesink name=sink${i} sync=false` } }) as Parameters<typeof createGstSink>[0]['branches'][number]),
    });
    sink.on('error', (e: Error) => say('error', { message: e.message }));
    sink.start();
    pushFrame = frameMode ? (sink as unknown as { pushFrame(i: number, f: unknown): boolean }).pushFrame.bind(sink) : undefined;
  }
  const frames = new Float64Array(clients.length);
  clients.forEach((c, i) => {
    c.on('error', () => {});
    if (frameMode) {
      c.on('frame', (f: { data: Uint8Array }) => {
        frames[i]!++;
        if (pushFrame) pushFrame(i, f);
        else touch(f.data);
      });
    } else {
      c.on('packet', (p) => {
        if (p.header.marker) frames[i]!++;
        if (sink) sink.push(i, p);
        else touch(p.payload);
      });
    }
  });
  const playing = new Uint8Array(clients.length);
  await pool(clients, args.connectConcurrency, async (c, i) => {
    try {
      await c.play();
      playing[i] = 1;
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  const played = playing.reduce((a, b) => a + b, 0);
  if (played === 0) throw new Error(`no stream played: ${failures[0]}`);
  const setupMs = performance.now() - t0;
  const mode = frameMode ? 'frames' : 'packets (frame mode not in this build)';
  say('started', { setupMs, mode, base, before, played, failures: failures.length, firstFailure: failures[0] });

  const counts = () => {
    let packets = 0;
    let lost = 0;
    let dropped = 0;
    let poolHighWater = 0;
    let poolBytesHighWater = 0;
    let exhaustions = 0;
    let framesTotal = 0;
    let frameDrops = 0;
    clients.forEach((c, i) => {
      const st = c.stats();
      const s = st.streams[0];
      if (s) {
        packets += s.packets;
        lost += s.lost;
        dropped += Object.values(s.dropped).reduce((a, b) => a + b, 0);
        const fd = (s as { frames?: { dropped?: Record<string, number> } }).frames?.dropped;
        if (fd) frameDrops += Object.values(fd).reduce((a, b) => a + b, 0);
      }
      poolHighWater = Math.max(poolHighWater, st.pool?.highWater ?? 0);
      poolBytesHighWater = Math.max(poolBytesHighWater, st.pool?.bytesHighWater ?? 0);
      exhaustions += st.pool?.exhaustions ?? 0;
      framesTotal += frames[i]!;
    });
    const sinkStats = sink?.stats();
    const sinkDrops = sinkStats ? sinkStats.branches.reduce((a, b) => a + b.queueDroppedPackets + b.rejectedPackets, 0) : 0;
    const silent = frames.reduce((a, f) => a + (f === 0 ? 1 : 0), 0);
    return { packets, frames: framesTotal, lost, dropped, frameDrops, sinkDrops, poolHighWater, poolBytesHighWater, exhaustions, silentStreams: silent };
  };

  if (args.job === 'streams') {
    // Warm-up: at least warmupMs, then until the frame rate has been steady (within 10 % of count × fps) for two
    // half-second steps in a row — after a big setup the server and the clients first drain a backlog — at most
    // settleMaxMs more.
    await sleep(args.warmupMs);
    const settleStart = performance.now();
    let steady = 0;
    let last = frames.reduce((a, b) => a + b, 0);
    while (steady < 2 && performance.now() - settleStart < args.settleMaxMs) {
      const t = performance.now();
      await sleep(SETTLE_STEP_MS);
      const now = frames.reduce((a, b) => a + b, 0);
      const rate = ((now - last) * 1000) / (performance.now() - t);
      last = now;
      const expected = played * args.fps;
      steady = Math.abs(rate - expected) <= 0.1 * expected ? steady + 1 : 0;
    }
    const settledMs = performance.now() - settleStart;
    const c0 = counts();
    const cpu0 = selfCpuUs();
    const w0 = performance.now();
    say('window-start', { cpuUs: cpu0 });
    await sleep(args.measureMs);
    const cpu1 = selfCpuUs();
    const w1 = performance.now();
    const c1 = counts();
    const m = mem();
    say('result', {
      mode, sink: args.sink, count: args.count, played, failures: failures.length, cpuUs: cpu1 - cpu0, wallMs: w1 - w0,
      packets: c1.packets - c0.packets, frames: c1.frames - c0.frames, lost: c1.lost - c0.lost,
      dropped: c1.dropped - c0.dropped, frameDrops: c1.frameDrops - c0.frameDrops, sinkDrops: c1.sinkDrops - c0.sinkDrops,
      totals: c1, memory: m, base, before, setupMs, settledMs, settled: steady >= 2, touched,
    });
  } else {
    // Samples from the first play on; the driver leaves the warm-up ones out of the slope.
    const start = performance.now();
    for (let k = 0; k < args.samples; k++) {
      await sleep(Math.max(0, start + k * args.sampleMs - performance.now()));
      say('sample', { k, tSec: (performance.now() - start) / 1000, cpuUs: selfCpuUs(), ...mem(), ...counts() });
    }
    say('result', { mode, sink: args.sink, count: args.count, totals: counts(), memory: mem(), base, touched });
  }
  clearTimeout(bail);
  await Promise.all(clients.map((c) => c.close()));
  await sink?.close();
  process.exit(0);
}

main().catch((e: Error) => {
  say('error', { message: e?.stack ?? String(e) });
  process.exit(1);
});
