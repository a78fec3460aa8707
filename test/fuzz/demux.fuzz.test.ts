// Fuzzing the wasm interleaved demuxer (assembly/demux.ts via InterleavedDemuxer) against the plain reference
// (test/reference/demux.ts) with fast-check. Streams are built from frames (often valid RTP), RTSP messages (with and
// without bodies, odd Content-Length spellings) and garbage, then mutated, and pushed in random chunks with random
// limits, channel filters and event-array sizes. Properties: push() reports exactly the reference's events and
// statistics whatever the chunking; only DemuxError escapes; the core never traps; destroy() gives back every byte
// (core.reservedBytes back to where it was). The low-level scan() is also driven with windows that break the
// carried-tail contract: it must stay in bounds and never trap.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core, DemuxError, type DemuxerOptions } from '../../src/node/index.js';
import { DemuxEventKind } from '../../src/core/demuxer.js';
import { referenceDemux, type RefOptions } from '../reference/demux.js';
import { referenceParseRtp } from '../reference/rtp.js';
import { complete, cutsArb, fuzz, FUZZ_TEST_TIMEOUT_MS, mutateBytes, mutationsArb, split, summary, trickyBytesArb, typed } from './fuzz.js';

const te = new TextEncoder();

const frameArb = (channels: number[]): fc.Arbitrary<Uint8Array> => fc.record({
  channel: fc.oneof(fc.constantFrom(...channels), fc.integer({ min: 0, max: 255 })),
  payload: fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 120 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 3000 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  ),
  rtp: fc.boolean(),
}).map(({ channel, payload, rtp }) => {
  const b = new Uint8Array(4 + payload.length);
  b[0] = 0x24; b[1] = channel; b[2] = payload.length >> 8; b[3] = payload.length & 0xff;
  b.set(payload, 4);
  if (rtp && payload.length >= 12) { b[4] = 0x80 | (b[4] & 0x2f); b[5] = 96; }
  return b;
});

const eolArb = fc.constantFrom('\r\n', '\r\n', '\n');
const messageArb: fc.Arbitrary<Uint8Array> = fc.record({
  response: fc.boolean(),
  status: fc.constantFrom('200 OK', '401 Unauthorized', '454 Session Not Found', '200', '551 Option not supported'),
  method: fc.constantFrom('GET_PARAMETER', 'SET_PARAMETER', 'ANNOUNCE', 'OPTIONS', 'REDIRECT', 'X-VENDOR_1', 'TEARDOWN'),
  uri: fc.constantFrom('rtsp://cam/stream', '*', 'rtsp://10.0.0.1:554/a/b?c=d'),
  version: fc.constantFrom('RTSP/1.0', 'RTSP/2.0'),
  headers: fc.array(fc.constantFrom('CSeq: 3', 'Session: 12345;timeout=60', 'X-Odd:', 'Content-Type: text/parameters', 'Public: OPTIONS', 'content-length:7'), { maxLength: 4 }),
  body: fc.option(fc.uint8Array({ maxLength: 300 })),
  clName: fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH', 'Content-length', 'Content-Length '),
  clValue: fc.option(fc.constantFrom(' 99999999999', 'x', '', ' 7 ', '-1', '4294967296', '0', '007')),
  eols: fc.array(eolArb, { minLength: 8, maxLength: 8 }),
}).map((m) => {
  let text = m.response ? `${m.version} ${m.status}${m.eols[0]}` : `${m.method} ${m.uri} ${m.version}${m.eols[0]}`;
  m.headers.forEach((h, i) => { text += h + m.eols[1 + (i % 6)]; });
  const body = m.body ?? new Uint8Array(0);
  if (m.body !== null || m.clValue !== null) text += `${m.clName}:${m.clValue ?? ' ' + body.length}${m.eols[6]}`;
  text += m.eols[7];
  const head = te.encode(text);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
});

interface StreamCase { bytes: Uint8Array; options: DemuxerOptions; ref: Omit<RefOptions, 'rtpStatus'> }

const streamArb: fc.Arbitrary<StreamCase> = fc.record({
  channels: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }),
  rtpMask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  maxHeaderBytes: fc.option(fc.integer({ min: 16, max: 400 })),
  maxBodyBytes: fc.option(fc.integer({ min: 0, max: 400 })),
  maxEvents: fc.option(fc.integer({ min: 1, max: 6 })),
}).chain((o) => fc.record({
  o: fc.constant(o),
  items: fc.array(fc.oneof(
    { weight: 4, arbitrary: frameArb(o.channels.length ? o.channels : [0, 1]) },
    { weight: 2, arbitrary: messageArb },
    { weight: 1, arbitrary: trickyBytesArb(40) },
  ), { maxLength: 14 }),
  edits: fc.option(mutationsArb(5), { freq: 2 }),
})).map(({ o, items, edits }) => {
  const whole = new Uint8Array(items.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of items) { whole.set(b, at); at += b.length; }
  const bytes = edits === null ? whole : mutateBytes(whole, edits);
  const rtp = o.channels.filter((_, i) => o.rtpMask[i]);
  const options: DemuxerOptions = {
    channels: o.channels.map((channel, i) => ({ channel, rtp: o.rtpMask[i] })),
    ...(o.maxHeaderBytes !== null ? { maxHeaderBytes: o.maxHeaderBytes } : {}),
    ...(o.maxBodyBytes !== null ? { maxBodyBytes: o.maxBodyBytes } : {}),
    ...(o.maxEvents !== null ? { maxEvents: o.maxEvents } : {}),
  };
  return {
    bytes,
    options,
    ref: { maxHeaderBytes: o.maxHeaderBytes ?? 16384, maxBodyBytes: o.maxBodyBytes ?? 65536, accept: o.channels, rtp },
  };
});

