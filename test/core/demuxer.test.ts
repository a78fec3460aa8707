// Interleaved RTSP/RTP demuxer (assembly/demux.ts, src/core/demuxer.ts): table-driven cases over byte literals,
// limits, early stop, RTP parsing of flagged channels, bounded buffering and the host API's lifecycle.
import { beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core, DemuxError, InterleavedDemuxer, type DemuxEvent, type DemuxerOptions } from '../../src/node/index.js';
import { RTP_SEQUENCE, RTP_SSRC, RTP_PAYLOAD_OFFSET, RTP_PAYLOAD_LENGTH } from '../../src/core/layout.js';
import { Status } from '../../src/core/status.js';
import { referenceDemux, type RefEvent } from '../reference/demux.js';

let core: Core;
beforeAll(async () => {
  core = await createCore({ debug: true });
});

const te = new TextEncoder();
const ascii = (s: string): Uint8Array => te.encode(s);
function cat(...parts: Array<Uint8Array | string | number[]>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? ascii(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) { out.set(a, at); at += a.length; }
  return out;
}
/** '$', channel, u16 BE length, payload. */
function frame(channel: number, payload: Uint8Array | number[]): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  return cat([0x24, channel, p.length >> 8, p.length & 0xff], p);
}
/** A minimal valid RTP packet: V=2, PT 96, the given sequence number, SSRC 0x01020304, `payload` octets. */
function rtp(seq: number, payload = 4): Uint8Array {
  const b = new Uint8Array(12 + payload);
  b[0] = 0x80; b[1] = 96; b[2] = seq >> 8; b[3] = seq & 0xff;
  b.set([0, 0, 0x10, 0], 4); b.set([1, 2, 3, 4], 8);
  return b;
}

interface Ev { kind: string; channel: number; status: number; start: number; length: number; body: number }
const KINDS = ['', 'frame', 'message', 'error'];

/** Runs `bytes` through a fresh demuxer with the low-level API, reading up to each cut in turn (absolute offsets). */
function run(bytes: Uint8Array, options: DemuxerOptions = {}, cuts: number[] = []) {
  const d = core.createDemuxer(options);
  const buf = core.alloc(Math.max(1, bytes.length));
  core.u8.set(bytes, buf);
  const events: Ev[] = [];
  const records: number[] = [];
  let consumed = 0;
  for (const end of [...cuts, bytes.length]) {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const n = d.scan(buf + consumed, end - consumed);
      for (let i = 0; i < n; i++) {
        events.push({ kind: KINDS[d.kind(i)], channel: d.channel(i), status: d.status(i), start: d.start(i) + consumed, length: d.length(i), body: d.body(i) });
        records.push(d.recordPtr(i));
      }
      consumed += d.consumed;
      if (n < d.maxEvents) break;
    }
  }
  const stats = d.stats();
  core.free(buf);
  d.destroy();
  return { events, consumed, stats, records };
}

const frameEv = (channel: number, start: number, length: number, status = 1): Ev => ({ kind: 'frame', channel, status, start, length, body: 0 });
const msgEv = (start: number, length: number, body = 0): Ev => ({ kind: 'message', channel: 0, status: 0, start, length, body });
const errEv = (status: number, start: number, length: number, body = 0): Ev => ({ kind: 'error', channel: 0, status, start, length, body });

const OPTIONS_REPLY = 'RTSP/1.0 200 OK\r\nCSeq: 2\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n';
const SDP = 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\n';
const DESCRIBE_REPLY = `RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`;
const DESCRIBE_HEADER = DESCRIBE_REPLY.length - SDP.length;

interface Case {
  name: string;
  bytes: Uint8Array;
  options?: DemuxerOptions;
  events: Ev[];
  consumed?: number;
  garbage?: number;
  resyncs?: number;
}

