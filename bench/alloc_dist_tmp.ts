// Heap allocation per packet of the whole receive path (issue 12): a real RtspClient (RtspConnection or the UDP
// input, then StreamReceiver, packet or frame handlers) on loopback, fed by bench/lib/stream_server.ts in a process
// of its own. After WARMUP packets, it counts V8's garbage collections (PerformanceObserver 'gc') and the growth of
// the JS heap over MEASURE packets; with no GC in the window the growth is exactly what the path allocated.
//
//   tsx --expose-gc bench/alloc_perf.ts [tcp|udp] [packets|frames] [measurePackets] [-- client options as JSON]
//   ALLOC_PROFILE=1: also sample every allocation of the window (V8's sampling heap profiler, 256-byte interval,
//   objects later collected included): sampledBytesPerPacket, and the top sites on stderr. heapBytes is the growth of
//   heapUsed, which also moves with V8's own bookkeeping (optimized code, feedback); GCs may be scavenge tasks V8
//   schedules while the young generation is still small after start-up.
//   → one JSON line: { transport, mode, packets, gcs, heapBytes, bytesPerPacket, lost, readCalls, wallMs }

import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RtspClient, type RtspClientOptions } from '../dist/node/index.js';

const transport = (process.argv[2] ?? 'tcp') as 'tcp' | 'udp';
const mode = process.argv[3] ?? 'packets';
const MEASURE = Number(process.argv[4] ?? 1_000_000);
const WARMUP = Number(process.env.ALLOC_WARMUP ?? 300_000);
const extra = process.argv.indexOf('--') >= 0 ? JSON.parse(process.argv[process.argv.indexOf('--') + 1]!) as RtspClientOptions : {};

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }

/** Prints the allocation sites with the most bytes (function, file, two callers); returns the bytes sampled in all. */
function printProfile(result: { profile: { head?: ProfileNode } }): number {
  const sites = new Map<string, number>();
  const walk = (n: ProfileNode, stack: string[]): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    if (n.selfSize > 0) {
      const key = [name, ...stack.slice(-2).reverse()].join(' <- ');
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, [...stack, name]);
  };
  walk(result.profile.head!, []);
  for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.error(`${(v / 1e6).toFixed(2)} MB  ${k}`);
  return [...sites.values()].reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/stream_server.ts', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => createInterface({ input: server.stdout! }).once('line', (l) => resolve(Number(l))));
  let count = 0;
  let startHeap = 0;
  let gcs = 0;
  const gcKinds: number[] = [];
  let measuring = false;
  let startWall = 0;
  let done!: (v: { heap: number; wall: number }) => void;
  const finished = new Promise<{ heap: number; wall: number }>((r) => (done = r));
  const gc = (globalThis as { gc?: () => void }).gc;
  const obs = new PerformanceObserver((list) => {
    // Entries arrive asynchronously: the collection gc() forces at the window's start is reported after the window
    // opened. Only collections that started in the window count (before this, every run showed that one).
    for (const e of list.getEntries()) {
      if (!measuring || e.startTime < startWall) continue;
      gcs++;
      gcKinds.push((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const onItem = (): void => {
    count++;
    if (count === WARMUP) {
      gc?.();
      startHeap = process.memoryUsage().heapUsed;
      startWall = performance.now();
      measuring = true;
      void session?.post('HeapProfiler.startSampling', {
        samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
      } as never);
    } else if (count === WARMUP + MEASURE) {
      measuring = false;
      done({ heap: process.memoryUsage().heapUsed, wall: performance.now() - startWall });
    }
  };
  const client = new RtspClient(`rtsp://127.0.0.1:${port}/stream`, {
    transport, udpTimeoutMs: 0, reorder: false, ...extra,
    ...(mode === 'frames' ? { onFrame: onItem } : { onPacket: onItem }),
  });
  client.on('error', (e) => console.error('client error', e));
  const session = process.env.ALLOC_PROFILE === '1' ? new Session() : undefined;
  session?.connect();
  // A stall (no packet for 10 s, the handshake included) ends the run with what the client knows, rather than hanging.
  // A slow run is said on stderr: with the read tick, TCP throughput is at most the kernel's receive buffer per
  // interval, and when autotuning has not grown it (it sometimes stays near 95 KB on loopback) a run takes minutes.
  let seen = -1;
  let warned = false;
  const watchdog = setInterval(() => {
    if (count !== seen) {
      if (seen >= 0 && count - seen < 100_000 && !warned) {
        warned = true;
        const c = client.stats().connection;
        console.error(`slow: ${count - seen} items in 10 s (${c.readCalls} reads, ${Math.round(c.bytesRead / Math.max(1, c.readCalls))} bytes per read)`);
      }
      seen = count;
      return;
    }
    const internals = client as unknown as { state?: string; connection?: { readsOnTick?: boolean; isClosed?: boolean } };
    const conn = internals.connection;
    console.error('stalled after', count, 'items:', JSON.stringify({ state: internals.state, readsOnTick: conn?.readsOnTick, closed: conn?.isClosed, stats: client.stats() }));
    process.exit(2);
  }, 10_000);
  await client.connect();
  await client.play();
  const end = await finished;
  clearInterval(watchdog);
  // Flush the observer's queue: a GC inside the window is reported a tick later.
  await new Promise((r) => setTimeout(r, 50));
  const sampled = session ? printProfile(await session.post('HeapProfiler.stopSampling') as unknown as { profile: ProfileNode & { head?: ProfileNode } }) : undefined;
  const stats = client.stats();
  await client.close();
  server.stdin!.end();
  server.kill();
  obs.disconnect();
  const heapBytes = end.heap - startHeap;
  process.stdout.write(JSON.stringify({
    transport, mode, packets: MEASURE, gcs, gcKinds, heapBytes, bytesPerPacket: +(heapBytes / MEASURE).toFixed(3),
    ...(sampled === undefined ? {} : { sampledBytesPerPacket: +(sampled / MEASURE).toFixed(3) }),
    lost: stats.streams[0]!.lost, readCalls: stats.connection.readCalls, wallMs: Math.round(end.wall),
  }) + '\n');
  process.exit(0);
}

void main();
