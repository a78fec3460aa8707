import { describe, expect, it } from 'vitest';
import { parseRtspMessage, RtspParseError } from '../../../src/core/rtsp/message.js';
import { parseTransport, parseTransports, parseSession, parseRtpInfo, parsePublic, parseRange } from '../../../src/core/rtsp/header-values.js';
import { serializeRequest, RtspSerializeError } from '../../../src/core/rtsp/serialize.js';

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as RtspParseError).code; }
  return 'NO_ERROR';
}

describe('parseTransport (RFC 2326 §12.39)', () => {
  const CASES: { name: string; value: string; want: Record<string, unknown> }[] = [
    { name: 'TCP interleaved reply', value: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      want: { protocol: 'RTP', profile: 'AVP', lowerTransport: 'TCP', delivery: 'unicast', interleaved: { rtp: 0, rtcp: 1 } } },
    { name: 'UDP reply with server ports, ssrc and mode', value: 'RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D;mode="PLAY"',
      want: { lowerTransport: 'UDP', clientPort: { rtp: 5000, rtcp: 5001 }, serverPort: { rtp: 6970, rtcp: 6971 }, ssrc: 0x1a2b3c4d, mode: 'PLAY' } },
    { name: 'explicit UDP, lowercase', value: 'RTP/AVP/udp;unicast;client_port=5000-5001', want: { lowerTransport: 'UDP' } },
    { name: 'TCP reply without interleaved channels (must still parse)', value: 'RTP/AVP/TCP;unicast',
      want: { lowerTransport: 'TCP', delivery: 'unicast' } },
    { name: 'single interleaved channel', value: 'RTP/AVP/TCP;interleaved=4', want: { interleaved: { rtp: 4 } } },
    { name: 'multicast with destination, port and ttl', value: 'RTP/AVP;multicast;destination=232.0.1.2;port=5004-5005;ttl=16',
      want: { delivery: 'multicast', destination: '232.0.1.2', port: { rtp: 5004, rtcp: 5005 }, ttl: 16 } },
    { name: 'ssrc with fewer than 8 hex digits and spaces around ;', value: 'RTP/AVP/TCP ; unicast ; interleaved=2-3 ; ssrc=abc',
      want: { ssrc: 0xabc, interleaved: { rtp: 2, rtcp: 3 } } },
    { name: 'unquoted lowercase mode, source, trailing semicolon', value: 'RTP/AVP;unicast;source=10.0.0.5;mode=play;',
      want: { source: '10.0.0.5', mode: 'PLAY' } },
    { name: 'AVPF profile and unknown parameter', value: 'RTP/AVPF/TCP;unicast;interleaved=0-1;x-dynamic-rate=1',
      want: { profile: 'AVPF' } },
  ];
  it.each(CASES)('$name', ({ value, want }) => {
    expect(parseTransport(value)).toMatchObject(want);
  });

  it('leaves interleaved unset when the reply names no channels', () => {
    expect(parseTransport('RTP/AVP/TCP;unicast').interleaved).toBeUndefined();
  });

  it('keeps every parameter raw in params', () => {
    const t = parseTransport('RTP/AVP/TCP;unicast;interleaved=0-1;x-dynamic-rate=1');
    expect([...t.params]).toEqual([['unicast', ''], ['interleaved', '0-1'], ['x-dynamic-rate', '1']]);
  });

  it('splits a client offer into its specifications', () => {
    const ts = parseTransports('RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP;unicast;client_port=5000-5001');
    expect(ts.map((t) => t.lowerTransport)).toEqual(['TCP', 'UDP']);
  });

  const BAD = [
    ['no profile', 'RTP;unicast'],
    ['empty', ''],
    ['interleaved channel over 255', 'RTP/AVP/TCP;interleaved=256-257'],
    ['port over 65535', 'RTP/AVP;client_port=70000-70001'],
    ['non-numeric port', 'RTP/AVP;client_port=a-b'],
    ['ssrc that is not hex', 'RTP/AVP;ssrc=xyz'],
    ['ssrc longer than 8 digits', 'RTP/AVP;ssrc=123456789'],
    ['non-numeric ttl', 'RTP/AVP;multicast;ttl=x'],
  ];
  it.each(BAD)('rejects %s with BAD_TRANSPORT', (_name, value) => {
    expect(codeOf(() => parseTransport(value))).toBe('BAD_TRANSPORT');
  });
});

