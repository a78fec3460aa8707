// Generated input of the benchmarks: a seeded stream of RTP packets with RTSP interleaved framing (RFC 2326 §10.12),
// laid back to back as a TCP socket would deliver them. Every suite in one run reads the same bytes.
//
// Mix (by packet count): 80 % video-sized packets of 1400 octets, 15 % small packets of 200 octets, 5 % packets of
// 1400 octets that carry 2 CSRCs and an RFC 8285 one-byte header extension (0xBEDE) with two elements.

/** Octets of the interleaved frame header: '$', channel, u16 big-endian length (RFC 2326 §10.12). */
export const FRAME_HEADER_BYTES = 4;
/** The '$' that opens an interleaved frame. */
export const INTERLEAVED_MAGIC = 0x24;
/** Size of a socket read: the stream is handed to the parsers in windows of this many octets. */
export const CHUNK_BYTES = 64 * 1024;
/** Total length (RTP header + payload) of the large packets. */
export const LARGE_PACKET_BYTES = 1400;
/** Total length of the small packets. */
export const SMALL_PACKET_BYTES = 200;
/** RTP fixed header (RFC 3550 §5.1). */
const RTP_FIXED_HEADER_BYTES = 12;
/** Profile of the RFC 8285 one-byte header extension. */
export const ONE_BYTE_PROFILE = 0xbede;
/** Dynamic payload type of the generated stream (H.264 in most camera SDPs). */
const PAYLOAD_TYPE = 96;
/** 90 kHz video clock, 30 frames per second. */
const TIMESTAMP_STEP = 3000;

/** Kind of each generated packet, for checks. */
export const PacketKind = { Large: 0, Small: 1, Extended: 2 } as const;

/** The generated stream: its bytes and where each packet sits in it. */
export interface BenchStream {
  /** The framed stream, back to back: '$' 0 len len packet '$' 0 len len packet … */
  bytes: Uint8Array;
  /** Number of RTP packets (= interleaved frames). */
  packets: number;
  /** Offset of each packet's first RTP octet (after the 4-octet frame header). */
  packetStart: Uint32Array;
  /** Length of each packet in octets. */
  packetLength: Uint16Array;
  /** Sequence number written in each packet. */
  sequence: Uint16Array;
  kind: Uint8Array;
  /** Seed the stream was made from. */
  seed: number;
}

/** mulberry32: a small seeded PRNG, so two runs (and all suites of one run) see the same packets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates `packets` framed RTP packets from `seed` on interleaved channel `channel`. */
export function generateStream(packets: number, seed = 0x5eed_2326, channel = 0): BenchStream {
  const random = mulberry32(seed);
  const kind = new Uint8Array(packets);
  let total = 0;
  for (let i = 0; i < packets; i++) {
    const r = random();
    kind[i] = r < 0.8 ? PacketKind.Large : r < 0.95 ? PacketKind.Small : PacketKind.Extended;
    total += FRAME_HEADER_BYTES + (kind[i] === PacketKind.Small ? SMALL_PACKET_BYTES : LARGE_PACKET_BYTES);
  }
  const bytes = new Uint8Array(total);
  const dv = new DataView(bytes.buffer);
  const packetStart = new Uint32Array(packets);
  const packetLength = new Uint16Array(packets);
  const sequence = new Uint16Array(packets);
  const ssrc = (random() * 0x1_0000_0000) >>> 0;
  let seq = (random() * 0x10000) >>> 0;
  let timestamp = (random() * 0x1_0000_0000) >>> 0;
  let pos = 0;
  for (let i = 0; i < packets; i++) {
    const extended = kind[i] === PacketKind.Extended;
    const length = kind[i] === PacketKind.Small ? SMALL_PACKET_BYTES : LARGE_PACKET_BYTES;
    // Interleaved frame header.
    bytes[pos] = INTERLEAVED_MAGIC;
    bytes[pos + 1] = channel;
    dv.setUint16(pos + 2, length);
    pos += FRAME_HEADER_BYTES;
    packetStart[i] = pos;
    packetLength[i] = length;
    sequence[i] = seq;
    // A new video frame every 8 packets: marker on its last packet, timestamp steps after it.
    const marker = i % 8 === 7 ? 1 : 0;
    const csrcCount = extended ? 2 : 0;
    // V=2, P=0, X, CC | M, PT | sequence | timestamp | SSRC
    bytes[pos] = 0x80 | (extended ? 0x10 : 0) | csrcCount;
    bytes[pos + 1] = (marker << 7) | PAYLOAD_TYPE;
    dv.setUint16(pos + 2, seq);
    dv.setUint32(pos + 4, timestamp);
    dv.setUint32(pos + 8, ssrc);
    let p = pos + RTP_FIXED_HEADER_BYTES;
    if (extended) {
      dv.setUint32(p, 0x1000_0001 + i); // CSRC 1
      dv.setUint32(p + 4, 0x2000_0002 + i); // CSRC 2
      p += 8;
      // RFC 8285 §4.2: 0xBEDE, length 2 words; element id 1 (3 octets, e.g. abs-send-time), element id 3 (2 octets),
      // one octet of padding to the 32-bit boundary.
      dv.setUint16(p, ONE_BYTE_PROFILE);
      dv.setUint16(p + 2, 2);
      p += 4;
      bytes[p] = (1 << 4) | (3 - 1);
      bytes[p + 1] = (timestamp >>> 16) & 0xff;
      bytes[p + 2] = (timestamp >>> 8) & 0xff;
      bytes[p + 3] = timestamp & 0xff;
      bytes[p + 4] = (3 << 4) | (2 - 1);
      bytes[p + 5] = 0x80 | (i & 0x7f);
      bytes[p + 6] = 0x01;
      bytes[p + 7] = 0; // padding
      p += 8;
    }
    // Payload: pseudo-random octets (a header parser never reads them; they just have to be there).
    const end = pos + length;
    for (; p + 4 <= end; p += 4) dv.setUint32(p, (random() * 0x1_0000_0000) >>> 0);
    for (; p < end; p++) bytes[p] = (random() * 256) | 0;
    pos = end;
    seq = (seq + 1) & 0xffff;
    if (marker) timestamp = (timestamp + TIMESTAMP_STEP) >>> 0;
  }
  return { bytes, packets, packetStart, packetLength, sequence, kind, seed };
}
