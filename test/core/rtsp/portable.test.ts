import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as rtsp from '../../../src/core/rtsp/index.js';

const dir = new URL('../../../src/core/rtsp/', import.meta.url);

describe('src/core/rtsp is portable', () => {
  it('uses no node: imports, Buffer or process', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['message.ts', 'sdp.ts', 'url.ts', 'index.ts']));
    for (const f of files) {
      const src = readFileSync(new URL(f, dir), 'utf8').replace(/\/\/.*$/gm, '');
      expect(src, f).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bprocess\./);
    }
  });

  it('parses with the Buffer global removed', () => {
    const saved = globalThis.Buffer;
    // @ts-expect-error: simulating a browser
    delete globalThis.Buffer;
    try {
      const m = rtsp.parseRtspMessage(rtsp.serializeRequest({ method: 'OPTIONS', uri: 'rtsp://cam/', cseq: 1 }));
      expect(m.headers.get('cseq')).toBe('1');
      expect(rtsp.parseSdp('v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n').media[0].rtpmap.get(96)?.clockRate).toBe(90000);
      expect(rtsp.parseRtspUrl('rtsp://u:p%21@cam/s').credentials?.password).toBe('p!');
    } finally {
      globalThis.Buffer = saved;
    }
  });

  it('exports the public surface from index', () => {
    for (const name of ['parseRtspMessage', 'tryParseRtspMessage', 'RtspMessageReader', 'RtspHeaders', 'RtspParseError', 'RtspSerializeError',
      'parseTransport', 'parseTransports', 'parseSession', 'parseRtpInfo', 'parsePublic', 'parseRange', 'serializeRequest',
      'parseRtspUrl', 'resolveControl', 'controlBase', 'RtspUrlError', 'parseSdp', 'SdpParseError', 'payloadFormat']) {
      expect(rtsp, name).toHaveProperty(name);
    }
  });
});
