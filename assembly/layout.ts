// Offsets of every record the host reads, and the limits the core enforces. Written once, here: the build generates
// the host's src/core/layout.ts from this file (scripts/gen-abi.mjs), and test/core/abi.test.ts checks the generated
// file against the module's exported globals. All records are little-endian (wasm's byte order) and 8-byte aligned, so the
// host reads them with Uint8/16/32Array views; 64-bit counters are read as two u32 halves (lo, hi).

// ---------------------------------------------------------------------------------------------------------------
// RTP header record, written by rtp_parse / rtp_parse_batch / demux_scan. Offsets of the packet's parts are relative
// to the first octet of the packet.
export const RTP_RECORD_BYTES: u32 = 368;
export const RTP_VERSION: u32 = 0; //          u8
export const RTP_PADDING: u32 = 1; //          u8  0/1 (P bit)
export const RTP_EXTENSION: u32 = 2; //        u8  0/1 (X bit)
export const RTP_CSRC_COUNT: u32 = 3; //       u8  CC
export const RTP_MARKER: u32 = 4; //           u8  0/1 (M bit)
export const RTP_PAYLOAD_TYPE: u32 = 5; //     u8  PT
export const RTP_SEQUENCE: u32 = 6; //         u16
export const RTP_TIMESTAMP: u32 = 8; //        u32
export const RTP_SSRC: u32 = 12; //            u32
export const RTP_PAYLOAD_OFFSET: u32 = 16; //  u32
export const RTP_PAYLOAD_LENGTH: u32 = 20; //  u32
export const RTP_PADDING_LENGTH: u32 = 24; //  u16 (0 when P is clear)
export const RTP_EXT_ELEMENT_COUNT: u32 = 26; // u16 RFC 8285 elements written at RTP_EXT_ELEMENTS
export const RTP_EXT_PROFILE: u32 = 28; //     u16 "defined by profile" (0xBEDE, 0x100x, or other)
export const RTP_EXT_LENGTH: u32 = 32; //      u32 extension data length in octets (header's length field × 4)
export const RTP_EXT_OFFSET: u32 = 36; //      u32 offset of the extension data (after its 4-octet header)
export const RTP_STATUS: u32 = 40; //          i32 status of this parse (OK or an RTP_* error)
export const RTP_PACKET_LENGTH: u32 = 44; //   u32 length of the packet parsed
export const RTP_CSRCS: u32 = 48; //           u32 × 15
export const RTP_EXT_ELEMENTS: u32 = 112; //   element × MAX_EXTENSION_ELEMENTS
export const RTP_EXT_ELEMENT_BYTES: u32 = 8; //  { u8 id, u8 reserved, u16 length, u32 offset }
export const RTP_EXT_ELEMENT_ID: u32 = 0;
export const RTP_EXT_ELEMENT_LENGTH: u32 = 2;
export const RTP_EXT_ELEMENT_OFFSET: u32 = 4;
export const MAX_CSRCS: u32 = 15;
export const MAX_EXTENSION_ELEMENTS: u32 = 32;

// Batch descriptor read by rtp_parse_batch: { u32 ptr, u32 len } per packet.
export const BATCH_DESC_BYTES: u32 = 8;

// ---------------------------------------------------------------------------------------------------------------
// Interleaved demuxer. Events written by demux_scan; offsets relative to the `base` pointer passed to the scan.
export const DEMUX_EVENT_BYTES: u32 = 16;
export const EV_KIND: u32 = 0; //     u8  EV_KIND_FRAME / EV_KIND_MESSAGE / EV_KIND_ERROR
export const EV_CHANNEL: u32 = 1; //  u8  frame: interleaved channel
export const EV_STATUS: u32 = 2; //   i16 frame: RTP parse status when the channel is parsed, else EV_NOT_PARSED;
//                                        error: the DEMUX_* code
export const EV_START: u32 = 4; //    u32 frame: first payload octet (after '$', channel, length); message: first octet
//                                        of the start line; error: where the offending item starts
export const EV_LENGTH: u32 = 8; //   u32 frame: payload length; message: start line + headers + empty line
export const EV_BODY: u32 = 12; //    u32 message: body length (Content-Length, 0 when absent)
export const EV_KIND_FRAME: u8 = 1;
export const EV_KIND_MESSAGE: u8 = 2;
export const EV_KIND_ERROR: u8 = 3;
export const EV_NOT_PARSED: i32 = 1;

