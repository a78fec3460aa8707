// Fault soak of the RTSP client: runs scripted fault scenarios against RtspClient in rounds for a given time, and
// after every scenario checks that nothing leaked. Usage:
//
//   npm run soak:faults -- --seconds 60 [--only reset,wrap] [--json]
//
// Each scenario plays against the scripted server of the tests (test/node/rtsp/scripted-server.ts, 127.0.0.1 only):
// a reset in the middle of a frame, a server that stops answering (DESCRIBE, then mid-stream with TEARDOWN unanswered),
// 454 on keep-alive, endless replies (headers without end, a body past the limits), oversized interleaved lengths,
// an SSRC change mid-stream, sequence and timestamp wrap-around, garbage between frames, and a reset in the middle of
// an access unit in frame mode (the depayloader must be freed with the client), and a malformed sprop-parameter-sets in
// frame mode with no 'error' listener, and UDP datagrams scrambled across the sequence wrap through a reorder buffer
// whose depth does not divide 65536. An exception that escapes to the process fails the scenario it happened in. A scenario survives when
// the client either fails with a typed error (WasmRtspError with a code) or keeps going, as the scenario expects, within
// its time bound; a scenario that does not finish within HANG_MS is a hang.
//
// Leaks, checked after every scenario (bounded polls, never a single sample after a sleep):
//   - the pool's slots in use when the client closed (0 unless the consumer kept packets, which these do not);
//   - the shared core's reserved bytes back to the baseline (pool, demuxer, records all freed);
//   - sockets, servers and timers: process._getActiveHandles().length back to the baseline, and (async_hooks) no
//     Timeout/TCP/UDP resource created during the scenario still alive — this also sees unref'd timers;
//   - heapUsed after gc() once per round: its trend (least squares over the rounds after the first) is reported and
//     counts as a leak only when it is large and sustained (HEAP_LEAK_BYTES_PER_ROUND over at least HEAP_MIN_ROUNDS).
// A table is printed at the end; the exit code is 1 if anything leaked, hung or did not survive, 2 on bad usage.
// --inject-leak adds a scenario that leaks on purpose (a kept packet, core memory, a timer): the run must then fail.
import { createHook } from 'node:async_hooks';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createCore } from '../src/node/core.js';
import type { Core } from '../src/core/core.js';
import { WasmRtspError } from '../src/core/errors.js';
import { RtspClient, type RtspClientOptions } from '../src/node/rtsp/client.js';
import type { RtpPacket } from '../src/core/media/packet.js';
import {
  concat, h264Sdp, interleaved, payloadBytes, rtpFrames, rtpPacket, ScriptedServer, SESSION_ID, waitUntil,
  type ScriptedConnection, type ScriptedServerOptions,
} from '../test/node/rtsp/scripted-server.js';

/** A scenario that has not finished after this long is a hang. */
const HANG_MS = 20_000;
/** How long leak checks wait for sockets and timers to be released after a scenario. */
const SETTLE_MS = 5_000;
/** Heap growth per round (after gc) that, sustained over HEAP_MIN_ROUNDS rounds, counts as a leak. */
const HEAP_LEAK_BYTES_PER_ROUND = 1024 * 1024;
const HEAP_MIN_ROUNDS = 8;
/** Pool of each client: small, so a slot that is never released shows at once. */
const POOL_LIMIT_BYTES = 1024 * 1024;
/** An endless reply must be refused before the client has read this much of it. */
const READ_BOUND_BYTES = 256 * 1024;
/** The client closes a session whose TEARDOWN is not answered after this long (TEARDOWN_TIMEOUT_MS) — plus slack. */
const CLOSE_BOUND_MS = 2_000 + 3_000;

// ---------------------------------------------------------------------------------------------------------------------
// Resource tracking

