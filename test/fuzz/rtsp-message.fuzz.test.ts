// Fuzzing the RTSP message parser (src/core/rtsp/message.ts): parseRtspMessage, tryParseRtspMessage, the incremental
// RtspMessageReader and serializeRequest. Messages are generated field by field (start line, tokens, values with
// non-ASCII text, bodies, CRLF or bare LF, camera spacing quirks), then mutated (CRLF games, huge lengths, truncation,
// byte flips). Properties: a generated message parses back to its fields; serializeRequest → parseRtspMessage is a
// round trip, and serializeRequest refuses only with RtspSerializeError; nothing but RtspParseError escapes the
// parsers; the reader gives the same messages (and the same error) whatever the chunking, and bodies it handed out
// stay intact after later pushes.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseRtspMessage, RtspMessageReader, RtspParseError, RtspSerializeError, serializeRequest, tryParseRtspMessage,
  type RtspMessage, type RtspParseOptions,
} from '../../src/core/rtsp/index.js';
import { complete, cutsArb, fuzz, FUZZ_TEST_TIMEOUT_MS, mutateBytes, mutationsArb, split, summary, typed } from './fuzz.js';

const te = new TextEncoder();
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const tokenArb = (max: number) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });
/** Text without CR, LF or NUL (anything else, non-ASCII included). */
const lineTextArb = (max: number) => fc.string({ unit: 'grapheme', maxLength: max }).filter((s) => !/[\r\n\0]/.test(s));
const trimWs = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

interface Spec {
  kind: 'request' | 'response';
  method: string;
  uri: string;
  version: string;
  statusCode: number;
  reason: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  eol: string;
  /** Extra SP/HTAB around ':' and in the start line. */
  sp: string;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom('request' as const, 'response' as const),
  method: fc.oneof(fc.constantFrom('OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'GET_PARAMETER', 'TEARDOWN'), tokenArb(12)),
  uri: fc.oneof(fc.constantFrom('*', 'rtsp://cam/stream', 'rtsp://[::1]:554/a?b=c;d'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !/[\s\0]/.test(s))),
  // Mostly RTSP/1.0; other versions must be refused (issue 15 D), never read as 1.0.
  version: fc.constantFrom('RTSP/1.0', 'RTSP/1.0', 'RTSP/1.0', 'RTSP/01.00', 'RTSP/2.0', 'RTSP/10.23', 'HTTP/1.1'),
  statusCode: fc.integer({ min: 100, max: 999 }),
  reason: fc.oneof(fc.constantFrom('OK', 'Session Not Found', ''), lineTextArb(30)),
  headers: fc.array(fc.tuple(
    fc.oneof(fc.constantFrom('CSeq', 'Session', 'Transport', 'RTP-Info', 'WWW-Authenticate', 'x'), tokenArb(20)).filter((n) => n.toLowerCase() !== 'content-length'),
    lineTextArb(60),
  ), { maxLength: 12 }),
  body: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 400 })),
  eol: fc.constantFrom('\r\n', '\n'),
  sp: fc.constantFrom(' ', ' ', '  ', '\t', ' \t '),
});

function specBytes(s: Spec): Uint8Array {
  const start = s.kind === 'request'
    ? `${s.method}${s.sp}${s.uri}${s.sp}${s.version}`
    : `${s.version}${s.sp}${s.statusCode}${s.reason === '' ? '' : s.sp + s.reason}`;
  let head = start + s.eol;
  for (const [n, v] of s.headers) head += `${n}${s.sp === ' ' ? '' : s.sp}:${s.sp}${v}${s.eol}`;
  if (s.body.length > 0) head += `Content-Length: ${s.body.length}${s.eol}`;
  head += s.eol;
  const h = te.encode(head);
  const out = new Uint8Array(h.length + s.body.length);
  out.set(h);
  out.set(s.body, h.length);
  return out;
}

/** A comparable form of a parsed message. */
function summaryOf(m: RtspMessage): unknown {
  return {
    kind: m.kind, method: m.method, uri: m.uri, version: m.version, statusCode: m.statusCode, reason: m.reason,
    headers: [...m.headers], body: Array.from(m.body),
  };
}

const limitsArb: fc.Arbitrary<RtspParseOptions | undefined> = fc.option(fc.record({
  maxHeaderBytes: fc.integer({ min: 1, max: 2000 }),
  maxHeaders: fc.integer({ min: 0, max: 20 }),
  maxBodyBytes: fc.integer({ min: 0, max: 500 }),
}), { freq: 3 }).map((o) => o ?? undefined);

/** A stream of messages: valid ones, blank lines between them, mutations over the whole. */
const streamArb = fc.record({
  specs: fc.array(specArb, { maxLength: 5 }),
  blanks: fc.array(fc.constantFrom('', '', '\r\n', '\n', '\r\n\r\n'), { minLength: 5, maxLength: 5 }),
  edits: fc.option(mutationsArb(4), { freq: 2 }),
}).map(({ specs, blanks, edits }) => {
  const parts = specs.flatMap((s, i) => [te.encode(blanks[i]), specBytes(s)]);
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { whole.set(p, at); at += p.length; }
  return edits === null ? whole : mutateBytes(whole, edits);
});

/** What tryParseRtspMessage finds message by message in the whole stream: the reference of the reader. */
function messagesOf(bytes: Uint8Array, limits: RtspParseOptions | undefined): { messages: unknown[]; error?: string; rest: number } {
  const messages: unknown[] = [];
  let offset = 0;
  for (;;) {
    const r = typed(() => tryParseRtspMessage(bytes, offset, limits), RtspParseError);
    if (!r.ok) return { messages, error: r.code, rest: bytes.length - offset };
    if (r.value === null) return { messages, rest: bytes.length - offset };
    messages.push(summaryOf(r.value.message));
    offset = r.value.end;
  }
}

