// StreamReceiver (src/core/media/receiver.ts) on its own, with no transport: packets written into core memory and
// parsed there, then handed to receive() as a transport would. Proves the one pass (statistics → packet handlers →
// depayloader → frame handlers), that packets are built only when someone consumes them, the single wall-clock
// computation, the read-only MediaStream with its deprecated getters, and RTCP counting (parse failures, BYE).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createCore, Frame, RtpPacket, StreamReceiver, receivedPacket, layout,
  type Core, type FrameModeOptions, type MediaStreamDescription, type ReceiverHost,
} from '../../../src/node/index.js';

const H264: MediaStreamDescription = {
  id: 0, type: 'video', control: 'rtsp://127.0.0.1/x/trackID=0', payloadType: 96, encodingName: 'H264', clockRate: 90000,
  fmtp: { 'packetization-mode': '1' }, media: undefined as never, transport: { protocol: 'RTP/AVP' } as never,
};

/** An RTP packet (V=2, PT 96, marker) carrying `payload`. */
function rtp(seq: number, ts: number, payload: number[], marker = true, ssrc = 0x1234): Uint8Array {
  const b = new Uint8Array(12 + payload.length);
  const dv = new DataView(b.buffer);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | 96;
  dv.setUint16(2, seq);
  dv.setUint32(4, ts);
  dv.setUint32(8, ssrc);
  b.set(payload, 12);
  return b;
}

/** A sender report (RFC 3550 §6.4.1) for `ssrc`: NTP time `unixMs`, RTP time `rtpTs`. */
function senderReport(ssrc: number, unixMs: number, rtpTs: number): Uint8Array {
  const b = new Uint8Array(28);
  const dv = new DataView(b.buffer);
  b[0] = 0x80;
  b[1] = 200;
  dv.setUint16(2, 6);
  dv.setUint32(4, ssrc);
  const secs = Math.floor(unixMs / 1000) + 2_208_988_800;
  dv.setUint32(8, secs >>> 0);
  dv.setUint32(12, Math.round(((unixMs % 1000) / 1000) * 2 ** 32) >>> 0);
  dv.setUint32(16, rtpTs);
  return b;
}

function bye(ssrc: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = 0x81;
  b[1] = 203;
  dv.setUint16(2, 1);
  dv.setUint32(4, ssrc);
  return b;
}

let core: Core;
beforeAll(async () => {
  core = await createCore({ memoryBytes: 32 << 20 });
});

interface Harness {
  receiver: StreamReceiver;
  events: string[];
  host: ReceiverHost & { framesOn: boolean; packetsWanted: boolean };
  feed(bytes: Uint8Array, now?: number): void;
}

function harness(options: { framesOn?: boolean; packetsWanted?: boolean; filter?: boolean; frameOptions?: FrameModeOptions } = {}): Harness {
  const pool = core.createPool({ limitBytes: 1 << 20 });
  const events: string[] = [];
  const packet = new RtpPacket(core, pool);
  const frame = new Frame(core, { used: 0, limit: 1 << 20 });
  const host = {
    core, packet, frame, frameOptions: options.frameOptions ?? {},
    framesOn: options.framesOn ?? false,
    packetsWanted: options.packetsWanted ?? true,
    packetFilter: options.filter === undefined ? undefined : () => options.filter!,
    deliverPacket(p: RtpPacket) {
      p.live = true;
      events.push(`packet ${p.header.sequenceNumber} stats=${receiver.statistics.packets} wall=${p.wallClockTimeMs ?? '-'}`);
      p.live = false;
    },
    deliverFrame(f: Frame) {
      events.push(`frame ${f.timestamp} key=${f.keyframe} bytes=${f.length} wall=${f.wallClockTimeMs ?? '-'}`);
    },
    reportError(e: unknown) {
      events.push(`error ${(e as Error).message}`);
    },
  };
  const receiver = new StreamReceiver(host, H264);
  const record = core.alloc(layout.RTP_RECORD_BYTES, 'test record');
  const received = receivedPacket();
  return {
    receiver, events, host,
    feed(bytes, now = 1000) {
      const h = pool.acquireHandle(bytes.length);
      const ptr = pool.lastPtr;
      core.u8.set(bytes, ptr);
      Object.assign(received, { handle: h, ptr, length: bytes.length, recordPtr: record, status: core.parseRtpAt(ptr, bytes.length, record) });
      receiver.receive(received, now);
      pool.releaseHandle(h);
    },
  };
}

const IDR = [0x65, 1, 2, 3, 4];
const P = [0x41, 5, 6, 7];

