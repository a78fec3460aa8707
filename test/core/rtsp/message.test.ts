import { describe, expect, it } from 'vitest';
import {
  parseRtspMessage, tryParseRtspMessage, RtspMessageReader, RtspParseError, type RtspMessage, type RtspParseOptions,
} from '../../../src/core/rtsp/message.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(RtspParseError); return (e as RtspParseError).code; }
  return 'NO_ERROR';
}

/** A plain view of a message for comparisons. */
function plain(m: RtspMessage) {
  return {
    kind: m.kind, method: m.method, uri: m.uri, version: m.version, statusCode: m.statusCode, reason: m.reason,
    headers: [...m.headers], body: dec.decode(m.body),
  };
}

describe('parseRtspMessage: well-formed messages', () => {
  it('parses a request with CRLF line ends', () => {
    const m = parseRtspMessage(bytes('OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: wasm-rtsp\r\n\r\n'));
    expect(plain(m)).toEqual({
      kind: 'request', method: 'OPTIONS', uri: 'rtsp://cam/stream', version: 'RTSP/1.0', statusCode: undefined, reason: undefined,
      headers: [['CSeq', '1'], ['User-Agent', 'wasm-rtsp']], body: '',
    });
  });

  it('parses a response with a body located by Content-Length, as a subarray of the input', () => {
    const input = bytes('RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\nv=0\r\ns=x\r\n');
    const m = parseRtspMessage(input);
    expect(m.kind).toBe('response');
    expect(m.statusCode).toBe(200);
    expect(m.reason).toBe('OK');
    expect(dec.decode(m.body)).toBe('v=0\r\ns=x\r\n');
    expect(m.body.buffer).toBe(input.buffer); // not a copy
    expect(m.body.byteOffset).toBe(input.length - 10);
  });

  it('keeps the inner spaces of a reason phrase', () => {
    expect(parseRtspMessage(bytes('RTSP/1.0 454 Session Not Found\r\n\r\n')).reason).toBe('Session Not Found');
  });

  it('gives headers case-insensitive access, all values, presence, size and order', () => {
    const m = parseRtspMessage(bytes('RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm="a"\r\n'
      + 'www-authenticate: Basic realm="a"\r\nX-Empty:\r\n\r\n'));
    const h = m.headers;
    expect(h.size).toBe(4);
    expect(h.get('Www-Authenticate')).toBe('Digest realm="a"');
    expect(h.getAll('WWW-AUTHENTICATE')).toEqual(['Digest realm="a"', 'Basic realm="a"']);
    expect(h.has('cseq')).toBe(true);
    expect(h.has('Session')).toBe(false);
    expect(h.get('Session')).toBeUndefined();
    expect(h.getAll('Session')).toEqual([]);
    expect(h.get('x-empty')).toBe('');
    expect(h.get('CSe')).toBeUndefined(); // a prefix is not a match
    expect([...h].map(([n]) => n)).toEqual(['CSeq', 'WWW-Authenticate', 'www-authenticate', 'X-Empty']);
    expect(h.nameAt(2)).toBe('www-authenticate');
  });

  it('decodes UTF-8 header values', () => {
    expect(parseRtspMessage(bytes('RTSP/1.0 200 OK\r\nServer: Kamera für Außen\r\n\r\n')).headers.get('server')).toBe('Kamera für Außen');
  });

  it('accepts duplicate Content-Length headers with the same value', () => {
    const m = parseRtspMessage(bytes('RTSP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab'));
    expect(dec.decode(m.body)).toBe('ab');
  });
});

