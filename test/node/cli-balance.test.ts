// "received = pushed + dropped" in every --json summary of the command (issue 15 item 10), checked against the truth:
// what a scripted server actually sent. A property test draws fault scenarios — garbage RTCP, duplicated packets,
// packets that are not RTP (version 1), large packets, an access unit past maxFrameBytes, frames on a channel no
// stream uses — sends them over interleaved TCP (nothing is lost on the way), runs the built CLI (dist/) with --json
// and checks, per stream:
//   - every counter is a whole number ≥ 0 and received = pushed + Σ dropped;
//   - --rtp (packets): received = the RTP packets the server sent on the stream's channel, every one of them (before
//     RTCP parse failures had their own counter, garbage RTCP showed up as RTP parse errors and broke this);
//   - frames (default): received = the access units the server sent that reached the depayloader (a unit whose only
//     packet is not RTP never does), and packets + Σ packetDrops = the RTP packets sent.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { concat, interleaved, rtpPacket, ScriptedServer } from './rtsp/scripted-server.js';

const CLI = fileURLToPath(new URL('../../dist/node/cli/index.js', import.meta.url));
const SEED = Number(process.env.BALANCE_PROPERTY_SEED ?? 0x0ba1a) | 0;
const RUNS = 4;
/** The CLI's default maxFrameBytes for H.264 (src/core/depay.ts DEFAULT_MAX_VIDEO_FRAME_BYTES). */
const MAX_FRAME_BYTES = 1 << 20;
const FU_CHUNK = 60_000;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
});

const servers: ScriptedServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** One thing the server does after PLAY. */
type Fault =
  | { kind: 'unit'; size: number } //          an IDR access unit in one packet (marker set)
  | { kind: 'duplicate' } //                    the last RTP packet again
  | { kind: 'notRtp' } //                       a packet with RTP version 1: a unit that never reaches the depayloader
  | { kind: 'garbageRtcp'; bytes: Uint8Array } // on the RTCP channel
  | { kind: 'large' } //                        a 60 000-octet IDR in one packet
  | { kind: 'tooLarge' } //                     an FU-A IDR past maxFrameBytes, ended with its marker
  | { kind: 'foreignChannel' }; //              an interleaved frame on a channel no stream uses

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 1400 }).map((size): Fault => ({ kind: 'unit', size })) },
  { weight: 2, arbitrary: fc.constant<Fault>({ kind: 'duplicate' }) },
  { weight: 2, arbitrary: fc.constant<Fault>({ kind: 'notRtp' }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes): Fault => ({ kind: 'garbageRtcp', bytes })) },
  { weight: 1, arbitrary: fc.constant<Fault>({ kind: 'large' }) },
  { weight: 1, arbitrary: fc.constant<Fault>({ kind: 'foreignChannel' }) },
);

/** A scenario: faults in order, at most one unit past maxFrameBytes (1 MiB of packets each), inserted at `at`. */
const scenarioArb = fc.record({
  faults: fc.array(faultArb, { minLength: 1, maxLength: 40 }),
  tooLargeAt: fc.option(fc.nat(), { nil: undefined }),
}).map(({ faults, tooLargeAt }) => {
  const out = [...faults];
  if (tooLargeAt !== undefined) out.splice(tooLargeAt % (out.length + 1), 0, { kind: 'tooLarge' });
  return out;
});

const idr = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  out[0] = 0x65;
  for (let i = 1; i < n; i++) out[i] = ((i * 7) % 250) + 1;
  return out;
};

