// The UDP reorder buffer (reorder.ts) end to end: the scripted server answers SETUP with a UDP transport and sends
// real datagrams from 127.0.0.1 to the client's RTP port in a scrambled order; the client must hand packets on in
// sequence order, count late, lost, duplicate and reordered packets, hold packets only in their pool slots, and give
// every slot back.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { RtspClient, type RtpPacket, type RtspClientOptions } from '../../../src/node/index.js';
import { ReorderBuffer } from '../../../src/core/media/reorder.js';
import { payloadBytes, rtpPacket, ScriptedServer, SESSION_ID, waitUntil } from './scripted-server.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface UdpSetup {
  server: ScriptedServer;
  /** Sends RTP datagrams with these sequence numbers, in this order, to the client's RTP port. */
  send(seqs: readonly number[]): Promise<void>;
}

/** A scripted server whose SETUP accepts UDP; datagrams leave from a socket of its own on 127.0.0.1. */
async function udpServer(): Promise<UdpSetup> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => socket.close());
  let clientPort = 0;
  const server = await ScriptedServer.start({
    onRequest: async (req, conn, next) => {
      if (req.method !== 'SETUP') return next();
      const m = /client_port=(\d+)-(\d+)/.exec(req.headers.get('transport') ?? '')!;
      clientPort = Number(m[1]);
      const port = socket.address().port;
      return conn.reply(req, 200, [
        ['Transport', `RTP/AVP;unicast;client_port=${m[1]}-${m[2]};server_port=${port}-${port + 1}`],
        ['Session', `${SESSION_ID};timeout=60`],
      ]);
    },
  });
  cleanups.push(() => server.stop());
  const send = async (seqs: readonly number[]) => {
    for (const seq of seqs) {
      await new Promise<void>((resolve, reject) => socket.send(rtpPacket({ seq }), clientPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    }
  };
  return { server, send };
}

async function play(options: RtspClientOptions) {
  const setup = await udpServer();
  const client = new RtspClient(setup.server.url(), { transport: 'udp', keepAlive: false, receiverReports: false, udpTimeoutMs: 0, ...options });
  cleanups.push(() => client.close());
  const seen: number[] = [];
  const corrupt: number[] = [];
  client.on('packet', (p: RtpPacket) => {
    seen.push(p.header.sequenceNumber);
    const expected = payloadBytes(p.header.sequenceNumber, 100);
    if (p.payload.length !== 100 || p.payload.some((b, i) => b !== expected[i])) corrupt.push(p.header.sequenceNumber);
  });
  await client.connect();
  await client.play();
  return { ...setup, client, seen, corrupt, stream: () => client.stats().streams[0]! };
}

describe('UDP reorder buffer', () => {
  it('hands packets on in sequence order when they arrive scrambled within its depth (default on for UDP)', async () => {
    const { send, seen, corrupt, stream, client } = await play({});
    const order = [0, 2, 1, 3, 6, 5, 4, 7, 9, 8, 10];
    await send(order);
    await waitUntil(() => seen.length === order.length, 5000, 'every packet');
    expect(seen).toEqual([...order].sort((a, b) => a - b));
    expect(corrupt).toEqual([]);
    // 2, 6, 5 and 9 waited in the buffer for the ones before them.
    expect(stream()).toMatchObject({ packets: 11, lost: 0, reordered: 4, duplicates: 0 });
    expect(stream().dropped).toMatchObject({ late: 0, duplicate: 0 });
    expect(client.stats().pool!.inUse).toBe(1); // the RTSP connection's read slot: nothing held
  });

  it('gives up on a missing packet after latencyMs (lost), then drops it as late when it comes', async () => {
    const { send, seen, stream, client } = await play({ reorder: { depth: 8, latencyMs: 100 } });
    await send([10, 11, 13, 14]);
    await waitUntil(() => seen.length === 4, 5000, 'the packets after the gap');
    expect(seen).toEqual([10, 11, 13, 14]);
    expect(stream()).toMatchObject({ lost: 1, reordered: 2 });
    await send([12, 15]);
    await waitUntil(() => seen.length === 5, 5000, 'the next packet');
    expect(seen).toEqual([10, 11, 13, 14, 15]);
    expect(stream()).toMatchObject({ packets: 5, lost: 1 });
    expect(stream().dropped.late).toBe(1);
    expect(client.stats().pool!.inUse).toBe(1); // the RTSP connection's read slot: nothing held
  });

  it('moves on at once when a gap is wider than its depth, and drops duplicates of held packets', async () => {
    const { send, seen, stream } = await play({ reorder: { depth: 4, latencyMs: 10_000 } });
    await send([0, 2, 2, 20, 21, 22]);
    // 2 was held; 20 lies beyond a 4-deep window: 1 is given up on, 2 goes out, 3…19 are lost, 20… follow at once.
    await waitUntil(() => seen.length === 5, 5000, 'the packets');
    expect(seen).toEqual([0, 2, 20, 21, 22]);
    expect(stream()).toMatchObject({ lost: 18 });
    expect(stream().dropped.duplicate).toBe(1);
  });

  it('holds packets in their pool slots only (counted in the pool), and gives them back on close', async () => {
    const { send, seen, client } = await play({ reorder: { depth: 16, latencyMs: 60_000 } });
    await send([0, 2, 3, 4]);
    // Three held, plus the RTSP connection's read slot.
    await waitUntil(() => seen.length === 1 && client.stats().pool!.inUse === 4, 5000, 'three packets held');
    await client.close();
    expect(client.stats().pool!.inUse).toBe(0);
    expect(seen).toEqual([0]);
  });

  it('is off with reorder: false: arrival order, reordering counted by the statistics', async () => {
    const { send, seen, stream } = await play({ reorder: false });
    await send([0, 2, 1, 3]);
    await waitUntil(() => seen.length === 4, 5000, 'every packet');
    expect(seen).toEqual([0, 2, 1, 3]);
    expect(stream()).toMatchObject({ lost: 0, reordered: 1 });
  });

  it('regression (fuzz): a depth that does not divide 65536 keeps every packet across the sequence wrap', () => {
    // Slots were seq % depth: with depth 3, 65535 and 0 shared slot 0, so 0 overwrote the held 65535 (its pool slot
    // never released) and `held` counted a packet no slot had: skipping to it (a wide gap, a last expire) never ended.
    const out: number[] = [];
    const buf = new ReorderBuffer({ depth: 3, latencyMs: 10 }, { emit: (h) => out.push(h), discard: () => expect.unreachable(), schedule: () => undefined });
    buf.passed(65533);
    buf.push(65535, 1, 0, 0, 0);
    buf.push(0, 2, 0, 0, 0);
    buf.push(65534, 3, 0, 0, 0);
    expect(out).toEqual([3, 1, 2]);
    expect(buf.held).toBe(0);
    buf.push(100, 4, 0, 0, 0); // a gap wider than the depth: moves on at once
    expect(out).toEqual([3, 1, 2, 4]);
  });

  it('refuses a bad udpReceiveBufferBytes with BAD_OPTION naming it', () => {
    for (const udpReceiveBufferBytes of [-1, Number.NaN, Infinity]) {
      expect(() => new RtspClient('rtsp://127.0.0.1/x', { udpReceiveBufferBytes }))
        .toThrowError(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringContaining('udpReceiveBufferBytes') }));
    }
  });

  it('plays with a small udpReceiveBufferBytes too', async () => {
    const { send, seen } = await play({ udpReceiveBufferBytes: 64 * 1024 });
    await send([0, 1, 2]);
    await waitUntil(() => seen.length === 3, 5000, 'three packets');
  });

  it('refuses a bad reorder option with BAD_OPTION', () => {
    for (const reorder of [{ depth: 0 }, { depth: 1.5 }, { depth: 5000 }, { latencyMs: -1 }]) {
      expect(() => new RtspClient('rtsp://127.0.0.1/x', { reorder })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
    }
  });
});
