// Table-driven vectors of the depayloader (assembly/depay.ts through src/core/depay.ts): every fragmentation case of
// RFC 6184 and RFC 7798, RFC 4175 line segments and RFC 3640 AU headers, with what each must produce and count.
// Payloads are written octet by octet with their fields commented; packets go through rtp_parse like real ones.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createCore, Core, Depayloader, DepayError, FRAME_DISCONTINUITY, FRAME_KEYFRAME, FRAME_PARAMETER_SETS,
  type DepayloaderOptions, type DepayStats,
} from '../../src/node/index.js';
import { WasmDepayHarness, expectedFrame, type Frame, type Pkt } from '../reference/depay.js';

const KEY = FRAME_KEYFRAME;
const DISC = FRAME_DISCONTINUITY;
const PS = FRAME_PARAMETER_SETS;
const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);
const cat = (...parts: Array<Uint8Array | number[]>): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return Uint8Array.from(out);
};
/** `n` octets counting up from `seed`, never forming 00 00 0x. */
const body = (n: number, seed = 1): number[] => Array.from({ length: n }, (_, i) => ((seed + i) % 250) + 1);
const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

// ---- H.264 NAL units (1-octet header F|NRI|Type) ----
const SPS = u8(0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8); // NRI 3, type 7
const SPS2 = u8(0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f); // another SPS (level 4.0)
const PPS = u8(0x68, 0xce, 0x3c, 0x80); //                             NRI 3, type 8
const IDR = cat([0x65], body(40)); //                                  NRI 3, type 5
const P1 = cat([0x41], body(30, 7)); //                                NRI 2, type 1
const P2 = cat([0x41], body(25, 9));
const SEI = u8(0x06, 0x05, 0x01, 0xaa, 0x80); //                       type 6

/** STAP-A (RFC 6184 §5.7.1): indicator (NRI = max, type 24) then { size16, NAL }*. */
const stapA = (...nals: Uint8Array[]): Uint8Array => cat([0x78], ...nals.flatMap((n) => [be16(n.length), n]));
/** FU-A (§5.8) fragments of `nal` in `parts` pieces: indicator F|NRI|28, FU header S|E|R|Type, data. */
function fuA(nal: Uint8Array, parts: number): Uint8Array[] {
  const data = nal.subarray(1);
  const size = Math.ceil(data.length / parts);
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts; i++) {
    const s = i === 0 ? 0x80 : 0;
    const e = i === parts - 1 ? 0x40 : 0;
    out.push(cat([(nal[0] & 0xe0) | 28, s | e | (nal[0] & 0x1f)], data.subarray(i * size, (i + 1) * size)));
  }
  return out;
}

// ---- H.265 NAL units (2-octet header F|Type(6)|LayerId(6)|TID(3)) ----
const h265 = (type: number, n: number, seed = 3): Uint8Array => cat([type << 1, 0x01], body(n, seed));
const VPS5 = h265(32, 20);
const SPS5 = h265(33, 30, 5);
const PPS5 = h265(34, 6, 8);
const IDR5 = h265(19, 60, 11); // IDR_W_RADL
const CRA5 = h265(21, 20, 12);
const TRAIL5 = h265(1, 40, 13);
/** AP (RFC 7798 §4.4.2): PayloadHdr type 48, then { size16, NAL }*. */
const ap = (...nals: Uint8Array[]): Uint8Array => cat([48 << 1, 0x01], ...nals.flatMap((n) => [be16(n.length), n]));
/** FU (§4.4.3): PayloadHdr type 49, FU header S|E|FuType, data. */
function fu5(nal: Uint8Array, parts: number): Uint8Array[] {
  const data = nal.subarray(2);
  const size = Math.ceil(data.length / parts);
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts; i++) {
    const s = i === 0 ? 0x80 : 0;
    const e = i === parts - 1 ? 0x40 : 0;
    out.push(cat([(nal[0] & 0x81) | (49 << 1), nal[1], s | e | ((nal[0] >> 1) & 0x3f)], data.subarray(i * size, (i + 1) * size)));
  }
  return out;
}

/** A packet: sequence, timestamp, marker, payload. */
const P = (seq: number, ts: number, marker: boolean, payload: Uint8Array): Pkt => ({ seq, ts, marker, payload });

