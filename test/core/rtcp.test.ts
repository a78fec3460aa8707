import { describe, expect, it } from 'vitest';
import { NTP_UNIX_OFFSET_SECONDS, RTCP_RR, RTCP_SDES, parseRtcp, writeReceiverReport } from '../../src/core/rtcp.js';

// A compound packet as a GStreamer sender emits it: SR (no report blocks) + SDES CNAME.
const SR_SDES = new Uint8Array([
  0x80, 200, 0x00, 0x06, //                     V=2 RC=0 PT=SR length=6 (28 octets)
  0x11, 0x22, 0x33, 0x44, //                    SSRC
  0xe9, 0x1c, 0x2a, 0x80, //                    NTP seconds
  0x80, 0x00, 0x00, 0x00, //                    NTP fraction = 0.5 s
  0x00, 0x01, 0x00, 0x00, //                    RTP timestamp 65536
  0x00, 0x00, 0x00, 0x0a, //                    packet count 10
  0x00, 0x00, 0x10, 0x00, //                    octet count 4096
  0x81, 202, 0x00, 0x03, //                     V=2 SC=1 PT=SDES length=3 (16 octets)
  0x11, 0x22, 0x33, 0x44, //                    SSRC
  0x01, 0x04, 0x61, 0x62, 0x63, 0x64, 0x00, 0x00, // CNAME "abcd", END, pad
]);

describe('parseRtcp', () => {
  it('reads the sender info of an SR and maps NTP to Unix time', () => {
    const [sr, sdes] = parseRtcp(SR_SDES);
    expect(sdes).toMatchObject({ packetType: RTCP_SDES, offset: 28, length: 16 });
    expect(sr.senderReport).toMatchObject({ ssrc: 0x11223344, rtpTimestamp: 65536, packetCount: 10, octetCount: 4096 });
    expect(sr.senderReport!.wallClockMs).toBe((0xe91c2a80 - NTP_UNIX_OFFSET_SECONDS) * 1000 + 500);
  });

  it.each([
    ['truncated header', SR_SDES.subarray(0, 3)],
    ['length past the end', SR_SDES.subarray(0, 27)],
    ['bad version', Uint8Array.of(0x40, 200, 0, 0)],
    ['SR without sender info', Uint8Array.of(0x80, 200, 0, 1, 0, 0, 0, 0)],
  ])('rejects %s with RTCP_MALFORMED', (_n, bytes) => {
    expect(() => parseRtcp(bytes)).toThrowError(expect.objectContaining({ code: 'RTCP_MALFORMED' }));
  });
});

describe('writeReceiverReport', () => {
  it('writes an RR with its blocks and an SDES CNAME that parse back', () => {
    const out = new Uint8Array(256);
    const n = writeReceiverReport(out, 0xcafebabe, [
      { ssrc: 0x11223344, fractionLost: 25, cumulativeLost: -3, highestSequence: 70000, jitter: 12.7, lastSr: 0x2a808000, delaySinceLastSr: 65536 },
    ], 'wasm-rtsp@host');
    expect(n % 4).toBe(0);
    const packets = parseRtcp(out.subarray(0, n));
    expect(packets.map((p) => p.packetType)).toEqual([RTCP_RR, RTCP_SDES]);
    const dv = new DataView(out.buffer);
    expect(dv.getUint32(4)).toBe(0xcafebabe);
    expect(dv.getUint32(8)).toBe(0x11223344);
    expect(out[12]).toBe(25);
    expect(dv.getUint32(12) & 0xffffff).toBe(0xfffffd); // -3 as 24-bit two's complement
    expect(dv.getUint32(16)).toBe(70000);
    expect(dv.getUint32(20)).toBe(12);
    expect(dv.getUint32(24)).toBe(0x2a808000);
    expect(dv.getUint32(28)).toBe(65536);
    expect(new TextDecoder().decode(out.subarray(32 + 10, 32 + 10 + 14))).toBe('wasm-rtsp@host');
  });

  it('regression (fuzz): a non-ASCII CNAME longer than 255 octets is cut at a character boundary, its length octet exact', () => {
    // The CNAME was cut to 255 characters, not octets: 100 × '€' (300 octets) wrote a length octet of 300 & 0xff = 44.
    const out = new Uint8Array(8 + 12 + 255 + 4);
    const n = writeReceiverReport(out, 1, [], '€'.repeat(100));
    const [, sdes] = parseRtcp(out.subarray(0, n));
    const len = out[sdes.offset + 9];
    expect(len).toBe(255); // 85 whole '€' of 3 octets
    expect(new TextDecoder('utf-8', { fatal: true }).decode(out.subarray(sdes.offset + 10, sdes.offset + 10 + len))).toBe('€'.repeat(85));
    expect(out[sdes.offset + 10 + len]).toBe(0); // END
    // A 4-octet character straddling octet 255 is left out whole.
    const m = writeReceiverReport(out, 1, [], 'a'.repeat(253) + '\u{1F600}');
    const [, s2] = parseRtcp(out.subarray(0, m));
    expect(out[s2.offset + 9]).toBe(253);
  });

  it('refuses a buffer that is too small', () => {
    expect(() => writeReceiverReport(new Uint8Array(10), 1, [], 'x')).toThrow(RangeError);
  });
});