describe('fuzz: RTSP messages', () => {
  afterAll(() => console.log(summary()));

  it('a generated message parses back to its fields', () => {
    fuzz('rtsp parse generated', 0x5eed_0201, 2000, fc.property(specArb, (s) => {
      if (s.version !== 'RTSP/1.0' && s.version !== 'RTSP/01.00') {
        const r = typed(() => parseRtspMessage(specBytes(s)), RtspParseError);
        expect(r.ok ? 'OK' : r.code).toBe(s.version.startsWith('RTSP/') ? 'UNSUPPORTED_VERSION' : 'NOT_RTSP');
        return;
      }
      const m = parseRtspMessage(specBytes(s));
      expect(m.kind).toBe(s.kind);
      expect(m.version).toBe('RTSP/1.0');
      if (s.kind === 'request') {
        expect(m.method).toBe(s.method);
        expect(m.uri).toBe(s.uri);
      } else {
        expect(m.statusCode).toBe(s.statusCode);
        expect(m.reason).toBe(trimWs(s.reason));
      }
      const expected = s.headers.map(([n, v]) => [n, trimWs(v)]);
      if (s.body.length > 0) expected.push(['Content-Length', String(s.body.length)]);
      expect([...m.headers]).toEqual(expected);
      expect(Array.from(m.body)).toEqual(Array.from(s.body));
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('serializeRequest → parseRtspMessage is a round trip; bad fields give RtspSerializeError only', () => {
    const anyText = fc.oneof(lineTextArb(30), fc.string({ maxLength: 30 }), fc.constantFrom('a\r\nInjected: 1', 'x\0', ' padded ', ''));
    fuzz('rtsp serialize round trip', 0x5eed_0202, 2000, fc.property(
      fc.oneof(tokenArb(12), anyText), fc.oneof(specArb.map((s) => s.uri), anyText), fc.oneof(fc.nat(), fc.constantFrom(-1, 2 ** 32, 1.5)),
      fc.array(fc.tuple(fc.oneof(tokenArb(16), anyText), anyText), { maxLength: 8 }), fc.option(fc.uint8Array({ maxLength: 200 })),
      (method, uri, cseq, headers, body) => {
        const r = typed(() => serializeRequest({ method, uri, cseq, headers, body: body ?? undefined }), RtspSerializeError);
        if (!r.ok) return;
        const m = parseRtspMessage(r.value); // what we serialize, we parse: no RtspParseError allowed here
        expect(m.method).toBe(method);
        expect(m.uri).toBe(uri);
        expect(m.headers.get('cseq')).toBe(String(cseq));
        const sent = headers.map(([n, v]) => [n, trimWs(v)]);
        expect([...m.headers].filter(([n]) => !/^(cseq|content-length)$/i.test(n))).toEqual(sent);
        expect(Array.from(m.body)).toEqual(Array.from(body ?? []));
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated and random messages give a message or RtspParseError, never another error', () => {
    const codes = new Set<string>();
    const report = fuzz('rtsp parse mutated', 0x5eed_0203, 4000, fc.property(
      fc.oneof({ weight: 4, arbitrary: streamArb }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }), limitsArb,
      (bytes, limits) => {
        const r = typed(() => parseRtspMessage(bytes, limits), RtspParseError);
        if (!r.ok) {
          codes.add(r.code);
          expect(r.error.context).toHaveProperty('offset');
        }
        typed(() => tryParseRtspMessage(bytes, 0, limits), RtspParseError);
      },
    ));
    if (complete(report)) for (const c of ['INCOMPLETE', 'BAD_START_LINE', 'BAD_HEADER', 'TRAILING_BYTES', 'BAD_CONTENT_LENGTH', 'BODY_TOO_LARGE', 'HEADER_TOO_LARGE', 'TOO_MANY_HEADERS']) {
      expect([...codes], `the inputs reached ${c}`).toContain(c);
    }
  }, FUZZ_TEST_TIMEOUT_MS);

  it('RtspMessageReader: any chunking gives the messages and the error of the whole stream; bodies stay intact', () => {
    fuzz('rtsp reader chunking', 0x5eed_0204, 1500, fc.property(streamArb, cutsArb, limitsArb, (bytes, cuts, limits) => {
      const ref = messagesOf(bytes, limits);
      const reader = new RtspMessageReader(limits);
      const got: RtspMessage[] = [];
      let error: string | undefined;
      for (const chunk of split(bytes, cuts)) {
        const r = typed(() => reader.push(chunk), RtspParseError);
        if (!r.ok) { error = r.code; break; }
        got.push(...r.value);
      }
      const gotSummaries = got.map(summaryOf); // read only now: earlier bodies must survive later pushes
      if (ref.error === undefined) {
        expect(error).toBeUndefined();
        expect(gotSummaries).toEqual(ref.messages);
        expect(reader.bufferedBytes).toBe(ref.rest);
      } else {
        expect(error).toBe(ref.error);
        expect(ref.messages.slice(0, gotSummaries.length)).toEqual(gotSummaries);
        // A failed reader stays failed until reset.
        const again = typed(() => reader.push(new Uint8Array([0x0a])), RtspParseError);
        expect(again.ok ? 'OK' : again.code).toBe('READER_FAILED');
        reader.reset();
        expect(reader.bufferedBytes).toBe(0);
      }
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
