// Frame mode of the RTSP client against GStreamer's RTSP server: access units depayloaded in wasm, with timestamps,
// keyframes and the decoder configuration; frames() and retained frames; frames beside packets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient, type Frame, type RetainedFrame } from '../../../src/node/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';

let server: RtspTestServer;
const FPS = 30;

beforeAll(async () => {
  server = await startRtspServer({ framerate: FPS, rawWidth: 320, rawHeight: 240, rawFramerate: FPS });
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until `done()` holds. */
async function until(done: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

interface SeenFrame { keyframe: boolean; discontinuity: boolean; timestamp: number; pts: number; length: number; first4: number; configChanged: boolean }

/** Plays `path` in frame mode until `count` frames arrived; returns them and the client's figures. */
async function frames(path: string, transport: 'tcp' | 'udp', count: number) {
  const client = new RtspClient(server.url(path), { transport, frames: true });
  const seen: SeenFrame[] = [];
  let packets = 0;
  let configAtFirst: Frame['config'];
  client.on('packet', () => packets++);
  client.on('frame', (f: Frame) => {
    if (seen.length === 0) configAtFirst = f.config;
    const d = f.data;
    seen.push({
      keyframe: f.keyframe, discontinuity: f.discontinuity, timestamp: f.timestamp, pts: f.pts, length: d.length,
      first4: d.length >= 4 ? ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0 : -1, configChanged: f.configChanged,
    });
  });
  await client.connect();
  await client.play();
  await until(() => seen.length >= count);
  const stats = client.stats();
  await client.close();
  return { client, seen, packets, stats, configAtFirst };
}

describe('frame mode against gst-rtsp-server', () => {
  for (const [path, codec] of [['/h264', 'H264'], ['/h265', 'H265']] as const) {
    for (const transport of ['tcp', 'udp'] as const) {
      it(`assembles ${codec} access units over ${transport}: one per picture, length-prefixed NALs, keyframes, config from the SDP`, async () => {
        const { seen, stats, configAtFirst, packets } = await frames(path, transport, 45);
        const s = stats.streams[0]!;
        expect(s.frames).toBeDefined();
        expect(s.frames!.delivered).toBeGreaterThanOrEqual(45);
        expect(s.lost).toBe(0);
        expect(Object.values(s.frames!.dropped).every((n) => n === 0), JSON.stringify(s.frames!.dropped)).toBe(true);
        expect(packets).toBeGreaterThanOrEqual(seen.length);
        // Consecutive pictures are 1/FPS apart in a 90 kHz clock; pts counts from the first frame.
        expect(seen[0]!.pts).toBe(0);
        for (let i = 1; i < seen.length; i++) {
          expect(seen[i]!.timestamp - seen[i - 1]!.timestamp).toBe(90000 / FPS);
          expect(seen[i]!.pts).toBe(seen[i]!.timestamp - seen[0]!.timestamp);
        }
        // A frame is a sequence of 4-byte big-endian lengths, each followed by that many bytes: the first length fits.
        for (const f of seen) expect(f.first4).toBeLessThanOrEqual(f.length - 4);
        expect(seen.some((f) => f.keyframe)).toBe(true);
        expect(configAtFirst?.codec).toBe(codec);
        expect(configAtFirst?.description?.[0]).toBe(1); // configurationVersion of avcC / hvcC
        expect(configAtFirst?.codecString).toMatch(codec === 'H264' ? /^avc1\.[0-9a-f]{6}$/ : /^hvc1\./);
        // The server repeats SPS/PPS in-band (config-interval=1) with the same values: no config change.
        expect(seen.every((f) => !f.configChanged)).toBe(true);
      });
    }
  }

  it('assembles raw video (RFC 4175) into whole UYVY frames of width × height × 2 bytes', async () => {
    const { seen, stats } = await frames('/raw', 'tcp', 20);
    expect(seen.every((f) => f.length === 320 * 240 * 2 && f.keyframe)).toBe(true);
    expect(stats.streams[0]!.frames!.delivered).toBeGreaterThanOrEqual(20);
  });

  it('frames(): retained frames stay valid after the handler, are released, and the budget is respected', async () => {
    const client = new RtspClient(server.url('/h264'), { transport: 'tcp' });
    await client.connect();
    await client.play();
    const kept: RetainedFrame[] = [];
    for await (const f of client.frames({ maxQueued: 16 })) {
      kept.push(f);
      if (kept.length === 10) break;
    }
    // Still readable after their handlers returned (copied into core memory), in order, then released.
    for (let i = 1; i < kept.length; i++) expect(kept[i]!.timestamp).toBeGreaterThan(kept[i - 1]!.timestamp);
    const core = client.wasmCore!;
    const reserved = core.reservedBytes;
    for (const f of kept) {
      expect(f.data.length).toBeGreaterThan(4);
      f.release();
      expect(() => f.data).toThrow(/after release/);
    }
    expect(core.reservedBytes).toBeLessThan(reserved);
    expect(() => kept[0]!.release()).toThrow(/twice/);
    await client.close();
  });

  it('a Frame used after its handler throws; retain() past the budget throws FRAME_BUDGET', async () => {
    const client = new RtspClient(server.url('/h264'), { transport: 'tcp', frames: { retainedBytesLimit: 64 } });
    let stale: Frame | undefined;
    let budgetError: unknown;
    client.on('frame', (f: Frame) => {
      stale = f;
      try {
        f.retain().release();
      } catch (e) {
        budgetError ??= e;
      }
    });
    await client.connect();
    await client.play();
    await until(() => budgetError !== undefined);
    await client.close();
    expect(budgetError).toMatchObject({ code: 'FRAME_BUDGET' });
    expect(() => stale!.data).toThrow(/after its handler/);
  });

  it('gives frames the sender\'s wall-clock time once an RTCP sender report arrived', async () => {
    const client = new RtspClient(server.url('/h264'), { transport: 'tcp', frames: true });
    let withWallClock = 0;
    let worstSkewMs = 0;
    let lastWallClock = 0;
    let backwards = 0;
    client.on('frame', (f: Frame) => {
      if (f.wallClockTimeMs === undefined) return;
      withWallClock++;
      // The sender's clock is this machine's: on loopback a frame's mapped time is close to now.
      worstSkewMs = Math.max(worstSkewMs, Math.abs(f.wallClockTimeMs - Date.now()));
      if (f.wallClockTimeMs < lastWallClock) backwards++;
      lastWallClock = f.wallClockTimeMs;
    });
    await client.connect();
    await client.play();
    // Sender reports come every ~5 s: wait for frames mapped by one (bounded), not a fixed time.
    await until(() => withWallClock > 10, 25_000);
    await client.close();
    expect(worstSkewMs).toBeLessThan(1000);
    expect(backwards).toBe(0);
  }, 40_000);

  it('packets only, no depayloader, unless frame mode is asked for', async () => {
    const client = await RtspClient.open(server.url('/h264'), { transport: 'tcp' });
    let packets = 0;
    client.on('packet', () => packets++);
    await until(() => packets > 30);
    await client.close();
    expect(client.stats().streams[0]!.frames).toBeUndefined();
  });
});

describe('frame mode: AAC (RFC 3640)', () => {
  it('assembles AAC-hbr access units of 1024 samples each, with the AudioSpecificConfig from the SDP', async () => {
    expect(server.mounts).toContain('/aac');
    const client = new RtspClient(server.url('/aac'), { transport: 'tcp', frames: true });
    const seen: Array<{ timestamp: number; length: number }> = [];
    let config: Frame['config'];
    client.on('frame', (f: Frame) => {
      config ??= f.config;
      seen.push({ timestamp: f.timestamp, length: f.data.length });
    });
    await client.connect();
    expect(client.streams[0]).toMatchObject({ type: 'audio', encodingName: 'MPEG4-GENERIC', clockRate: 44100 });
    await client.play();
    await until(() => seen.length >= 50);
    const stats = client.stats();
    await client.close();
    expect(config?.codec).toBe('AAC');
    expect(config?.codecString).toBe('mp4a.40.2'); // AAC LC
    expect(config?.description?.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.timestamp - seen[i - 1]!.timestamp).toBe(1024);
    expect(seen.every((f) => f.length > 0 && f.length < 2048)).toBe(true);
    expect(Object.values(stats.streams[0]!.frames!.dropped).every((n) => n === 0)).toBe(true);
  });
});