interface ExpectedFrame { nals?: Uint8Array[]; data?: Uint8Array; ts: number; flags: number }
interface Vector {
  name: string;
  options: DepayloaderOptions;
  packets: Pkt[];
  /** Call flush() after the packets. */
  flush?: boolean;
  frames: ExpectedFrame[];
  dropped?: Partial<DepayStats['dropped']>;
  lostPackets?: number;
  latePackets?: number;
}

const H264: DepayloaderOptions = { codec: 'H264' };
const H265: DepayloaderOptions = { codec: 'H265' };
const [I1, I2, I3] = fuA(IDR, 3);

const H264_VECTORS: Vector[] = [
  { name: 'single NAL unit with marker', options: H264, packets: [P(1, 3000, true, P1)], frames: [{ nals: [P1], ts: 3000, flags: 0 }] },
  {
    name: 'STAP-A of SPS+PPS then an IDR: one keyframe with parameter sets', options: H264,
    packets: [P(1, 0, false, stapA(SPS, PPS)), P(2, 0, true, IDR)],
    frames: [{ nals: [SPS, PPS, IDR], ts: 0, flags: KEY | PS }],
  },
  {
    name: 'FU-A start/middle/end reassembled with the NAL header rebuilt', options: H264,
    packets: [P(10, 90, false, I1), P(11, 90, false, I2), P(12, 90, true, I3)],
    frames: [{ nals: [IDR], ts: 90, flags: KEY }],
  },
  {
    name: 'FU-A with start and end in one fragment', options: H264,
    packets: [P(1, 5, true, fuA(P1, 1)[0])], frames: [{ nals: [P1], ts: 5, flags: 0 }],
  },
  {
    name: 'interleaved STAP-A then FU-A in one access unit', options: H264,
    packets: [P(1, 7, false, stapA(SPS, PPS, SEI)), P(2, 7, false, I1), P(3, 7, false, I2), P(4, 7, true, I3)],
    frames: [{ nals: [SPS, PPS, SEI, IDR], ts: 7, flags: KEY | PS }],
  },
  {
    name: 'lost first fragment: the unit is dropped (loss), the next frame is a discontinuity', options: H264,
    packets: [P(1, 0, true, P1), /* 2 lost */ P(3, 3000, false, I2), P(4, 3000, true, I3), P(5, 6000, true, P2)],
    frames: [{ nals: [P1], ts: 0, flags: 0 }, { nals: [P2], ts: 6000, flags: DISC }],
    dropped: { loss: 1 }, lostPackets: 1,
  },
  {
    name: 'lost middle fragment', options: H264,
    packets: [P(1, 0, false, I1), /* 2 lost */ P(3, 0, true, I3), P(4, 3000, true, P1)],
    frames: [{ nals: [P1], ts: 3000, flags: DISC }], dropped: { loss: 1 }, lostPackets: 1,
  },
  {
    name: 'lost last fragment (the marker): that unit and the next, whose start may be lost too, are dropped', options: H264,
    packets: [P(1, 0, false, I1), P(2, 0, false, I2), /* 3 lost */ P(4, 3000, true, P1), P(5, 6000, true, P2)],
    frames: [{ nals: [P2], ts: 6000, flags: DISC }], dropped: { loss: 2 }, lostPackets: 1,
  },
  {
    name: 'FU-A continuation without a start (no loss) is malformed', options: H264,
    packets: [P(1, 0, false, I2), P(2, 0, true, I3), P(3, 3000, true, P1)],
    frames: [{ nals: [P1], ts: 3000, flags: DISC }], dropped: { malformed: 1 },
  },
  {
    name: 'a FU-A start while another is open, and a single NAL interrupting a FU-A, are malformed', options: H264,
    packets: [P(1, 0, false, I1), P(2, 0, true, I1), P(3, 3000, false, I1), P(4, 3000, true, P1), P(5, 6000, true, P2)],
    frames: [{ nals: [P2], ts: 6000, flags: DISC }], dropped: { malformed: 2 },
  },
  {
    name: 'a timestamp change without marker ends the unit: both complete on one push', options: H264,
    packets: [P(1, 1000, false, P1), P(2, 4000, true, P2)],
    frames: [{ nals: [P1], ts: 1000, flags: 0 }, { nals: [P2], ts: 4000, flags: 0 }],
  },
  {
    name: 'a timestamp change while a FU-A is open drops the cut unit', options: H264,
    packets: [P(1, 1000, false, I1), P(2, 4000, true, P2)],
    frames: [{ nals: [P2], ts: 4000, flags: DISC }], dropped: { malformed: 1 },
  },
  {
    name: 'SPS change mid-stream flagged PARAMETER_SETS (not a keyframe without IDR)', options: H264,
    packets: [P(1, 0, false, stapA(SPS, PPS)), P(2, 0, true, IDR), P(3, 3000, true, P1), P(4, 6000, false, stapA(SPS2, PPS)), P(5, 6000, true, P2)],
    frames: [{ nals: [SPS, PPS, IDR], ts: 0, flags: KEY | PS }, { nals: [P1], ts: 3000, flags: 0 }, { nals: [SPS2, PPS, P2], ts: 6000, flags: PS }],
  },
  {
    name: 'an access unit larger than maxFrameBytes is dropped (tooLarge)', options: { codec: 'H264', maxFrameBytes: 40 },
    packets: [P(1, 0, false, I1), P(2, 0, false, I2), P(3, 0, true, I3), P(4, 3000, true, P2)],
    frames: [{ nals: [P2], ts: 3000, flags: DISC }], dropped: { tooLarge: 1 },
  },
  {
    name: 'exactly maxFrameBytes fits', options: { codec: 'H264', maxFrameBytes: 4 + P2.length },
    packets: [P(1, 0, true, P2)], frames: [{ nals: [P2], ts: 0, flags: 0 }],
  },
  {
    name: 'waitForKeyframe: frames before the first keyframe and after a loss are dropped until an IDR', options: { codec: 'H264', waitForKeyframe: true },
    packets: [
      P(1, 0, true, P1), //                          dropped: waiting (stream start)
      P(2, 3000, true, IDR), //                      emitted, DISC (frames were dropped before it)
      P(3, 6000, true, P1), //                       emitted
      /* 4 lost */ P(5, 9000, true, P2), //          dropped: loss
      P(6, 12000, true, P1), //                      dropped: waiting
      P(7, 15000, false, stapA(SPS, PPS)), P(8, 15000, true, IDR), // emitted, DISC
    ],
    frames: [{ nals: [IDR], ts: 3000, flags: KEY | DISC }, { nals: [P1], ts: 6000, flags: 0 }, { nals: [SPS, PPS, IDR], ts: 15000, flags: KEY | PS | DISC }],
    dropped: { loss: 1, waitingForKeyframe: 2 }, lostPackets: 1,
  },
  {
    name: 'STAP-B, MTAP16, MTAP24, FU-B and reserved types are refused as unsupported', options: H264,
    packets: [
      P(1, 0, true, u8(0x19, 0, 0, 0, 2, 0x41, 0x01)), // STAP-B (25): DON then units
      P(2, 1, true, u8(0x1a, 0, 0, 0)), //             MTAP16 (26)
      P(3, 2, true, u8(0x1b, 0, 0, 0)), //             MTAP24 (27)
      P(4, 3, true, u8(0x1d, 0x85, 0, 0, 1)), //        FU-B (29)
      P(5, 4, true, u8(0x1e, 1)), //                    reserved (30)
      P(6, 5, true, P1),
    ],
    frames: [{ nals: [P1], ts: 5, flags: DISC }], dropped: { unsupported: 5 },
  },
  {
    name: 'malformed STAP-A (size past the end, zero size, truncated size) and empty payloads', options: H264,
    packets: [
      P(1, 0, true, u8(0x78, 0x00, 0x09, 0x67, 0x42)), // size 9, 2 octets follow
      P(2, 1, true, u8(0x78, 0x00, 0x00)), //             size 0
      P(3, 2, true, u8(0x78, 0x00, 0x02, 0x41, 0x01, 0x00)), // second size cut short
      P(4, 3, true, u8(0x78)), //                          no units at all
      P(5, 4, true, u8()), //                              empty payload
      P(6, 5, true, u8(0x7c)), //                          FU-A without FU header
      P(7, 6, true, P1),
    ],
    frames: [{ nals: [P1], ts: 6, flags: DISC }], dropped: { malformed: 6 },
  },
  {
    name: 'flush completes a whole pending unit', options: H264, flush: true,
    packets: [P(1, 0, false, stapA(SPS, PPS)), P(2, 0, false, IDR)],
    frames: [{ nals: [SPS, PPS, IDR], ts: 0, flags: KEY | PS }],
  },
  {
    name: 'flush drops a pending unit with an open FU-A', options: H264, flush: true,
    packets: [P(1, 0, false, I1), P(2, 0, false, I2)], frames: [], dropped: { malformed: 1 },
  },
  {
    name: 'sequence wrap-around is not a gap', options: H264,
    packets: [P(65534, 0, true, P1), P(65535, 3000, false, I1), P(0, 3000, false, I2), P(1, 3000, true, I3)],
    frames: [{ nals: [P1], ts: 0, flags: 0 }, { nals: [IDR], ts: 3000, flags: KEY }],
  },
  {
    name: 'a late (reordered) and a duplicated packet are dropped as late; the gap they left counts as loss', options: H264,
    packets: [P(10, 0, true, P1), P(12, 3000, true, P2), P(11, 3000, true, P1), P(12, 3000, true, P2), P(13, 6000, true, P2)],
    frames: [{ nals: [P1], ts: 0, flags: 0 }, { nals: [P2], ts: 6000, flags: DISC }], dropped: { loss: 1 }, lostPackets: 1, latePackets: 2,
  },
  {
    name: 'a jump backwards beyond the late window is a resync, not a loss count', options: H264,
    packets: [P(1000, 0, true, P1), P(10, 3000, true, P2), P(11, 6000, true, P1)],
    frames: [{ nals: [P1], ts: 0, flags: 0 }, { nals: [P1], ts: 6000, flags: DISC }], dropped: { loss: 1 }, lostPackets: 0,
  },
];

