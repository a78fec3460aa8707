// Millions of packets through the demuxer and the pool, as the RTSP client drives them: a generated interleaved
// stream (random packet sizes, RTSP replies and garbage mixed in) arrives in reads of random size into a read region
// of wasm memory; every frame is copied into a pool slot of its size and held for a random while; slots are released
// in random order. The pool is small, so it runs out again and again: every refused acquire must be a counted drop,
// and the pool must recover. At the end every slot is back and every number balances.
import { expect, it } from 'vitest';
import { createCore, DemuxEventKind, Status } from '../../src/node/index.js';

const PACKETS = 2_000_000;
/** 16 slabs: exhausted whenever the consumer holds many large packets. */
const POOL_LIMIT_BYTES = 16 * 65536;
/** The consumer holds up to this many packets, releasing a random one when full or at random moments. */
const MAX_HELD = 512;
const READ_REGION_BYTES = 65536 + 65536 + 8;

/** xorshift32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

it('stress_buffers', async () => {
  const seed = Number(process.env.STRESS_SEED ?? 0x5eed);
  const rnd = prng(seed);
  const core = await createCore({ memoryBytes: 8 << 20 });
  const pool = core.createPool({ limitBytes: POOL_LIMIT_BYTES, name: 'stress' });
  const demuxer = core.createDemuxer({ channels: [{ channel: 0, rtp: true }, { channel: 1 }], maxEvents: 128 });
  const region = core.alloc(READ_REGION_BYTES, 'read region');
  const memory = core.memory.buffer;
  const u8 = core.u8;

  // The generator writes the stream into a staging buffer, one frame at a time, as a server would send it.
  const staging = new Uint8Array(1 << 20);
  let stagedEnd = 0;
  let stagedAt = 0;
  let generated = 0;
  let messagesGenerated = 0;
  let garbageGenerated = 0;
  const reply = new TextEncoder().encode('RTSP/1.0 200 OK\r\nCSeq: 9\r\nSession: 1234\r\n\r\n');
  const generate = (): void => {
    // Compact, then top up to ~900 KiB.
    staging.copyWithin(0, stagedAt, stagedEnd);
    stagedEnd -= stagedAt;
    stagedAt = 0;
    while (stagedEnd < 900 * 1024 && generated < PACKETS) {
      const r = rnd();
      if (r < 0.001) {
        staging.set(reply, stagedEnd);
        stagedEnd += reply.length;
        messagesGenerated++;
        continue;
      }
      if (r < 0.002) {
        // Garbage that cannot start a frame or a message: lowercase letters and digits.
        const n = 1 + Math.floor(rnd() * 16);
        for (let i = 0; i < n; i++) staging[stagedEnd++] = 0x61 + Math.floor(rnd() * 26);
        garbageGenerated += n;
        continue;
      }
      // Sizes: mostly MTU-ish, some small, a few large (up to 20 000) to pressure the 64 KiB bucket.
      const k = rnd();
      const size = k < 0.7 ? 1000 + Math.floor(rnd() * 500) : k < 0.95 ? 12 + Math.floor(rnd() * 244) : 2049 + Math.floor(rnd() * 18000);
      const at = stagedEnd;
      staging[at] = 0x24;
      staging[at + 1] = 0;
      staging[at + 2] = size >> 8;
      staging[at + 3] = size & 0xff;
      staging[at + 4] = 0x80;
      staging[at + 5] = 96;
      staging[at + 6] = (generated >> 8) & 0xff;
      staging[at + 7] = generated & 0xff;
      staging[at + 8 + 3] = generated & 0xff; // timestamp low octet
      staging[at + 4 + size - 1] = generated & 0xff; // the last octet identifies the packet
      stagedEnd = at + 4 + size;
      generated++;
    }
  };

  const held = new Float64Array(MAX_HELD); // handles are integers up to 2^53: an Int32Array would cut them
  const heldTag = new Int32Array(MAX_HELD);
  const heldPtr = new Int32Array(MAX_HELD);
  let heldCount = 0;
  let frames = 0;
  let delivered = 0;
  let dropped = 0;
  let corrupted = 0;
  let released = 0;
  let exhaustedRuns = 0;
  let inExhaustion = false;
  let messages = 0;
  let reads = 0;

  const releaseRandom = (): void => {
    const i = Math.floor(rnd() * heldCount);
    // The slot still holds its packet: its last octet is the packet's tag.
    if (u8[heldPtr[i]] !== (heldTag[i] & 0xff)) corrupted++;
    if (pool.releaseHandle(held[i]) !== 0) corrupted++;
    released++;
    heldCount--;
    held[i] = held[heldCount];
    heldTag[i] = heldTag[heldCount];
    heldPtr[i] = heldPtr[heldCount];
  };

  let fill = 0;
  const started = performance.now();
  for (;;) {
    if (stagedEnd - stagedAt < 70_000) generate();
    if (stagedAt === stagedEnd && fill === 0) break;
    // One "socket read" of random size into the free end of the read region.
    const room = READ_REGION_BYTES - fill;
    const n = Math.min(room, stagedEnd - stagedAt, 1 + Math.floor(rnd() * 65536));
    if (n === 0 && stagedAt === stagedEnd) break;
    u8.set(staging.subarray(stagedAt, stagedAt + n), region + fill);
    stagedAt += n;
    fill += n;
    reads++;
    let from = 0;
    for (;;) {
      const events = demuxer.scan(region + from, fill - from);
      for (let e = 0; e < events; e++) {
        const kind = demuxer.kind(e);
        if (kind === DemuxEventKind.MESSAGE) {
          messages++;
          continue;
        }
        if (kind !== DemuxEventKind.FRAME) {
          corrupted++;
          continue;
        }
        frames++;
        if (demuxer.status(e) !== Status.OK) corrupted++;
        const start = region + from + demuxer.start(e);
        const length = demuxer.length(e);
        const tag = u8[start + length - 1];
        const h = pool.acquireHandle(length);
        if (h === Status.POOL_EXHAUSTED) {
          dropped++;
          if (!inExhaustion) exhaustedRuns++;
          inExhaustion = true;
        } else if (h < 0) {
          corrupted++;
        } else {
          inExhaustion = false;
          const ptr = pool.lastPtr;
          u8.copyWithin(ptr, start, start + length);
          if (heldCount === MAX_HELD) releaseRandom();
          held[heldCount] = h;
          heldTag[heldCount] = tag;
          heldPtr[heldCount] = ptr + length - 1;
          heldCount++;
          delivered++;
        }
        // The consumer releases at random moments, more often while the pool is exhausted (it catches up).
        if (heldCount > 0 && rnd() < (inExhaustion ? 0.9 : 0.45)) releaseRandom();
      }
      from += demuxer.consumed;
      if (events < demuxer.maxEvents) break;
    }
    // Carry the partial item to the start of the region (the client moves it to a fresh slot instead).
    u8.copyWithin(region, region + from, region + fill);
    fill -= from;
  }
  while (heldCount > 0) releaseRandom();
  const seconds = (performance.now() - started) / 1000;

  const p = pool.stats();
  const d = demuxer.stats();
  console.log(`stress_buffers (seed ${seed}): ${frames} frames in ${reads} reads, ${seconds.toFixed(1)} s; delivered ${delivered}, ` +
    `dropped ${dropped} in ${exhaustedRuns} exhaustion runs; pool high water ${p.highWater} slots / ${p.bytesHighWater} B; ` +
    `garbage ${d.garbageBytes} B in ${d.resyncs} runs`);

  expect(generated).toBe(PACKETS);
  expect(frames).toBe(PACKETS);
  expect(fill).toBe(0);
  expect(corrupted).toBe(0);
  // Every frame is either delivered or a counted drop, and the pool's own count of refusals agrees.
  expect(delivered + dropped).toBe(PACKETS);
  expect(p.exhaustions).toBe(dropped);
  expect(dropped).toBeGreaterThan(0);
  expect(exhaustedRuns).toBeGreaterThan(10); // exhausted, recovered, exhausted again …
  // All slots back; statistics balance overall and per bucket.
  expect(released).toBe(delivered);
  expect(p.inUse).toBe(0);
  expect(p.bytesInUse).toBe(0);
  expect(p.acquires).toBe(delivered);
  expect(p.releases).toBe(delivered);
  for (const b of p.buckets) expect(b.acquires - b.releases, `bucket ${b.slotBytes}`).toBe(0);
  expect(p.bytesHighWater).toBeLessThanOrEqual(POOL_LIMIT_BYTES);
  expect(p.stale).toBe(0);
  // The demuxer saw exactly what was generated.
  expect(d.frames).toBe(PACKETS);
  expect(messages).toBe(messagesGenerated);
  expect(d.messages).toBe(messagesGenerated);
  expect(d.garbageBytes).toBe(garbageGenerated);
  expect(d.rtpErrors).toBe(0);
  // And the memory never grew.
  expect(core.memory.buffer).toBe(memory);
}, 120_000);
