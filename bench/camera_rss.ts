// RSS of the `wasm-rtsp` command per camera, and how much of it is resident wasm memory (issue 12).
//
//   npx tsx bench/camera_rss.ts silent 1 64 256     cameras at a server that accepts and never answers
//   npx tsx bench/camera_rss.ts media 1 64          cameras playing test servers' /h264 (shared media, 16 per server)
//
// For each camera count the command (dist/node/cli/index.js --pipeline fakesink) runs until SETTLE_MS after start
// (media: after every camera played), then VmRSS (/proc/PID/status) and the largest mapping of /proc/PID/smaps (the
// wasm memory: its Size and Rss) are read. Growth per camera is (RSS(N) − RSS(first N)) / (N − first N).
// Extra arguments after `--` go to the command (e.g. -- --read-interval 0). Run `npm run build` first.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { coreBytesFor } from '../src/core/media/sizing.js';
import { startRtspServer, type RtspTestServer } from '../test/server/harness.js';

const SETTLE_MS = Number(process.env.RSS_SETTLE_MS ?? 6000);
/** Cameras per test server (media mode). */
const CAMERAS_PER_SERVER = Number(process.env.RSS_CAMERAS_PER_SERVER ?? 16);
/** RSS_720P=1: the test server's /h264 at 1280x720 30 fps 4 Mbit/s (default: its 320x240). */
const SERVER_OPTIONS = process.env.RSS_720P === '1' ? { width: 1280, height: 720, framerate: 30, bitrate: 4000 } : {};
const CLI = new URL('../dist/node/cli/index.js', import.meta.url).pathname;

interface Reading { cameras: number; rssKb: number; wasmSizeKb: number; wasmRssKb: number }

/**
 * The mapping of the wasm memory in smaps: V8 reserves 8 GiB + guard pages PROT_NONE and makes the memory's pages
 * read-write, a mapping of their own, of exactly the memory's size (coreBytesFor, as the command sizes it).
 */
function wasmMapping(pid: number, memoryBytes: number): { sizeKb: number; rssKb: number } {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  let best = { sizeKb: 0, rssKb: 0 };
  let cur = { sizeKb: 0, rssKb: 0 };
  let accessible = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      if (accessible && cur.sizeKb * 1024 === memoryBytes) best = cur;
      cur = { sizeKb: 0, rssKb: 0 };
      accessible = !line.split(' ')[1]!.startsWith('---');
    } else if (line.startsWith('Size:')) cur.sizeKb = Number(line.split(/\s+/)[1]);
    else if (line.startsWith('Rss:')) cur.rssKb = Number(line.split(/\s+/)[1]);
  }
  return accessible && cur.sizeKb * 1024 === memoryBytes ? cur : best;
}

/** VmRSS of the process, KiB. */
function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function measure(urls: string[], extra: string[], waitPlaying: boolean): Promise<Reading> {
  const child = spawn(process.execPath, [CLI, ...urls, '--pipeline', 'fakesink', '--timeout', '60', '--json-progress', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let playing = new Set<string>();
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      try {
        const j = JSON.parse(line) as { camera?: string; state?: string };
        if (j.state === 'playing' && j.camera) playing.add(j.camera);
      } catch { /* not JSON */ }
    }
  });
  child.stderr.on('data', () => {});
  const started = Date.now();
  if (waitPlaying) {
    while (playing.size < urls.length && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pid = child.pid!;
  const rss = rssKb(pid);
  const wasm = wasmMapping(pid, coreBytesFor({ cameras: urls.length }));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  playing = new Set();
  return { cameras: urls.length, rssKb: rss, wasmSizeKb: wasm.sizeKb, wasmRssKb: wasm.rssKb };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  const [mode, ...counts] = (dash >= 0 ? argv.slice(0, dash) : argv);
  let server: net.Server | undefined;
  const rtsp: RtspTestServer[] = [];
  let url: (i: number) => string;
  if (mode === 'silent') {
    const sockets: net.Socket[] = [];
    server = net.createServer((s) => { sockets.push(s); s.on('error', () => {}); });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    url = (i) => `rtsp://127.0.0.1:${port}/cam${i}`;
  } else {
    // One test server answers a few dozen clients slowly (one main loop): one server per CAMERAS_PER_SERVER cameras.
    const servers = Math.ceil(Math.max(...counts.map(Number)) / CAMERAS_PER_SERVER);
    for (let i = 0; i < servers; i++) rtsp.push(await startRtspServer({ shared: true, ...SERVER_OPTIONS }));
    url = (i) => rtsp[i % servers]!.url('/h264');
  }
  const rows: Reading[] = [];
  for (const c of counts.map(Number)) {
    const r = await measure(Array.from({ length: c }, (_, i) => url(i)), extra, mode !== 'silent');
    rows.push(r);
    const base = rows[0]!;
    const per = r.cameras > base.cameras ? ((r.rssKb - base.rssKb) / (r.cameras - base.cameras) / 1024).toFixed(3) : '-';
    const perWasm = r.cameras > base.cameras ? ((r.wasmRssKb - base.wasmRssKb) / (r.cameras - base.cameras) / 1024).toFixed(3) : '-';
    console.log(`${mode} cameras=${r.cameras} VmRSS=${(r.rssKb / 1024).toFixed(1)} MB wasm mapping Size=${(r.wasmSizeKb / 1024).toFixed(0)} MB ` +
      `Rss=${(r.wasmRssKb / 1024).toFixed(1)} MB; per camera: RSS +${per} MB, wasm +${perWasm} MB`);
  }
  server?.close();
  for (const r of rtsp) await r.stop();
  process.exit(0);
}

void main();
