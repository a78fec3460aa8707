// The relay's access-unit rules without a network: keyframe detection from RTP payloads (RFC 6184, RFC 7798) and the
// assembler's unit boundaries (marker bit, timestamp change) and bound.
import { describe, expect, it } from 'vitest';
import { AccessUnitAssembler, startsKeyframe, type AccessUnit } from '../../src/node/relay/access-unit.js';

const b = (...octets: number[]) => new Uint8Array(octets);

/** An RTP packet: 12-octet header (V=2, PT 96, marker, sequence, timestamp) and `payload`. */
function rtp(seq: number, timestamp: number, marker: boolean, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(12 + payload.length);
  p[0] = 0x80;
  p[1] = (marker ? 0x80 : 0) | 96;
  p[2] = seq >> 8; p[3] = seq & 255;
  new DataView(p.buffer).setUint32(4, timestamp);
  p.set(payload, 12);
  return p;
}

describe('startsKeyframe', () => {
  it('H.264: IDR and SPS, alone, first in a STAP-A or later in it, and as an FU-A start; not slices or FU-A middles', () => {
    expect(startsKeyframe('H264', b(0x65, 0x88))).toBe(true); //             NAL 5 IDR
    expect(startsKeyframe('H264', b(0x67, 0x42))).toBe(true); //             NAL 7 SPS
    expect(startsKeyframe('H264', b(0x41, 0x9a))).toBe(false); //            NAL 1 non-IDR slice
    expect(startsKeyframe('H264', b(0x68, 0xce))).toBe(false); //            NAL 8 PPS alone
    expect(startsKeyframe('H264', b(0x78, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88))).toBe(true); // STAP-A: PPS, IDR
    expect(startsKeyframe('H264', b(0x78, 0, 2, 0x68, 0xce, 0, 2, 0x41, 0x9a))).toBe(false); // STAP-A: PPS, slice
    expect(startsKeyframe('H264', b(0x78, 0, 9, 0x68))).toBe(false); //      STAP-A with a size past the end
    expect(startsKeyframe('H264', b(0x7c, 0x85, 0x88))).toBe(true); //       FU-A, S=1, type 5
    expect(startsKeyframe('H264', b(0x7c, 0x05, 0x88))).toBe(false); //      FU-A, S=0, type 5
    expect(startsKeyframe('H264', b(0x7c, 0x81, 0x9a))).toBe(false); //      FU-A, S=1, type 1
    expect(startsKeyframe('H264', b())).toBe(false);
  });

  it('H.265: IRAP 16–23 and VPS/SPS/PPS, in an AP and as an FU start', () => {
    const nal = (type: number) => [type << 1, 1];
    expect(startsKeyframe('H265', b(...nal(19), 0xaf))).toBe(true); //      IDR_W_RADL
    expect(startsKeyframe('H265', b(...nal(21), 0xaf))).toBe(true); //      CRA
    expect(startsKeyframe('H265', b(...nal(32), 0x0c))).toBe(true); //      VPS
    expect(startsKeyframe('H265', b(...nal(1), 0xaf))).toBe(false); //      TRAIL_R
    expect(startsKeyframe('H265', b(...nal(48), 0, 3, ...nal(1), 0xaf, 0, 3, ...nal(19), 0xaf))).toBe(true); // AP
    expect(startsKeyframe('H265', b(...nal(49), 0x80 | 19, 0xaf))).toBe(true); //  FU, S=1, IDR
    expect(startsKeyframe('H265', b(...nal(49), 19, 0xaf))).toBe(false); //        FU, S=0
  });

  it('other codecs: every unit stands alone', () => {
    expect(startsKeyframe('OTHER', b(0x00))).toBe(true);
  });
});

describe('AccessUnitAssembler', () => {
  it('ends a unit at the marker bit and at a timestamp change, as interleaved frames, keyframe from any packet', () => {
    const a = new AccessUnitAssembler({ streamId: 1, channel: 2, encodingName: 'H264' });
    const units: AccessUnit[] = [];
    const push = (p: Uint8Array, marker: boolean) => a.push(p, 12, new DataView(p.buffer).getUint32(4), marker, (u) => units.push(u));
    const p1 = rtp(1, 1000, false, b(0x67, 0x42)); // SPS
    const p2 = rtp(2, 1000, true, b(0x65, 0x88)); //  IDR, marker
    const p3 = rtp(3, 4000, false, b(0x41, 0x9a)); // slice without marker…
    const p4 = rtp(4, 7000, true, b(0x41, 0x9b)); //  …ended by the next timestamp
    push(p1, false); push(p2, true);
    expect(units).toHaveLength(1);
    push(p3, false);
    expect(units).toHaveLength(1);
    push(p4, true);
    expect(units.map((u) => [u.timestamp, u.keyframe, u.packets])).toEqual([[1000, true, 2], [4000, false, 1], [7000, false, 1]]);
    const first = units[0].data;
    expect([...first.subarray(0, 4)]).toEqual([0x24, 2, 0, p1.length]);
    expect(Buffer.compare(first.subarray(4, 4 + p1.length), Buffer.from(p1))).toBe(0);
    expect([...first.subarray(4 + p1.length, 8 + p1.length)]).toEqual([0x24, 2, 0, p2.length]);
    expect(first.length).toBe(8 + p1.length + p2.length);
    expect(a.stats()).toMatchObject({ accessUnits: 3, keyframes: 1, packets: 4, tooLarge: 0 });
  });

  it('drops (and counts) a unit larger than maxBytes, and its buffer never grows past it', () => {
    const a = new AccessUnitAssembler({ streamId: 0, channel: 0, encodingName: 'RAW', maxBytes: 4096 });
    const units: AccessUnit[] = [];
    const big = new Uint8Array(1400);
    for (let i = 0; i < 5; i++) a.push(rtp(i, 90, i === 4, big), 12, 90, i === 4, (u) => units.push(u));
    expect(units).toHaveLength(0);
    expect(a.stats().tooLarge).toBe(1);
    a.push(rtp(5, 180, true, big), 12, 180, true, (u) => units.push(u));
    expect(units.map((u) => u.data.length)).toEqual([4 + 12 + 1400]);
    expect((a as unknown as { buffer: Buffer }).buffer.length).toBeLessThanOrEqual(4096);
  });
});
