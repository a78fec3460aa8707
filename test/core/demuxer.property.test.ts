// Differential property tests of the interleaved demuxer: random valid streams (frames, messages, garbage) and
// mutations of them go through the wasm demuxer in one read, in reads cut at every octet (short streams) or at random
// points (long ones), and through push(); all must report exactly the events of the plain reference
// (test/reference/demux.ts), and nothing may trap. Seeded, so a failure names the seed that reproduces it.
import { beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core, type DemuxerOptions } from '../../src/node/index.js';
import { referenceDemux, type RefEvent, type RefOptions, type RefStats } from '../reference/demux.js';

let core: Core;
beforeAll(async () => {
  core = await createCore({ debug: true });
});

/** mulberry32: a small seeded PRNG, enough to make streams reproducible from one number. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const te = new TextEncoder();
/** Octets that make garbage interesting: item starts, line ends, spaces, digits and anything. */
const PALETTE = [0x24, 0x52, 0x54, 0x53, 0x50, 0x2f, 0x41, 0x5f, 0x2d, 0x0d, 0x0a, 0x20, 0x31, 0x2e, 0x3a, 0x00, 0xff];

function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.next() < 0.5 ? r.pick(PALETTE) : r.int(256);
  return b;
}

function frame(r: Rng, channel: number, long: boolean): Uint8Array {
  const roll = r.next();
  const n = long && roll < 0.02 ? 65535 : roll < 0.1 ? 0 : roll < 0.8 ? r.int(64) : r.int(long ? 3000 : 300);
  const b = new Uint8Array(4 + n);
  b[0] = 0x24; b[1] = channel; b[2] = n >> 8; b[3] = n & 0xff;
  b.set(randomBytes(r, n), 4);
  if (n >= 12 && r.next() < 0.7) { b[4] = 0x80 | (r.next() < 0.2 ? 0x20 : 0); b[5] = 96; } // mostly valid RTP
  return b;
}

function message(r: Rng): Uint8Array {
  const eol = (): string => (r.next() < 0.7 ? '\r\n' : '\n');
  const method = r.pick(['GET_PARAMETER', 'SET_PARAMETER', 'ANNOUNCE', 'OPTIONS', 'REDIRECT', 'PLAY_NOTIFY', 'X-VENDOR', 'TEARDOWN']);
  let text = r.next() < 0.6
    ? `RTSP/${r.pick(['1.0', '2.0'])} ${r.pick(['200 OK', '401 Unauthorized', '454 Session Not Found', '200'])}${eol()}`
    : `${method} ${r.pick(['rtsp://cam/stream', '*', 'rtsp://10.0.0.1:554/a/b?c=d'])} RTSP/1.0${eol()}`;
  const headers = r.int(4);
  for (let i = 0; i < headers; i++) text += `${r.pick(['CSeq: 3', 'Session: 12345;timeout=60', 'X-Odd:', 'Content-Type: text/parameters', 'Public: OPTIONS'])}${eol()}`;
  let body = 0;
  if (r.next() < 0.5) {
    body = r.next() < 0.8 ? r.int(80) : r.int(2000);
    const name = r.pick(['Content-Length', 'content-length', 'CONTENT-LENGTH', 'Content-length']);
    text += `${name}${r.pick(['', ' ', '\t'])}:${r.pick(['', ' ', ' \t'])}${r.next() < 0.1 ? '0' : ''}${body}${r.pick(['', '', ' '])}${eol()}`;
  }
  text += eol();
  const head = te.encode(text);
  const out = new Uint8Array(head.length + body);
  out.set(head);
  out.set(randomBytes(r, body), head.length);
  return out;
}

interface StreamCase { bytes: Uint8Array; options: DemuxerOptions; ref: RefOptions }

