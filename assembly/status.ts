// Result codes of every exported call. 0 (or a positive value) is success, a negative value names the error.
// The TypeScript host mirrors this table in src/core/status.ts; test/core/abi.test.ts checks the two agree through
// the exported globals below, so a code is never renumbered on one side only.

export const OK: i32 = 0;

// Generic (-1 .. -9)
/** A pointer/length pair reaches outside linear memory, or an argument is out of range. */
export const ERR_BAD_ARGUMENT: i32 = -1;
/** The fixed linear memory has no free region large enough (memory never grows). */
export const ERR_OUT_OF_MEMORY: i32 = -2;

// RTP header, RFC 3550 §5.1 / §5.3.1, RFC 8285 (-10 .. -29)
/** Fewer than the 12 octets of the fixed header. */
export const RTP_TOO_SHORT: i32 = -10;
/** Version field is not 2. */
export const RTP_BAD_VERSION: i32 = -11;
/** The CSRC list (CC × 4 octets) does not fit in the packet. */
export const RTP_CSRC_TRUNCATED: i32 = -12;
/** X is set but the 4-octet extension header does not fit. */
export const RTP_EXTENSION_HEADER_TRUNCATED: i32 = -13;
/** The extension length (in 32-bit words) runs past the end of the packet. */
export const RTP_EXTENSION_TRUNCATED: i32 = -14;
/** An RFC 8285 element runs past the end of the extension block. */
export const RTP_EXTENSION_ELEMENT_TRUNCATED: i32 = -15;
/** More RFC 8285 elements than the record has room for (MAX_EXTENSION_ELEMENTS). */
export const RTP_EXTENSION_TOO_MANY_ELEMENTS: i32 = -16;
/** P is set and the padding count (last octet) is 0. */
export const RTP_PADDING_ZERO: i32 = -17;
/** P is set and the padding count is larger than what follows the header. */
export const RTP_PADDING_OVERFLOW: i32 = -18;
/** Larger than any RTP packet can be (65535 octets). */
export const RTP_TOO_LONG: i32 = -19;

// Interleaved demuxer, RFC 2326 §10.12 / RFC 7826 §14 (-30 .. -49)
/** An RTSP message's start line and headers exceed the demuxer's header limit. */
export const DEMUX_HEADER_TOO_LARGE: i32 = -30;
/** An RTSP message announces a body larger than the demuxer's body limit. */
export const DEMUX_BODY_TOO_LARGE: i32 = -31;
/** Content-Length is not a decimal number. */
export const DEMUX_BAD_CONTENT_LENGTH: i32 = -32;

// Packet pool (-50 .. -69)
/** No free slot of the needed size and the pool's byte limit forbids carving another. */
export const POOL_EXHAUSTED: i32 = -50;
/** The requested size is larger than the largest bucket (MAX_SLOT_BYTES). */
export const POOL_SIZE_TOO_LARGE: i32 = -51;
/** The handle's generation does not match the slot: it was released (and maybe reused) since. */
export const POOL_STALE_HANDLE: i32 = -52;
/** The handle does not name a slot of this pool. */
export const POOL_INVALID_HANDLE: i32 = -53;
/** A slot's reference count would pass its maximum (65535). */
export const POOL_REFCOUNT_OVERFLOW: i32 = -54;
/** The pool's byte limit is smaller than one slab, or larger than the handle format can address. */
export const POOL_BAD_LIMIT: i32 = -55;

// Depayloader, RFC 6184 / RFC 7798 / RFC 4175 / RFC 3640 (-70 .. -89). Bad payloads are never errors: they drop the
// access unit they belong to, counted by reason in the depayloader's statistics. These codes name misuse.
/** depay_create: the codec code is not one of DEPAY_CODEC_*. */
export const DEPAY_BAD_CODEC: i32 = -70;
/** depay_create: a codec parameter (size, raw geometry, AAC field lengths, maxFrameBytes) is out of range. */
export const DEPAY_BAD_PARAMETER: i32 = -71;
/** The state pointer does not name a live depayloader (never created, or destroyed). */
export const DEPAY_BAD_STATE: i32 = -72;
/** The RTP record does not describe this packet: its status is not OK or its length or payload range disagree. */
export const DEPAY_BAD_RECORD: i32 = -73;