const [D1, D2, D3] = fu5(IDR5, 3);
const H265_VECTORS: Vector[] = [
  { name: 'single NAL unit', options: H265, packets: [P(1, 0, true, TRAIL5)], frames: [{ nals: [TRAIL5], ts: 0, flags: 0 }] },
  {
    name: 'AP of VPS+SPS+PPS then an IDR: keyframe with parameter sets', options: H265,
    packets: [P(1, 0, false, ap(VPS5, SPS5, PPS5)), P(2, 0, true, IDR5)],
    frames: [{ nals: [VPS5, SPS5, PPS5, IDR5], ts: 0, flags: KEY | PS }],
  },
  {
    name: 'FU start/middle/end with the 2-octet header rebuilt', options: H265,
    packets: [P(1, 0, false, D1), P(2, 0, false, D2), P(3, 0, true, D3)], frames: [{ nals: [IDR5], ts: 0, flags: KEY }],
  },
  { name: 'CRA is a keyframe (IRAP)', options: H265, packets: [P(1, 0, true, CRA5)], frames: [{ nals: [CRA5], ts: 0, flags: KEY }] },
  {
    name: 'interleaved AP then FU', options: H265,
    packets: [P(1, 9, false, ap(VPS5, SPS5, PPS5)), P(2, 9, false, D1), P(3, 9, false, D2), P(4, 9, true, D3)],
    frames: [{ nals: [VPS5, SPS5, PPS5, IDR5], ts: 9, flags: KEY | PS }],
  },
  {
    name: 'lost first / middle fragment', options: H265,
    packets: [P(1, 0, true, TRAIL5), /* 2 lost */ P(3, 1, false, D2), P(4, 1, true, D3), P(5, 2, false, D1), /* 6 lost */ P(7, 2, true, D3), P(8, 3, true, TRAIL5)],
    frames: [{ nals: [TRAIL5], ts: 0, flags: 0 }, { nals: [TRAIL5], ts: 3, flags: DISC }], dropped: { loss: 2 }, lostPackets: 2,
  },
  {
    name: 'FU without start is malformed; a timestamp change ends a unit', options: H265,
    packets: [P(1, 0, false, D2), P(2, 0, true, D3), P(3, 1, false, TRAIL5), P(4, 2, true, CRA5)],
    frames: [{ nals: [TRAIL5], ts: 1, flags: DISC }, { nals: [CRA5], ts: 2, flags: KEY }], dropped: { malformed: 1 },
  },
  {
    name: 'PACI (50) and types 51..63 are unsupported; an AP unit shorter than its header is malformed', options: H265,
    packets: [P(1, 0, true, u8(50 << 1, 1, 0, 0, 0)), P(2, 1, true, u8(63 << 1, 1, 0)), P(3, 2, true, u8(48 << 1, 1, 0, 1, 0x02)), P(4, 3, true, TRAIL5)],
    frames: [{ nals: [TRAIL5], ts: 3, flags: DISC }], dropped: { unsupported: 2, malformed: 1 },
  },
  {
    name: 'too large, and waitForKeyframe', options: { codec: 'H265', maxFrameBytes: 50, waitForKeyframe: true },
    packets: [P(1, 0, true, TRAIL5), P(2, 1, true, IDR5), P(3, 2, true, CRA5), P(4, 3, true, h265(1, 10))],
    frames: [{ nals: [CRA5], ts: 2, flags: KEY | DISC }, { nals: [h265(1, 10)], ts: 3, flags: 0 }],
    dropped: { waitingForKeyframe: 1, tooLarge: 1 },
  },
];

