// A short demo of the wasm core on a generated stream: interleaved RTP frames (RFC 2326 §10.12) mixed with an RTSP
// reply and a little garbage, fed in 64 KiB "socket reads" straight into wasm memory, demuxed and parsed there in one
// call per read, each packet kept for a moment as a pool lease. Prints what it saw. Run: `npm run demo:core`.

import { createCore, DemuxEventKind } from '../index.js';

const { FRAME: EV_KIND_FRAME, MESSAGE: EV_KIND_MESSAGE } = DemuxEventKind;

const PACKETS = 200_000;
const READ_BYTES = 65536;

/** Builds the stream a camera would send over TCP: RTSP reply, then frames, with some junk thrown in. */
function generate(packets: number): Uint8Array {
  const reply = new TextEncoder().encode('RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 12345678;timeout=60\r\nRTP-Info: url=rtsp://cam/track1;seq=0;rtptime=0\r\n\r\n');
  const parts: Uint8Array[] = [reply];
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < packets; i++) {
    const size = rnd() < 0.8 ? 1400 : 200;
    const frame = new Uint8Array(4 + size);
    frame[0] = 0x24; // '$'
    frame[1] = 0; //    channel 0: RTP
    frame[2] = size >> 8;
    frame[3] = size & 0xff;
    const dv = new DataView(frame.buffer, 4);
    dv.setUint8(0, 0x80); //                       V=2
    dv.setUint8(1, (i % 30 === 29 ? 0x80 : 0) | 96); // marker at the end of each "frame", PT 96
    dv.setUint16(2, i & 0xffff);
    dv.setUint32(4, Math.floor(i / 30) * 3000);
    dv.setUint32(8, 0x0badcafe);
    parts.push(frame);
    if (i % 50_000 === 25_000) parts.push(new TextEncoder().encode('\x00\x01garbage'));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function main(): Promise<void> {
  const core = await createCore({ memoryBytes: 16 << 20 });
  const pool = core.createPool({ limitBytes: 4 << 20, name: 'demo' });
  const demuxer = core.createDemuxer({ channels: [{ channel: 0, rtp: true }], maxEvents: 256 });
  const stream = generate(PACKETS);
  const u8 = core.u8;
  let packets = 0;
  let bytes = 0;
  let markers = 0;
  let messages = 0;
  let lastSeq = -1;
  let outOfOrder = 0;
  const header = { seq: 0 };

  const t0 = performance.now();
  let readHandle = pool.acquireHandle(READ_BYTES);
  let readPtr = pool.lastPtr;
  let fill = 0;
  for (let at = 0; at < stream.length; ) {
    // The "socket read": in the RTSP client this is net.connect's onread landing in this same slot.
    const n = Math.min(READ_BYTES - fill, stream.length - at);
    u8.set(stream.subarray(at, at + n), readPtr + fill);
    at += n;
    fill += n;
    let from = 0;
    for (;;) {
      const events = demuxer.scan(readPtr + from, fill - from);
      for (let i = 0; i < events; i++) {
        const kind = demuxer.kind(i);
        if (kind === EV_KIND_FRAME && demuxer.status(i) === 0) {
          // A lease on the frame's bytes, where they landed: a reference on the read slot, no copy.
          pool.retainHandle(readHandle);
          const rec = demuxer.recordPtr(i);
          header.seq = core.u16[(rec + 6) >> 1];
          if (lastSeq >= 0 && header.seq !== ((lastSeq + 1) & 0xffff)) outOfOrder++;
          lastSeq = header.seq;
          markers += u8[rec + 4];
          packets++;
          bytes += demuxer.length(i);
          pool.releaseHandle(readHandle);
        } else if (kind === EV_KIND_MESSAGE) {
          messages++;
        }
      }
      from += demuxer.consumed;
      if (events < demuxer.maxEvents) break;
    }
    // Move the partial frame at the end (at most one per read) to the start of a fresh slot.
    const rest = fill - from;
    const next = pool.acquireHandle(READ_BYTES);
    const nextPtr = pool.lastPtr;
    u8.copyWithin(nextPtr, readPtr + from, readPtr + fill);
    pool.releaseHandle(readHandle);
    readHandle = next;
    readPtr = nextPtr;
    fill = rest;
  }
  pool.releaseHandle(readHandle);
  const ms = performance.now() - t0;

  const d = demuxer.stats();
  const p = pool.stats();
  console.log('wasm-rtsp core demo: a generated interleaved stream through the wasm demuxer, RTP parser and pool');
  console.log(`  input           ${(stream.length / 1e6).toFixed(1)} MB in ${Math.ceil(stream.length / READ_BYTES)} reads of 64 KiB`);
  console.log(`  RTP packets     ${packets} (${(bytes / 1e6).toFixed(1)} MB), ${markers} frame ends, ${outOfOrder} out of order`);
  console.log(`  RTSP messages   ${messages}; garbage skipped ${d.garbageBytes} bytes in ${d.resyncs} runs; RTP errors ${d.rtpErrors}`);
  console.log(`  time            ${ms.toFixed(1)} ms, ${((ms * 1e6) / packets).toFixed(0)} ns per packet (copy-in + demux + parse + lease)`);
  console.log(`  pool            ${p.acquires} acquires, ${p.releases} releases, in use ${p.inUse}, high-water ${p.highWater}, exhausted ${p.exhaustions}`);
  console.log(`  wasm memory     ${core.memoryBytes / 2 ** 20} MiB fixed, ${(core.reservedBytes / 2 ** 20).toFixed(2)} MiB reserved`);
  if (packets !== PACKETS || outOfOrder !== 0 || p.inUse !== 0) {
    console.error('demo: the counts do not balance');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