// Demuxer state: the public head is statistics and the result of the last scan; the rest is private to demux.ts.
export const DEMUX_FRAMES: u32 = 0; //         u64 frames reported
export const DEMUX_MESSAGES: u32 = 8; //       u64 RTSP messages reported
export const DEMUX_GARBAGE_BYTES: u32 = 16; // u64 octets skipped as neither frame nor message
export const DEMUX_BYTES: u32 = 24; //         u64 octets consumed in total
export const DEMUX_RTP_ERRORS: u32 = 32; //    u64 frames on a parsed channel whose RTP header was invalid
export const DEMUX_RESYNCS: u32 = 40; //       u64 runs of garbage (each run counted once)
export const DEMUX_CONSUMED: u32 = 48; //      u32 octets of the last scan's input fully consumed
export const DEMUX_PUBLIC_BYTES: u32 = 64;
// demux_set_channel flags
export const CHANNEL_ACCEPT: u32 = 1; // frames on this channel are expected (when no channel is set, all are)
export const CHANNEL_RTP: u32 = 2; //    frames on this channel are RTP: demux_scan parses their headers

// ---------------------------------------------------------------------------------------------------------------
// Packet pool. Slabs of SLAB_BYTES are carved from the pool's region; each slab serves one bucket.
export const SLAB_BYTES: u32 = 65536;
export const POOL_BUCKET_COUNT: u32 = 3;
export const BUCKET_SMALL_BYTES: u32 = 256; //   small packets: RTCP, audio, SPS/PPS
export const BUCKET_MTU_BYTES: u32 = 2048; //    MTU-sized packets with headroom, so an oversized one is seen
export const BUCKET_MAX_BYTES: u32 = 65536; //   the largest interleaved frame (16-bit length)

// Pool state: the public head is statistics; the rest is private to pool.ts.
export const POOL_LIMIT_BYTES: u32 = 0; //        u32 byte limit given at creation
export const POOL_MAX_SLABS: u32 = 4; //          u32 slabs the limit allows
export const POOL_SLABS_IN_USE: u32 = 8; //       u32 slabs currently carved for a bucket
export const POOL_IN_USE: u32 = 12; //            u32 slots in use
export const POOL_HIGH_WATER: u32 = 16; //        u32 most slots in use at once
export const POOL_BYTES_IN_USE: u32 = 20; //      u32 slot bytes in use
export const POOL_BYTES_HIGH_WATER: u32 = 24; //  u32
export const POOL_LAST_PTR: u32 = 28; //            u32 address of the slot the last successful pool_acquire returned
export const POOL_ACQUIRES: u32 = 32; //          u64
export const POOL_RELEASES: u32 = 40; //          u64 slots returned (reference count reached 0)
export const POOL_REUSES: u32 = 48; //            u64 acquires served by a slot used before
export const POOL_EXHAUSTIONS: u32 = 56; //       u64 acquires refused (POOL_EXHAUSTED)
export const POOL_RETAINS: u32 = 64; //           u64 extra references taken
export const POOL_STALE: u32 = 72; //             u64 calls with a stale or invalid handle
export const POOL_BUCKETS: u32 = 80; //           bucket stats × POOL_BUCKET_COUNT
export const BUCKET_STATS_BYTES: u32 = 64;
export const BUCKET_SLOT_BYTES: u32 = 0; //       u32 slot size
export const BUCKET_CAPACITY: u32 = 4; //         u32 slots carved (free + in use)
export const BUCKET_IN_USE: u32 = 8; //           u32
export const BUCKET_HIGH_WATER: u32 = 12; //      u32
export const BUCKET_ACQUIRES: u32 = 16; //        u64
export const BUCKET_RELEASES: u32 = 24; //        u64
export const BUCKET_REUSES: u32 = 32; //          u64
export const BUCKET_EXHAUSTIONS: u32 = 40; //     u64
export const BUCKET_BYTES_IN_USE: u32 = 48; //    u32
export const BUCKET_SLABS: u32 = 52; //           u32 slabs carved for this bucket
export const BUCKET_RETIRED: u32 = 56; //         u32 slots retired: their generations ran out (never handed out again)
export const POOL_PUBLIC_BYTES: u32 = 272; //     80 + 3 × 64

