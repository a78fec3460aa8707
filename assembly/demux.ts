// Interleaved RTSP/RTP demuxer (RFC 2326 §10.12, RFC 7826 §14). STUB: to be written.
import { ERR_BAD_ARGUMENT } from "./status";

export function demux_create(maxHeaderBytes: u32, maxBodyBytes: u32): usize { return 0; }
export function demux_destroy(d: usize): i32 { return ERR_BAD_ARGUMENT; }
export function demux_reset(d: usize): i32 { return ERR_BAD_ARGUMENT; }
export function demux_set_channel(d: usize, channel: u32, flags: u32): i32 { return ERR_BAD_ARGUMENT; }
export function demux_scan(d: usize, base: usize, len: u32, events: usize, maxEvents: u32, records: usize): i32 {
  return ERR_BAD_ARGUMENT;
}