describe('StreamReceiver', () => {
  it('counts a packet before its handlers see it, then depayloads it into a frame', () => {
    const t = harness({ framesOn: true });
    t.feed(rtp(10, 3000, IDR));
    t.feed(rtp(11, 6000, P));
    expect(t.events).toEqual([
      'packet 10 stats=1 wall=-',
      'frame 3000 key=true bytes=9 wall=-',
      'packet 11 stats=2 wall=-',
      'frame 6000 key=false bytes=8 wall=-',
    ]);
  });

  it('builds no packet when nobody consumes packets, or the filter refuses the stream: frames still flow', () => {
    for (const opts of [{ packetsWanted: false }, { filter: false }]) {
      const t = harness({ framesOn: true, ...opts });
      t.feed(rtp(1, 90, IDR));
      expect(t.events).toEqual(['frame 90 key=true bytes=9 wall=-']);
      expect(t.receiver.statistics.packets).toBe(1);
    }
  });

  it('drops and counts a duplicate and a packet that did not parse, before any handler', () => {
    const t = harness();
    t.feed(rtp(5, 0, P));
    t.feed(rtp(5, 0, P));
    t.feed(Uint8Array.of(0x40, 0, 0, 0)); // version 1, too short: not RTP
    expect(t.events).toEqual(['packet 5 stats=1 wall=-']);
    expect(t.receiver.statistics.dropped.duplicate).toBe(1);
    expect(t.receiver.statistics.dropped.parseError).toBe(1);
  });

  it('gives packets and frames the sender wall clock of the last sender report, from one computation', () => {
    const t = harness({ framesOn: true });
    t.feed(rtp(1, 90_000, IDR));
    t.receiver.receiveRtcp(senderReport(0x1234, 1_700_000_000_000, 90_000), 1000);
    t.feed(rtp(2, 180_000, P)); // one second of 90 kHz later
    expect(t.receiver.wallClockAt(180_000)).toBe(1_700_000_001_000);
    expect(t.events.slice(2)).toEqual([
      'packet 2 stats=2 wall=1700000001000',
      'frame 180000 key=false bytes=8 wall=1700000001000',
    ]);
    expect(t.receiver.rtcp.senderReports).toBe(1);
  });

  it('counts RTCP that does not parse apart from RTP drops, and notes a BYE for its SSRC only', () => {
    const t = harness();
    t.feed(rtp(1, 0, P, true, 0xabc));
    expect(t.receiver.receiveRtcp(Uint8Array.of(0x80, 200, 0, 9), 0)).toBeUndefined();
    expect(t.receiver.rtcp.parseErrors).toBe(1);
    expect(t.receiver.statistics.dropped.parseError).toBe(0);
    t.receiver.receiveRtcp(bye(0x999), 0);
    expect(t.receiver.byeReceived).toBe(false);
    t.receiver.receiveRtcp(bye(0xabc), 0);
    expect(t.receiver.byeReceived).toBe(true);
    expect(t.receiver.rtcp).toMatchObject({ received: 3, parseErrors: 1, byes: 1 });
  });

  it('extends frame timestamps past 2^31 and the 32-bit wrap, back across it on a late frame, with pts from the first', () => {
    const t = harness({ framesOn: true, packetsWanted: false });
    const pts: number[] = [];
    t.host.deliverFrame = (f) => { pts.push(f.pts); t.events.push(`frame ${f.timestamp}`); };
    const ts = [0x7fff_ff00, 0x8000_0100, 0xffff_ff00, 0x0000_0100, 0xffff_ff80, 0x0000_0200];
    ts.forEach((v, i) => t.feed(rtp(i, v, i === 0 ? IDR : P)));
    expect(t.events).toEqual([
      `frame ${0x7fff_ff00}`, `frame ${0x8000_0100}`, `frame ${0xffff_ff00}`,
      `frame ${2 ** 32 + 0x100}`, `frame ${0xffff_ff80}`, `frame ${2 ** 32 + 0x200}`,
    ]);
    expect(pts).toEqual([0, 0x200, 0x8000_0000, 0x8000_0200, 0x8000_0080, 0x8000_0300]);
  });

  // gst-rtsp-server restarts the timeline of a shared media when a client PLAYs with a Range (a flushing seek): the
  // timestamps step back by the time it had played. A pts that went back made GstSink.pushFrame throw from inside the
  // socket's read callback (seen in bench:ingest, 2 runs in 9). B-frame reordering (a step back of a few frames) stays.
  it('goes on from the last pts when the RTP timestamps step back by more than a second, and counts it', () => {
    const t = harness({ framesOn: true, packetsWanted: false });
    const got: Array<[number, boolean]> = [];
    t.host.deliverFrame = (f) => { got.push([f.pts, f.discontinuity]); };
    const ts = [900_000, 903_000, 901_500, 906_000, 1_000, 4_000];
    ts.forEach((v, i) => t.feed(rtp(i, v, i === 0 ? IDR : P)));
    expect(got).toEqual([[0, false], [3000, false], [1500, false], [6000, false], [6001, true], [9001, false]]);
    expect(t.receiver.frames!.stats().timestampJumps).toBe(1);
  });

  it('exposes a frozen MediaStream whose live fields (and deprecated getters) read the receiver', () => {
    const t = harness({ framesOn: true });
    const s = t.receiver.stream;
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.ssrc).toBeUndefined();
    t.feed(rtp(1, 0, IDR, true, 0x77));
    expect(s.ssrc).toBe(0x77);
    expect(s.statistics).toBe(t.receiver.statistics);
    expect(s.frames).toBe(t.receiver.frames);
    expect(s.encodingName).toBe('H264');
    expect(() => { (s as { clockRate: number }).clockRate = 1; }).toThrow(TypeError);
  });
});
