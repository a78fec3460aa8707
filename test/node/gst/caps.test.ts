// RTP caps and element chains for the streams the test server serves, from fixed SDP values and from a live DESCRIBE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspClient } from '../../../src/node/index.js';
import { capsString, decodeChain, defaultDepayChain, frameFormat, GstError, launchQuote, mp4Recordable, rtpCaps } from '../../../src/node/gst/index.js';
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

describe('caps never carry what GStreamer would refuse for syntax (issue 15 B)', () => {
  const AAC = { type: 'audio', id: 1, control: 'rtsp://cam/track2', payloadType: 97, encodingName: 'MPEG4-GENERIC', clockRate: 48000, channels: 2,
    fmtp: { mode: 'AAC-hbr', config: '1190', sizelength: '13' } } satisfies StreamFields & { id: number; control: string };
  const aacConfig = { codec: 'AAC' as const, description: new Uint8Array([0x11, 0x90]) };

  const bad: Array<[string, () => unknown, string]> = [
    ['frameFormat with channels 1e22 (MPEG4-GENERIC/48000/9999999999999999999999 gave channels=(int)1e+22)',
      () => frameFormat(aacConfig, { ...AAC, channels: 9999999999999999999999 }), 'channels'],
    ['frameFormat with channels 0 (was accepted)', () => frameFormat(aacConfig, { ...AAC, channels: 0 }), 'channels'],
    ['frameFormat with channels 2.5', () => frameFormat(aacConfig, { ...AAC, channels: 2.5 }), 'channels'],
    ['frameFormat with a clock rate of 2^31', () => frameFormat(aacConfig, { ...AAC, clockRate: 2 ** 31 }), 'clock rate'],
    ['frameFormat for raw video 0 pixels wide',
      () => frameFormat({ codec: 'RAW', raw: { width: 0, height: 240, gstFormat: 'UYVY' } }, { ...AAC, encodingName: 'RAW' }), 'width'],
    ['frameFormat for raw video 40000 lines high',
      () => frameFormat({ codec: 'RAW', raw: { width: 320, height: 40000, gstFormat: 'UYVY' } }, { ...AAC, encodingName: 'RAW' }), 'height'],
    ['rtpCaps with channels 1e22', () => rtpCaps({ ...AAC, channels: 1e22 }), 'channels'],
    ['rtpCaps with channels 0', () => rtpCaps({ ...AAC, channels: 0 }), 'channels'],
    ['rtpCaps with channels 256', () => rtpCaps({ ...AAC, channels: 256 }), 'channels'],
    ['rtpCaps with a clock rate of 2^31', () => rtpCaps({ ...AAC, clockRate: 2 ** 31 }), 'clock rate'],
    ['rtpCaps with a NUL in an fmtp value (broke the pipeline)', () => rtpCaps({ ...AAC, fmtp: { ...AAC.fmtp, config: '11\u000090' } }), 'fmtp config'],
    ['rtpCaps with a newline in an fmtp value', () => rtpCaps({ ...AAC, fmtp: { mode: 'AAC-hbr\n, evil=(int)1' } }), 'fmtp mode'],
    ['rtpCaps with a DEL in an fmtp value', () => rtpCaps({ ...AAC, fmtp: { mode: 'AAC\u007fhbr' } }), 'fmtp mode'],
  ];
  for (const [name, run, field] of bad) {
    it(`refuses ${name}, naming the stream and the field`, () => {
      let error: unknown;
      try { run(); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(GstError);
      expect(error).toMatchObject({ code: 'GST_BAD_ARGUMENT', context: { field, id: 1, payloadType: 97 } });
      expect((error as GstError).message).toContain('stream 1');
      expect((error as GstError).message).toContain('rtsp://cam/track2');
      expect((error as GstError).message).toContain(field);
    });
  }

  it('still builds the caps at the bounds (clock rate 2^31 − 1, channels 1 and 255)', () => {
    expect(rtpCaps({ ...AAC, clockRate: 2 ** 31 - 1, channels: 255 })).toContain('clock-rate=(int)2147483647');
    expect(frameFormat(aacConfig, { ...AAC, channels: 1 }).caps).toContain('rate=(int)48000, channels=(int)1,');
    expect(frameFormat(aacConfig, { ...AAC, channels: 255 }).caps).toContain('channels=(int)255,');
    expect(frameFormat(aacConfig, { ...AAC, channels: undefined }).caps).toContain('channels=(int)1,'); // no channels: mono
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
