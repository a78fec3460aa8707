// What a camera of the command keeps while its pipeline does not exist yet (issue 12, "RAM only for what is used"):
// a batch's pipeline is built once every camera has answered or --timeout ran out, so a camera that plays early waits.
// Frame mode keeps only the frames since the latest keyframe (a branch starts at one); packet mode keeps a bounded
// window of the newest packets. Every frame or packet dropped for that is counted, and the counts balance once the
// pipeline is built. Real parts: GStreamer's RTSP server, a silent TCP server (the camera that holds the batch up) and
// real pipelines built by the Fleet.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { parseCommandLine, specsFromArgs, type Args } from '../../../src/node/cli/args.js';
import { Fleet } from '../../../src/node/cli/fleet.js';
import type { Camera } from '../../../src/node/cli/camera.js';
import { until } from '../until.js';

/** Keyframe interval of the server's encode, in frames (15 fps: a keyframe every 1/3 s). */
const KEY_INT = 5;
/** The batch waits this long for the silent camera: the playing camera's frames pile up meanwhile. */
const TIMEOUT_S = 4;
/** Packet mode waits longer: the encode (~100 kB/s of this picture) must pass the 512 KiB bound meanwhile. */
const PACKET_TIMEOUT_S = 9;

let server: RtspTestServer;
let silent: Server;
const sockets = new Set<Socket>();
let controller: AbortController | undefined;
let fleet: Fleet | undefined;

beforeAll(async () => {
  server = await startRtspServer({ shared: true, width: 320, height: 240, framerate: 15, extraArgs: ['--key-int', String(KEY_INT)] });
  // Accepts and never answers: its camera's OPTIONS times out, so the batch's pipeline waits the whole --timeout.
  silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});
afterEach(async () => {
  controller?.abort();
  await Promise.all(fleet?.all.map((c) => c.stop()) ?? []);
  await Promise.all(fleet?.pipelines.map((p) => p.sink.close({ timeoutMs: 1000 })) ?? []);
  fleet = undefined;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await server?.stop();
});

/** Starts a batch of the playing camera and the silent one; resolves once the playing one has played. */
async function startBatch(extra: string[], timeoutS = TIMEOUT_S): Promise<{ cam: Camera; built: Promise<unknown> }> {
  const silentUrl = `rtsp://127.0.0.1:${(silent.address() as { port: number }).port}/silent`;
  const a = parseCommandLine([server.url('/h264'), silentUrl, '--pipeline', 'fakesink sync=false', '--timeout', String(timeoutS), ...extra]) as Args;
  controller = new AbortController();
  const f = new Fleet(controller.signal, { log: () => {}, stateChanged: () => {}, gstreamerError: () => {}, recordingFailed: () => {} });
  fleet = f;
  const built = f.add(specsFromArgs(a), false);
  const cam = await until('the fleet to start its cameras', () => f.all[0]);
  await until('the camera to play', () => cam.played, 15_000);
  return { cam, built };
}

describe('start-up buffering before the pipeline exists', () => {
  it('frame mode: a camera whose pipeline starts late keeps only the frames since its latest keyframe; the rest are counted and the frames balance', async () => {
    const { cam, built } = await startBatch([]);
    // Several keyframes pass while the pipeline waits for the silent camera.
    await until('frames older than a newer keyframe to be dropped', () => (cam.beforeLatestKeyframeDrops.get(0) ?? 0) > 3 * KEY_INT, 10_000);
    expect(fleet!.pipelines).toHaveLength(0); // still waiting
    for (let check = 0; check < 5; check++) {
      const kept = cam.pendingMedia().framesByStream.get(0)!;
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThanOrEqual(KEY_INT);
      expect(kept[0]!.keyframe).toBe(true);
      expect(kept.slice(1).every((f) => !f.keyframe)).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    await built;
    expect(fleet!.pipelines).toHaveLength(1);
    expect(cam.pendingMedia().frames).toBe(0); // handed over to the pipeline
    await until('frames to reach the pipeline', () => fleet!.pipelines[0]!.sink.stats().branches[0]!.pushedFrames > 2 * KEY_INT);
    // Every frame the depayloader delivered was pushed, or dropped and counted (read in one tick: nothing moves).
    const s = cam.stats().streams[0]!;
    const b = fleet!.pipelines[0]!.sink.stats().branches[0]!;
    const trimmed = cam.beforeLatestKeyframeDrops.get(0)!;
    expect(s.frames!.delivered).toBe(b.pushedFrames + b.rejectedPackets + b.queueDroppedPackets + trimmed + cam.beforePipelineDrops);
    expect(cam.beforePipelineDrops).toBe(0);
  }, 60_000);

  it('packet mode: the packets kept before the pipeline are bounded (the oldest go, counted) and balance once it is built', async () => {
    const { cam, built } = await startBatch(['--rtp'], PACKET_TIMEOUT_S);
    // ~100 kB/s for up to 9 s is well past the bound: the oldest packets go.
    await until('old packets to be dropped before the pipeline', () => cam.beforePipelineDrops > 0, 15_000);
    expect(fleet!.pipelines).toHaveLength(0);
    for (let check = 0; check < 5; check++) {
      const p = cam.pendingMedia();
      expect(p.packetBytes).toBeLessThanOrEqual(512 * 1024);
      expect(p.packets).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    await built;
    expect(fleet!.pipelines).toHaveLength(1);
    expect(cam.pendingMedia().packets).toBe(0);
    await until('packets to reach the pipeline', () => fleet!.pipelines[0]!.sink.stats().branches[0]!.pushedPackets > 100);
    const s = cam.stats().streams[0]!;
    const b = fleet!.pipelines[0]!.sink.stats().branches[0]!;
    const clientDrops = Object.values(s.dropped).reduce((x, n) => x + n, 0);
    expect(s.packets).toBe(b.pushedPackets + b.rejectedPackets + b.queueDroppedPackets + cam.beforePipelineDrops + clientDrops);
    expect(cam.beforeLatestKeyframeDrops.size).toBe(0);
  }, 60_000);
});