describe('parseSession (RFC 2326 §12.37)', () => {
  it.each([
    ['id only: default timeout 60', '12345678', { id: '12345678', timeoutSeconds: 60 }],
    ['id and timeout', '47112344;timeout=30', { id: '47112344', timeoutSeconds: 30 }],
    ['spaces around the parts', ' 9F2C1A ; timeout = 120 ', { id: '9F2C1A', timeoutSeconds: 120 }],
    ['uppercase parameter name', 'abc;Timeout=15', { id: 'abc', timeoutSeconds: 15 }],
    ['quoted timeout', 'abc;timeout="45"', { id: 'abc', timeoutSeconds: 45 }],
    ['unknown parameter ignored', 'abc;foo=bar;timeout=10', { id: 'abc', timeoutSeconds: 10 }],
    ['id with symbols', 'a.b-c_d$e+f', { id: 'a.b-c_d$e+f', timeoutSeconds: 60 }],
  ])('%s', (_name, value, want) => {
    expect(parseSession(value)).toEqual(want);
  });

  it.each([['empty id', ';timeout=60'], ['blank', '  '], ['non-numeric timeout', 'abc;timeout=soon'], ['negative timeout', 'abc;timeout=-1']])(
    'rejects %s with BAD_SESSION', (_name, value) => {
      expect(codeOf(() => parseSession(value))).toBe('BAD_SESSION');
    });
});

describe('parseRtpInfo (RFC 2326 §12.33)', () => {
  it.each([
    ['two streams', 'url=rtsp://cam/s/trackID=1;seq=45102;rtptime=12345678,url=rtsp://cam/s/trackID=2;seq=30211;rtptime=2890844526',
      [{ url: 'rtsp://cam/s/trackID=1', seq: 45102, rtptime: 12345678 }, { url: 'rtsp://cam/s/trackID=2', seq: 30211, rtptime: 2890844526 }]],
    ['spaces after commas and semicolons', 'url=rtsp://a/1; seq=1; rtptime=2, url=rtsp://a/2; seq=3',
      [{ url: 'rtsp://a/1', seq: 1, rtptime: 2 }, { url: 'rtsp://a/2', seq: 3 }]],
    ['url only', 'url=rtsp://a/1', [{ url: 'rtsp://a/1' }]],
    ['URL containing ";" and "," (unquoted, RFC 2326 style)', 'url=rtsp://a/s;x=1,y;seq=7',
      [{ url: 'rtsp://a/s;x=1,y', seq: 7 }]],
    ['quoted URL (RTSP 2.0 style) and ssrc', 'url="rtsp://a/1";ssrc=0A0B0C0D;seq=5', [{ url: 'rtsp://a/1', seq: 5, ssrc: 0x0a0b0c0d }]],
    ['empty seq and rtptime are left out', 'url=rtsp://a/1;seq=;rtptime=', [{ url: 'rtsp://a/1' }]],
    ['uppercase parameter names', 'URL=rtsp://a/1;SEQ=9;RTPTIME=10', [{ url: 'rtsp://a/1', seq: 9, rtptime: 10 }]],
    ['maximum values', 'url=rtsp://a/1;seq=65535;rtptime=4294967295', [{ url: 'rtsp://a/1', seq: 65535, rtptime: 4294967295 }]],
  ])('%s', (_name, value, want) => {
    expect(parseRtpInfo(value)).toEqual(want);
  });

  it.each([
    ['seq over 65535', 'url=rtsp://a/1;seq=65536'],
    ['rtptime over 2^32-1', 'url=rtsp://a/1;rtptime=4294967296'],
    ['non-numeric seq', 'url=rtsp://a/1;seq=abc'],
    ['entry without url', 'seq=1;rtptime=2'],
  ])('rejects %s with BAD_RTP_INFO', (_name, value) => {
    expect(codeOf(() => parseRtpInfo(value))).toBe('BAD_RTP_INFO');
  });
});