const f0 = frame(0, [1, 2, 3]);
const cases: Case[] = [
  {
    name: 'frames on several channels',
    bytes: cat(frame(0, [1, 2, 3]), frame(1, [4]), frame(2, [5, 6]), frame(255, [7])),
    events: [frameEv(0, 4, 3), frameEv(1, 11, 1), frameEv(2, 16, 2), frameEv(255, 22, 1)],
    garbage: 0,
  },
  { name: 'zero-length frame', bytes: cat(frame(3, []), f0), events: [frameEv(3, 4, 0), frameEv(0, 8, 3)] },
  { name: '65535-octet frame', bytes: frame(7, new Uint8Array(65535).fill(0xab)), events: [frameEv(7, 4, 65535)] },
  { name: 'response without body', bytes: ascii(OPTIONS_REPLY), events: [msgEv(0, OPTIONS_REPLY.length)] },
  { name: 'response with body', bytes: ascii(DESCRIBE_REPLY), events: [msgEv(0, DESCRIBE_HEADER, SDP.length)] },
  (() => {
    const msgs = [
      'GET_PARAMETER rtsp://cam/stream RTSP/1.0\r\nCSeq: 9\r\n\r\n',
      'ANNOUNCE rtsp://cam/stream RTSP/2.0\r\nContent-Length: 4\r\n\r\nv=0\n',
      'SET_PARAMETER * RTSP/1.0\r\nContent-Length:2\r\n\r\nab',
      'OPTIONS * RTSP/1.0\r\n\r\n',
      'REDIRECT rtsp://other/ RTSP/1.0\r\nLocation: rtsp://other/\r\n\r\n',
    ];
    const bodies = [0, 4, 2, 0, 0];
    const events: Ev[] = [frameEv(0, 4, 3)];
    let at = 7;
    msgs.forEach((m, i) => { events.push(msgEv(at, m.length - bodies[i], bodies[i])); at += m.length; });
    events.push(frameEv(0, at + 4, 3));
    return { name: 'requests from the server between frames', bytes: cat(f0, ...msgs, f0), events, garbage: 0 };
  })(),
  {
    name: 'lowercase content-length with spaces and tabs around the colon and after the number',
    bytes: ascii('RTSP/1.0 200 OK\r\ncontent-length \t:\t 3 \t\r\n\r\nxyz'),
    events: [msgEv(0, 'RTSP/1.0 200 OK\r\ncontent-length \t:\t 3 \t\r\n\r\n'.length, 3)],
  },
  { name: 'bare LF line ends', bytes: ascii('RTSP/1.0 200 OK\nCSeq: 1\nContent-Length: 2\n\nok'), events: [msgEv(0, 'RTSP/1.0 200 OK\nCSeq: 1\nContent-Length: 2\n\n'.length, 2)] },
  { name: 'bare LF request line', bytes: ascii('OPTIONS * RTSP/1.0\nCSeq: 1\n\n'), events: [msgEv(0, 28)] },
  { name: 'CRLF line ends ending in LF CR LF', bytes: ascii('RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'), events: [msgEv(0, 28)] },
  { name: 'mixed line ends: CRLF header, bare LF empty line', bytes: ascii('RTSP/1.0 200 OK\r\nCSeq: 1\r\n\n'), events: [msgEv(0, 27)] },
  { name: 'message with no headers', bytes: ascii('RTSP/1.0 200 OK\r\n\r\n'), events: [msgEv(0, 19)] },
  {
    name: 'garbage before and between items: octets counted, each run once',
    bytes: cat([0x00, 0xff, 0x10], f0, 'xyz', f0, [0x0d, 0x0a], ascii(OPTIONS_REPLY)),
    events: [frameEv(0, 7, 3), frameEv(0, 17, 3), msgEv(22, OPTIONS_REPLY.length)],
    garbage: 3 + 3 + 2,
    resyncs: 3,
  },
  {
    name: 'an uppercase word that is not a start line is garbage octet by octet',
    bytes: cat('HELLO\r\n', f0),
    events: [frameEv(0, 11, 3)],
    garbage: 7,
    resyncs: 1,
  },
  {
    name: "'$' on an unaccepted channel is garbage",
    bytes: cat(frame(5, [9, 9]), f0),
    options: { channels: [{ channel: 0 }, { channel: 1 }] },
    // '$' (channel 5) is skipped; its "channel" octet 5, then 0x00, 0x02, 9, 9 cannot start anything either.
    events: [frameEv(0, 10, 3)],
    garbage: 6,
    resyncs: 1,
  },
  {
    name: 'with no channel set every channel is accepted',
    bytes: frame(5, [9, 9]),
    events: [frameEv(5, 4, 2)],
  },
  {
    name: 'header over the limit: an error event, its first octet skipped, scanning goes on',
    bytes: cat('RTSP/1.0 200 OK\r\nX: ', 'a'.repeat(80), '\r\n\r\n', f0),
    options: { maxHeaderBytes: 64 },
    events: [errEv(Status.DEMUX_HEADER_TOO_LARGE, 0, 64), frameEv(0, 108, 3)],
    garbage: 104,
    resyncs: 1,
  },
  {
    // After the first error, "ET_PARAMETER rtsp://…" is again a possible start line, and so on: one error per
    // octet of the method, then the rest is garbage.
    name: 'a start line longer than the limit',
    bytes: cat('GET_PARAMETER rtsp://', 'h'.repeat(100), ' RTSP/1.0\r\n\r\n'),
    options: { maxHeaderBytes: 64 },
    events: Array.from({ length: 13 }, (_, i) => errEv(Status.DEMUX_HEADER_TOO_LARGE, i, 64)),
  },
  {
    name: 'a header exactly at the limit is accepted',
    bytes: ascii('RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'),
    options: { maxHeaderBytes: 28 },
    events: [msgEv(0, 28)],
  },
  {
    name: 'one octet over the limit is refused',
    bytes: ascii('RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'),
    options: { maxHeaderBytes: 27 },
    events: [errEv(Status.DEMUX_HEADER_TOO_LARGE, 0, 27)],
  },
  {
    name: 'body over the limit',
    bytes: cat('RTSP/1.0 200 OK\r\nContent-Length: 101\r\n\r\n', f0),
    options: { maxBodyBytes: 100 },
    events: [errEv(Status.DEMUX_BODY_TOO_LARGE, 0, 40, 101), frameEv(0, 44, 3)],
  },
  {
    name: 'a body length beyond 32 bits is reported capped',
    bytes: ascii('RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n'),
    events: [errEv(Status.DEMUX_BODY_TOO_LARGE, 0, 57, 0xffffffff)],
  },
  ...['abc', '', '-1', '12x', '1 2', '0x10', '+5'].map((v): Case => ({
    name: `bad Content-Length ${JSON.stringify(v)}`,
    bytes: ascii(`RTSP/1.0 200 OK\r\nContent-Length: ${v}\r\n\r\n`),
    events: [errEv(Status.DEMUX_BAD_CONTENT_LENGTH, 0, `RTSP/1.0 200 OK\r\nContent-Length: ${v}\r\n\r\n`.length)],
  })),
  {
    name: 'two different Content-Length values are refused',
    bytes: ascii('RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'),
    events: [errEv(Status.DEMUX_BAD_CONTENT_LENGTH, 0, 57)],
  },
  {
    name: 'repeated equal Content-Length values are accepted',
    bytes: ascii('RTSP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nab'),
    events: [msgEv(0, 58, 2)],
  },
  {
    name: 'Content-Length-Foo is another header',
    bytes: ascii('RTSP/1.0 200 OK\r\nContent-Lengthy: 7\r\n\r\n'),
    events: [msgEv(0, 39)],
  },
  {
    name: 'a partial frame is left unconsumed',
    bytes: cat(f0, [0x24, 0, 0, 10, 1, 2]),
    events: [frameEv(0, 4, 3)],
    consumed: 7,
  },
  {
    name: 'a partial message (headers and body) is left unconsumed',
    bytes: cat(f0, 'RTSP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab'),
    events: [frameEv(0, 4, 3)],
    consumed: 7,
  },
  { name: "a lone '$' waits for more", bytes: cat(f0, '$'), events: [frameEv(0, 4, 3)], consumed: 7 },
  { name: "a lone 'R' waits for more", bytes: cat(f0, 'R'), events: [frameEv(0, 4, 3)], consumed: 7 },
  { name: "'$' and a channel wait for the length", bytes: cat(f0, '$', [0, 0]), events: [frameEv(0, 4, 3)], consumed: 7 },
];

