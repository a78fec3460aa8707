// Baseline: werift-rtp's RtpPacket.deSerialize on each framed packet. The interleaved framing is walked by the
// plain-JS scanner (RTP parsing off), then the library parses each packet from a Buffer view of the stream, which is
// how werift is fed from a socket (it needs a Node Buffer: readUInt16BE, subarray).

import { RtpPacket } from 'werift-rtp';
import { PlainInterleavedScanner } from './plain-js.js';

/** Frames a window with `scanner` and parses every frame with werift; returns the sum of sequence numbers. */
export function scanWithWerift(
  scanner: PlainInterleavedScanner, u8: Uint8Array, buf: Buffer, dv: DataView, base: number, len: number,
): number {
  // The walk reads the plain Uint8Array (as in the other suites, so the scanner's code stays monomorphic);
  // `buf` is a Buffer over the same bytes for werift.
  const n = scanner.scan(u8, dv, base, len);
  const start = scanner.start;
  const length = scanner.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = base + start[i];
    const packet = RtpPacket.deSerialize(buf.subarray(s, s + length[i]));
    sum += packet.header.sequenceNumber;
  }
  return sum;
}