// ---- RFC 4175: 8x2 UYVY (pgroup 4 octets / 2 pixels, 16 octets a line, 32 a frame) ----
const RAW_UYVY: DepayloaderOptions = { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:2', width: '8', height: '2', depth: '8' } };
const line = (n: number, seed: number): number[] => body(n, seed);
/** A line header: length, F|line, C|offset (RFC 4175 §4.3). */
const lh = (length: number, lineNo: number, offset: number, more: boolean): number[] => [...be16(length), ...be16(lineNo & 0x7fff), ...be16((more ? 0x8000 : 0) | offset)];
const RAW_L0 = line(16, 1);
const RAW_L1 = line(16, 100);
const RAW_FRAME = u8(...RAW_L0, ...RAW_L1);
const RAW_VECTORS: Vector[] = [
  {
    name: 'two lines in one packet (continuation bit)', options: RAW_UYVY,
    packets: [P(1, 0, true, u8(0, 0, ...lh(16, 0, 0, true), ...lh(16, 1, 0, false), ...RAW_L0, ...RAW_L1))],
    frames: [{ data: RAW_FRAME, ts: 0, flags: KEY }],
  },
  {
    name: 'a line split over packets at a pixel offset, lines out of order', options: RAW_UYVY,
    packets: [
      P(1, 0, false, u8(0, 1, ...lh(16, 1, 0, false), ...RAW_L1)),
      P(2, 0, false, u8(0, 2, ...lh(8, 0, 0, false), ...RAW_L0.slice(0, 8))),
      P(3, 0, true, u8(0, 3, ...lh(8, 0, 4, false), ...RAW_L0.slice(8))),
    ],
    frames: [{ data: RAW_FRAME, ts: 0, flags: KEY }],
  },
  {
    name: 'a lost packet drops the frame; the next is a discontinuity', options: RAW_UYVY,
    packets: [
      P(1, 0, false, u8(0, 1, ...lh(16, 0, 0, false), ...RAW_L0)), /* 2 lost */
      P(3, 3000, false, u8(0, 3, ...lh(16, 0, 0, false), ...RAW_L0)), P(4, 3000, true, u8(0, 4, ...lh(16, 1, 0, false), ...RAW_L1)),
      P(5, 6000, true, u8(0, 5, ...lh(16, 0, 0, true), ...lh(16, 1, 0, false), ...RAW_L0, ...RAW_L1)),
    ],
    frames: [{ data: RAW_FRAME, ts: 6000, flags: KEY | DISC }], dropped: { loss: 2 }, lostPackets: 1,
  },
  {
    name: 'malformed segments: line past the height, offset past the width, odd pgroup, data cut short, missing lines', options: RAW_UYVY,
    packets: [
      P(1, 0, true, u8(0, 1, ...lh(16, 2, 0, false), ...RAW_L0)), //    line 2 of 2
      P(2, 1, true, u8(0, 2, ...lh(16, 0, 2, false), ...RAW_L0)), //    offset 2 + 8 pixels > 8
      P(3, 2, true, u8(0, 3, ...lh(6, 0, 0, false), ...RAW_L0.slice(0, 6))), // 6 octets: not whole pgroups
      P(4, 3, true, u8(0, 4, ...lh(16, 0, 0, false), ...RAW_L0.slice(0, 10))), // data cut short
      P(5, 4, true, u8(0, 5, ...lh(16, 0, 0, false), ...RAW_L0)), //     only one of two lines
      P(6, 5, true, u8(0, 6, 0, 16, 0)), //                               header cut short
    ],
    frames: [], dropped: { malformed: 6 },
  },
  {
    name: 'a second-field (interlaced) segment is unsupported', options: RAW_UYVY,
    packets: [P(1, 0, true, u8(0, 1, ...be16(16), 0x80, 0x00, 0x00, 0x00, ...RAW_L0))], frames: [], dropped: { unsupported: 1 },
  },
  {
    name: 'RGB 4x1 (3 octets a pixel)', options: { codec: 'RAW', fmtp: { sampling: 'RGB', width: '4', height: '1', depth: '8' } },
    packets: [P(1, 0, false, u8(0, 1, ...lh(6, 0, 0, false), 1, 2, 3, 4, 5, 6)), P(2, 0, true, u8(0, 2, ...lh(6, 0, 2, false), 7, 8, 9, 10, 11, 12))],
    frames: [{ data: u8(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), ts: 0, flags: KEY }],
  },
  {
    name: 'RGBA 2x2 (4 octets a pixel)', options: { codec: 'RAW', fmtp: { sampling: 'RGBA', width: '2', height: '2', depth: '8' } },
    packets: [P(1, 0, true, u8(0, 1, ...lh(8, 1, 0, true), ...lh(8, 0, 0, false), ...body(8, 50), ...body(8, 1)))],
    frames: [{ data: u8(...body(8, 1), ...body(8, 50)), ts: 0, flags: KEY }],
  },
];

// ---- RFC 3640 AAC-hbr: AU-headers-length (bits), then 16-bit headers: size (13) | index or delta (3) ----
const AAC: DepayloaderOptions = { codec: 'AAC', fmtp: { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3' } };
const auHeader = (size: number, index: number): number[] => be16((size << 3) | index);
const AU1 = u8(...body(20, 1));
const AU2 = u8(...body(7, 30));
const AU3 = u8(...body(33, 60));
const BIG = u8(...body(300, 90));
const AAC_VECTORS: Vector[] = [
  {
    name: 'three AUs in one packet: three frames, timestamps 1024 apart', options: AAC,
    packets: [P(1, 48000, true, u8(0, 48, ...auHeader(20, 0), ...auHeader(7, 0), ...auHeader(33, 0), ...AU1, ...AU2, ...AU3))],
    frames: [{ data: AU1, ts: 48000, flags: KEY }, { data: AU2, ts: 49024, flags: KEY }, { data: AU3, ts: 50048, flags: KEY }],
  },
  {
    name: 'AU-Index-delta places each AU (interleaving): timestamp = RTP timestamp + index × 1024', options: AAC,
    packets: [P(1, 0, true, u8(0, 32, ...auHeader(20, 5), ...auHeader(7, 2), ...AU1, ...AU2))], // index 5 ignored; next is +3
    frames: [{ data: AU1, ts: 0, flags: KEY }, { data: AU2, ts: 3072, flags: KEY }],
  },
  {
    name: 'constantDuration sets the samples per AU', options: { codec: 'AAC', fmtp: { mode: 'AAC-hbr', constantduration: '960' } },
    packets: [P(1, 100, true, u8(0, 32, ...auHeader(20, 0), ...auHeader(7, 0), ...AU1, ...AU2))],
    frames: [{ data: AU1, ts: 100, flags: KEY }, { data: AU2, ts: 1060, flags: KEY }],
  },
  {
    name: 'an AU fragmented over three packets is reassembled', options: AAC,
    packets: [
      P(1, 0, false, u8(0, 16, ...auHeader(300, 0), ...BIG.slice(0, 100))),
      P(2, 0, false, u8(0, 16, ...auHeader(300, 0), ...BIG.slice(100, 200))),
      P(3, 0, true, u8(0, 16, ...auHeader(300, 0), ...BIG.slice(200))),
      P(4, 1024, true, u8(0, 16, ...auHeader(20, 0), ...AU1)),
    ],
    frames: [{ data: BIG, ts: 0, flags: KEY }, { data: AU1, ts: 1024, flags: KEY }],
  },
  {
    name: 'a lost fragment drops the AU; whole AUs after a gap survive, flagged', options: AAC,
    packets: [
      P(1, 0, false, u8(0, 16, ...auHeader(300, 0), ...BIG.slice(0, 100))), /* 2 lost */
      P(3, 0, true, u8(0, 16, ...auHeader(300, 0), ...BIG.slice(200))),
      /* 4 lost */ P(5, 2048, true, u8(0, 16, ...auHeader(20, 0), ...AU1)),
    ],
    frames: [{ data: AU1, ts: 2048, flags: KEY | DISC }], dropped: { loss: 1 }, lostPackets: 2,
  },
  {
    name: 'AU sizes past the data, a bad header length, and an AU over maxFrameBytes', options: { ...AAC, maxFrameBytes: 30 },
    packets: [
      P(1, 0, true, u8(0, 32, ...auHeader(20, 0), ...auHeader(20, 0), ...AU1, ...AU2)), // 40 announced, 27 there
      P(2, 1, true, u8(0, 15, 0, 0)), //                                                   15 bits: not a header multiple
      P(3, 2, true, u8(0, 32, ...auHeader(33, 0), ...auHeader(20, 0), ...AU3, ...AU1)), // 33 > maxFrameBytes
    ],
    frames: [{ data: AU1, ts: 1026, flags: KEY | DISC }], dropped: { malformed: 2, tooLarge: 1 },
  },
];

let core: Core;
beforeAll(async () => {
  core = await createCore({ memoryBytes: 16 << 20 });
});

const harnesses: WasmDepayHarness[] = [];
afterEach(() => {
  while (harnesses.length) harnesses.pop()!.destroy();
});

function run(v: Vector): { frames: Frame[]; stats: DepayStats; perPush: number[] } {
  const h = new WasmDepayHarness(core, v.options);
  harnesses.push(h);
  const frames: Frame[] = [];
  const perPush: number[] = [];
  for (const p of v.packets) {
    const got = h.push(p);
    perPush.push(got.length);
    frames.push(...got);
  }
  if (v.flush) frames.push(...h.flush());
  return { frames, stats: h.depay.stats(), perPush };
}

function check(v: Vector): void {
  const { frames, stats } = run(v);
  expect(frames.map((f) => ({ ts: f.ts, flags: f.flags, data: [...f.data] }))).toEqual(
    v.frames.map((f) => ({ ts: f.ts, flags: f.flags, data: [...(f.data ?? expectedFrame(f.nals!))] })),
  );
  const dropped = { loss: 0, tooLarge: 0, malformed: 0, waitingForKeyframe: 0, unsupported: 0, ...v.dropped };
  expect(stats.dropped).toEqual(dropped);
  expect(stats.lostPackets).toBe(v.lostPackets ?? 0);
  expect(stats.latePackets).toBe(v.latePackets ?? 0);
  expect(stats.packets).toBe(v.packets.length);
  expect(stats.frames).toBe(v.frames.length);
  expect(stats.bytes).toBe(frames.reduce((n, f) => n + f.data.length, 0));
}

describe('H.264 (RFC 6184)', () => {
  for (const v of H264_VECTORS) it(v.name, () => check(v));
});
describe('H.265 (RFC 7798)', () => {
  for (const v of H265_VECTORS) it(v.name, () => check(v));
});
describe('raw video (RFC 4175)', () => {
  for (const v of RAW_VECTORS) it(v.name, () => check(v));
});
describe('AAC-hbr (RFC 3640)', () => {
  for (const v of AAC_VECTORS) it(v.name, () => check(v));
});

describe('frames in wasm memory', () => {
  it('a frame completed by a timestamp change stays valid while the next one is assembled (two buffers)', () => {
    const h = new WasmDepayHarness(core, H264);
    harnesses.push(h);
    h.push(P(1, 1000, false, P1));
    const d = h.depay;
    expect(h.push(P(2, 4000, true, P2)).length).toBe(2);
    // Both views, read after the push, hold their own unit.
    expect([...d.frameView(0)]).toEqual([...expectedFrame([P1])]);
    expect([...d.frameView(1)]).toEqual([...expectedFrame([P2])]);
    expect(d.frameOffset(0)).not.toBe(d.frameOffset(1));
    expect(d.frameLength(1)).toBe(4 + P2.length);
    expect(() => d.frameView(2)).toThrowError(expect.objectContaining({ code: 'NO_SUCH_FRAME' }));
  });

  it('several depayloaders in one instance keep their own state (interleaved streams)', () => {
    const a = new WasmDepayHarness(core, H264);
    const b = new WasmDepayHarness(core, H265);
    harnesses.push(a, b);
    const got: Frame[] = [];
    got.push(...a.push(P(1, 0, false, I1)));
    got.push(...b.push(P(100, 50, false, D1)));
    got.push(...a.push(P(2, 0, false, I2)));
    got.push(...b.push(P(101, 50, false, D2)));
    got.push(...b.push(P(102, 50, true, D3)));
    got.push(...a.push(P(3, 0, true, I3)));
    expect(got.map((f) => [...f.data])).toEqual([[...expectedFrame([IDR5])], [...expectedFrame([IDR])]]);
    expect(a.depay.stats().dropped).toEqual(b.depay.stats().dropped);
  });

  it('reads correctly after the memory buffer was detached (grow(0))', () => {
    const h = new WasmDepayHarness(core, H264);
    harnesses.push(h);
    h.push(P(1, 0, true, P1));
    core.memory.grow(0);
    expect([...h.depay.frameView(0)]).toEqual([...expectedFrame([P1])]);
    expect(h.depay.stats().frames).toBe(1);
  });
});

function rtp(p: Pkt): Uint8Array {
  const out = new Uint8Array(12 + p.payload.length);
  out[0] = 0x80; out[1] = (p.marker ? 0x80 : 0) | 96; out[2] = p.seq >> 8; out[3] = p.seq & 0xff;
  new DataView(out.buffer).setUint32(4, p.ts);
  out.set(p.payload, 12);
  return out;
}

describe('misuse gives typed errors', () => {
  it('refuses bad options', () => {
    expect(() => new Depayloader(core, { codec: 'VP8' as never })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => new Depayloader(core, { codec: 'H264', maxFrameBytes: 0 })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => new Depayloader(core, { codec: 'H264', maxFrameBytes: 1.5 })).toThrowError(DepayError);
    expect(() => new Depayloader(core, { codec: 'RAW' })).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => new Depayloader(core, { codec: 'RAW', fmtp: { sampling: 'YCbCr-4:2:0', width: '8', height: '2', depth: '8' } }))
      .toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => new Depayloader(core, { ...RAW_UYVY, maxFrameBytes: 31 })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => new Depayloader(core, { codec: 'AAC', fmtp: { mode: 'CELP-cbr' } })).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => new Depayloader(core, { codec: 'AAC', fmtp: { mode: 'AAC-hbr', sizelength: 'x' } })).toThrowError(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('reports OUT_OF_MEMORY when two buffers do not fit the fixed memory', () => {
    expect(() => new Depayloader(core, { codec: 'H264', maxFrameBytes: 64 << 20 })).toThrowError(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
  });

  it('refuses a record that does not describe the packet, and use after destroy', () => {
    const h = new WasmDepayHarness(core, H264);
    const buf = core.alloc(2048);
    const rec = buf + 1024;
    const bytes = rtp(P(1, 0, true, P1));
    core.views().set(bytes, buf);
    core.exports.rtp_parse(buf, bytes.length, rec);
    expect(() => h.depay.push(buf, bytes.length + 1, rec)).toThrowError(expect.objectContaining({ code: 'DEPAY_BAD_RECORD' }));
    core.exports.rtp_parse(buf, 5, rec); // RTP_TOO_SHORT
    expect(() => h.depay.push(buf, 5, rec)).toThrowError(expect.objectContaining({ code: 'DEPAY_BAD_RECORD' }));
    expect(() => h.depay.push(0xffff_fff0, 100, rec)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT' }));
    expect(h.depay.stats().packets).toBe(0);
    h.destroy();
    h.destroy();
    expect(() => h.depay.push(buf, bytes.length, rec)).toThrowError(expect.objectContaining({ code: 'DESTROYED' }));
    expect(core.exports.depay_push(0, buf, bytes.length, rec)).toBe(-72); // DEPAY_BAD_STATE
    core.free(buf);
  });

  it('frees its memory on destroy', () => {
    const before = core.reservedBytes;
    const d = new Depayloader(core, { codec: 'H264', maxFrameBytes: 1 << 20 });
    expect(core.reservedBytes).toBeGreaterThan(before + (2 << 20));
    d.destroy();
    expect(core.reservedBytes).toBe(before);
  });

  it('supports() names the SDP encodings', () => {
    for (const n of ['H264', 'h265', 'RAW', 'MPEG4-GENERIC']) expect(Depayloader.supports(n)).toBe(true);
    for (const n of ['VP8', 'PCMU', '']) expect(Depayloader.supports(n)).toBe(false);
  });
});