describe('demux_scan: table', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.bytes, c.options);
      expect(r.events).toEqual(c.events);
      expect(r.consumed).toBe(c.consumed ?? c.bytes.length);
      if (c.garbage !== undefined) expect(r.stats.garbageBytes).toBe(c.garbage);
      if (c.resyncs !== undefined) expect(r.stats.resyncs).toBe(c.resyncs);
      expect(r.stats.bytes).toBe(r.consumed);
      expect(r.stats.frames).toBe(c.events.filter((e) => e.kind === 'frame').length);
      expect(r.stats.messages).toBe(c.events.filter((e) => e.kind === 'message').length);
      // The reference agrees, and so does a read cut at every octet.
      const ref = referenceDemux(c.bytes, {
        maxHeaderBytes: c.options?.maxHeaderBytes ?? 16384,
        maxBodyBytes: c.options?.maxBodyBytes ?? 65536,
        accept: c.options?.channels?.map((x) => x.channel),
      });
      expect(ref.events as Ev[]).toEqual(c.events);
      expect(ref.stats).toEqual(r.stats);
      if (c.bytes.length < 2000) {
        for (let cut = 1; cut < c.bytes.length; cut++) expect(run(c.bytes, c.options, [cut]).events).toEqual(c.events);
      }
    });
  }
});