/** The bytes the server sends, and what it sent: RTP packets on channel 0, and units that reach the depayloader. */
function materialize(faults: readonly Fault[]): { bytes: Uint8Array; rtpPackets: number; units: number } {
  const parts: Uint8Array[] = [];
  let seq = 0;
  let ts = 0;
  let last: Uint8Array | undefined;
  let rtpPackets = 0;
  let units = 0;
  const rtp = (p: Uint8Array) => {
    parts.push(interleaved(0, p));
    rtpPackets++;
  };
  for (const f of faults) {
    switch (f.kind) {
      case 'unit':
      case 'large':
        last = rtpPacket({ seq: seq++, timestamp: ts, marker: true, payload: idr(f.kind === 'large' ? 60_000 : f.size) });
        rtp(last);
        ts += 3000;
        units++;
        break;
      case 'duplicate':
        if (last) rtp(last);
        break;
      case 'notRtp':
        rtp(rtpPacket({ seq: seq++, timestamp: ts, marker: true, version: 1, payload: idr(50) }));
        ts += 3000;
        break;
      case 'garbageRtcp':
        parts.push(interleaved(1, f.bytes));
        break;
      case 'foreignChannel':
        parts.push(interleaved(9, idr(30)));
        break;
      case 'tooLarge': {
        const n = Math.ceil((MAX_FRAME_BYTES + FU_CHUNK) / FU_CHUNK);
        for (let i = 0; i < n; i++) {
          const header = [0x7c, (i === 0 ? 0x80 : 0) | (i === n - 1 ? 0x40 : 0) | 5];
          const payload = new Uint8Array(2 + FU_CHUNK);
          payload.set(header);
          payload.fill(0x11, 2);
          last = rtpPacket({ seq: seq++, timestamp: ts, marker: i === n - 1, payload });
          rtp(last);
        }
        ts += 3000;
        units++;
        break;
      }
    }
  }
  return { bytes: concat(parts), rtpPackets, units };
}

interface StreamSummary {
  input: 'frames' | 'packets';
  packets: number;
  received: number;
  pushed: number;
  dropped: Record<string, number>;
  packetDrops?: Record<string, number>;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

/** Plays the scenario through the CLI in one mode and checks the balance; returns the stream's summary. */
async function check(faults: readonly Fault[], mode: 'frames' | 'rtp'): Promise<StreamSummary> {
  const sent = materialize(faults);
  const server = await ScriptedServer.start({ onPlay: (conn) => conn.send(sent.bytes) });
  servers.push(server);
  const args = [server.url(), '--duration', '1.5', '--json', '--pipeline', 'fakesink name=sink0', ...(mode === 'rtp' ? ['--rtp'] : [])];
  const r = await runCli(args);
  await server.stop();
  servers.splice(servers.indexOf(server), 1);
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as { exitCode: number; streams: StreamSummary[] };
  expect(summary.streams).toHaveLength(1);
  const s = summary.streams[0]!;
  const counters = [s.packets, s.received, s.pushed, ...Object.values(s.dropped), ...Object.values(s.packetDrops ?? {})];
  for (const n of counters) expect(Number.isInteger(n) && n >= 0, `counter ${n}`).toBe(true);
  const context = JSON.stringify({ mode, sent: { rtpPackets: sent.rtpPackets, units: sent.units }, stream: s });
  expect(s.received, context).toBe(s.pushed + sum(s.dropped));
  if (mode === 'rtp') {
    expect(s.input).toBe('packets');
    expect(s.received, context).toBe(sent.rtpPackets);
  } else {
    expect(s.input).toBe('frames');
    expect(s.received, context).toBe(sent.units);
    expect(s.packets + sum(s.packetDrops!), context).toBe(sent.rtpPackets);
  }
  return s;
}

describe('--json summary balance over fault scenarios', () => {
  it('every fault at once: garbage RTCP is not an RTP drop, a unit past maxFrameBytes is one tooLarge', async () => {
    const faults: Fault[] = [
      { kind: 'unit', size: 100 }, { kind: 'garbageRtcp', bytes: Uint8Array.of(1, 2, 3) }, { kind: 'duplicate' },
      { kind: 'garbageRtcp', bytes: new Uint8Array(0) }, { kind: 'notRtp' }, { kind: 'unit', size: 200 },
      { kind: 'large' }, { kind: 'foreignChannel' }, { kind: 'tooLarge' }, { kind: 'unit', size: 300 },
      { kind: 'garbageRtcp', bytes: Uint8Array.of(0x80, 200, 0, 9) }, { kind: 'duplicate' }, { kind: 'unit', size: 50 },
    ];
    const frames = await check(faults, 'frames');
    expect(frames.dropped).toMatchObject({ tooLarge: 1 });
    expect(frames.packetDrops).toMatchObject({ parseError: 1, duplicate: 2 });
    const packets = await check(faults, 'rtp');
    expect(packets.dropped).toMatchObject({ parseError: 1, duplicate: 2 });
  }, 120_000);

  it('holds for random scenarios, in frame mode and with --rtp', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, async (faults) => {
      await check(faults, 'frames');
      await check(faults, 'rtp');
    }), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  }, 300_000);
});