// One case per quirk seen from cameras: each is unambiguous, so it is accepted.
const QUIRKS: { name: string; input: string; expect: Partial<ReturnType<typeof plain>> }[] = [
  { name: 'lowercase header names', input: 'RTSP/1.0 200 OK\r\ncseq: 4\r\ncontent-length: 2\r\n\r\nhi',
    expect: { headers: [['cseq', '4'], ['content-length', '2']], body: 'hi' } },
  { name: 'missing reason phrase', input: 'RTSP/1.0 200\r\nCSeq: 1\r\n\r\n', expect: { statusCode: 200, reason: '' } },
  { name: 'missing reason phrase with a trailing space', input: 'RTSP/1.0 200 \r\nCSeq: 1\r\n\r\n', expect: { statusCode: 200, reason: '' } },
  { name: 'spaces before and after the colon', input: 'RTSP/1.0 200 OK\r\nCSeq : 5\r\nSession:\t  ABC  \r\n\r\n',
    expect: { headers: [['CSeq', '5'], ['Session', 'ABC']] } },
  { name: 'no space after the colon', input: 'RTSP/1.0 200 OK\r\nCSeq:6\r\n\r\n', expect: { headers: [['CSeq', '6']] } },
  { name: 'extra spaces in the status line', input: 'RTSP/1.0   200    OK\r\n\r\n', expect: { statusCode: 200, reason: 'OK' } },
  { name: 'extra spaces in the request line', input: 'PLAY   rtsp://cam/s   RTSP/1.0  \r\nCSeq: 1\r\n\r\n',
    expect: { method: 'PLAY', uri: 'rtsp://cam/s', version: 'RTSP/1.0' } },
  { name: 'bare LF line ends', input: 'RTSP/1.0 200 OK\nCSeq: 7\nContent-Length: 3\n\nabc',
    expect: { headers: [['CSeq', '7'], ['Content-Length', '3']], body: 'abc' } },
  { name: 'mixed CRLF and LF line ends', input: 'RTSP/1.0 200 OK\r\nCSeq: 8\n\r\n', expect: { headers: [['CSeq', '8']] } },
  { name: 'folded (obs-fold) continuation lines', input: 'RTSP/1.0 200 OK\r\nPublic: OPTIONS, DESCRIBE,\r\n  SETUP,\r\n\tPLAY\r\nCSeq: 9\r\n\r\n',
    expect: { headers: [['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY'], ['CSeq', '9']] } },
  { name: 'blank lines before the message', input: '\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 10\r\n\r\n', expect: { statusCode: 200 } },
  { name: 'a blank line after the body', input: 'RTSP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx\r\n', expect: { body: 'x' } },
  { name: 'a version with leading zeros (RTSP/01.00 is 1.0)', input: 'RTSP/01.00 200 OK\r\n\r\n', expect: { version: 'RTSP/1.0', statusCode: 200 } },
  { name: 'no headers at all', input: 'RTSP/1.0 200 OK\r\n\r\n', expect: { headers: [] } },
  { name: 'server-to-client request', input: 'GET_PARAMETER rtsp://client/ RTSP/1.0\r\nCSeq: 1\r\n\r\n',
    expect: { kind: 'request', method: 'GET_PARAMETER' } },
];

describe('parseRtspMessage: camera quirks', () => {
  it.each(QUIRKS)('accepts $name', ({ input, expect: want }) => {
    const got = plain(parseRtspMessage(bytes(input)));
    expect(got).toMatchObject(want);
  });
});

