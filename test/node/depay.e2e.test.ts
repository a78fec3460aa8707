// Frame mode end to end: the RTSP client plays GStreamer's test server (x264 / x265 / rtpvrawpay) over TCP and every
// packet goes through a Depayloader. Frames must come at the stream's rate, the first one must be a keyframe with its
// parameter sets that GStreamer's own decoder accepts, keyframes must be flagged every key-int frames, and nothing
// may be dropped.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCore, Depayloader, FRAME_DISCONTINUITY, FRAME_KEYFRAME, FRAME_PARAMETER_SETS, RtspClient, codecString,
  h264ConfigFromFmtp, h265ConfigFromFmtp, parameterSetsIn, rawVideoFormat, toAnnexB, type FrameCodec, type RtpPacket,
  type DepayStats,
} from '../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';

const FRAMES_WANTED = 70; // more than two keyframe intervals (the server's default --key-int 30)
const WAIT_MS = 30_000;
const TICKS_PER_FRAME = 3000; // 90 kHz at 30 fps

let server: RtspTestServer;
let dir: string;
beforeAll(async () => {
  server = await startRtspServer({ width: 320, height: 240, framerate: 30, rawWidth: 320, rawHeight: 240, rawFramerate: 30 });
  dir = mkdtempSync(join(tmpdir(), 'depay-e2e-'));
}, 30_000);
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Got { ts: number; flags: number; length: number; first?: Uint8Array }

