import { describe, expect, it } from 'vitest';
import { parseSdp, payloadFormat, parseFmtpParameters, SdpParseError } from '../../../src/core/rtsp/sdp.js';
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
