import { describe, expect, it } from 'vitest';
import {
  isPlayable, MAX_CHANNELS, MAX_CLOCK_RATE, parseSdp, payloadFormat, parseFmtpParameters, SdpParseError,
} from '../../../src/core/rtsp/sdp.js';
import { resolveControl } from '../../../src/core/rtsp/url.js';

const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';

// What a typical H.264 IP camera (Hikvision-style firmware) answers to DESCRIBE: absolute control URLs with a query,
// sprop-parameter-sets with spaces after ';', an audio track on a static payload type, vendor attributes.
const CAMERA_SDP = crlf([
  'v=0',
  'o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64',
  's=Media Presentation',
  'e=NONE',
  'b=AS:5050',
  't=0 0',
  'a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'b=AS:5000',
  'a=recvonly',
  'a=x-dimensions:1920,1080',
  'a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKpWoHgCJ+WEAAAMD6AAAOpgh,aO48gA==',
  'm=audio 0 RTP/AVP 8',
  'c=IN IP4 0.0.0.0',
  'b=AS:50',
  'a=recvonly',
  'a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast',
  'a=rtpmap:8 PCMA/8000',
  'a=Media_header:MEDIAINFO=494D4B48010100000400010010710110401F000000FA000000000000000000000000000000000000;',
  'a=appversion:1.0',
]);

// What GStreamer's gst-rtsp-server (test-launch with x264enc ! rtph264pay pt=96 and opusenc ! rtpopuspay pt=97)
// answers: relative control URLs (resolved against Content-Base "rtsp://127.0.0.1:8554/test/"), a=range, LF only.
const GSTREAMER_SDP = [
  'v=0',
  'o=- 1188340656180883 1 IN IP4 127.0.0.1',
  's=Session streamed with GStreamer',
  'i=rtsp-server',
  't=0 0',
  'a=tool:GStreamer',
  'a=type:broadcast',
  'a=range:npt=now-',
  'a=control:*',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'a=rtpmap:96 H264/90000',
  'a=framerate:30',
  'a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAH6zZQFAFuwEQAAADABAAAAMDyPGDGWA=,aOvjyyLA;profile-level-id=64001f;level-asymmetry-allowed=1',
  'a=control:stream=0',
  'a=ts-refclk:local',
  'a=mediaclk:sender',
  'm=audio 0 RTP/AVP 97',
  'c=IN IP4 0.0.0.0',
  'a=rtpmap:97 OPUS/48000/2',
  'a=fmtp:97 sprop-maxcapturerate=48000;sprop-stereo=0',
  'a=control:stream=1',
  'a=ts-refclk:local',
  'a=mediaclk:sender',
  '',
].join('\n');