// Every error code of the one-shot parser, with the input that reaches it.
const ERRORS: { name: string; input: string | Uint8Array; code: string; options?: RtspParseOptions }[] = [
  { name: 'head cut short', input: 'RTSP/1.0 200 OK\r\nCSeq: 1\r\n', code: 'INCOMPLETE' },
  { name: 'body cut short', input: 'RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc', code: 'INCOMPLETE' },
  { name: 'empty input', input: '', code: 'INCOMPLETE' },
  { name: 'non-numeric status', input: 'RTSP/1.0 2OO OK\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'four-digit status', input: 'RTSP/1.0 2000 OK\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'status line without status', input: 'RTSP/1.0\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'bad version in status line', input: 'RTSP/one 200 OK\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'request line without version', input: 'OPTIONS rtsp://cam/\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'request line with HTTP version', input: 'OPTIONS * HTTP/1.1\r\n\r\n', code: 'NOT_RTSP' },
  { name: 'request line with RTSP/2.0', input: 'OPTIONS * RTSP/2.0\r\n\r\n', code: 'UNSUPPORTED_VERSION' },
  { name: 'request line with a version that is no version', input: 'OPTIONS * RTSP/x\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'status line of RTSP/2.0', input: 'RTSP/2.0 200 OK\r\n\r\n', code: 'UNSUPPORTED_VERSION' },
  { name: 'status line of HTTP/1.1', input: 'HTTP/1.1 200 OK\r\n\r\n', code: 'NOT_RTSP' },
  { name: 'request line with a space in the URI', input: 'OPTIONS rtsp://cam/a b RTSP/1.0\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'method that is not a token', input: 'OPT(IONS * RTSP/1.0\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'bare CR inside the start line', input: 'RTSP/1.0 200\rOK\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'interleaved frame where a message should start', input: '$\x00\x00\x04abcd\r\n\r\n', code: 'BAD_START_LINE' },
  { name: 'header without colon', input: 'RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'header with empty name', input: 'RTSP/1.0 200 OK\r\n: x\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'header name with a space inside', input: 'RTSP/1.0 200 OK\r\nC Seq: 1\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'continuation before any header', input: 'RTSP/1.0 200 OK\r\n folded\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'NUL in a header value', input: 'RTSP/1.0 200 OK\r\nX: a\0b\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'bare CR inside a header', input: 'RTSP/1.0 200 OK\r\nX: a\rb\r\n\r\n', code: 'BAD_HEADER' },
  { name: 'two different Content-Length values', input: 'RTSP/1.0 200 OK\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nabc', code: 'BAD_CONTENT_LENGTH' },
  { name: 'non-numeric Content-Length', input: 'RTSP/1.0 200 OK\r\nContent-Length: 12a\r\n\r\n', code: 'BAD_CONTENT_LENGTH' },
  { name: 'negative Content-Length', input: 'RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n', code: 'BAD_CONTENT_LENGTH' },
  { name: 'empty Content-Length', input: 'RTSP/1.0 200 OK\r\nContent-Length:\r\n\r\n', code: 'BAD_CONTENT_LENGTH' },
  { name: 'list-valued Content-Length', input: 'RTSP/1.0 200 OK\r\nContent-Length: 1, 1\r\n\r\nx', code: 'BAD_CONTENT_LENGTH' },
  { name: 'Content-Length folded into two numbers', input: 'RTSP/1.0 200 OK\r\nContent-Length: 1\r\n 2\r\n\r\nx', code: 'BAD_CONTENT_LENGTH' },
  { name: 'Content-Length over the limit', input: 'RTSP/1.0 200 OK\r\nContent-Length: 65537\r\n\r\n', code: 'BODY_TOO_LARGE' },
  { name: 'huge Content-Length', input: 'RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n', code: 'BODY_TOO_LARGE' },
  { name: 'body over a custom limit', input: 'RTSP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n01234567890', code: 'BODY_TOO_LARGE', options: { maxBodyBytes: 10 } },
  { name: 'head over the limit', input: 'RTSP/1.0 200 OK\r\nX: ' + 'a'.repeat(16400) + '\r\n\r\n', code: 'HEADER_TOO_LARGE' },
  { name: 'unterminated head over the limit', input: 'RTSP/1.0 200 OK\r\nX: ' + 'a'.repeat(16400), code: 'HEADER_TOO_LARGE' },
  { name: 'head over a custom limit', input: 'RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n', code: 'HEADER_TOO_LARGE', options: { maxHeaderBytes: 20 } },
  { name: '65 headers', input: 'RTSP/1.0 200 OK\r\n' + 'X: 1\r\n'.repeat(65) + '\r\n', code: 'TOO_MANY_HEADERS' },
  { name: 'headers over a custom count', input: 'RTSP/1.0 200 OK\r\nA: 1\r\nB: 2\r\n\r\n', code: 'TOO_MANY_HEADERS', options: { maxHeaders: 1 } },
  { name: 'bytes after the body', input: 'RTSP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nxy', code: 'TRAILING_BYTES' },
  { name: 'a second message', input: 'RTSP/1.0 200 OK\r\n\r\nRTSP/1.0 200 OK\r\n\r\n', code: 'TRAILING_BYTES' },
];

describe('parseRtspMessage: errors', () => {
  it.each(ERRORS)('rejects $name with $code', ({ input, code, options }) => {
    const b = typeof input === 'string' ? bytes(input) : input;
    expect(codeOf(() => parseRtspMessage(b, options))).toBe(code);
  });

  it('gives the offset and a printable excerpt in the context', () => {
    try {
      parseRtspMessage(bytes('RTSP/1.0 200 OK\r\nCSeq: 1\r\nBroken line\r\n\r\n'));
      expect.unreachable();
    } catch (e) {
      const err = e as RtspParseError;
      expect(err.code).toBe('BAD_HEADER');
      expect(err.context.offset).toBe(26);
      expect(err.context.excerpt).toBe('Seq: 1\\r\\nBroken line\\r\\n\\r\\n');
      expect(err.name).toBe('RtspParseError');
    }
  });

  it('shows non-printable octets as \\xNN in the excerpt', () => {
    try { parseRtspMessage(new Uint8Array([0x24, 0x00, 0xff, 0x0a, 0x0a])); expect.unreachable(); }
    catch (e) { expect((e as RtspParseError).context.excerpt).toBe('$\\x00\\xff\\n\\n'); }
  });
});

describe('tryParseRtspMessage', () => {
  it('returns null while incomplete and the end offset once complete', () => {
    const all = bytes('RTSP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcRTSP/1.0 200 OK\r\n\r\n');
    expect(tryParseRtspMessage(all.subarray(0, 20))).toBeNull();
    expect(tryParseRtspMessage(all.subarray(0, 40))).toBeNull();
    const r = tryParseRtspMessage(all)!;
    expect(r.end).toBe(41);
    const r2 = tryParseRtspMessage(all, r.end)!;
    expect(r2.message.statusCode).toBe(200);
    expect(r2.end).toBe(all.length);
  });
});

// A stream with every framing feature: bodies, LF-only lines, blank lines between messages, a folded header.
const STREAM = [
  'RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n',
  'RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 31\r\n\r\nv=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=\r\n',
  '\r\n',
  'ANNOUNCE rtsp://client/ RTSP/1.0\nCSeq: 1\nX-Long: one\n two\nContent-Length: 4\n\n\r\n\r\n',
  'RTSP/1.0 200\r\nCSeq: 3\r\nContent-Length: 0\r\n\r\n',
].join('');

describe('RtspMessageReader', () => {
  const expected = (() => {
    const all = bytes(STREAM);
    const out = [];
    let off = 0;
    for (let i = 0; i < 10; i++) {
      const r = tryParseRtspMessage(all, off);
      if (!r) break;
      out.push(plain(r.message));
      off = r.end;
    }
    return out;
  })();

  it('the reference stream has four messages', () => {
    expect(expected.map((m) => m.headers.find(([n]) => n === 'CSeq')?.[1])).toEqual(['1', '2', '1', '3']);
    expect(expected[1].body).toBe('v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=');
    expect(expected[2].body).toBe('\r\n\r\n');
  });

  it('gives the same messages when the stream is split at every byte', () => {
    const all = bytes(STREAM);
    const reader = new RtspMessageReader();
    const got: ReturnType<typeof plain>[] = [];
    for (let i = 0; i < all.length; i++) for (const m of reader.push(all.subarray(i, i + 1))) got.push(plain(m));
    expect(got).toEqual(expected);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('gives the same messages for every split into two chunks', () => {
    const all = bytes(STREAM);
    for (let cut = 0; cut <= all.length; cut++) {
      const reader = new RtspMessageReader();
      const got = [...reader.push(all.slice(0, cut)), ...reader.push(all.slice(cut))].map(plain);
      expect(got, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same messages for random chunkings (seeded)', () => {
    const all = bytes(STREAM);
    let seed = 12345;
    const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    for (let round = 0; round < 200; round++) {
      const reader = new RtspMessageReader();
      const got: ReturnType<typeof plain>[] = [];
      for (let i = 0; i < all.length;) {
        const n = 1 + (rand() % 40);
        for (const m of reader.push(all.slice(i, i + n))) got.push(plain(m));
        i += n;
      }
      expect(got).toEqual(expected);
    }
  });

  it('does not overwrite a body it has handed out when more bytes arrive', () => {
    const reader = new RtspMessageReader();
    const first = reader.push(bytes('RTSP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhel'));
    expect(first).toEqual([]);
    const [m] = reader.push(bytes('loRTSP/1.0 200 OK\r\nContent'));
    expect(dec.decode(m.body)).toBe('hello');
    reader.push(bytes('-Length: 5\r\n\r\nXXXXX'.slice(0, 10)));
    const more = reader.push(bytes('-Length: 5\r\n\r\nXXXXX'.slice(10)));
    expect(more).toHaveLength(1);
    expect(dec.decode(m.body)).toBe('hello');
  });

  it('parses a chunk holding whole messages without copying it', () => {
    const chunk = bytes('RTSP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const [m] = new RtspMessageReader().push(chunk);
    expect(m.body.buffer).toBe(chunk.buffer);
  });

  it('throws HEADER_TOO_LARGE once more than maxHeaderBytes are buffered without an end of headers', () => {
    const reader = new RtspMessageReader({ maxHeaderBytes: 100 });
    expect(reader.push(bytes('RTSP/1.0 200 OK\r\nX: ' + 'a'.repeat(70)))).toEqual([]);
    expect(codeOf(() => reader.push(bytes('a'.repeat(20))))).toBe('HEADER_TOO_LARGE');
  });

  it('throws BODY_TOO_LARGE as soon as the headers announce it, before the body arrives', () => {
    const reader = new RtspMessageReader({ maxBodyBytes: 1000 });
    expect(codeOf(() => reader.push(bytes('RTSP/1.0 200 OK\r\nContent-Length: 1001\r\n\r\n')))).toBe('BODY_TOO_LARGE');
  });

  it('stays failed after an error (READER_FAILED, with the cause) until reset', () => {
    const reader = new RtspMessageReader();
    expect(codeOf(() => reader.push(bytes('HELLO\r\n\r\n')))).toBe('BAD_START_LINE');
    try { reader.push(bytes('RTSP/1.0 200 OK\r\n\r\n')); expect.unreachable(); }
    catch (e) {
      expect((e as RtspParseError).code).toBe('READER_FAILED');
      expect(((e as RtspParseError).cause as RtspParseError).code).toBe('BAD_START_LINE');
    }
    reader.reset();
    expect(reader.push(bytes('RTSP/1.0 200 OK\r\n\r\n'))).toHaveLength(1);
  });

  it('keeps blank lines alone buffered without producing a message', () => {
    const reader = new RtspMessageReader();
    expect(reader.push(bytes('\r\n'))).toEqual([]);
    expect(reader.push(bytes('RTSP/1.0 200 OK\r\n\r\n'))).toHaveLength(1);
  });
});

describe('RtspMessageReader: errors do not depend on the split', () => {
  const BAD_STREAMS: [string, string, RtspParseOptions | undefined][] = [
    ['RTSP/1.0 200 OK\r\n\r\nRTSP/1.0 2x0 OK\r\n\r\n', 'BAD_START_LINE', undefined],
    ['RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n', 'BAD_HEADER', undefined],
    ['RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 'BAD_CONTENT_LENGTH', undefined],
    ['RTSP/1.0 200 OK\r\nContent-Length: 50\r\n\r\n', 'BODY_TOO_LARGE', { maxBodyBytes: 49 }],
    ['RTSP/1.0 200 OK\r\nX: ' + 'y'.repeat(60) + '\r\n\r\n', 'HEADER_TOO_LARGE', { maxHeaderBytes: 64 }],
    ['RTSP/1.0 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 'TOO_MANY_HEADERS', { maxHeaders: 2 }],
  ];
  it.each(BAD_STREAMS)('%j → %s at every byte split', (stream, code, options) => {
    const all = bytes(stream);
    // Byte by byte.
    const reader = new RtspMessageReader(options);
    let got = 'NO_ERROR';
    for (let i = 0; i < all.length && got === 'NO_ERROR'; i++) got = codeOf(() => reader.push(all.subarray(i, i + 1)));
    expect(got).toBe(code);
    // Every two-chunk split.
    for (let cut = 0; cut <= all.length; cut++) {
      const r = new RtspMessageReader(options);
      const c = codeOf(() => { r.push(all.slice(0, cut)); r.push(all.slice(cut)); });
      expect(c, `cut at ${cut}`).toBe(code);
    }
  });
});

// Issue 15 D: an answer in another version was read as RTSP/1.0. RFC 2326 §6.1 / §7.1 name RTSP/1.0; RFC 7826
// (RTSP 2.0) changes headers and rules (e.g. no Content-Base fallback, Media-Properties), so a 2.0 answer cannot be
// played as 1.0; an HTTP answer means the URL's port belongs to an HTTP server (a web UI on 554, a proxy).
describe('parseRtspMessage: only RTSP/1.0 (issue 15 D)', () => {
  const REFUSED: Array<[name: string, input: string, code: string, context: Record<string, unknown>]> = [
    ['an RTSP/2.0 answer', 'RTSP/2.0 200 OK\r\nCSeq: 1\r\n\r\n', 'UNSUPPORTED_VERSION', { version: 'RTSP/2.0', statusCode: 200, reason: 'OK' }],
    ['an RTSP 2.0 server\'s 505', 'RTSP/2.0 505 RTSP Version Not Supported\r\nCSeq: 1\r\n\r\n', 'UNSUPPORTED_VERSION',
      { version: 'RTSP/2.0', statusCode: 505, reason: 'RTSP Version Not Supported' }],
    ['an RTSP/1.1 answer', 'RTSP/1.1 200 OK\r\n\r\n', 'UNSUPPORTED_VERSION', { version: 'RTSP/1.1' }],
    ['an RTSP/0.9 answer', 'RTSP/0.9 200 OK\r\n\r\n', 'UNSUPPORTED_VERSION', { version: 'RTSP/0.9' }],
    ['an HTTP/1.1 answer (a web server on the RTSP port)', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n', 'NOT_RTSP',
      { version: 'HTTP/1.1', statusCode: 400, reason: 'Bad Request' }],
    ['an HTTP/1.0 answer without headers', 'HTTP/1.0 200 OK\r\n\r\n', 'NOT_RTSP', { version: 'HTTP/1.0', statusCode: 200 }],
    ['an HTTP/2 style status line without a minor version', 'HTTP/2 200\r\n\r\n', 'BAD_START_LINE', {}],
    ['a SIP answer', 'SIP/2.0 200 OK\r\n\r\n', 'NOT_RTSP', { version: 'SIP/2.0' }],
    ['a server request in RTSP/2.0', 'ANNOUNCE rtsp://cam/ RTSP/2.0\r\nCSeq: 3\r\n\r\n', 'UNSUPPORTED_VERSION', { version: 'RTSP/2.0', offset: 21 }],
  ];
  it.each(REFUSED)('refuses %s with %s', (_name, input, code, context) => {
    let error: unknown;
    try { parseRtspMessage(bytes(input)); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(RtspParseError);
    expect((error as RtspParseError).code).toBe(code);
    expect((error as RtspParseError).context).toMatchObject({ offset: 0, ...context });
  });

  it('says what to check in the message', () => {
    let error: RtspParseError | undefined;
    try { parseRtspMessage(bytes('HTTP/1.1 404 Not Found\r\n\r\n')); } catch (e) { error = e as RtspParseError; }
    expect(error?.message).toMatch(/HTTP\/1\.1.*not RTSP\/1\.0.*HTTP/);
    try { parseRtspMessage(bytes('RTSP/2.0 200 OK\r\n\r\n')); } catch (e) { error = e as RtspParseError; }
    expect(error?.message).toMatch(/RTSP\/2\.0.*only RTSP\/1\.0/);
  });

  it('refuses them in the streaming reader too, whatever the chunking', () => {
    for (const input of ['RTSP/2.0 200 OK\r\nCSeq: 1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi']) {
      const b = bytes(input);
      for (let cut = 0; cut <= b.length; cut++) {
        const reader = new RtspMessageReader();
        const code = codeOf(() => { reader.push(b.subarray(0, cut)); reader.push(b.subarray(cut)); });
        expect(code, `cut at ${cut}`).toBe(input.startsWith('RTSP') ? 'UNSUPPORTED_VERSION' : 'NOT_RTSP');
      }
    }
  });

  it('still reads RTSP/1.0 requests and answers, and gives their version as RTSP/1.0', () => {
    expect(parseRtspMessage(bytes('RTSP/1.0 200 OK\r\n\r\n')).version).toBe('RTSP/1.0');
    expect(parseRtspMessage(bytes('OPTIONS * RTSP/1.0\r\n\r\n')).version).toBe('RTSP/1.0');
  });
});
