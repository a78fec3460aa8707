import { bundleChildren, startChild } from '/work/wt/bench/bench/lib/proc.js';
import { startRtspServer } from '/work/wt/bench/test/server/harness.js';
const variant = process.argv[2] ?? 'wasm-packets';
const path = process.argv[3] ?? '/h264';
const s = await bundleChildren(['bench/ingest_child.ts']);
const server = await startRtspServer({ width: 1280, height: 720, bitrate: 4000, rawWidth: 1280, rawHeight: 720, shared: true, sessionTimeout: 600 });
const c = startChild(s['bench/ingest_child.ts']!, { url: server.url(path), variant, warmupMs: 1000, measureMs: 2000, depay: path === '/raw' ? 'rtpvrawdepay' : 'rtph264depay', maxQueueBytes: 16 << 20, memoryBytes: 32 << 20, timeoutMs: 30000 });
try {
  console.log(await c.next('window-start', 30000));
  console.log(JSON.stringify(await c.next('result', 30000)));
} catch (e) { console.log(String(e)); }
await c.exited;
await server.stop();
process.exit(0);
