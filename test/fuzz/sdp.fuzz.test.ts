// Fuzzing the SDP parser (src/core/rtsp/sdp.ts). Session descriptions are generated from their parts (session lines,
// media with ports, protocols, payload types, rtpmap, fmtp with base64 values, control, direction, connection, CRLF
// or LF line ends) and mutated. Properties: a generated SDP parses back to its parts; mutated and random texts give a
// description or an SdpParseError, never another error; and a description that parses holds only numbers in range
// and values GStreamer caps can carry: every playable audio/video medium builds RTP caps (issue 15 B).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isPlayable, MAX_CHANNELS, MAX_CLOCK_RATE, parseFmtpParameters, parseSdp, SdpParseError, type SessionDescription } from '../../src/core/rtsp/index.js';
import { GstError, rtpCaps } from '../../src/node/gst/caps.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed, validOrMutatedText } from './fuzz.js';

interface MediaSpec {
  type: string; port: number; portCount: number | null; protocol: string; pts: number[];
  rtpmap: Array<{ encoding: string; clock: number; channels: number | null }>;
  fmtp: Array<Array<[string, string]>>;
  control: string | null; direction: string | null; connection: string | null;
}

const paramNameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const paramValueArb = fc.oneof(fc.stringMatching(/^[A-Za-z0-9+/]{0,24}={0,2}$/), fc.constantFrom('1', '42e01f', 'Z0LgH5ZUBQHsgA==,aM4xsg=='));
const mediaArb: fc.Arbitrary<MediaSpec> = fc.record({
  type: fc.constantFrom('video', 'audio', 'application', 'text'),
  port: fc.integer({ min: 0, max: 65535 }),
  portCount: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 4 }),
  protocol: fc.constantFrom('RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'TCP/RTP/AVP'),
  pts: fc.uniqueArray(fc.integer({ min: 0, max: 127 }), { minLength: 1, maxLength: 4 }),
  rtpmap: fc.array(fc.record({
    encoding: fc.constantFrom('H264', 'H265', 'PCMU', 'MPEG4-GENERIC', 'raw', 'opus'),
    clock: fc.integer({ min: 1, max: 1_000_000 }),
    channels: fc.option(fc.integer({ min: 1, max: 8 })),
  }), { minLength: 4, maxLength: 4 }),
  fmtp: fc.array(fc.uniqueArray(fc.tuple(paramNameArb, paramValueArb), { selector: ([n]) => n, maxLength: 4 }), { minLength: 4, maxLength: 4 }),
  control: fc.option(fc.constantFrom('track1', 'trackID=0', 'rtsp://cam/stream/track2', '*')),
  direction: fc.option(fc.constantFrom('sendrecv', 'sendonly', 'recvonly', 'inactive')),
  connection: fc.option(fc.constantFrom('IN IP4 0.0.0.0', 'IN IP4 224.2.1.1/127/3', 'IN IP6 ::1', 'IN IP6 ff15::101/3')),
});

const sdpArb: fc.Arbitrary<SdpSpec> = fc.record({
  name: fc.constantFrom('scripted', 'Session streamed by "camera"', ' ', ''),
  control: fc.option(fc.constantFrom('*', 'rtsp://cam/stream/')),
  range: fc.option(fc.constantFrom('npt=0-', 'npt=now-', 'npt=0.000-10.5')),
  media: fc.array(mediaArb, { maxLength: 4 }),
  eol: fc.constantFrom('\r\n', '\n'),
});

interface SdpSpec { name: string; control: string | null; range: string | null; media: MediaSpec[]; eol: string }

