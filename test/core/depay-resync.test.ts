// A unit that breaks is dropped and counted at once, and the depayloader resyncs at the next unit (issue 15 item 8).
// The bug: an H.264 FU-A that never ended (hundreds of MB of continuation fragments, one timestamp, no marker) stayed
// bounded in memory but moved no counter: `tooLarge` was counted only when the unit ended, and it never did. Now the
// drop is counted the moment the unit passes maxFrameBytes (or breaks any other way), the rest of the unit is passed
// over unread (`skippedPackets`), and the next unit — a new timestamp, or the packet after the dropped unit's marker —
// is assembled afresh. Same for H.265 FU/AP, STAP-A, single NAL units, AAC fragments and raw video.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore, Core, FRAME_DISCONTINUITY, FRAME_KEYFRAME, type DepayloaderOptions } from '../../src/node/index.js';
import { WasmDepayHarness, expectedFrame, type Pkt } from '../reference/depay.js';

const KEY = FRAME_KEYFRAME;
const DISC = FRAME_DISCONTINUITY;
const fill = (n: number, seed = 1): number[] => Array.from({ length: n }, (_, i) => ((seed + i) % 250) + 1);
const u8 = (...parts: Array<number | number[]>): Uint8Array => Uint8Array.from(parts.flat());
const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const P = (seq: number, ts: number, marker: boolean, payload: Uint8Array): Pkt => ({ seq: seq & 0xffff, ts, marker, payload });

const IDR = u8(0x65, fill(60)); //      H.264 IDR (type 5)
const FU_START = (n: number) => u8(0x7c, 0x85, fill(n)); // FU-A indicator NRI 3 | 28, header S | type 5
const FU_MIDDLE = (n: number) => u8(0x7c, 0x05, fill(n, 9)); // no S, no E
const IDR5 = u8(19 << 1, 0x01, fill(60)); // H.265 IDR_W_RADL
const FU5_START = (n: number) => u8(49 << 1, 0x01, 0x80 | 19, fill(n));
const FU5_MIDDLE = (n: number) => u8(49 << 1, 0x01, 19, fill(n, 5));

let core: Core;
beforeAll(async () => {
  core = await createCore({ memoryBytes: 16 << 20 });
});
const harnesses: WasmDepayHarness[] = [];
afterEach(() => {
  while (harnesses.length) harnesses.pop()!.destroy();
});
function harness(options: DepayloaderOptions): WasmDepayHarness {
  const h = new WasmDepayHarness(core, options);
  harnesses.push(h);
  return h;
}