describe('parsePublic', () => {
  it('gives the method set, tolerant of spacing', () => {
    expect(parsePublic('OPTIONS, DESCRIBE,SETUP ,  PLAY,PAUSE, TEARDOWN, GET_PARAMETER'))
      .toEqual(new Set(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER']));
    expect(parsePublic('')).toEqual(new Set());
    expect(parsePublic('OPTIONS DESCRIBE').has('DESCRIBE')).toBe(true);
  });
});

describe('parseRange', () => {
  it.each([
    ['open-ended from 0', 'npt=0-', { unit: 'npt', start: 0 }],
    ['open-ended with decimals', 'npt=0.000-', { unit: 'npt', start: 0 }],
    ['start and end', 'npt=10.5-20', { unit: 'npt', start: 10.5, end: 20 }],
    ['now', 'npt=now-', { unit: 'npt', start: 'now' }],
    ['end only', 'npt=-30', { unit: 'npt', end: 30 }],
    ['h:mm:ss form', 'npt=00:01:02.5-01:00:00', { unit: 'npt', start: 62.5, end: 3600 }],
    ['spaces and a time parameter', 'npt = 5 - 6;time=19970123T143720Z', { unit: 'npt', start: 5, end: 6, time: '19970123T143720Z' }],
    ['trailing dot', 'npt=3.-', { unit: 'npt', start: 3 }],
    ['clock unit kept raw', 'clock=19961108T142300Z-19961108T143520Z', { unit: 'clock', raw: '19961108T142300Z-19961108T143520Z' }],
  ])('%s', (_name, value, want) => {
    expect(parseRange(value)).toEqual(want);
  });

  it.each([['no unit', '0-10'], ['no dash', 'npt=10'], ['empty range', 'npt=-'], ['garbage time', 'npt=abc-'], ['ends at now', 'npt=0-now']])(
    'rejects %s with BAD_RANGE', (_name, value) => {
      expect(codeOf(() => parseRange(value))).toBe('BAD_RANGE');
    });
});

describe('serializeRequest', () => {
  const dec = new TextDecoder();

  it('writes the start line, CSeq, headers in order and the blank line', () => {
    const out = serializeRequest({ method: 'SETUP', uri: 'rtsp://cam/s/trackID=1', cseq: 3,
      headers: { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1', 'User-Agent': 'wasm-rtsp', Skipped: undefined } });
    expect(dec.decode(out)).toBe('SETUP rtsp://cam/s/trackID=1 RTSP/1.0\r\nCSeq: 3\r\n'
      + 'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: wasm-rtsp\r\n\r\n');
  });

  it('adds Content-Length for a body and round-trips through the parser', () => {
    const out = serializeRequest({ method: 'SET_PARAMETER', uri: 'rtsp://cam/s', cseq: 9, headers: [['Content-Type', 'text/parameters']], body: 'a: b\r\n' });
    const m = parseRtspMessage(out);
    expect(m.method).toBe('SET_PARAMETER');
    expect(m.headers.get('content-length')).toBe('6');
    expect(m.headers.get('cseq')).toBe('9');
    expect(dec.decode(m.body)).toBe('a: b\r\n');
  });

  it.each([
    ['CRLF in a header value (header injection)', { headers: { Session: 'x\r\nEvil: 1' } }, 'BAD_HEADER_VALUE'],
    ['space in a header name', { headers: { 'Bad Name': 'x' } }, 'BAD_HEADER_NAME'],
    ['CSeq given twice', { headers: { cseq: '4' } }, 'BAD_HEADER_NAME'],
    ['Content-Length given', { headers: { 'Content-Length': '4' } }, 'BAD_HEADER_NAME'],
    ['method that is not a token', { method: 'PL AY' }, 'BAD_METHOD'],
    ['URI with a space', { uri: 'rtsp://cam/a b' }, 'BAD_URI'],
    ['negative CSeq', { cseq: -1 }, 'BAD_CSEQ'],
    ['bad version', { version: 'HTTP/1.1' }, 'BAD_VERSION'],
  ])('rejects %s', (_name, override, code) => {
    try {
      serializeRequest({ method: 'OPTIONS', uri: 'rtsp://cam/', cseq: 1, ...override });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RtspSerializeError);
      expect((e as RtspSerializeError).code).toBe(code);
    }
  });

  it('does not put a header value into the error (it may be an Authorization)', () => {
    try { serializeRequest({ method: 'OPTIONS', uri: 'rtsp://cam/', cseq: 1, headers: { Authorization: 'Basic c2VjcmV0\n' } }); expect.unreachable(); }
    catch (e) {
      expect(JSON.stringify((e as RtspSerializeError).context) + (e as Error).message).not.toContain('c2VjcmV0');
    }
  });
});