describe('demux_scan: early stop and partial items', () => {
  it('stops at maxEvents with consumed at the end of the last reported item', () => {
    const bytes = cat('..', f0, f0, '..', f0, ascii(OPTIONS_REPLY));
    const d = core.createDemuxer({ maxEvents: 2 });
    const buf = core.alloc(bytes.length);
    core.u8.set(bytes, buf);
    expect(d.scan(buf, bytes.length)).toBe(2);
    expect([d.start(0), d.start(1)]).toEqual([6, 13]);
    expect(d.consumed).toBe(16); // not the garbage after the second frame
    expect(d.scan(buf + 16, bytes.length - 16)).toBe(2);
    expect([d.kind(0), d.start(0) + 16, d.kind(1), d.start(1) + 16]).toEqual([1, 22, 2, 25]);
    expect(d.consumed).toBe(bytes.length - 16);
    expect(d.stats()).toMatchObject({ frames: 3, messages: 1, garbageBytes: 4, resyncs: 2, bytes: bytes.length });
    core.free(buf);
    d.destroy();
  });

  it('an error event counts against maxEvents and consumes the skipped octet', () => {
    const bytes = cat('RTSP/1.0 200 OK\r\nContent-Length: x\r\n\r\n', f0);
    const d = core.createDemuxer({ maxEvents: 1 });
    const buf = core.alloc(bytes.length);
    core.u8.set(bytes, buf);
    expect(d.scan(buf, bytes.length)).toBe(1);
    expect(d.status(0)).toBe(Status.DEMUX_BAD_CONTENT_LENGTH);
    expect(d.consumed).toBe(1);
    core.free(buf);
    d.destroy();
  });

  it('a message completes when its body arrives in a later read, one octet at a time', () => {
    const bytes = ascii(DESCRIBE_REPLY);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(run(bytes, {}, cuts).events).toEqual([msgEv(0, DESCRIBE_HEADER, SDP.length)]);
  });

  it('reset forgets the partial item but keeps channels and statistics', () => {
    const d = core.createDemuxer({ channels: [{ channel: 0 }] });
    const a = ascii('RTSP/1.0 200 OK\r\nCSeq');
    const buf = core.alloc(256);
    core.u8.set(a, buf);
    expect(d.scan(buf, a.length)).toBe(0);
    expect(d.consumed).toBe(0);
    d.reset();
    const b = cat(frame(1, [1]), f0);
    core.u8.set(b, buf);
    expect(d.scan(buf, b.length)).toBe(1); // channel 1 is still not accepted
    expect(d.start(0)).toBe(9);
    expect(d.stats()).toMatchObject({ frames: 1, garbageBytes: 5 });
    core.free(buf);
    d.destroy();
  });
});

