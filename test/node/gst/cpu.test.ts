// CPU per packet, side by side: RtspClient → GstSink (appsrc ! fakesink) in this process, and
// `gst-launch-1.0 rtspsrc protocols=tcp ! fakesink`, on the same raw 1280x720 RTP stream over TCP (~40 000 packets/s).
// Opt-in (it takes ~30 s and wants a quiet machine): WASM_RTSP_MEASURE=1 npx vitest run test/node/gst/cpu.test.ts
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient, type RtpPacket } from '../../../src/node/index.js';
import { createGstSink, GstSink } from '../../../src/node/gst/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';

/** Packets measured per side; the first WARMUP_PACKETS of our side (connect, JIT) are left out of the steady figure. */
const PACKETS = Number(process.env.WASM_RTSP_MEASURE_PACKETS) || 400_000;
const WARMUP_PACKETS = 40_000;

let server: RtspTestServer;

describe.runIf(process.env.WASM_RTSP_MEASURE && GstSink.available().ok)('CPU per packet, raw 720p over TCP', () => {
  beforeAll(async () => {
    server = await startRtspServer({ rawWidth: 1280, rawHeight: 720, rawFramerate: 30 });
  });
  afterAll(async () => {
    await server?.stop();
  });
  it('RtspClient → appsrc ! fakesink vs gst-launch rtspsrc ! fakesink', async () => {
    // Ours: the whole process (JS, wasm, the addon's copy and GStreamer's streaming thread).
    const client = new RtspClient(server.url('/raw'), { transport: 'tcp' });
    const totalStart = process.cpuUsage();
    await client.connect();
    const sink = createGstSink({ branches: [{ stream: client.streams[0]!, tail: { launch: 'fakesink name=sink0 sync=false' } }] });
    sink.start();
    let count = 0;
    let steadyStart: NodeJS.CpuUsage | undefined;
    let steadyUs = 0;
    let wallStart = 0;
    let wallMs = 0;
    const done = new Promise<void>((resolve) => {
      client.on('packet', (p: RtpPacket) => {
        sink.push(0, p);
        if (++count === WARMUP_PACKETS) {
          steadyStart = process.cpuUsage();
          wallStart = performance.now();
        } else if (count === PACKETS) {
          const d = process.cpuUsage(steadyStart);
          steadyUs = d.user + d.system;
          wallMs = performance.now() - wallStart;
          resolve();
        }
      });
    });
    await client.play();
    await done;
    await client.close();
    await sink.close();
    const total = process.cpuUsage(totalStart);
    const ours = sink.stats().branches[0]!;
    expect(client.stats().streams[0]!.lost).toBe(0);
    expect(ours.sinkBuffers).toBe(ours.pushedPackets);

    // gst-launch: fakesink num-buffers ends it after exactly PACKETS packets; bash's `times` gives its CPU time.
    const launch = `gst-launch-1.0 -q rtspsrc location=${server.url('/raw')} protocols=tcp ! fakesink num-buffers=${PACKETS} sync=false`;
    const { stdout } = await promisify(execFile)('bash', ['-c', `${launch} >/dev/null; times`], { timeout: 120_000 });
    const [, child] = stdout.trim().split('\n');
    const [user, sys] = child!.split(/\s+/).map((t) => {
      const m = /(\d+)m([\d.]+)s/.exec(t)!;
      return (Number(m[1]) * 60 + Number(m[2])) * 1e6;
    });
    const theirs = (user! + sys!) / PACKETS;
    const steady = steadyUs / (PACKETS - WARMUP_PACKETS);
    const whole = (total.user + total.system) / ours.pushedPackets;
    console.log([
      `packets: ${PACKETS}, rate ${((PACKETS - WARMUP_PACKETS) / wallMs * 1000).toFixed(0)}/s`,
      `RtspClient → GstSink (appsrc ! fakesink): ${steady.toFixed(2)} µs CPU/packet steady, ${whole.toFixed(2)} µs whole run (connect…close)`,
      `gst-launch-1.0 rtspsrc protocols=tcp ! fakesink: ${theirs.toFixed(2)} µs CPU/packet (whole run, incl. start-up)`,
      `ratio gst-launch / ours (steady): ${(theirs / steady).toFixed(2)}`,
    ].join('\n'));
    expect(steady).toBeGreaterThan(0);
    expect(theirs).toBeGreaterThan(0);
  });
});
