// RTCP from the server (issue 15 items 9 and 10): a BYE for the stream's SSRC ends the session at once — long before
// the media timeout — counted in `rtcp.byes` and reported as RtspError('BYE'), also when it arrives with the PLAY
// reply; RtspCamera then starts a new session. A BYE for another SSRC changes nothing. RTCP that does not parse is
// counted in `rtcp.parseErrors`, never as an RTP drop (it never was an RTP packet).
import { describe, expect, it } from 'vitest';
import { RtspCamera, RtspClient, RtspError, type ReconnectingEvent, type RtspClientOptions } from '../../../src/node/index.js';
import {
  closedAfterEach,
  concat, interleaved, rtpFrames, SCRIPTED_SSRC, ScriptedServer, waitUntil, type ScriptedConnection, type ScriptedServerOptions,
} from './scripted-server.js';

const { servers, clients: closers } = closedAfterEach<{ close(): Promise<void> }>();

/** Long enough that passing the test bound proves the BYE ended the session, not the media watchdog. */
const MEDIA_TIMEOUT_MS = 20_000;
const QUIET: RtspClientOptions = { keepAlive: false, receiverReports: false, requestTimeoutMs: 3000, mediaTimeoutMs: MEDIA_TIMEOUT_MS };

/**
 *  RTCP BYE (RFC 3550 §6.6): | V=2|P|SC=1 | PT=203 | length=1 (32-bit words − 1) | SSRC |
 *  after an empty receiver report | V=2|P|RC=0 | PT=201 | length=1 | SSRC of the sender | (a compound starts with SR/RR).
 */
function rrBye(ssrc: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, 0x80); dv.setUint8(1, 201); dv.setUint16(2, 1); dv.setUint32(4, 0xfeedbeef);
  dv.setUint8(8, 0x81); dv.setUint8(9, 203); dv.setUint16(10, 1); dv.setUint32(12, ssrc >>> 0);
  return out;
}

async function serve(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const s = await ScriptedServer.start(options);
  servers.push(s);
  return s;
}

async function play(url: string): Promise<{ client: RtspClient; seqs: number[]; errors: unknown[] }> {
  const client = new RtspClient(url, QUIET);
  closers.push(client);
  const seqs: number[] = [];
  const errors: unknown[] = [];
  client.on('packet', (p) => seqs.push(p.header.sequenceNumber));
  client.on('error', (e) => errors.push(e));
  await client.connect();
  await client.play();
  return { client, seqs, errors };
}

describe('RTCP BYE', () => {
  it('a BYE for the stream ends the session at once: BYE reason, rtcp.byes counted, TEARDOWN sent', async () => {
    let conn!: ScriptedConnection;
    const server = await serve({ onPlay: (c) => { conn = c; return c.send(rtpFrames([0, 1, 2, 3, 4])); } });
    const { client, seqs, errors } = await play(server.url());
    await waitUntil(() => seqs.length === 5, 3000, 'five packets');
    let closedAt = 0;
    client.on('close', () => { closedAt = Date.now(); });
    const sentAt = Date.now();
    await conn.send(interleaved(1, rrBye(SCRIPTED_SSRC)));
    await waitUntil(() => closedAt > 0, 3000, 'the session to end');
    expect(closedAt - sentAt).toBeLessThan(1500); // the media timeout is 20 s
    expect(client.closeReason).toBeInstanceOf(RtspError);
    expect(client.closeReason).toMatchObject({ code: 'BYE', context: { streamId: 0, ssrc: SCRIPTED_SSRC, packets: 5 } });
    expect(errors).toEqual([client.closeReason]);
    expect(client.stats().streams[0]!.rtcp).toEqual({ received: 1, parseErrors: 0, senderReports: 0, byes: 1 });
    await waitUntil(() => server.methods().includes('TEARDOWN'), 3000, 'the TEARDOWN');
  });

  it('a BYE that arrives with the PLAY reply (one write) still ends the session', async () => {
    const server = await serve({
      onRequest: async (req, conn, next) => {
        if (req.method !== 'PLAY') return next();
        const head = `RTSP/1.0 200 OK\r\nCSeq: ${req.cseq}\r\nSession: ABCDEF0123\r\n\r\n`;
        await conn.send(concat([new TextEncoder().encode(head), rtpFrames([0, 1]), interleaved(1, rrBye(SCRIPTED_SSRC))]));
      },
    });
    const client = new RtspClient(server.url(), QUIET);
    closers.push(client);
    client.on('error', () => undefined);
    await client.connect();
    await client.play();
    await waitUntil(() => client.closeReason !== undefined, 3000, 'the session to end');
    expect(client.closeReason).toMatchObject({ code: 'BYE' });
    expect(client.stats().streams[0]!.rtcp.byes).toBe(1);
  });

  it('a BYE for another SSRC is not the end of this stream', async () => {
    let conn!: ScriptedConnection;
    const server = await serve({ onPlay: (c) => { conn = c; return c.send(rtpFrames([0, 1])); } });
    const { client, seqs } = await play(server.url());
    await waitUntil(() => seqs.length === 2, 3000, 'two packets');
    await conn.send(concat([interleaved(1, rrBye(0x0badf00d)), rtpFrames([2, 3, 4])]));
    await waitUntil(() => seqs.length === 5, 3000, 'the packets after the BYE');
    expect(client.closeReason).toBeUndefined();
    expect(client.stats().streams[0]!.rtcp).toMatchObject({ received: 1, byes: 0 });
  });

  it('RtspCamera starts a new session after a BYE', async () => {
    const server = await serve({ onPlay: (c) => c.send(concat([rtpFrames([0, 1, 2]), interleaved(1, rrBye(SCRIPTED_SSRC))])) });
    const camera = new RtspCamera(server.url(), { ...QUIET, initialDelayMs: 50, jitter: 0 });
    closers.push(camera);
    const reconnecting: ReconnectingEvent[] = [];
    camera.on('reconnecting', (e: ReconnectingEvent) => reconnecting.push(e));
    let reconnected = 0;
    camera.on('reconnected', () => { reconnected++; });
    await camera.start();
    await waitUntil(() => reconnected >= 1, 5000, 'the camera to come back');
    expect(reconnecting[0]!.reason).toMatchObject({ code: 'BYE' });
    expect(server.methods().filter((m) => m === 'PLAY').length).toBeGreaterThanOrEqual(2);
  });
});

describe('RTCP that does not parse', () => {
  it('is counted in rtcp.parseErrors, not as an RTP parse error, and the session plays on', async () => {
    let conn!: ScriptedConnection;
    const server = await serve({ onPlay: (c) => { conn = c; return c.send(rtpFrames([0, 1])); } });
    const { client, seqs } = await play(server.url());
    await waitUntil(() => seqs.length === 2, 3000, 'two packets');
    const garbage = [Uint8Array.of(0x00, 0x01, 0x02), Uint8Array.of(0x80, 200, 0x00, 0x10, 1, 2, 3, 4), new Uint8Array(0)];
    await conn.send(concat([...garbage.map((g) => interleaved(1, g)), rtpFrames([2, 3])]));
    await waitUntil(() => seqs.length === 4, 3000, 'the packets after the garbage');
    const s = client.stats().streams[0]!;
    expect(s.rtcp).toEqual({ received: 3, parseErrors: 3, senderReports: 0, byes: 0 });
    expect(s.dropped.parseError).toBe(0);
    expect(s.packets).toBe(4);
    expect(client.closeReason).toBeUndefined();
  });
});