const TRACKED_TYPES = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'UDPWRAP', 'PIPEWRAP']);
const liveResources = new Map<number, string>();
/** The largest async id seen: every resource made later has a larger one. */
let maxAsyncId = 0;
createHook({
  init(asyncId, type) {
    if (asyncId > maxAsyncId) maxAsyncId = asyncId;
    if (TRACKED_TYPES.has(type)) liveResources.set(asyncId, type);
  },
  destroy(asyncId) {
    liveResources.delete(asyncId);
  },
}).enable();

function activeHandles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

/** Tracked resources made after `from` and up to `to` (async ids) that are still alive. */
function aliveBetween(from: number, to: number): string[] {
  const out: string[] = [];
  for (const [id, type] of liveResources) if (id > from && id <= to) out.push(type);
  return out;
}

/** Exceptions that escaped to the process (from a socket callback, a timer): each fails the scenario it happened in. */
const uncaught: unknown[] = [];
process.on('uncaughtException', (e) => { uncaught.push(e); });
process.on('unhandledRejection', (e) => { uncaught.push(e); });

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) { g(); g(); }
}

// ---------------------------------------------------------------------------------------------------------------------
// Scenarios

interface Outcome { survived: boolean; detail: string; poolInUse: number }

interface Session {
  server: ScriptedServer;
  client: RtspClient;
  /** Sequence numbers of the packets delivered, payload checked against the server's pattern. */
  seqs: number[];
  corrupt: number;
  errors: unknown[];
  closed: boolean;
}

type Scenario = { name: string; expect: string; run(core: Core): Promise<Outcome> };

const QUIET: RtspClientOptions = { keepAlive: false, receiverReports: false, requestTimeoutMs: 1500, poolLimitBytes: POOL_LIMIT_BYTES };

/** Starts a server and a client on the shared core; the client is not connected yet. */
async function session(core: Core, server: ScriptedServerOptions, options: RtspClientOptions = {}, errorListener = true): Promise<Session> {
  const s: Session = { server: await ScriptedServer.start(server), client: undefined as unknown as RtspClient, seqs: [], corrupt: 0, errors: [], closed: false };
  s.client = new RtspClient(s.server.url('/stream'), { ...QUIET, ...options, core });
  s.client.on('packet', (p: RtpPacket) => {
    const seq = p.header.sequenceNumber;
    s.seqs.push(seq);
    if (!sameBytes(p.payload, payloadBytes(seq, p.payload.length))) s.corrupt++;
  });
  if (errorListener) s.client.on('error', (e) => s.errors.push(e));
  s.client.on('close', () => { s.closed = true; });
  return s;
}

/** Closes the client and the server whatever happened; returns the pool's slots in use at close. */
async function finish(s: Session): Promise<number> {
  await s.client.close();
  await s.server.stop();
  return s.client.stats().pool?.inUse ?? 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => (from + i) & 0xffff);

/** The error's code when it is typed (WasmRtspError with a string code), else undefined. */
function typedCode(e: unknown): string | undefined {
  return e instanceof WasmRtspError && typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
}

/**
 * A session flooded by an endless reply: connect() must fail with PROTOCOL having read near the client's limits (16 KiB
 * of head, 32 KiB of body), not the whole flood.
 */
async function floodOutcome(s: Session) {
  const r = await failingConnect(s);
  const read = s.client.stats().connection.bytesRead;
  const ok = r.code === 'PROTOCOL' && read < READ_BOUND_BYTES;
  return { survived: ok, detail: `${r.code ?? String(r.error)} after ${r.ms.toFixed(0)} ms, ${read} octets read`, poolInUse: await finish(s) };
}

/** Runs connect() expecting it to fail; returns the failure and how long it took. */
async function failingConnect(s: Session): Promise<{ code: string | undefined; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    await s.client.connect();
    await s.client.play();
    return { code: undefined, error: undefined, ms: performance.now() - t0 };
  } catch (e) {
    return { code: typedCode(e), error: e, ms: performance.now() - t0 };
  }
}

