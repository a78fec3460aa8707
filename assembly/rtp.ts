// RTP header parsing (RFC 3550 §5.1, §5.3.1; RFC 8285). STUB: to be written.
import { ERR_BAD_ARGUMENT } from "./status";

/** Parses the packet at [ptr, ptr + len) into the RTP record at `out`. Returns OK or a negative RTP_* status. */
export function rtp_parse(ptr: usize, len: u32, out: usize): i32 {
  return ERR_BAD_ARGUMENT;
}

/** Parses `count` packets described by { u32 ptr, u32 len } at `descs` into consecutive records at `out`. */
export function rtp_parse_batch(descs: usize, count: u32, out: usize): i32 {
  return ERR_BAD_ARGUMENT;
}