describe('demux_scan: RTP parsing of flagged channels', () => {
  it('parses frames on an RTP channel into the records and reports the status', () => {
    const bad = rtp(7);
    bad[0] = 0x40; // version 1
    const bytes = cat(frame(0, rtp(1000)), frame(1, [0x80, 0xc8, 0, 6]), frame(0, bad), frame(0, [0x80, 1]));
    const d = core.createDemuxer({ channels: [{ channel: 0, rtp: true }, { channel: 1 }] });
    const buf = core.alloc(bytes.length);
    core.u8.set(bytes, buf);
    expect(d.scan(buf, bytes.length)).toBe(4);
    expect([0, 1, 2, 3].map((i) => d.status(i))).toEqual([Status.OK, 1, Status.RTP_BAD_VERSION, Status.RTP_TOO_SHORT]);
    const rec = d.recordPtr(0);
    const dv = new DataView(core.memory.buffer);
    expect(dv.getUint16(rec + RTP_SEQUENCE, true)).toBe(1000);
    expect(dv.getUint32(rec + RTP_SSRC, true)).toBe(0x01020304);
    expect(dv.getUint32(rec + RTP_PAYLOAD_OFFSET, true)).toBe(12);
    expect(dv.getUint32(rec + RTP_PAYLOAD_LENGTH, true)).toBe(4);
    expect(d.stats()).toMatchObject({ frames: 4, rtpErrors: 2 });
    expect(d.isRtpChannel(0)).toBe(true);
    expect(d.isRtpChannel(1)).toBe(false);
    core.free(buf);
    d.destroy();
  });

  it('without a records array frames are reported as not parsed', () => {
    const d = core.createDemuxer();
    const state = (d as unknown as { state: number }).state;
    const events = core.alloc(64);
    const bytes = frame(0, rtp(1));
    const buf = core.alloc(bytes.length);
    core.u8.set(bytes, buf);
    expect(core.exports.demux_set_channel(state, 0, 3)).toBe(0);
    expect(core.exports.demux_scan(state, buf, bytes.length, events, 4, 0)).toBe(1);
    expect(core.i32[(events >> 2)] >> 16).toBe(1); // EV_STATUS (i16 at offset 2)
    core.free(buf);
    core.free(events);
    d.destroy();
  });
});