describe('a unit that passes maxFrameBytes', () => {
  it('an H.264 FU-A that never ends: tooLarge counted the moment it passes the limit, the rest skipped, memory flat', () => {
    const max = 64 * 1024;
    const h = harness({ codec: 'H264', maxFrameBytes: max });
    const reserved = core.reservedBytes;
    const chunk = 1400;
    const middle = FU_MIDDLE(chunk);
    let seq = 100;
    h.push(P(seq++, 9000, false, FU_START(chunk)));
    let written = 4 + 1 + chunk;
    // Up to the limit nothing is dropped; the push that passes it counts the drop.
    while (written + chunk <= max) {
      h.push(P(seq++, 9000, false, middle));
      written += chunk;
      expect(h.depay.stats().dropped.tooLarge).toBe(0);
    }
    h.push(P(seq++, 9000, false, middle));
    expect(h.depay.stats().dropped.tooLarge).toBe(1);
    // 20 MB more of the same unit (no end bit, no marker, one timestamp): skipped, counted, nothing retained.
    const more = Math.ceil((20 << 20) / chunk);
    let frames = 0;
    for (let i = 0; i < more; i++) frames += h.push(P(seq++, 9000, false, middle)).length;
    expect(frames).toBe(0);
    const st = h.depay.stats();
    expect(st.dropped).toEqual({ loss: 0, tooLarge: 1, malformed: 0, waitingForKeyframe: 0, unsupported: 0 });
    expect(st.skippedPackets).toBe(more);
    expect(st.frames).toBe(0);
    expect(core.reservedBytes).toBe(reserved);
    // The next unit (a new timestamp) is whole again, flagged as following a drop.
    expect(h.push(P(seq++, 12000, true, IDR))).toEqual([{ data: expectedFrame([IDR]), ts: 12000, flags: KEY | DISC }]);
    expect(h.depay.stats().skippedPackets).toBe(more);
  });

  it('the dropped unit ends at its marker: the next packet starts a new unit even on the same timestamp', () => {
    const h = harness({ codec: 'H264', maxFrameBytes: 200 });
    h.push(P(1, 0, false, FU_START(150)));
    h.push(P(2, 0, false, FU_MIDDLE(150))); // passes 200
    expect(h.depay.stats().dropped.tooLarge).toBe(1);
    expect(h.push(P(3, 0, true, u8(0x7c, 0x45, fill(10))))).toEqual([]); // its end, with the marker
    expect(h.push(P(4, 0, true, IDR))).toEqual([{ data: expectedFrame([IDR]), ts: 0, flags: KEY | DISC }]);
    expect(h.depay.stats()).toMatchObject({ skippedPackets: 1, frames: 1 });
  });

  it.each([
    ['a single NAL unit', { codec: 'H264' as const }, [P(1, 0, false, u8(0x41, fill(300)))]],
    ['a STAP-A', { codec: 'H264' as const }, [P(1, 0, false, u8(0x78, be16(150), 0x41, fill(149), be16(150), 0x41, fill(149)))]],
    ['an H.265 FU', { codec: 'H265' as const }, [P(1, 0, false, FU5_START(150)), P(2, 0, false, FU5_MIDDLE(150))]],
    ['an H.265 AP', { codec: 'H265' as const }, [P(1, 0, false, u8(48 << 1, 0x01, be16(150), 0x02, 0x01, fill(148), be16(150), 0x02, 0x01, fill(148)))]],
  ])('%s past the limit is counted at once; the rest of its unit is skipped; the next timestamp resyncs', (_name, o, packets) => {
    const h = harness({ ...o, maxFrameBytes: 200 });
    for (const p of packets) h.push(p);
    expect(h.depay.stats().dropped.tooLarge).toBe(1);
    const next = packets.length + 1;
    expect(h.push(P(next, 0, false, o.codec === 'H264' ? IDR : IDR5))).toEqual([]); // same unit: skipped
    expect(h.depay.stats().skippedPackets).toBe(1);
    const whole = o.codec === 'H264' ? IDR : IDR5;
    expect(h.push(P(next + 1, 3000, true, whole))).toEqual([{ data: expectedFrame([whole]), ts: 3000, flags: KEY | DISC }]);
    expect(h.depay.stats().dropped.tooLarge).toBe(1);
  });

  it('an AAC AU announced larger than maxFrameBytes is counted at its first fragment; its fragments are skipped', () => {
    const h = harness({ codec: 'AAC', fmtp: { mode: 'AAC-hbr' }, maxFrameBytes: 100 });
    const header = (size: number) => [0, 16, ...be16(size << 3)];
    h.push(P(1, 0, false, u8(header(3000), fill(1000))));
    expect(h.depay.stats().dropped.tooLarge).toBe(1);
    h.push(P(2, 0, false, u8(header(3000), fill(1000))));
    h.push(P(3, 0, true, u8(header(3000), fill(1000))));
    const au = u8(fill(20, 4));
    expect(h.push(P(4, 1024, true, u8(header(20), [...au])))).toEqual([{ data: au, ts: 1024, flags: KEY | DISC }]);
    expect(h.depay.stats()).toMatchObject({ skippedPackets: 2, dropped: { tooLarge: 1, malformed: 0 } });
  });
});

describe('any broken unit, counted when it breaks', () => {
  it('a FU-A continuation without its start (malformed) is counted at once, not when its unit ends', () => {
    const h = harness({ codec: 'H264' });
    h.push(P(1, 0, false, FU_MIDDLE(100)));
    expect(h.depay.stats().dropped.malformed).toBe(1);
    for (let i = 2; i < 50; i++) h.push(P(i, 0, false, FU_MIDDLE(100)));
    expect(h.depay.stats()).toMatchObject({ skippedPackets: 48, dropped: { malformed: 1 } });
  });

  it('raw video: a segment past the last line drops the frame at once; the rest of it is skipped; the next frame is whole', () => {
    const h = harness({ codec: 'RAW', fmtp: { sampling: 'RGB', width: '2', height: '1', depth: '8' } });
    const lh = (length: number, lineNo: number, offset: number) => [...be16(length), ...be16(lineNo), ...be16(offset)];
    h.push(P(1, 0, false, u8(0, 1, lh(3, 5, 0), 1, 2, 3))); // line 5 of 1
    expect(h.depay.stats().dropped.malformed).toBe(1);
    h.push(P(2, 0, true, u8(0, 2, lh(3, 0, 1), 4, 5, 6)));
    expect(h.push(P(3, 3000, true, u8(0, 3, lh(6, 0, 0), 1, 2, 3, 4, 5, 6)))).toEqual([
      { data: u8(1, 2, 3, 4, 5, 6), ts: 3000, flags: KEY | DISC },
    ]);
    expect(h.depay.stats()).toMatchObject({ skippedPackets: 1, frames: 1, dropped: { malformed: 1 } });
  });

  it('a loss inside a unit is counted when the gap is seen', () => {
    const h = harness({ codec: 'H264' });
    h.push(P(1, 0, false, FU_START(100)));
    h.push(P(3, 0, false, FU_MIDDLE(100))); // 2 lost
    expect(h.depay.stats()).toMatchObject({ lostPackets: 1, skippedPackets: 1, dropped: { loss: 1 } });
  });
});