// ---------------------------------------------------------------------------------------------------------------
// Depayloader (assembly/depay.ts). The public head is statistics and the frames the last depay_push/depay_flush
// completed; the rest is private to depay.ts.
export const DEPAY_PACKETS: u32 = 0; //              u64 packets pushed (with a valid record)
export const DEPAY_FRAMES: u32 = 8; //               u64 frames (access units) emitted
export const DEPAY_BYTES: u32 = 16; //               u64 octets of the frames emitted
export const DEPAY_DROPPED_LOSS: u32 = 24; //        u64 access units dropped: a sequence gap inside or around them
export const DEPAY_DROPPED_TOO_LARGE: u32 = 32; //   u64 access units dropped: larger than maxFrameBytes
export const DEPAY_DROPPED_MALFORMED: u32 = 40; //   u64 access units dropped: a payload that breaks its RFC
export const DEPAY_DROPPED_WAITING: u32 = 48; //     u64 whole access units dropped while waiting for a keyframe
export const DEPAY_DROPPED_UNSUPPORTED: u32 = 56; // u64 access units dropped: a valid but unsupported payload kind
export const DEPAY_LOST_PACKETS: u32 = 64; //        u64 packets missing from the sequence (forward gaps)
export const DEPAY_LATE_PACKETS: u32 = 72; //        u64 packets dropped as late: up to DEPAY_LATE_WINDOW behind (reordered, duplicated)
export const DEPAY_FRAME_COUNT: u32 = 80; //         u32 frames completed by the last push/flush
export const DEPAY_SKIPPED_PACKETS: u32 = 88; //     u64 packets of an access unit already dropped, passed over unread until the next unit
export const DEPAY_FRAME_RECORDS: u32 = 96; //       frame record × DEPAY_MAX_FRAMES
export const DEPAY_FRAME_BYTES: u32 = 16; //         { u32 ptr, u32 length, u32 rtp timestamp, u32 flags }
export const DEPAY_FRAME_PTR: u32 = 0;
export const DEPAY_FRAME_LENGTH: u32 = 4;
export const DEPAY_FRAME_TIMESTAMP: u32 = 8;
export const DEPAY_FRAME_FLAGS: u32 = 12;
export const DEPAY_MAX_FRAMES: u32 = 32; //          most frames one push completes (AAC: AUs of one packet)
export const DEPAY_PUBLIC_BYTES: u32 = 608; //       96 + 32 × 16
export const DEPAY_LATE_WINDOW: u32 = 64; //         a packet this far behind is late; farther is a sequence jump (resync)
// depay_create codec codes
export const DEPAY_CODEC_H264: u32 = 1; // RFC 6184, packetization-mode 0/1 (single NAL, STAP-A, FU-A)
export const DEPAY_CODEC_H265: u32 = 2; // RFC 7798 without DONL (single NAL, AP, FU)
export const DEPAY_CODEC_RAW: u32 = 3; //  RFC 4175 progressive, params: width, height, pgroup octets, pgroup pixels
export const DEPAY_CODEC_AAC: u32 = 4; //  RFC 3640 AAC-hbr/lbr, params: sizeLength, indexLength, indexDeltaLength, samples per AU
// depay_create option flags
export const DEPAY_WAIT_FOR_KEYFRAME: u32 = 1; // after a drop (and at the start), drop frames until a keyframe
// Frame flags (DEPAY_FRAME_FLAGS)
export const FRAME_KEYFRAME: u32 = 1; //       H.264 IDR / H.265 IRAP present; RAW and AAC: always
export const FRAME_DISCONTINUITY: u32 = 2; //  packets were lost or frames dropped before this frame
export const FRAME_PARAMETER_SETS: u32 = 4; // the frame carries SPS/PPS (H.264) or VPS/SPS/PPS (H.265)

// ---------------------------------------------------------------------------------------------------------------
// Limits the core enforces (the host checks options against the same numbers before calling).
export const RTP_MAX_PACKET_BYTES: u32 = 65535; //  interleaved frames and UDP datagrams both have 16-bit lengths
export const POOL_SLAB_LIMIT: u32 = 4096; //        a handle's 12 slab bits address 4096 slabs: 256 MiB per pool
export const POOL_GENERATION_LAST: u32 = 0xFFFF_FFFE; // the last generation a slot is issued in (then it retires)
export const DEPAY_MAX_FRAME_LIMIT: u32 = 0x4000_0000; // largest maxFrameBytes: 1 GiB (two buffers fit 4 GiB)
export const DEMUX_MIN_HEADER_BYTES: u32 = 16; //   smallest header limit: the shortest message (`RTSP/1.0 \n\n`)
export const DEMUX_MAX_LIMIT_BYTES: u32 = 16777216; // largest header and body limit (16 MiB)
export const DEMUX_MAX_METHOD_BYTES: u32 = 32; //   longest request method in a start line (GET_PARAMETER has 13)