function sdpText(s: SdpSpec): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', `s=${s.name}`, 't=0 0'];
  if (s.control) lines.push(`a=control:${s.control}`);
  if (s.range) lines.push(`a=range:${s.range}`);
  for (const m of s.media) {
    lines.push(`m=${m.type} ${m.port}${m.portCount === null ? '' : '/' + m.portCount} ${m.protocol} ${m.pts.join(' ')}`);
    if (m.connection) lines.push(`c=${m.connection}`);
    m.pts.forEach((pt, i) => {
      const r = m.rtpmap[i];
      lines.push(`a=rtpmap:${pt} ${r.encoding}/${r.clock}${r.channels === null ? '' : '/' + r.channels}`);
      if (m.fmtp[i].length) lines.push(`a=fmtp:${pt} ${m.fmtp[i].map(([k, v]) => `${k}=${v}`).join(';')}`);
    });
    if (m.control) lines.push(`a=control:${m.control}`);
    if (m.direction) lines.push(`a=${m.direction}`);
  }
  return lines.join(s.eol) + s.eol;
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** What a parsed description promises: numbers in range, no control character in values that reach caps, caps build. */
function expectCapsSafe(d: SessionDescription): void {
  for (const m of d.media) {
    for (const pt of m.formats) expect(pt >= 0 && pt <= 127).toBe(true);
    for (const [pt, r] of m.rtpmap) {
      expect(pt >= 0 && pt <= 127).toBe(true);
      expect(Number.isInteger(r.clockRate) && r.clockRate >= 1 && r.clockRate <= MAX_CLOCK_RATE).toBe(true);
      if (r.channels !== undefined) expect(Number.isInteger(r.channels) && r.channels >= 1 && r.channels <= MAX_CHANNELS).toBe(true);
      expect(CONTROL.test(r.encodingName)).toBe(false);
    }
    for (const params of m.fmtp.values()) for (const [k, v] of params) expect(CONTROL.test(k) || CONTROL.test(v)).toBe(false);
    if (!isPlayable(m) || (m.type !== 'video' && m.type !== 'audio')) continue;
    for (const pt of m.formats) {
      const r = m.rtpmap.get(pt);
      if (!r) continue;
      const stream = { type: m.type, payloadType: pt, encodingName: r.encodingName, clockRate: r.clockRate, channels: r.channels,
        fmtp: Object.fromEntries(m.fmtp.get(pt) ?? []) };
      try {
        expect(CONTROL.test(rtpCaps(stream))).toBe(false);
      } catch (e) {
        // The parser allows every printable encoding name; caps take RFC 6838's letters, digits and "_+-." only.
        expect(e).toBeInstanceOf(GstError);
        expect((e as GstError).context.field).toBe('encoding name');
      }
    }
  }
}

describe('fuzz: SDP', () => {
  afterAll(() => console.log(summary()));

  it('a generated SDP parses back to its parts', () => {
    fuzz('sdp generated', 0x5eed_0501, 1500, fc.property(sdpArb, (s) => {
      const d = parseSdp(sdpText(s));
      expect(d.version).toBe(0);
      expect(d.sessionName).toBe(s.name.trim());
      expect(d.control).toBe(s.control ?? undefined);
      expect(d.media.length).toBe(s.media.length);
      s.media.forEach((m, i) => {
        const got = d.media[i];
        expect(got.type).toBe(m.type);
        expect(got.port).toBe(m.port);
        expect(got.portCount).toBe(m.portCount ?? undefined);
        expect(got.protocol).toBe(m.protocol);
        expect(got.formats).toEqual(m.pts);
        m.pts.forEach((pt, k) => {
          const r = m.rtpmap[k];
          expect(got.rtpmap.get(pt)).toEqual({ encodingName: r.encoding, clockRate: r.clock, ...(r.channels === null ? {} : { channels: r.channels }) });
          expect(got.fmtp.get(pt)).toEqual(m.fmtp[k].length ? new Map(m.fmtp[k]) : undefined);
        });
        expect(got.control).toBe(m.control ?? undefined);
        expect(got.direction).toBe(m.direction ?? 'sendrecv');
        expect(got.connection === undefined).toBe(m.connection === null);
      });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('fmtp parameters round trip (values keep their "=")', () => {
    fuzz('sdp fmtp', 0x5eed_0502, 1500, fc.property(fc.uniqueArray(fc.tuple(paramNameArb, paramValueArb), { selector: ([n]) => n, maxLength: 8 }), fc.constantFrom(';', '; ', ' ;'), (params, sep) => {
      expect(parseFmtpParameters(params.map(([k, v]) => `${k}=${v}`).join(sep))).toEqual(new Map(params));
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated and random SDPs give a description or SdpParseError, never another error', () => {
    const codes = new Set<string>();
    const input = fc.oneof({ weight: 4, arbitrary: validOrMutatedText(sdpArb.map(sdpText)) }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) });
    const report = fuzz('sdp mutated', 0x5eed_0503, 3000, fc.property(input, (text) => {
      const r = typed(() => parseSdp(text), SdpParseError);
      if (!r.ok) {
        codes.add(r.code);
        expect(String(r.error.context.text ?? '').length).toBeLessThanOrEqual(121);
      } else {
        expectCapsSafe(r.value);
      }
    }));
    if (complete(report)) for (const c of ['EMPTY', 'BAD_MEDIA', 'BAD_RTPMAP']) expect([...codes]).toContain(c);
  }, FUZZ_TEST_TIMEOUT_MS);
});
