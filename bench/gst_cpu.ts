// `npm run bench:gst`: CPU per RTP packet, side by side in one run, of
//   ours:    RtspClient (TCP reads into wasm memory, wasm demux + parse) → GstSink (appsrc ! fakesink)
//   theirs:  gst-launch-1.0 rtspsrc protocols=tcp ! fakesink        (GStreamer's own RTSP client)
// on the same raw 1280x720 RTP stream from GStreamer's RTSP server on 127.0.0.1 (about 40 000 packets/s). Also the
// client alone (no sink), to show where the time goes. Writes bench/results/gst_cpu.json.
// BENCH_QUICK=1 measures fewer packets. Needs the Debian GStreamer packages (bash scripts/setup.sh).

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RtspClient, type RtpPacket } from '../src/node/index.js';
import { createGstSink, GstSink } from '../src/node/gst/index.js';
import { startRtspServer, type RtspTestServer } from '../test/server/harness.js';

const QUICK = process.env.BENCH_QUICK === '1';
/** Packets measured per side; the first WARMUP_PACKETS of ours (connect, JIT) are left out of the steady figure. */
const PACKETS = QUICK ? 100_000 : 400_000;
const WARMUP_PACKETS = QUICK ? 10_000 : 40_000;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

interface Ours { usPerPacket: number; packetsPerSecond: number; lost: number; pushed: number; reachedSink: number | undefined }

/** CPU of this process per packet while the client plays `/raw`, with or without pushing into appsrc ! fakesink. */
async function measureOurs(server: RtspTestServer, withSink: boolean): Promise<Ours> {
  const client = new RtspClient(server.url('/raw'), { transport: 'tcp' });
  await client.connect();
  const sink = withSink ? createGstSink({ branches: [{ stream: client.streams[0]!, tail: { launch: 'fakesink name=sink0 sync=false' } }] }) : undefined;
  sink?.start();
  let count = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let wall0 = 0;
  let us = 0;
  let wallMs = 0;
  await new Promise<void>((resolve) => {
    client.on('packet', (p: RtpPacket) => {
      if (sink) sink.push(0, p);
      if (++count === WARMUP_PACKETS) {
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
      } else if (count === PACKETS) {
        const d = process.cpuUsage(cpu0);
        us = d.user + d.system;
        wallMs = performance.now() - wall0;
        resolve();
      }
    });
    void client.play();
  });
  await client.close();
  await sink?.close();
  const b = sink?.stats().branches[0];
  return {
    usPerPacket: us / (PACKETS - WARMUP_PACKETS),
    packetsPerSecond: ((PACKETS - WARMUP_PACKETS) / wallMs) * 1000,
    lost: client.stats().streams[0]!.lost,
    pushed: b?.pushedPackets ?? 0,
    reachedSink: b?.sinkBuffers,
  };
}

/** CPU of gst-launch (user + system, from bash's `times`, start-up included) per packet for PACKETS packets. */
async function measureRtspsrc(server: RtspTestServer): Promise<number> {
  const launch = `gst-launch-1.0 -q rtspsrc location=${server.url('/raw')} protocols=tcp ! fakesink num-buffers=${PACKETS} sync=false`;
  const { stdout } = await promisify(execFile)('bash', ['-c', `${launch} >/dev/null; times`], { timeout: 300_000 });
  const [, children] = stdout.trim().split('\n');
  const [user, sys] = children!.split(/\s+/).map((t) => {
    const m = /(\d+)m([\d.]+)s/.exec(t)!;
    return (Number(m[1]) * 60 + Number(m[2])) * 1e6;
  });
  return (user! + sys!) / PACKETS;
}

async function main(): Promise<void> {
  const available = GstSink.available();
  if (!available.ok) throw new Error(available.message);
  const server = await startRtspServer({ rawWidth: 1280, rawHeight: 720, rawFramerate: 30 });
  try {
    console.log(`gst_cpu: raw 1280x720 RTP over TCP, ${PACKETS} packets per run…`);
    const clientOnly = await measureOurs(server, false);
    const ours = await measureOurs(server, true);
    const rtspsrc = await measureRtspsrc(server);
    const rows: Array<[string, string, string]> = [
      ['RtspClient alone (read into wasm, demux + parse, packet event)', clientOnly.usPerPacket.toFixed(2), (rtspsrc / clientOnly.usPerPacket).toFixed(2)],
      ['RtspClient → GstSink (appsrc ! fakesink)', ours.usPerPacket.toFixed(2), (rtspsrc / ours.usPerPacket).toFixed(2)],
      ['gst-launch-1.0 rtspsrc protocols=tcp ! fakesink (incl. start-up)', rtspsrc.toFixed(2), '1.00'],
    ];
    console.log(`\n${'path'.padEnd(68)}  µs CPU/packet  rtspsrc ÷ this`);
    for (const [name, us, ratio] of rows) console.log(`${name.padEnd(68)}  ${us.padStart(13)}  ${ratio.padStart(14)}`);
    console.log(`\nrate ${ours.packetsPerSecond.toFixed(0)} packets/s; lost ${ours.lost}; pushed ${ours.pushed}, reached fakesink ${ours.reachedSink}`);
    const cpus = os.cpus();
    const result = {
      suite: 'gst_cpu',
      date: new Date().toISOString(),
      machine: { cpu: cpus[0]?.model.trim(), cores: cpus.length, node: process.version, loadavg: os.loadavg() },
      packets: PACKETS,
      warmupPackets: WARMUP_PACKETS,
      usPerPacket: { clientOnly: clientOnly.usPerPacket, clientToAppsrc: ours.usPerPacket, rtspsrc },
      ratios: { rtspsrcOverOurs: rtspsrc / ours.usPerPacket, rtspsrcOverClientOnly: rtspsrc / clientOnly.usPerPacket },
      ours,
      clientOnly,
    };
    mkdirSync(RESULTS, { recursive: true });
    const file = `${RESULTS}gst_cpu${QUICK ? '.quick' : ''}.json`;
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${file}`);
  } finally {
    await server.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