/** Writes `line` repeatedly until `maxBytes` went out or the client hung up. */
async function flood(conn: ScriptedConnection, head: string, line: string, maxBytes: number): Promise<void> {
  await conn.send(new TextEncoder().encode(head));
  const chunk = new TextEncoder().encode(line.repeat(Math.max(1, Math.floor(4096 / line.length))));
  for (let sent = 0; sent < maxBytes && !conn.socket.destroyed; sent += chunk.length) await conn.send(chunk);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'reset-mid-frame',
    expect: 'typed CONNECTION_CLOSED, the 20 whole frames delivered intact',
    async run(core) {
      const s = await session(core, {
        onPlay: async (c) => {
          const frames = rtpFrames(range(0, 21));
          await c.send(frames.subarray(0, frames.length - 60)); // the 21st frame cut in its payload
          await c.drop();
        },
      });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.closed, 5000, 'the client to notice the reset');
        const code = typedCode(s.errors[0]);
        const ok = code === 'CONNECTION_CLOSED' && s.seqs.length === 20 && s.corrupt === 0;
        return { survived: ok, detail: `error ${code ?? String(s.errors[0])}, ${s.seqs.length} packets, ${s.corrupt} corrupt`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'stalled-describe',
    expect: 'typed TIMEOUT within requestTimeoutMs (1.5 s) + 2 s',
    async run(core) {
      const s = await session(core, { onRequest: (req, _c, next) => (req.method === 'DESCRIBE' ? undefined : next()) });
      const r = await failingConnect(s);
      const ok = r.code === 'TIMEOUT' && r.ms < 1500 + 2000;
      return { survived: ok, detail: `${r.code ?? String(r.error)} after ${r.ms.toFixed(0)} ms`, poolInUse: await finish(s) };
    },
  },
  {
    name: 'stalled-stream',
    expect: 'keeps playing through the stall; close() with TEARDOWN unanswered ends within 5 s',
    async run(core) {
      const s = await session(core, {
        onPlay: (c) => c.send(rtpFrames(range(0, 10))),
        onRequest: (req, _c, next) => (req.method === 'TEARDOWN' ? undefined : next()),
      });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.seqs.length === 10, 5000, '10 packets');
        // The server now sends nothing: the client must simply wait, not fail or spin.
        const cpu0 = process.cpuUsage();
        await new Promise((r) => setTimeout(r, 300));
        const cpuMs = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1000;
        const stillOpen = !s.closed;
        const t0 = performance.now();
        await s.client.close();
        const closeMs = performance.now() - t0;
        const ok = stillOpen && closeMs < CLOSE_BOUND_MS && s.errors.length === 0;
        return { survived: ok, detail: `open during stall: ${stillOpen}, cpu ${cpuMs.toFixed(0)} ms in 300 ms, close ${closeMs.toFixed(0)} ms`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: '454-on-keepalive',
    expect: 'typed SESSION_NOT_FOUND at the first keep-alive answered 454, the client closes; packets until then intact',
    async run(core) {
      let conn: ScriptedConnection | undefined;
      const s = await session(core, {
        onPlay: async (c) => { conn = c; await c.send(rtpFrames(range(0, 20))); },
        onRequest: (req, c, next) => (req.method === 'GET_PARAMETER' ? c.reply(req, 454) : next()),
      }, { keepAlive: true, keepAliveIntervalMs: 50 });
      try {
        const t0 = performance.now();
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.closed, 5000, 'the session to end');
        const ms = performance.now() - t0;
        const code = typedCode(s.errors[0]);
        const st = s.client.stats();
        const ok = code === 'SESSION_NOT_FOUND' && st.keepAliveFailures >= 1 && s.corrupt === 0 && conn !== undefined;
        return {
          survived: ok,
          detail: `error ${code ?? String(s.errors[0])} after ${ms.toFixed(0)} ms, keepAliveFailures ${st.keepAliveFailures}, ${s.seqs.length} packets`,
          poolInUse: await finish(s),
        };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'endless-headers',
    expect: 'typed PROTOCOL (header limit), having read < 256 KiB of the 1 MiB flood',
    async run(core) {
      const s = await session(core, {
        onRequest: (req, c, next) => (req.method === 'DESCRIBE'
          ? flood(c, `RTSP/1.0 200 OK\r\nCSeq: ${req.cseq}\r\n`, 'X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 1 << 20)
          : next()),
      });
      return floodOutcome(s);
    },
  },
  {
    name: 'endless-body',
    expect: 'typed PROTOCOL (body limit) at once, having read < 256 KiB of the 1 MiB body',
    async run(core) {
      const s = await session(core, {
        onRequest: (req, c, next) => (req.method === 'DESCRIBE'
          ? flood(c, `RTSP/1.0 200 OK\r\nCSeq: ${req.cseq}\r\nContent-Type: application/sdp\r\nContent-Length: 100000000\r\n\r\n`, 'v=0\r\n', 1 << 20)
          : next()),
      });
      return floodOutcome(s);
    },
  },
  {
    name: 'oversized-lengths',
    expect: 'keeps playing: bad frames counted as drops or garbage, later frames delivered intact',
    async run(core) {
      // A frame that announces 65535 octets but carries 200 swallows what follows: the stream resyncs after it.
      const truncated = concat([Uint8Array.of(0x24, 0, 0xff, 0xff), new Uint8Array(200).fill(0x11)]);
      const junkRtp = interleaved(0, Uint8Array.from({ length: 65535 }, (_, i) => (i === 0 ? 0x90 : i === 14 ? 0xff : i === 15 ? 0xff : i & 0xff)));
      const maxValid = interleaved(0, rtpPacket({ seq: 3000, payload: payloadBytes(3000, 65535 - 12) }));
      const s = await session(core, {
        onPlay: (c) => c.send(concat([rtpFrames(range(0, 10)), truncated, rtpFrames(range(10, 1000)), junkRtp, maxValid, rtpFrames(range(3001, 20))])),
      });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.seqs.includes(3020) || s.closed, 10_000, 'the last packet');
        const st = s.client.stats();
        const drops = Object.values(st.streams[0].dropped).reduce((a, b) => a + b, 0);
        const ok = !s.closed && s.corrupt === 0 && s.seqs.includes(3000) && s.seqs.includes(3020) && drops >= 1;
        return {
          survived: ok,
          detail: `${s.seqs.length} packets, drops ${JSON.stringify(st.streams[0].dropped)}, garbage ${st.demuxer?.garbageBytes} octets, largest delivered: ${s.seqs.includes(3000)}`,
          poolInUse: await finish(s),
        };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'ssrc-change',
    expect: 'keeps playing across the new SSRC and sequence; every packet delivered or counted',
    async run(core) {
      const s = await session(core, {
        onPlay: (c) => c.send(concat([rtpFrames(range(0, 50)), rtpFrames(range(40000, 50), { ssrc: 0x0badf00d, timestamp: 123 })])),
      });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.seqs.length === 100 || s.closed, 5000, '100 packets');
        const st = s.client.stats().streams[0];
        const drops = Object.values(st.dropped).reduce((a, b) => a + b, 0);
        const ok = !s.closed && s.seqs.length + drops === 100 && s.corrupt === 0;
        return { survived: ok, detail: `${s.seqs.length} delivered + ${drops} dropped of 100, lost ${st.lost}`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'seq-ts-wrap',
    expect: 'all 136 packets in order across the 16-bit sequence and 32-bit timestamp wrap, none lost',
    async run(core) {
      const seqs = range(65500, 136);
      const frames = concat(seqs.map((seq, i) => interleaved(0, rtpPacket({ seq, timestamp: (0xffffffff - 3000 * 60 + 3000 * i) >>> 0 }))));
      const s = await session(core, { onPlay: (c) => c.send(frames) });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.seqs.length === 136 || s.closed, 5000, '136 packets');
        const st = s.client.stats().streams[0];
        const inOrder = s.seqs.every((q, i) => q === seqs[i]);
        const ok = inOrder && s.seqs.length === 136 && st.lost === 0 && st.duplicates === 0 && st.reordered === 0 && Number.isFinite(st.jitter);
        return { survived: ok, detail: `${s.seqs.length} in order: ${inOrder}, lost ${st.lost}, reordered ${st.reordered}, highest ${st.highestSequence}`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'frames-reset-mid-unit',
    expect: 'frame mode: the 10 whole access units as frames, typed CONNECTION_CLOSED, the depayloader freed',
    async run(core) {
      // H.264 IDR slices, one packet and one access unit each (marker set); then a FU-A start with no end, and a reset.
      const au = (seq: number) => interleaved(0, rtpPacket({ seq, timestamp: seq * 3000, marker: true, payload: Uint8Array.from([0x65, ...payloadBytes(seq, 200)]) }));
      const openFu = interleaved(0, rtpPacket({ seq: 10, timestamp: 30000, payload: Uint8Array.from([0x7c, 0x85, ...payloadBytes(10, 500)]) }));
      let frames = 0;
      const s = await session(core, {
        onPlay: async (c) => {
          await c.send(concat([...range(0, 10).map(au), openFu]));
          await c.drop();
        },
      }, { frames: {} } as RtspClientOptions);
      s.client.on('frame', () => { frames++; });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.closed, 5000, 'the client to notice the reset');
        const code = typedCode(s.errors[0]);
        const ok = code === 'CONNECTION_CLOSED' && frames === 10 && s.seqs.length === 11;
        return { survived: ok, detail: `error ${code ?? String(s.errors[0])}, ${frames} frames, ${s.seqs.length} packets`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'frames-bad-sprop',
    expect: 'frame mode with a malformed sprop-parameter-sets and no error listener: no crash, frames flow',
    async run(core) {
      const idr = (seq: number) => interleaved(0, rtpPacket({ seq, timestamp: seq * 3000, marker: true, payload: Uint8Array.from([0x65, ...payloadBytes(seq, 50)]) }));
      let frames = 0;
      const s: Session = await session(core, {
        onRequest: (req, c, next) => (req.method === 'DESCRIBE'
          ? c.reply(req, 200, [['Content-Type', 'application/sdp'], ['Content-Base', s.server.url('/stream') + '/']],
            h264Sdp().replace(/sprop-parameter-sets=[^\r\n;]*/, 'sprop-parameter-sets=Z*==,aM4xsg=='))
          : next()),
        onPlay: (c) => c.send(concat(range(0, 5).map(idr))),
      }, { frames: {} } as RtspClientOptions, false);
      s.client.on('frame', () => { frames++; });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => frames === 5 || s.closed, 5000, '5 frames');
        const st = s.client.stats().streams[0] as { frames?: { badParameterSets?: number } };
        const ok = frames === 5 && !s.closed;
        return { survived: ok, detail: `${frames} frames, badParameterSets ${st.frames?.badParameterSets}`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
  {
    name: 'udp-reorder-wrap',
    expect: 'UDP, reorder depth 3: datagrams scrambled across the sequence wrap come out in order, the late one dropped and counted',
    async run(core) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      let clientPort = 0;
      const s = await session(core, {
        onRequest: (req, conn, next) => {
          if (req.method !== 'SETUP') return next();
          const m = /client_port=(\d+)-(\d+)/.exec(req.headers.get('transport') ?? '');
          clientPort = Number(m?.[1]);
          const port = socket.address().port;
          return conn.reply(req, 200, [
            ['Transport', `RTP/AVP;unicast;client_port=${m?.[1]}-${m?.[2]};server_port=${port}-${port + 1}`],
            ['Session', `${SESSION_ID};timeout=60`],
          ]);
        },
      }, { transport: 'udp', reorder: { depth: 3, latencyMs: 20 } } as RtspClientOptions);
      try {
        await s.client.connect();
        await s.client.play();
        // 65534 is late: it comes after 65535, 0 and 1 made the window move past it.
        const order = [65532, 65533, 65535, 0, 1, 65534, 3, 2, 4, 6, 5, 7];
        for (const seq of order) {
          await new Promise<void>((resolve, reject) => socket.send(rtpPacket({ seq }), clientPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
        }
        await waitUntil(() => s.seqs.length >= 11 || s.closed, 5000, '11 packets');
        const st = s.client.stats().streams[0] as { dropped: Record<string, number>; reordered: number };
        const want = [65532, 65533, 65535, 0, 1, 2, 3, 4, 5, 6, 7];
        const ok = s.seqs.join() === want.join() && s.corrupt === 0 && (st.dropped.late ?? 0) === 1;
        return { survived: ok, detail: `out ${s.seqs.join(',')}, late ${st.dropped.late}, reordered ${st.reordered}`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      } finally {
        await new Promise<void>((r) => socket.close(() => r()));
      }
    },
  },
  {
    name: 'garbage-between-frames',
    expect: 'every frame delivered intact, every garbage octet counted',
    async run(core) {
      // Octets that can start neither a frame ('$') nor an RTSP line (letters, digits): pure noise.
      let x = 12345;
      const noise = (n: number) => Uint8Array.from({ length: n }, () => {
        x = (x * 1103515245 + 12345) >>> 0;
        const b = x >>> 24;
        return b < 0x20 ? (b === 0x0a || b === 0x0d ? 0x01 : b) : 0x80 | (b & 0x7f);
      });
      let garbage = 0;
      const parts: Uint8Array[] = [];
      for (const seq of range(0, 200)) {
        const g = noise(seq % 7 === 0 ? 300 : seq % 3);
        garbage += g.length;
        parts.push(g, interleaved(0, rtpPacket({ seq })));
      }
      const s = await session(core, { onPlay: (c) => c.send(concat(parts), [17, 1000, 5000, 9999]) });
      try {
        await s.client.connect();
        await s.client.play();
        await waitUntil(() => s.seqs.length === 200 || s.closed, 5000, '200 packets');
        const st = s.client.stats();
        const ok = s.seqs.length === 200 && s.corrupt === 0 && st.demuxer?.garbageBytes === garbage;
        return { survived: ok, detail: `${s.seqs.length}/200 packets, garbage counted ${st.demuxer?.garbageBytes} of ${garbage} octets`, poolInUse: await finish(s) };
      } catch (e) {
        return { survived: false, detail: `threw ${String(e)}`, poolInUse: await finish(s) };
      }
    },
  },
];

/**
 * Leaks on purpose (--inject-leak): one packet kept and never released, 1 KiB of core memory never freed, an unref'd
 * interval never cleared. The soak must report all three and fail: the proof that its leak checks can fail.
 */
const INJECTED_LEAK: Scenario = {
  name: 'injected-leak',
  expect: 'reported as leaking the pool, wasm memory and a timer',
  async run(core) {
    const s = await session(core, { onPlay: (c) => c.send(rtpFrames(range(0, 5))) });
    let kept: unknown;
    s.client.once('packet', (p: RtpPacket) => { kept = p.retain(); });
    await s.client.connect();
    await s.client.play();
    await waitUntil(() => kept !== undefined, 5000, 'a packet to keep');
    core.alloc(1024, 'injected leak');
    setInterval(() => undefined, 60_000).unref();
    return { survived: true, detail: 'leaked on purpose', poolInUse: await finish(s) };
  },
};

// ---------------------------------------------------------------------------------------------------------------------
// The loop

interface Row {
  name: string;
  runs: number;
  survived: number;
  hung: number;
  maxMs: number;
  poolLeaks: number;
  memoryLeaks: number;
  handleLeaks: number;
  lastDetail: string;
  failures: string[];
}

function parseArgs(argv: string[]): { seconds: number; only?: string[]; json: boolean; injectLeak: boolean } {
  let seconds = 60;
  let only: string[] | undefined;
  let json = false;
  let injectLeak = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') seconds = Number(argv[++i]);
    else if (a.startsWith('--seconds=')) seconds = Number(a.slice(10));
    else if (a === '--only') only = argv[++i]?.split(',');
    else if (a === '--json') json = true;
    else if (a === '--inject-leak') injectLeak = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run soak:faults -- [--seconds N] [--only name,name] [--json] [--inject-leak]');
      process.exit(0);
    } else {
      console.error(`soak-faults: unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error('soak-faults: --seconds must be a positive number');
    process.exit(2);
  }
  return { seconds, only, json, injectLeak };
}

async function withHangGuard(p: Promise<Outcome>): Promise<Outcome | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), HANG_MS); });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Least-squares slope of ys over 0..n-1. */
function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => { num += (x - mx) * (y - my); den += (x - mx) ** 2; });
  return num / den;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const all = args.injectLeak ? [...SCENARIOS, INJECTED_LEAK] : SCENARIOS;
  const scenarios = args.only ? all.filter((s) => args.only!.some((o) => s.name.includes(o))) : all;
  if (scenarios.length === 0) {
    console.error(`soak-faults: no scenario matches ${args.only?.join(',')}; have ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  if (!(globalThis as { gc?: unknown }).gc) console.error('soak-faults: run with --expose-gc for the heap trend (npm run soak:faults does)');

  const core = await createCore({ memoryBytes: 16 << 20 });
  // Warm up once (module compile, first sockets) so the baselines are taken in a steady state.
  gc();
  const baseReserved = core.reservedBytes;
  const baseHandles = activeHandles();
  const rows = new Map<string, Row>(scenarios.map((s) => [s.name, {
    name: s.name, runs: 0, survived: 0, hung: 0, maxMs: 0, poolLeaks: 0, memoryLeaks: 0, handleLeaks: 0, lastDetail: '', failures: [],
  }]));
  const heap: number[] = [];
  const deadline = performance.now() + args.seconds * 1000;
  let rounds = 0;
  // At least one full round, then more while time remains.
  while (rounds === 0 || performance.now() < deadline) {
    rounds++;
    for (const sc of scenarios) {
      if (rounds > 1 && performance.now() >= deadline) break;
      const row = rows.get(sc.name)!;
      const mark = maxAsyncId;
      const uncaughtBefore = uncaught.length;
      const t0 = performance.now();
      let outcome: Outcome | 'hung';
      try {
        outcome = await withHangGuard(sc.run(core));
      } catch (e) {
        outcome = { survived: false, detail: `scenario threw ${String(e)}`, poolInUse: 0 };
      }
      const ms = performance.now() - t0;
      row.runs++;
      row.maxMs = Math.max(row.maxMs, ms);
      if (outcome === 'hung') {
        row.hung++;
        row.failures.push(`round ${rounds}: hung (> ${HANG_MS} ms)`);
        row.lastDetail = 'hung';
        continue; // its resources are still in use: checking them now would only repeat the hang
      }
      row.lastDetail = outcome.detail;
      if (uncaught.length > uncaughtBefore) {
        outcome.survived = false;
        row.failures.push(`round ${rounds}: uncaught ${uncaught.slice(uncaughtBefore).map((e) => String((e as Error)?.stack ?? e).split('\n').slice(0, 2).join(' ')).join('; ')}`);
      }
      if (outcome.survived) row.survived++;
      else row.failures.push(`round ${rounds}: ${outcome.detail}`);
      if (outcome.poolInUse !== 0) {
        row.poolLeaks++;
        row.failures.push(`round ${rounds}: ${outcome.poolInUse} pool slots in use at close`);
      }
      // Sockets and timers close asynchronously: wait (bounded) for them to go.
      try {
        await waitUntil(() => core.reservedBytes === baseReserved, SETTLE_MS, 'reserved bytes back to baseline');
      } catch {
        row.memoryLeaks++;
        row.failures.push(`round ${rounds}: core reserved ${core.reservedBytes} bytes, baseline ${baseReserved}`);
      }
      // Only what the scenario made counts (the polling below makes timers of its own).
      const end = maxAsyncId;
      try {
        await waitUntil(() => activeHandles() <= baseHandles && aliveBetween(mark, end).length === 0, SETTLE_MS, 'handles and timers released');
      } catch {
        row.handleLeaks++;
        row.failures.push(`round ${rounds}: ${activeHandles()} active handles (baseline ${baseHandles}), still alive: ${aliveBetween(mark, end).join(', ')}`);
      }
    }
    gc();
    heap.push(process.memoryUsage().heapUsed);
  }

  // Report.
  // The first rounds warm up (JIT, module caches, first sockets): the trend is taken over the rest.
  const warmup = heap.length < 2 ? heap.length : Math.max(1, Math.min(5, Math.floor(heap.length / 4)));
  const trendRounds = heap.slice(warmup);
  const heapSlope = slope(trendRounds);
  const heapLeak = trendRounds.length >= HEAP_MIN_ROUNDS && heapSlope > HEAP_LEAK_BYTES_PER_ROUND;
  const list = [...rows.values()];
  const bad = list.some((r) => r.hung > 0 || r.survived < r.runs || r.poolLeaks + r.memoryLeaks + r.handleLeaks > 0) || heapLeak;
  const mb = (b: number) => (b / 1048576).toFixed(1);
  if (args.json) {
    console.log(JSON.stringify({ seconds: args.seconds, rounds, scenarios: list, heap: { samples: heap, slopeBytesPerRound: heapSlope, leak: heapLeak }, ok: !bad }, null, 2));
  } else {
    const header = ['scenario', 'runs', 'survived', 'hung', 'max ms', 'pool', 'wasm mem', 'handles', 'last outcome'];
    const table = list.map((r) => [r.name, String(r.runs), String(r.survived), String(r.hung), r.maxMs.toFixed(0),
      r.poolLeaks ? `LEAK×${r.poolLeaks}` : 'ok', r.memoryLeaks ? `LEAK×${r.memoryLeaks}` : 'ok', r.handleLeaks ? `LEAK×${r.handleLeaks}` : 'ok', r.lastDetail]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (i === header.length - 1 ? 0 : row[i].length))));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    console.log(`soak:faults — ${rounds} round(s) in ${args.seconds} s, ${list.reduce((n, r) => n + r.runs, 0)} scenario runs, baseline: ${baseReserved} wasm bytes reserved, ${baseHandles} active handles`);
    console.log(line(header));
    for (const row of table) console.log(line(row));
    const samples = heap.length <= 16 ? heap.map(mb).join(' ') : `${heap.slice(0, 6).map(mb).join(' ')} … ${heap.slice(-6).map(mb).join(' ')} (min ${mb(Math.min(...heap))}, max ${mb(Math.max(...heap))})`;
    console.log(`heap after gc per round: ${samples} MB; trend ${(heapSlope / 1024).toFixed(1)} KiB/round over ${trendRounds.length} rounds after ${warmup} warm-up` +
      (trendRounds.length < HEAP_MIN_ROUNDS ? ' (too few rounds to judge)' : heapLeak ? ' — LEAK' : ' — flat'));
    for (const r of list) for (const f of r.failures.slice(0, 5)) console.log(`  ${r.name}: ${f}`);
    console.log(bad ? 'soak:faults: FAILED (see above)' : 'soak:faults: every scenario survived, nothing leaked');
  }
  return bad ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
  // Nothing of ours is left running; exit now in case a hung scenario still holds a socket.
  setTimeout(() => process.exit(code), 100).unref();
}, (e) => {
  console.error('soak-faults: crashed:', e);
  process.exit(1);
});