/** Plays `path`, depayloads every packet until `FRAMES_WANTED` frames (bounded wait), and returns what came. */
async function playFrames(path: string, codec: FrameCodec) {
  // One core shared by the client (its pool) and the depayloader, as an application would do.
  const core = await createCore({ memoryBytes: 16 << 20 });
  let depay: Depayloader | undefined;
  let failure: unknown;
  const frames: Got[] = [];
  const onPacket = (p: RtpPacket) => {
    try {
      if (!depay) {
        expect(p.stream.encodingName).toBe(codec);
        depay = new Depayloader(core, { codec, fmtp: p.stream.fmtp });
      }
      const n = depay.push(p.byteOffset, p.length, (p as unknown as { recordPtr: number }).recordPtr);
      for (let i = 0; i < n; i++) {
        frames.push({
          ts: depay.frameTimestamp(i), flags: depay.frameFlags(i), length: depay.frameLength(i),
          first: frames.length === 0 ? depay.frameView(i).slice() : undefined,
        });
      }
    } catch (e) {
      failure ??= e;
    }
  };
  const client = await RtspClient.open(server.url(path), { transport: 'tcp', core, onPacket });
  try {
    const deadline = Date.now() + WAIT_MS;
    while (frames.length < FRAMES_WANTED && failure === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (failure !== undefined) throw failure;
    const stats = depay!.stats();
    const clientStats = client.stats();
    return { frames: frames.slice(0, FRAMES_WANTED), stats, clientStats, fmtp: client.streams[0].fmtp };
  } finally {
    await client.close();
    depay?.destroy();
  }
}

function expectNoDrops(stats: DepayStats): void {
  expect(stats.dropped).toEqual({ loss: 0, tooLarge: 0, malformed: 0, waitingForKeyframe: 0, unsupported: 0 });
  expect(stats.lostPackets).toBe(0);
  expect(stats.latePackets).toBe(0);
}

/** Frames come one per 1/30 s of media time: consecutive timestamps 3000 ticks apart (±2 for rounding). */
function expectFrameRate(frames: Got[]): void {
  expect(frames.length).toBe(FRAMES_WANTED);
  for (let i = 1; i < frames.length; i++) {
    const delta = (frames[i].ts - frames[i - 1].ts) >>> 0;
    expect(Math.abs(delta - TICKS_PER_FRAME), `frame ${i}: ${delta} ticks`).toBeLessThanOrEqual(2);
  }
}

/** GStreamer decodes `annexB` (one access unit) to a 320x240 picture. */
function expectDecodes(annexB: Uint8Array, parser: string, decoder: string, name: string): void {
  const file = join(dir, name);
  writeFileSync(file, annexB);
  const r = spawnSync('gst-launch-1.0', ['-v', 'filesrc', `location=${file}`, '!', parser, '!', decoder, '!', 'fakesink', 'silent=false'], {
    encoding: 'utf8', timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/video\/x-raw.*width=\(int\)320, height=\(int\)240/);
  expect(r.stdout).toMatch(/chain/); // a decoded buffer reached the sink
}

describe('frame mode against gst-rtsp-server', () => {
  it('/h264: frames at 30 fps, a decodable keyframe first, keyframes every 30 frames, nothing dropped', async () => {
    const { frames, stats, clientStats, fmtp } = await playFrames('/h264', 'H264');
    expectNoDrops(stats);
    expect(clientStats.streams[0]).toMatchObject({ lost: 0 });
    expectFrameRate(frames);
    const first = frames[0];
    expect(first.flags & (FRAME_KEYFRAME | FRAME_PARAMETER_SETS | FRAME_DISCONTINUITY)).toBe(FRAME_KEYFRAME | FRAME_PARAMETER_SETS);
    const inBand = parameterSetsIn(first.first!, 'H264')!;
    // x264's own SPS/PPS plus the ones rtph264pay inserts (config-interval=1): the same sets, maybe twice.
    expect(inBand.sps.length).toBeGreaterThanOrEqual(1);
    expect(new Set(inBand.sps.map((s) => s.join())).size).toBe(1);
    const fromSdp = h264ConfigFromFmtp(fmtp);
    expect(fromSdp).toBeDefined();
    expect(codecString('H264', fromSdp!)).toBe(codecString('H264', inBand));
    expect(codecString('H264', inBand)).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expectDecodes(toAnnexB(first.first!), 'h264parse', 'avdec_h264', 'first.h264');
    const keys = frames.map((f, i) => ((f.flags & FRAME_KEYFRAME) ? i : -1)).filter((i) => i >= 0);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < keys.length; k++) expect(keys[k] - keys[k - 1]).toBe(30);
    expect(stats.frames).toBeGreaterThanOrEqual(FRAMES_WANTED);
  }, 90_000);

  it('/h265: the same for HEVC', async () => {
    expect(server.mounts).toContain('/h265');
    const { frames, stats, fmtp } = await playFrames('/h265', 'H265');
    expectNoDrops(stats);
    expectFrameRate(frames);
    const first = frames[0];
    expect(first.flags & (FRAME_KEYFRAME | FRAME_PARAMETER_SETS | FRAME_DISCONTINUITY)).toBe(FRAME_KEYFRAME | FRAME_PARAMETER_SETS);
    const inBand = parameterSetsIn(first.first!, 'H265')!;
    expect(inBand.vps.length).toBe(1);
    expect(inBand.pps.length).toBe(1);
    expect(codecString('H265', inBand)).toMatch(/^hvc1\.1\.6\.L\d+\./);
    const fromSdp = h265ConfigFromFmtp(fmtp);
    expect(fromSdp).toBeDefined();
    expect(codecString('H265', fromSdp!)).toBe(codecString('H265', inBand));
    expectDecodes(toAnnexB(first.first!), 'h265parse', 'avdec_h265', 'first.h265');
    const keys = frames.map((f, i) => ((f.flags & FRAME_KEYFRAME) ? i : -1)).filter((i) => i >= 0);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < keys.length; k++) expect(keys[k] - keys[k - 1]).toBe(30);
  }, 90_000);

  it('/raw: whole UYVY frames at 30 fps, nothing dropped', async () => {
    const { frames, stats, fmtp } = await playFrames('/raw', 'RAW');
    expectNoDrops(stats);
    expectFrameRate(frames);
    const format = rawVideoFormat(fmtp)!;
    expect(format).toMatchObject({ width: 320, height: 240, gstFormat: 'UYVY', frameBytes: 320 * 240 * 2 });
    for (const f of frames) {
      expect(f.length).toBe(format.frameBytes);
      expect(f.flags & FRAME_KEYFRAME).toBe(FRAME_KEYFRAME);
    }
    // videotestsrc's first frame: SMPTE bars, so the first pixel pair is not all zero (the frame was written).
    expect(frames[0].first!.subarray(0, 4).some((b) => b !== 0)).toBe(true);
  }, 90_000);
});
