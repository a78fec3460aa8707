// Packets but no frames (issue 15 item 8): a camera that streams an H.264 FU-A that never ends (one timestamp, no end
// bit, no marker) keeps the media timeout quiet — packets keep coming — so before the fix nothing ever noticed. Now the
// unit is counted `tooLarge` as soon as it passes maxFrameBytes, its further packets as `skippedPackets`, and the
// optional `frameTimeoutMs` fails the session with FRAME_TIMEOUT; RtspCamera reconnects. A healthy stream is left alone.
import { describe, expect, it } from 'vitest';
import { RtspCamera, RtspClient, type ReconnectingEvent, type RtspClientOptions } from '../../../src/node/index.js';
import { parseCommandLine } from '../../../src/node/cli/args.js';
import { closedAfterEach, interleaved, rtpPacket, ScriptedServer, streamUntilClosed, waitUntil, type ScriptedConnection } from './scripted-server.js';

const { servers, clients: closers } = closedAfterEach<{ close(): Promise<void> }>();

const QUIET: RtspClientOptions = { keepAlive: false, receiverReports: false, requestTimeoutMs: 3000 };
const CHUNK = 1400;
const MAX_FRAME_BYTES = 64 * 1024;
const fill = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((seed + i) % 250) + 1);

/** An FU-A of an IDR that never ends: its start, then continuation fragments forever, on timestamp 9000. */
function endlessFuA(conn: ScriptedConnection): () => void {
  const start = Uint8Array.from([0x7c, 0x85, ...fill(CHUNK, 1)]);
  const middle = Uint8Array.from([0x7c, 0x05, ...fill(CHUNK, 2)]);
  return streamUntilClosed(conn, (i) => interleaved(0, rtpPacket({ seq: i, timestamp: 9000, payload: i === 0 ? start : middle })), 8, 5);
}

/** Whole frames: one IDR per packet, with the marker, 3000 ticks apart. */
function healthy(conn: ScriptedConnection): () => void {
  const idr = Uint8Array.from([0x65, ...fill(200, 3)]);
  return streamUntilClosed(conn, (i) => interleaved(0, rtpPacket({ seq: i, timestamp: i * 3000, marker: true, payload: idr })), 1, 10);
}

async function serve(onPlay: (conn: ScriptedConnection) => unknown): Promise<ScriptedServer> {
  const s = await ScriptedServer.start({ onPlay: (conn) => { onPlay(conn); } });
  servers.push(s);
  return s;
}

describe('frameTimeoutMs', () => {
  it('an endless FU-A: tooLarge counted while it streams, then FRAME_TIMEOUT long before the media timeout', async () => {
    const server = await serve(endlessFuA);
    const client = new RtspClient(server.url(), {
      ...QUIET, frames: { maxFrameBytes: MAX_FRAME_BYTES }, frameTimeoutMs: 500, mediaTimeoutMs: 20_000,
    });
    closers.push(client);
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    await client.play();
    const played = Date.now();
    // While packets still stream, the drop is already counted and the skipped packets move.
    await waitUntil(() => (client.stats().streams[0]?.frames?.dropped.tooLarge ?? 0) === 1 || client.closeReason !== undefined, 5000, 'the tooLarge drop');
    await waitUntil(() => client.closeReason !== undefined, 5000, 'the frame timeout');
    const elapsed = Date.now() - played;
    expect(client.closeReason).toMatchObject({ code: 'FRAME_TIMEOUT', context: { streamId: 0, frameTimeoutMs: 500, frames: 0 } });
    expect(errors).toContain(client.closeReason);
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(5000);
    const s = client.stats().streams[0]!;
    expect(s.packets).toBeGreaterThan(MAX_FRAME_BYTES / CHUNK + 1);
    expect(s.frames).toMatchObject({ delivered: 0, dropped: { tooLarge: 1, loss: 0, malformed: 0 } });
    // Every packet after the one that passed the limit was skipped, unread: the start (4-octet length, NAL header,
    // CHUNK) and the continuations that fit were read, then the one that passed the limit.
    const read = 1 + Math.floor((MAX_FRAME_BYTES - (4 + 1 + CHUNK)) / CHUNK) + 1;
    expect(s.frames!.skippedPackets).toBe(s.frames!.packets - read);
    expect(client.closeReason!.message).toMatch(/tooLarge 1/);
  });

  it('leaves a stream alone that makes frames (three timeouts long)', async () => {
    const server = await serve(healthy);
    let frames = 0;
    const client = new RtspClient(server.url(), { ...QUIET, frameTimeoutMs: 200, onFrame: () => { frames++; } });
    closers.push(client);
    await client.connect();
    await client.play();
    const played = Date.now();
    await waitUntil(() => Date.now() - played >= 600 && frames >= 10, 5000, 'three timeouts of frames');
    expect(client.closeReason).toBeUndefined();
  });

  it('is off by default: an endless FU-A then only moves the counters', async () => {
    const server = await serve(endlessFuA);
    const client = new RtspClient(server.url(), { ...QUIET, frames: { maxFrameBytes: MAX_FRAME_BYTES } });
    closers.push(client);
    await client.connect();
    await client.play();
    await waitUntil(() => (client.stats().streams[0]?.frames?.skippedPackets ?? 0) > 200, 5000, '200 skipped packets');
    expect(client.closeReason).toBeUndefined();
    expect(client.stats().streams[0]!.frames!.dropped.tooLarge).toBe(1);
  });

  it('refuses a bad value with BAD_OPTION', () => {
    expect(() => new RtspClient('rtsp://127.0.0.1/x', { frameTimeoutMs: -1 })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => new RtspClient('rtsp://127.0.0.1/x', { frameTimeoutMs: Number.NaN })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('RtspCamera reconnects a camera that sends packets but no frames', async () => {
    const server = await serve(endlessFuA);
    const camera = new RtspCamera(server.url(), {
      ...QUIET, frames: { maxFrameBytes: MAX_FRAME_BYTES }, frameTimeoutMs: 300, initialDelayMs: 50, jitter: 0,
    });
    closers.push(camera);
    const reconnecting: ReconnectingEvent[] = [];
    camera.on('reconnecting', (e: ReconnectingEvent) => reconnecting.push(e));
    let reconnected = 0;
    camera.on('reconnected', () => { reconnected++; });
    await camera.start();
    await waitUntil(() => reconnected >= 1, 8000, 'the camera to reconnect');
    expect(reconnecting[0]!.reason.code).toBe('FRAME_TIMEOUT');
    expect(server.methods().filter((m) => m === 'PLAY').length).toBeGreaterThanOrEqual(2);
    // The first session was torn down before the second began.
    expect(server.methods().indexOf('TEARDOWN')).toBeLessThan(server.methods().lastIndexOf('PLAY'));
  });
});

describe('--frame-timeout', () => {
  it('sets frameTimeoutMs in seconds, off by default, and refuses what is not a duration', () => {
    const args = (argv: string[]) => parseCommandLine(['rtsp://127.0.0.1/x', ...argv], {}) as { frameTimeoutMs: number };
    expect(args([]).frameTimeoutMs).toBe(0);
    expect(args(['--frame-timeout', '2.5']).frameTimeoutMs).toBe(2500);
    expect(() => args(['--frame-timeout', 'soon'])).toThrowError(/frame-timeout/);
    expect(() => args(['--frame-timeout', '0'])).toThrowError(/frame-timeout/);
  });
});
