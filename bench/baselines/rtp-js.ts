// Baseline: rtp.js's RtpPacket, which parses (and validates) the packet a DataView covers when constructed. The
// interleaved framing is walked by the plain-JS scanner (RTP parsing off), then the library parses each packet from
// a DataView over the stream (no copy).

import { RtpPacket } from 'rtp.js/packets';
import { PlainInterleavedScanner } from './plain-js.js';

/** Frames a window with `scanner` and parses every frame with rtp.js; returns the sum of sequence numbers. */
export function scanWithRtpJs(
  scanner: PlainInterleavedScanner, u8: Uint8Array, dv: DataView, base: number, len: number,
): number {
  const n = scanner.scan(u8, dv, base, len);
  const start = scanner.start;
  const length = scanner.length;
  const buffer = u8.buffer;
  const byteOffset = u8.byteOffset;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const packet = new RtpPacket(new DataView(buffer, byteOffset + base + start[i], length[i]));
    sum += packet.getSequenceNumber();
  }
  return sum;
}