describe('push', () => {
  function collect(d: InterleavedDemuxer, chunks: Uint8Array[]) {
    const out: Array<Record<string, unknown>> = [];
    for (const c of chunks) {
      d.push(c, (e: DemuxEvent) => {
        if (e.kind === 'error') out.push({ kind: 'error', code: e.error.code, offset: e.error.context.streamOffset });
        else if (e.kind === 'frame') out.push({ kind: 'frame', channel: e.channel, data: Array.from(e.data), status: e.status });
        else out.push({ kind: 'message', text: new TextDecoder().decode(e.data), headerLength: e.headerLength, bodyLength: e.bodyLength });
      });
    }
    return out;
  }

  it('hands out views of frames and whole messages, whatever the chunking', () => {
    const bytes = cat(f0, DESCRIBE_REPLY, 'zz', frame(2, [9]), 'RTSP/1.0 200 OK\r\nContent-Length: y\r\n\r\n', frame(3, []));
    const expected = [
      { kind: 'frame', channel: 0, data: [1, 2, 3], status: 1 },
      { kind: 'message', text: DESCRIBE_REPLY, headerLength: DESCRIBE_HEADER, bodyLength: SDP.length },
      { kind: 'frame', channel: 2, data: [9], status: 1 },
      { kind: 'error', code: 'DEMUX_BAD_CONTENT_LENGTH', offset: 7 + DESCRIBE_REPLY.length + 2 + 5 },
      { kind: 'frame', channel: 3, data: [], status: 1 },
    ];
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const d = core.createDemuxer();
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
      expect(collect(d, chunks)).toEqual(expected);
      expect(d.stats()).toMatchObject({ frames: 3, messages: 1, bytes: bytes.length });
      d.destroy();
    }
  });

  it('delivers more than maxEvents events from one chunk', () => {
    const d = core.createDemuxer({ maxEvents: 3 });
    const bytes = cat(...Array.from({ length: 10 }, (_, i) => frame(i, [i])));
    const got = collect(d, [bytes]);
    expect(got.map((e) => e.channel)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    d.destroy();
  });

  it('carries a 65535-octet frame split across many chunks', () => {
    const payload = new Uint8Array(65535);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const bytes = cat(f0, frame(4, payload), f0);
    const d = core.createDemuxer({ maxHeaderBytes: 16, maxBodyBytes: 0 });
    let seen = 0;
    for (let i = 0; i < bytes.length; i += 1000) {
      d.push(bytes.subarray(i, i + 1000), (e) => {
        if (e.kind !== 'frame') throw new Error('unexpected');
        if (e.channel === 4) expect(e.data).toEqual(payload);
        seen++;
      });
    }
    expect(seen).toBe(3);
    d.destroy();
  });

  it('if onEvent throws, the error propagates and the demuxer starts clean', () => {
    const d = core.createDemuxer();
    expect(() => d.push(cat(f0, 'RTSP/1.0 2'), () => { throw new Error('boom'); })).toThrow('boom');
    expect(collect(d, [f0])).toEqual([{ kind: 'frame', channel: 0, data: [1, 2, 3], status: 1 }]);
    d.destroy();
  });

  it('refuses a re-entrant push', () => {
    const d = core.createDemuxer();
    let inner: unknown;
    d.push(f0, () => {
      try { d.push(f0, () => {}); } catch (e) { inner = e; }
    });
    expect(inner).toBeInstanceOf(DemuxError);
    expect((inner as DemuxError).code).toBe('REENTRANT');
    d.destroy();
  });

  it('bounded buffering: 10 MB that never complete a header yield errors, consumed advances, memory never grows', () => {
    const memoryBytes = core.memoryBytes;
    const d = core.createDemuxer({ maxHeaderBytes: 4096 });
    // Valid start lines and header lines, never an empty line: every start line becomes an error after 4096 octets.
    const line = 'RTSP/1.0 200 OK\r\nX-Filler: abcdefghijklmnopqrstuvwxyz0123456789\r\n';
    const chunk = ascii(line.repeat(Math.ceil(65536 / line.length)));
    const total = 10 * 1024 * 1024;
    let errors = 0;
    let lastOffset = -1;
    let wrong = 0; // counted here, asserted after: an expect() per event would dominate the run time
    let pushed = 0;
    let lastBytes = 0;
    while (pushed < total) {
      d.push(chunk, (e) => {
        if (e.kind !== 'error' || e.error.code !== 'DEMUX_HEADER_TOO_LARGE') { wrong++; return; }
        const offset = e.error.context.streamOffset as number;
        if (offset <= lastOffset) wrong++;
        lastOffset = offset;
        errors++;
      });
      pushed += chunk.length;
      const s = d.stats();
      expect(s.bytes).toBeGreaterThan(lastBytes); // consumed keeps advancing
      expect(pushed - s.bytes).toBeLessThanOrEqual(4096); // never more buffered than one header
      lastBytes = s.bytes;
      expect(core.memoryBytes).toBe(memoryBytes);
    }
    expect(wrong).toBe(0);
    // One error per start line, except those in the last 4096 octets (still possible headers).
    expect(errors).toBeGreaterThan(Math.floor((pushed - 4096) / line.length) - 1);
    expect(d.stats().messages).toBe(0);
    d.destroy();
  });

  it('a long run of start lines without an empty line stays linear (the header search is not redone per item)', () => {
    const d = core.createDemuxer({ maxHeaderBytes: 1 << 20 });
    const line = 'RTSP/1.0 200 OK\r\n';
    const bytes = ascii(line.repeat(256 * 1024)); // 4.25 MiB
    const buf = core.alloc(bytes.length);
    core.u8.set(bytes, buf);
    let errors = 0;
    let consumed = 0;
    const t0 = performance.now();
    for (let guard = 0; guard < 100_000; guard++) {
      const n = d.scan(buf + consumed, bytes.length - consumed);
      for (let i = 0; i < n; i++) if (d.status(i) === Status.DEMUX_HEADER_TOO_LARGE) errors++;
      consumed += d.consumed;
      if (n < d.maxEvents) break;
    }
    const ms = performance.now() - t0;
    // Every start line that has a full 1 MiB window after it is an error (the octets after its 'R' die as garbage
    // at the '/'). Without the memo of where the empty line was already looked for, this is ~190 000 items × 1 MiB
    // of header search: minutes, not milliseconds.
    expect(errors).toBe(Math.floor((bytes.length - (1 << 20)) / line.length) + 1);
    expect(ms).toBeLessThan(10_000);
    core.free(buf);
    d.destroy();
  });
});

