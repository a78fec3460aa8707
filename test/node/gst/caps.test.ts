// RTP caps and element chains for the streams the test server serves, from fixed SDP values and from a live DESCRIBE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient } from '../../../src/node/index.js';
import { capsString, decodeChain, defaultDepayChain, GstError, launchQuote, mp4Recordable, rtpCaps } from '../../../src/node/gst/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';

type StreamFields = Parameters<typeof rtpCaps>[0];

const H264: StreamFields = {
  type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000,
  fmtp: { 'packetization-mode': '1', 'sprop-parameter-sets': 'Z0LAFdoFB+wFqDAwNSgAAAMACAAAAwHkeLF1,aM48gA==', 'profile-level-id': '42c015', 'level-asymmetry-allowed': '1' },
};
const RAW: StreamFields = {
  type: 'video', payloadType: 96, encodingName: 'RAW', clockRate: 90000,
  fmtp: { sampling: 'YCbCr-4:2:2', depth: '8', width: '320', height: '240', colorimetry: 'BT601-5' },
};
const H265: StreamFields = {
  type: 'video', payloadType: 96, encodingName: 'H265', clockRate: 90000,
  fmtp: { 'sprop-vps': 'QAEMAf//AWAAAAMAkAAAAwAAAwA/ugJA', 'sprop-sps': 'QgEBAWAAAAMAkAAAAwAAAwA/oAoIDxZbpKTC//AAEAAWoMDAwIAAAAMAgAAADwQ=', 'sprop-pps': 'RAHAcYMS' },
};
const PCMU: StreamFields = { type: 'audio', payloadType: 0, encodingName: 'PCMU', clockRate: 8000, channels: 1, fmtp: {} };

const EXPECTED_H264 = 'application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H264, ' +
  'packetization-mode=(string)"1", sprop-parameter-sets=(string)"Z0LAFdoFB+wFqDAwNSgAAAMACAAAAwHkeLF1,aM48gA==", ' +
  'profile-level-id=(string)"42c015", level-asymmetry-allowed=(string)"1"';
const EXPECTED_RAW = 'application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)RAW, ' +
  'sampling=(string)"YCbCr-4:2:2", depth=(string)"8", width=(string)"320", height=(string)"240", colorimetry=(string)"BT601-5"';
const EXPECTED_H265 = 'application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H265, ' +
  'sprop-vps=(string)"QAEMAf//AWAAAAMAkAAAAwAAAwA/ugJA", sprop-sps=(string)"QgEBAWAAAAMAkAAAAwAAAwA/oAoIDxZbpKTC//AAEAAWoMDAwIAAAAMAgAAADwQ=", ' +
  'sprop-pps=(string)"RAHAcYMS"';

describe('rtpCaps', () => {
  const table: Array<[string, StreamFields, string]> = [
    ['H.264 with sprop-parameter-sets (comma and = quoted)', H264, EXPECTED_H264],
    ['RFC 4175 raw video: sampling, depth, width, height, colorimetry', RAW, EXPECTED_RAW],
    ['H.265 with sprop-vps/sps/pps', H265, EXPECTED_H265],
    ['PCMU audio with encoding-params for its channel count', PCMU,
      'application/x-rtp, media=(string)audio, payload=(int)0, clock-rate=(int)8000, encoding-name=(string)PCMU, encoding-params=(string)"1"'],
    ['lower-case encoding names are upper-cased, fmtp keys lower-cased',
      { type: 'video', payloadType: 97, encodingName: 'h264', clockRate: 90000, fmtp: { 'Packetization-Mode': '1' } },
      'application/x-rtp, media=(string)video, payload=(int)97, clock-rate=(int)90000, encoding-name=(string)H264, packetization-mode=(string)"1"'],
    ['fmtp keys that would override the SDP or are no field names are skipped',
      { type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: { payload: '0', 'clock-rate': '1', '9bad': 'x', 'a b': 'y', ok: 'z' } },
      'application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H264, ok=(string)"z"'],
    ['quotes and backslashes in a value are escaped',
      { type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: { x: 'a"b\\c' } },
      'application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H264, x=(string)"a\\"b\\\\c"'],
  ];
  for (const [name, stream, expected] of table) {
    it(name, () => expect(rtpCaps(stream)).toBe(expected));
  }

  const bad: Array<[string, Partial<StreamFields>]> = [
    ['payload type above 127', { payloadType: 128 }],
    ['negative payload type', { payloadType: -1 }],
    ['clock rate 0', { clockRate: 0 }],
    ['fractional clock rate', { clockRate: 90000.5 }],
    ['encoding name with a comma', { encodingName: 'H264,evil=(int)1' }],
    ['media type with a quote', { type: 'vid"eo' }],
  ];
  for (const [name, change] of bad) {
    it(`refuses ${name} with GST_BAD_ARGUMENT`, () => {
      const run = () => rtpCaps({ ...H264, ...change });
      expect(run).toThrow(GstError);
      expect(run).toThrow(expect.objectContaining({ code: 'GST_BAD_ARGUMENT' }));
    });
  }

  it('quotes caps for a launch string so the inner quotes survive one more level', () => {
    expect(capsString('a,b')).toBe('"a,b"');
    expect(launchQuote('x=(string)"a\\"b"')).toBe('"x=(string)\\"a\\\\\\"b\\""');
  });
});

describe('element chains', () => {
  const table: Array<[StreamFields, string, string, boolean]> = [
    [H264, 'rtph264depay ! h264parse', 'avdec_h264', true],
    [H265, 'rtph265depay ! h265parse', 'avdec_h265', true],
    [RAW, 'rtpvrawdepay', '', false],
    [PCMU, 'rtppcmudepay', 'mulawdec', false],
    [{ ...PCMU, encodingName: '' }, 'rtppcmudepay', 'mulawdec', false], // static payload type 0 without rtpmap
    [{ ...PCMU, encodingName: 'MPEG4-GENERIC', payloadType: 97 }, 'rtpmp4gdepay ! aacparse', 'avdec_aac', true],
  ];
  for (const [stream, depay, decode, mp4] of table) {
    it(`${stream.encodingName || `PT ${stream.payloadType}`}: ${depay} / ${decode || '(no decoder)'} / mp4 ${mp4}`, () => {
      expect(defaultDepayChain(stream)).toBe(depay);
      expect(decodeChain(stream)).toBe(decode);
      expect(mp4Recordable(stream)).toBe(mp4);
    });
  }
  it('an unknown encoding is GST_UNSUPPORTED, naming the encoding', () => {
    const run = () => defaultDepayChain({ encodingName: 'X-VENDOR', payloadType: 99 });
    expect(run).toThrow(expect.objectContaining({ code: 'GST_UNSUPPORTED', message: expect.stringContaining('X-VENDOR') }));
    expect(mp4Recordable({ encodingName: 'X-VENDOR', payloadType: 99 })).toBe(false);
  });
});

describe('caps from a live DESCRIBE of gst-rtsp-server', () => {
  let server: RtspTestServer;
  beforeAll(async () => {
    server = await startRtspServer({});
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const [path, expected] of [['/h264', EXPECTED_H264], ['/raw', EXPECTED_RAW], ['/h265', EXPECTED_H265]] as const) {
    it(`${path}: the exact caps string`, async () => {
      const client = new RtspClient(server.url(path));
      try {
        await client.connect();
        expect(client.streams).toHaveLength(1);
        expect(rtpCaps(client.streams[0]!)).toBe(expected);
      } finally {
        await client.close();
      }
    });
  }
});