function randomStream(r: Rng, items: number, long: boolean): StreamCase {
  // Listing channels makes them the accepted ones (a '$' on another is garbage); sometimes no list: all accepted.
  const listed = r.next() < 0.5;
  const rtpOn = r.next() < 0.7;
  const channels = listed ? [{ channel: 0, rtp: rtpOn }, { channel: 1 }, { channel: 2 }] : [];
  const options: DemuxerOptions = {
    maxHeaderBytes: r.pick([16, 40, 90, 300, 16384]),
    maxBodyBytes: r.pick([0, 20, 100, 65536]),
    maxEvents: r.pick([1, 2, 3, 256]),
    channels,
  };
  const parts: Uint8Array[] = [];
  for (let i = 0; i < items; i++) {
    const k = r.next();
    if (k < 0.55) parts.push(frame(r, r.next() < 0.9 ? r.int(4) : r.int(256), long));
    else if (k < 0.85) parts.push(message(r));
    else parts.push(randomBytes(r, 1 + r.int(8)));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  const ref: RefOptions = {
    maxHeaderBytes: options.maxHeaderBytes!,
    maxBodyBytes: options.maxBodyBytes!,
    accept: channels.map((c) => c.channel),
    rtp: channels.filter((c) => c.rtp).map((c) => c.channel),
  };
  return { bytes, options, ref };
}

function mutate(r: Rng, src: Uint8Array): Uint8Array {
  let b = Array.from(src);
  const count = 1 + r.int(6);
  for (let m = 0; m < count && b.length > 0; m++) {
    const at = r.int(b.length);
    switch (r.int(6)) {
      case 0: b[at] ^= 1 << r.int(8); break;
      case 1: b[at] = r.pick(PALETTE); break;
      case 2: b.splice(at, 0, ...randomBytes(r, 1 + r.int(4))); break;
      case 3: b.splice(at, 1 + r.int(4)); break;
      case 4: { const len = 1 + r.int(16); b.splice(r.int(b.length), 0, ...b.slice(at, at + len)); break; }
      default: b = b.slice(0, at); break;
    }
  }
  return Uint8Array.from(b);
}

interface Result { events: RefEvent[]; consumed: number; stats: RefStats }
const KINDS = ['', 'frame', 'message', 'error'] as const;

/** The wasm demuxer over `bytes` placed in its memory, reading up to each cut in turn; offsets made absolute. */
function runWasm(c: StreamCase, cuts: number[] = [], bytes = c.bytes): Result {
  const d = core.createDemuxer(c.options);
  const buf = core.alloc(Math.max(1, bytes.length));
  core.u8.set(bytes, buf);
  const events: RefEvent[] = [];
  let consumed = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      for (let guard = 0; guard <= bytes.length + 1; guard++) {
        const n = d.scan(buf + consumed, end - consumed);
        for (let i = 0; i < n; i++) {
          events.push({ kind: KINDS[d.kind(i)] as RefEvent['kind'], channel: d.channel(i), status: d.status(i), start: d.start(i) + consumed, length: d.length(i), body: d.body(i) });
        }
        consumed += d.consumed;
        if (n < d.maxEvents) break;
      }
    }
    return { events, consumed, stats: d.stats() };
  } finally {
    core.free(buf);
    d.destroy();
  }
}

function runReference(c: StreamCase, bytes = c.bytes): Result {
  const scratch = core.scratchPtr;
  return referenceDemux(bytes, {
    ...c.ref,
    // The RTP header itself is rtp_parse's business (tested on its own): the reference asks it for the status.
    rtpStatus: (start, length) => {
      core.u8.set(bytes.subarray(start, start + length), scratch);
      return core.exports.rtp_parse(scratch, length, core.recordPtr);
    },
  });
}

/** push() over random chunk sizes; events as (kind, absolute start, lengths, the bytes' sum as a cheap content check). */
function runPush(r: Rng, c: StreamCase, bytes = c.bytes) {
  const d = core.createDemuxer(c.options);
  const out: string[] = [];
  let at = 0;
  let streamAt = 0;
  const sum = (v: Uint8Array): number => v.reduce((s, x) => (s * 31 + x) >>> 0, 7);
  try {
    while (at < bytes.length) {
      const size = 1 + r.int(r.next() < 0.5 ? 16 : 5000);
      d.push(bytes.subarray(at, at + size), (e) => {
        if (e.kind === 'frame') {
          out.push(`f ${e.channel} ${e.data.length} ${sum(e.data)} ${e.status}`);
        } else if (e.kind === 'message') {
          out.push(`m ${e.headerLength} ${e.bodyLength} ${sum(e.data)}`);
        } else {
          out.push(`e ${e.error.code} ${e.error.context.streamOffset}`);
        }
      });
      at += size;
      streamAt = d.stats().bytes;
    }
    return { out, consumed: streamAt, stats: d.stats() };
  } finally {
    d.destroy();
  }
}