describe('parseSdp: an H.264 camera', () => {
  const sdp = parseSdp(CAMERA_SDP);

  it('reads the session level', () => {
    expect(sdp.version).toBe(0);
    expect(sdp.origin).toEqual({ username: '-', sessionId: '1109162014219182', sessionVersion: '1109162014219192', netType: 'IN', addrType: 'IP4', address: '192.168.1.64' });
    expect(sdp.sessionName).toBe('Media Presentation');
    expect(sdp.timing).toEqual({ start: 0, stop: 0 });
    expect(sdp.bandwidth.get('AS')).toBe(5050);
    expect(sdp.control).toBe('rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast');
    expect(sdp.media).toHaveLength(2);
  });

  it('reads the video track: rtpmap, fmtp with sprop-parameter-sets, control, direction, bandwidth', () => {
    const v = sdp.media[0];
    expect(v).toMatchObject({ type: 'video', port: 0, protocol: 'RTP/AVP', formats: [96], direction: 'recvonly' });
    expect(v.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '0.0.0.0' });
    expect(v.bandwidth.get('AS')).toBe(5000);
    expect(v.rtpmap.get(96)).toEqual({ encodingName: 'H264', clockRate: 90000 });
    const fmtp = v.fmtp.get(96)!;
    expect(fmtp.get('packetization-mode')).toBe('1');
    expect(fmtp.get('profile-level-id')).toBe('420029');
    const sprop = fmtp.get('sprop-parameter-sets')!;
    expect(sprop).toBe('Z00AKpWoHgCJ+WEAAAMD6AAAOpgh,aO48gA=='); // base64 '=' padding kept
    const [sps, pps] = sprop.split(',').map((b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
    expect(sps[0] & 0x1f).toBe(7); // NAL unit type 7: SPS
    expect(pps[0] & 0x1f).toBe(8); // NAL unit type 8: PPS
    expect(v.control).toBe('rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast');
    expect(v.attributes.get('x-dimensions')).toEqual(['1920,1080']);
  });

  it('reads the audio track on a static payload type', () => {
    const a = sdp.media[1];
    expect(a).toMatchObject({ type: 'audio', formats: [8] });
    expect(a.rtpmap.get(8)).toEqual({ encodingName: 'PCMA', clockRate: 8000 });
    expect(a.attributes.get('Media_header')?.[0]).toMatch(/^MEDIAINFO=/);
  });
});

describe('parseSdp: GStreamer rtsp-server', () => {
  const sdp = parseSdp(GSTREAMER_SDP);
  const base = 'rtsp://127.0.0.1:8554/test/';

  it('reads the session level, with a=range parsed', () => {
    expect(sdp.sessionName).toBe('Session streamed with GStreamer');
    expect(sdp.sessionInfo).toBe('rtsp-server');
    expect(sdp.range).toEqual({ unit: 'npt', start: 'now' });
    expect(sdp.attributes.get('tool')).toEqual(['GStreamer']);
    expect(sdp.control).toBe('*');
    expect(resolveControl(sdp.control, base)).toBe(base);
  });

  it('reads H.264 and Opus tracks with relative controls', () => {
    const [v, a] = sdp.media;
    expect(v.rtpmap.get(96)).toEqual({ encodingName: 'H264', clockRate: 90000 });
    expect(v.fmtp.get(96)!.get('sprop-parameter-sets')).toBe('Z2QAH6zZQFAFuwEQAAADABAAAAMDyPGDGWA=,aOvjyyLA');
    expect(v.fmtp.get(96)!.get('level-asymmetry-allowed')).toBe('1');
    expect(v.direction).toBe('sendrecv'); // RFC 8866 §6.7 default
    expect(resolveControl(v.control, base)).toBe('rtsp://127.0.0.1:8554/test/stream=0');
    expect(a.rtpmap.get(97)).toEqual({ encodingName: 'OPUS', clockRate: 48000, channels: 2 });
    expect([...a.fmtp.get(97)!]).toEqual([['sprop-maxcapturerate', '48000'], ['sprop-stereo', '0']]);
    expect(resolveControl(a.control, base)).toBe('rtsp://127.0.0.1:8554/test/stream=1');
    expect(a.attributes.get('mediaclk')).toEqual(['sender']);
  });

  it('gives the same result for CRLF and LF line ends', () => {
    expect(parseSdp(GSTREAMER_SDP.replace(/\n/g, '\r\n'))).toEqual(sdp);
  });
});

describe('parseSdp: details', () => {
  it('inherits a session-level direction and lets a media override it', () => {
    const sdp = parseSdp(crlf(['v=0', 's=x', 'a=sendonly', 'm=video 0 RTP/AVP 96', 'm=audio 0 RTP/AVP 0', 'a=inactive']));
    expect(sdp.direction).toBe('sendonly');
    expect(sdp.media.map((m) => m.direction)).toEqual(['sendonly', 'inactive']);
  });

  it('keeps repeated attributes in order and flags as empty strings', () => {
    const sdp = parseSdp(crlf(['v=0', 'm=video 0 RTP/AVPF 96 97', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtcp-mux', 'a=rtpmap:96 H265/90000', 'a=rtpmap:97 H264/90000']));
    const m = sdp.media[0];
    expect(m.attributes.get('rtcp-fb')).toEqual(['96 nack', '96 nack pli']);
    expect(m.attributes.get('rtcp-mux')).toEqual(['']);
    expect(m.formats).toEqual([96, 97]);
    expect(m.rtpmap.get(96)?.encodingName).toBe('H265');
  });

  it('ignores unknown and malformed-but-harmless lines', () => {
    const sdp = parseSdp('v=0\r\nthis is junk\r\nx=unknown type\r\no=broken\r\nb=AS:\r\n\r\nm=video 0 RTP/AVP 26\r\n\0\r\n');
    expect(sdp.origin).toBeUndefined();
    expect(sdp.bandwidth.size).toBe(0);
    expect(sdp.media[0].formats).toEqual([26]);
  });

  it('uses the static payload table when there is no rtpmap (RFC 3551)', () => {
    const m = parseSdp('v=0\nm=video 0 RTP/AVP 26 0 96\n').media[0];
    expect(m.rtpmap.size).toBe(0);
    expect(payloadFormat(m, 26)).toEqual({ encodingName: 'JPEG', clockRate: 90000 });
    expect(payloadFormat(m, 0)).toEqual({ encodingName: 'PCMU', clockRate: 8000, channels: 1 });
    expect(payloadFormat(m, 96)).toBeUndefined();
  });

  it('reads multicast connections and port counts', () => {
    const sdp = parseSdp('v=0\nc=IN IP4 232.1.2.3/64/2\nm=video 5004/2 RTP/AVP 96\nc=IN IP6 ff15::101/3\n');
    expect(sdp.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '232.1.2.3', ttl: 64, addressCount: 2 });
    expect(sdp.media[0]).toMatchObject({ port: 5004, portCount: 2 });
    expect(sdp.media[0].connection).toEqual({ netType: 'IN', addrType: 'IP6', address: 'ff15::101', addressCount: 3 });
  });

  it('accepts non-RTP media without numeric formats', () => {
    const m = parseSdp('v=0\nm=application 0 TCP/MSRP *\na=fmtp:* x=1\n').media[0];
    expect(m.formats).toEqual([]);
    expect(m.formatTokens).toEqual(['*']);
  });

  it('parseFmtpParameters splits at the first "=" and lower-cases names', () => {
    expect([...parseFmtpParameters(' Mode=AAC-hbr; config=1190;SizeLength=13 ;flag')])
      .toEqual([['mode', 'AAC-hbr'], ['config', '1190'], ['sizelength', '13'], ['flag', '']]);
  });
});

describe('parseSdp: errors', () => {
  it.each([
    ['media line without port and protocol', 'v=0\nm=video\n', 'BAD_MEDIA', 2],
    ['media line without protocol', 'v=0\nm=video 0\n', 'BAD_MEDIA', 2],
    ['media port that is not a number', 'v=0\nm=video x RTP/AVP 96\n', 'BAD_MEDIA', 2],
    ['media port over 65535', 'v=0\nm=video 70000 RTP/AVP 96\n', 'BAD_MEDIA', 2],
    ['RTP media without payload types', 'v=0\nm=video 0 RTP/AVP\n', 'BAD_MEDIA', 2],
    ['payload type over 127', 'v=0\nm=video 0 RTP/AVP 200\n', 'BAD_MEDIA', 2],
    ['rtpmap without clock rate', 'v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264\n', 'BAD_RTPMAP', 3],
    ['rtpmap with a non-numeric clock rate', 'v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/fast\n', 'BAD_RTPMAP', 3],
    ['rtpmap without payload type', 'v=0\nm=video 0 RTP/AVP 96\na=rtpmap:H264/90000\n', 'BAD_RTPMAP', 3],
    ['rtpmap with clock rate 0', 'v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/0\n', 'BAD_RTPMAP', 3],
    ['fmtp without format', 'v=0\nm=video 0 RTP/AVP 96\na=fmtp:\n', 'BAD_FMTP', 3],
    ['fmtp with a non-numeric format on RTP media', 'v=0\nm=video 0 RTP/AVP 96\na=fmtp:abc x=1\n', 'BAD_FMTP', 3],
    ['connection with two fields', 'v=0\nc=IN 10.0.0.1\n', 'BAD_CONNECTION', 2],
    ['version that is not a number', 'v=zero\n', 'BAD_VERSION', 1],
    ['no SDP lines at all', 'hello\n', 'EMPTY', undefined],
    ['empty text', '', 'EMPTY', undefined],
  ])('rejects %s with %s', (_name, text, code, line) => {
    try { parseSdp(text); expect.unreachable(); }
    catch (e) {
      expect(e).toBeInstanceOf(SdpParseError);
      expect((e as SdpParseError).code).toBe(code);
      expect((e as SdpParseError).context.line).toBe(line);
    }
  });
});

/** The SdpParseError `run` throws (fails the test when it throws nothing or something else). */
function sdpError(run: () => unknown): SdpParseError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(SdpParseError);
    return e as SdpParseError;
  }
  return expect.unreachable('no SdpParseError') as never;
}

/** An SDP with one video medium (payload type 96) and the given extra media lines. */
const video = (...lines: string[]) => ['v=0', 'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', ...lines].join('\n') + '\n';
/** An SDP with one audio medium (payload type 97) whose rtpmap is `rtpmap`. */
const audio = (rtpmap: string) => `v=0\nm=audio 0 RTP/AVP 97\na=rtpmap:${rtpmap}\n`;

describe('parseSdp: every number is range-checked where it is parsed (issue 15 B)', () => {
  it.each([
    // rtpmap: clock rate 1 … 2^31 − 1, channels 1 … 255, payload type 0 … 127
    ['a clock rate of 2^31 (one past a gint)', audio('97 L16/2147483648'), 'BAD_RTPMAP'],
    ['a 22-digit clock rate', audio('97 L16/9999999999999999999999'), 'BAD_RTPMAP'],
    ['the channel count of MPEG4-GENERIC/48000/9999999999999999999999 (gave channels=(int)1e+22)', audio('97 MPEG4-GENERIC/48000/9999999999999999999999'), 'BAD_RTPMAP'],
    ['channels 0 (was accepted)', audio('97 MPEG4-GENERIC/48000/0'), 'BAD_RTPMAP'],
    ['channels 256', audio('97 L16/44100/256'), 'BAD_RTPMAP'],
    ['an rtpmap payload type of 128', audio('128 L16/44100'), 'BAD_RTPMAP'],
    // fmtp integers that reach a depayloader
    ['fmtp sizelength=9999999999', video('a=fmtp:96 sizelength=9999999999'), 'BAD_FMTP'],
    ['fmtp sizelength with 22 digits', video('a=fmtp:96 sizelength=9999999999999999999999'), 'BAD_FMTP'],
    ['fmtp packetization-mode=3 (RFC 6184 has 0-2)', video('a=fmtp:96 packetization-mode=3'), 'BAD_FMTP'],
    ['fmtp packetization-mode=one', video('a=fmtp:96 packetization-mode=one'), 'BAD_FMTP'],
    ['fmtp width=0 (RFC 4175 §6.1: 1-32767)', video('a=fmtp:96 sampling=YCbCr-4:2:2; width=0; height=480'), 'BAD_FMTP'],
    ['fmtp height=40000', video('a=fmtp:96 sampling=YCbCr-4:2:2; width=640; height=40000'), 'BAD_FMTP'],
    ['fmtp width=-640', video('a=fmtp:96 width=-640'), 'BAD_FMTP'],
    ['fmtp depth=99', video('a=fmtp:96 depth=99'), 'BAD_FMTP'],
    ['fmtp streamtype=64 (6 bits)', video('a=fmtp:96 streamtype=64'), 'BAD_FMTP'],
    ['fmtp constantsize=70000', video('a=fmtp:96 constantsize=70000'), 'BAD_FMTP'],
    ['an fmtp payload type of 200', video('a=fmtp:200 x=1'), 'BAD_FMTP'],
    // a=framesize:<pt> <width>-<height>
    ['a framesize of 0-480', video('a=framesize:96 0-480'), 'BAD_FRAMESIZE'],
    ['a framesize of 99999-1', video('a=framesize:96 99999-1'), 'BAD_FRAMESIZE'],
    ['a framesize written WxH', video('a=framesize:96 1920x1080'), 'BAD_FRAMESIZE'],
    ['a framesize for payload type 200', video('a=framesize:200 640-480'), 'BAD_FRAMESIZE'],
    // c=, m=, v=
    ['a TTL of 256', 'v=0\nc=IN IP4 224.2.1.1/256\n', 'BAD_CONNECTION'],
    ['an address count of 0', 'v=0\nc=IN IP4 224.2.1.1/127/0\n', 'BAD_CONNECTION'],
    ['a 6-digit TTL', 'v=0\nc=IN IP4 224.2.1.1/999999\n', 'BAD_CONNECTION'],
    ['a port count of 0', 'v=0\nm=video 5004/0 RTP/AVP 96\n', 'BAD_MEDIA'],
    ['a port count of 70000', 'v=0\nm=video 5004/70000 RTP/AVP 96\n', 'BAD_MEDIA'],
    ['a 4-digit payload type (0127 would pass as 127 otherwise)', 'v=0\nm=video 0 RTP/AVP 0127\n', 'BAD_MEDIA'],
    ['a 12-digit version', 'v=999999999999\n', 'BAD_VERSION'],
  ])('refuses %s', (_name, text, code) => {
    expect(sdpError(() => parseSdp(text)).code).toBe(code);
  });

  it('accepts the bounds themselves', () => {
    const a = parseSdp(audio(`97 L16/${MAX_CLOCK_RATE}/${MAX_CHANNELS}`)).media[0];
    expect(a.rtpmap.get(97)).toEqual({ encodingName: 'L16', clockRate: 2 ** 31 - 1, channels: 255 });
    expect(parseSdp(audio('97 PCMU/1/1')).media[0].rtpmap.get(97)).toEqual({ encodingName: 'PCMU', clockRate: 1, channels: 1 });
    const v = parseSdp(video('a=fmtp:96 width=32767; height=1; depth=16; packetization-mode=0; sizelength=32', 'a=framesize:96 32767-1')).media[0];
    expect(v.fmtp.get(96)?.get('width')).toBe('32767');
    expect(v.framesize.get(96)).toEqual({ width: 32767, height: 1 });
    expect(parseSdp('v=0\nc=IN IP4 224.2.1.1/255/1\nm=video 65535/1 RTP/AVP 127\n').connection?.ttl).toBe(255);
  });

  it('reads a=framesize as cameras send it', () => {
    const m = parseSdp(video('a=framesize:96 1920-1080')).media[0];
    expect(m.framesize.get(96)).toEqual({ width: 1920, height: 1080 });
    expect(m.attributes.get('framesize')).toEqual(['96 1920-1080']);
  });

  it('names the line, the medium and the fmtp parameter in the error context', () => {
    const e = sdpError(() => parseSdp('v=0\nm=video 0 RTP/AVP 96\nm=audio 0 RTP/AVP 97\na=fmtp:97 sizelength=13;indexlength=99\n'));
    expect(e.code).toBe('BAD_FMTP');
    expect(e.context).toMatchObject({ line: 4, media: 1, mediaType: 'audio', parameter: 'indexlength' });
    expect(e.message).toContain('indexlength');
    const r = sdpError(() => parseSdp(audio('97 MPEG4-GENERIC/48000/9999999999999999999999')));
    expect(r.context).toMatchObject({ line: 3, media: 0, mediaType: 'audio' });
    expect(r.message).toContain('channel');
  });
});

describe('parseSdp: no control character reaches a value GStreamer caps carry (issue 15 B)', () => {
  it.each([
    ['a NUL inside an fmtp value (broke the pipeline)', video('a=fmtp:96 sprop-parameter-sets=Z0IA\0KeKQ,aM4xsg=='), 'BAD_FMTP'],
    ['a NUL at the end of an fmtp value on a middle line', video('a=fmtp:96 profile-level-id=42e01f\0', 'a=control:track1'), 'BAD_FMTP'],
    ['an ESC inside an fmtp value', video('a=fmtp:96 config=\x1b[2J'), 'BAD_FMTP'],
    ['a DEL inside an fmtp value', video('a=fmtp:96 mode=AAC\x7fhbr'), 'BAD_FMTP'],
    ['a control character in an fmtp name', video('a=fmtp:96 mo\x01de=AAC-hbr'), 'BAD_FMTP'],
    ['a NUL inside an encoding name', audio('97 L1\x006/8000'), 'BAD_RTPMAP'],
    ['a non-ASCII encoding name', audio('97 H264é/90000'), 'BAD_RTPMAP'],
  ])('refuses %s', (_name, text, code) => {
    const e = sdpError(() => parseSdp(text));
    expect(e.code).toBe(code);
    expect(e.context.media).toBe(0);
  });

  it('forgives NULs after the last line (a C string terminator some firmwares send)', () => {
    const d = parseSdp(video('a=fmtp:96 packetization-mode=1') + '\0\0');
    expect(d.media[0].fmtp.get(96)?.get('packetization-mode')).toBe('1');
    const last = parseSdp('v=0\nm=video 0 RTP/AVP 96\na=fmtp:96 packetization-mode=1\0');
    expect(last.media[0].fmtp.get(96)?.get('packetization-mode')).toBe('1');
  });
});

describe('parseSdp: media whose formats are not payload types (issue 15 B)', () => {
  // TP-Link camera answer to DESCRIBE, from https://github.com/pixelbender/go-sdp/issues/5 (Retina and go-sdp keep
  // the other media of such an SDP): the third medium lists "smart/0/25000" as its format.
  const TPLINK_SDP = crlf([
    'v=0',
    'o=- 14665860 31787219 1 IN IP4 192.168.35.39',
    's=Session streamed by "TP-LINK RTSP Server"',
    't=0 0',
    'm=video 0 RTP/AVP 96',
    'c=IN IP4 0.0.0.0',
    'b=AS:4096',
    'a=range:npt=0-',
    'a=control:track1',
    'a=rtpmap:96 H265/90000',
    'a=fmtp:96 profile-space=0;profile-id=1;tier-flag=0;level-id=153;interop-constraints=000000000000;sprop-vps=QAEMAf//AUAAAAMAAAMAAAMAAAMAmawJ;sprop-sps=QgEBAUAAAAMAAAMAAAMAAAMAmaADwIARB8uWu5G4NcqqbAgAAAMACAAAAwB4QA==;sprop-pps=RAHAc8BBgwk=',
    'm=audio 0 RTP/AVP 8',
    'a=rtpmap:8 PCMA/8000',
    'a=control:track2',
    'm=application/tp-link 0 RTP/AVP smart/0/25000',
    'a=rtpmap:95 tp-link/25000',
    'a=control:track3',
  ]);

  it('keeps the TP-Link "smart/0/25000" medium, flagged unsupported, and the other media playable', () => {
    const d = parseSdp(TPLINK_SDP);
    expect(d.media.map((m) => [m.type, isPlayable(m)])).toEqual([['video', true], ['audio', true], ['application/tp-link', false]]);
    const tp = d.media[2];
    expect(tp.unsupported).toContain('smart/0/25000');
    expect(tp.formats).toEqual([]);
    expect(tp.formatTokens).toEqual(['smart/0/25000']);
    expect(tp.control).toBe('track3');
    expect(tp.rtpmap.size).toBe(0); // kept in attributes only: it is never set up
    expect(tp.attributes.get('rtpmap')).toEqual(['95 tp-link/25000']);
    expect(d.media[0].rtpmap.get(96)).toEqual({ encodingName: 'H265', clockRate: 90000 });
  });

  it('does not fail on malformed rtpmap/fmtp lines of an unsupported medium (they are never used)', () => {
    const d = parseSdp('v=0\nm=video 0 RTP/AVP smart/1/90000\na=rtpmap:smart H264\na=fmtp:smart x=\0\nm=audio 0 RTP/AVP 0\n');
    expect(d.media.map(isPlayable)).toEqual([false, true]);
  });

  it.each([
    ['an RTP medium with payload types', 'v=0\nm=video 0 RTP/AVP 96 97\n', true],
    ['an RTP medium with a vendor format', 'v=0\nm=video 0 RTP/AVP 96 smart\n', false],
    ['a non-RTP medium', 'v=0\nm=application 0 TCP/MSRP *\n', false],
  ])('isPlayable: %s → %s', (_name, text, playable) => {
    expect(isPlayable(parseSdp(text).media[0])).toBe(playable);
  });
});