describe('host API', () => {
  it('validates options with typed errors', () => {
    const bad: DemuxerOptions[] = [
      { maxHeaderBytes: 15 }, { maxHeaderBytes: 1.5 }, { maxHeaderBytes: 2 ** 25 }, { maxBodyBytes: -1 },
      { maxEvents: 0 }, { maxEvents: 1e9 }, { channels: [{ channel: 256 }] }, { channels: [{ channel: -1 }] },
    ];
    for (const o of bad) {
      let err: unknown;
      try { core.createDemuxer(o); } catch (e) { err = e; }
      expect(err, JSON.stringify(o)).toBeInstanceOf(DemuxError);
      expect((err as DemuxError).code).toBe('BAD_OPTION');
    }
  });

  it('destroy is idempotent, frees its memory, and later use throws', () => {
    const before = core.reservedBytes;
    const d = core.createDemuxer();
    d.push(f0, () => {});
    expect(core.reservedBytes).toBeGreaterThan(before);
    d.destroy();
    d.destroy();
    expect(core.reservedBytes).toBe(before);
    for (const use of [() => d.scan(0, 0), () => d.push(f0, () => {}), () => d.stats(), () => d.reset(), () => d.setChannel(0)]) {
      expect(use).toThrow(DemuxError);
    }
  });

  it('statistics are 64-bit counters read as lo + hi × 2^32', () => {
    const d = core.createDemuxer();
    const state = (d as unknown as { state: number }).state;
    core.u32[(state + 16) >> 2] = 0xffffffff; // DEMUX_GARBAGE_BYTES lo
    const buf = core.alloc(16);
    core.u8.set([0xff], buf);
    d.scan(buf, 1);
    expect(d.stats().garbageBytes).toBe(2 ** 32);
    core.free(buf);
    d.destroy();
  });

  it('never traps on bad pointers or a dead state', () => {
    const x = core.exports;
    const d = x.demux_create(64, 64);
    const mem = core.memoryBytes;
    const ev = core.alloc(64);
    expect(x.demux_create(1, 0)).toBe(0);
    expect(x.demux_create(64, 2 ** 30)).toBe(0);
    expect(x.demux_scan(d, mem - 4, 8, ev, 4, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 8, mem - 8, 4, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 8, ev, 4, mem - 8)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 8, ev, 0, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 8, ev, 0x7fffffff, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(0, 0, 8, ev, 4, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(mem - 4, 0, 8, ev, 4, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_set_channel(d, 256, 1)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_set_channel(d, 0, 4)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 1024, ev, 4, 0)).toBeGreaterThanOrEqual(0); // any bytes: no trap
    expect(x.demux_destroy(d)).toBe(0);
    expect(x.demux_destroy(d)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_reset(d)).toBe(Status.ERR_BAD_ARGUMENT);
    expect(x.demux_scan(d, 0, 8, ev, 4, 0)).toBe(Status.ERR_BAD_ARGUMENT);
    core.free(ev);
  });

  it('matches the reference on the cases above (sanity of the harness)', () => {
    const r: RefEvent[] = referenceDemux(cat(f0, OPTIONS_REPLY), { maxHeaderBytes: 16384, maxBodyBytes: 65536 }).events;
    expect(r).toEqual([frameEv(0, 4, 3), msgEv(7, OPTIONS_REPLY.length)]);
  });
});