function describeRef(bytes: Uint8Array, res: Result): string[] {
  const sum = (v: Uint8Array): number => v.reduce((s, x) => (s * 31 + x) >>> 0, 7);
  const names: Record<number, string> = { [-30]: 'DEMUX_HEADER_TOO_LARGE', [-31]: 'DEMUX_BODY_TOO_LARGE', [-32]: 'DEMUX_BAD_CONTENT_LENGTH' };
  return res.events.map((e) =>
    e.kind === 'frame' ? `f ${e.channel} ${e.length} ${sum(bytes.subarray(e.start, e.start + e.length))} ${e.status}`
      : e.kind === 'message' ? `m ${e.length} ${e.body} ${sum(bytes.subarray(e.start, e.start + e.length + e.body))}`
        : `e ${names[e.status]} ${e.start}`);
}

/** What the streams exercised, so a generator that silently stopped producing some case fails the run. */
const seen = new Map<string, number>();
function tally(res: Result): void {
  for (const e of res.events) {
    const key = e.kind === 'message' ? (e.body > 0 ? 'message+body' : 'message') : `${e.kind} ${e.status}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  if (res.stats.garbageBytes > 0) seen.set('garbage', (seen.get('garbage') ?? 0) + 1);
}

function check(seed: number, c: StreamCase, r: Rng, allCuts: boolean, bytes = c.bytes): void {
  const ref = runReference(c, bytes);
  tally(ref);
  const one = runWasm(c, [], bytes);
  expect(one, `seed ${seed}: one read vs reference`).toEqual(ref);
  if (allCuts) {
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = runWasm(c, [cut], bytes);
      if (split.events.length !== ref.events.length || JSON.stringify(split) !== JSON.stringify(ref)) {
        expect(split, `seed ${seed}: cut at ${cut}`).toEqual(ref);
      }
    }
    const bytewise = runWasm(c, Array.from({ length: bytes.length }, (_, i) => i), bytes);
    expect(bytewise, `seed ${seed}: one octet per read`).toEqual(ref);
  } else {
    const cuts = Array.from({ length: 1 + r.int(40) }, () => r.int(bytes.length + 1)).sort((a, b) => a - b);
    expect(runWasm(c, cuts, bytes), `seed ${seed}: cuts ${cuts.join(',')}`).toEqual(ref);
  }
  const pushed = runPush(r, c, bytes);
  expect(pushed.out, `seed ${seed}: push`).toEqual(describeRef(bytes, ref));
  expect(pushed.stats, `seed ${seed}: push stats`).toEqual(ref.stats);
}

describe('demuxer: differential properties', () => {
  it('short random streams: every split point demuxes like one read and like the reference', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = prng(seed);
      const c = randomStream(r, 1 + r.int(5), false);
      if (c.bytes.length > 400) continue; // short ones here; long ones below
      check(seed, c, r, true);
    }
  });

  it('long random streams cut at random points demux like one read and like the reference', () => {
    for (let seed = 1000; seed < 1080; seed++) {
      const r = prng(seed);
      const c = randomStream(r, 20 + r.int(200), true);
      check(seed, c, r, false);
    }
  });

  it('mutated streams: wasm and reference agree, split or not, and nothing traps', () => {
    for (let seed = 5000; seed < 5400; seed++) {
      const r = prng(seed);
      const c = randomStream(r, 1 + r.int(12), false);
      const bytes = mutate(r, c.bytes);
      check(seed, c, r, bytes.length < 160, bytes);
    }
  });

  it('pure noise from the tricky palette: wasm and reference agree, nothing traps', () => {
    for (let seed = 9000; seed < 9200; seed++) {
      const r = prng(seed);
      const c = randomStream(r, 0, false);
      const bytes = randomBytes(r, 1 + r.int(600));
      check(seed, c, r, bytes.length < 120, bytes);
    }
  });

  it('the streams above exercised every kind of event', () => {
    const keys = ['frame 1', 'frame 0', 'frame -11', 'message', 'message+body', 'error -30', 'error -31', 'error -32', 'garbage'];
    for (const k of keys) expect(seen.get(k) ?? 0, `${k} in ${JSON.stringify([...seen])}`).toBeGreaterThan(3);
  });
});