const sum = (v: Uint8Array): number => v.reduce((s, x) => (s * 31 + x) >>> 0, 7);
const NAMES: Record<number, string> = { [-30]: 'DEMUX_HEADER_TOO_LARGE', [-31]: 'DEMUX_BODY_TOO_LARGE', [-32]: 'DEMUX_BAD_CONTENT_LENGTH' };

describe('fuzz: interleaved demuxer', () => {
  let core: Core;
  beforeAll(async () => {
    core = await createCore({ debug: true, memoryBytes: 8 << 20 });
  });
  afterAll(() => console.log(summary()));

  it('push() in random chunks reports the reference events and statistics, frees everything on destroy', () => {
    const seen = new Set<string>();
    const report = fuzz('demux push vs reference', 0x5eed_0101, 600, fc.property(streamArb, cutsArb, (c, cuts) => {
      const ref = referenceDemux(c.bytes, {
        ...c.ref,
        rtpStatus: (start, length) => referenceParseRtp(c.bytes.subarray(start, start + length)).status,
      });
      const expected = ref.events.map((e) => (e.kind === 'frame' ? `f ${e.channel} ${e.length} ${sum(c.bytes.subarray(e.start, e.start + e.length))} ${e.status}`
        : e.kind === 'message' ? `m ${e.length} ${e.body} ${sum(c.bytes.subarray(e.start, e.start + e.length + e.body))}`
          : `e ${NAMES[e.status]} ${e.start}`));
      for (const e of ref.events) seen.add(e.kind === 'error' ? NAMES[e.status] : e.kind);

      const reserved = core.reservedBytes;
      const d = typed(() => core.createDemuxer(c.options), DemuxError);
      if (!d.ok) throw d.error; // valid options by construction
      const out: string[] = [];
      try {
        for (const chunk of split(c.bytes, cuts)) {
          const r = typed(() => d.value.push(chunk, (e) => {
            if (e.kind === 'frame') out.push(`f ${e.channel} ${e.data.length} ${sum(e.data)} ${e.status}`);
            else if (e.kind === 'message') out.push(`m ${e.headerLength} ${e.bodyLength} ${sum(e.data)}`);
            else {
              expect(e.error).toBeInstanceOf(DemuxError);
              out.push(`e ${e.error.code} ${e.error.context.streamOffset}`);
            }
          }), DemuxError);
          if (!r.ok) throw r.error; // push itself only fails on misuse
        }
        expect(out).toEqual(expected);
        expect(d.value.stats()).toEqual(ref.stats);
      } finally {
        d.value.destroy();
      }
      expect(core.reservedBytes).toBe(reserved);
      core.assertUsable();
    }));
    if (complete(report)) for (const k of ['frame', 'message', 'DEMUX_HEADER_TOO_LARGE', 'DEMUX_BODY_TOO_LARGE', 'DEMUX_BAD_CONTENT_LENGTH']) {
      expect([...seen], `the streams produced a ${k}`).toContain(k);
    }
  }, FUZZ_TEST_TIMEOUT_MS);

  it('scan() over arbitrary windows (the carried-tail contract broken) stays in bounds and never traps', () => {
    fuzz('demux scan arbitrary windows', 0x5eed_0102, 300, fc.property(
      fc.array(fc.record({ data: fc.oneof(trickyBytesArb(300), streamArb.map((c) => c.bytes)), shift: fc.nat({ max: 400 }), len: fc.nat({ max: 4096 }) }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 8 }),
      (scans, maxEvents) => {
        const reserved = core.reservedBytes;
        const d = core.createDemuxer({ maxHeaderBytes: 64, maxBodyBytes: 64, maxEvents, channels: [{ channel: 0, rtp: true }, { channel: 1 }] });
        const buf = core.alloc(8192);
        try {
          for (const s of scans) {
            core.u8.fill(0, buf, buf + 8192);
            core.u8.set(s.data.subarray(0, 8192 - s.shift), buf + s.shift);
            const length = Math.min(s.len, 8192 - s.shift);
            const r = typed(() => d.scan(buf + s.shift, length), DemuxError);
            if (!r.ok) continue;
            const n = r.value;
            expect(n).toBeGreaterThanOrEqual(0);
            expect(n).toBeLessThanOrEqual(maxEvents);
            expect(d.consumed).toBeLessThanOrEqual(length);
            for (let i = 0; i < n; i++) {
              const kind = d.kind(i);
              expect([DemuxEventKind.FRAME, DemuxEventKind.MESSAGE, DemuxEventKind.ERROR]).toContain(kind);
              if (kind === DemuxEventKind.FRAME) expect(d.start(i) + d.length(i)).toBeLessThanOrEqual(length);
              if (kind === DemuxEventKind.MESSAGE) expect(d.start(i) + d.length(i) + d.body(i)).toBeLessThanOrEqual(length);
            }
          }
          // Out-of-memory windows are refused with a typed error.
          const bad = typed(() => d.scan(core.memoryBytes - 4, 100), DemuxError);
          expect(bad.ok ? 'OK' : bad.code).toBe('ERR_BAD_ARGUMENT');
        } finally {
          core.free(buf);
          d.destroy();
        }
        expect(core.reservedBytes).toBe(reserved);
        core.assertUsable();
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);
});
