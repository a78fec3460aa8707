// Result codes of the wasm core, mirrored from assembly/status.ts. test/core/abi.test.ts checks every entry against
// the module's exported globals, so the two tables cannot drift apart.

/** Every status the wasm core returns, by name. 0 is success, negative values are errors. */
export const Status = {
  OK: 0,
  ERR_BAD_ARGUMENT: -1,
  ERR_OUT_OF_MEMORY: -2,
  RTP_TOO_SHORT: -10,
  RTP_BAD_VERSION: -11,
  RTP_CSRC_TRUNCATED: -12,
  RTP_EXTENSION_HEADER_TRUNCATED: -13,
  RTP_EXTENSION_TRUNCATED: -14,
  RTP_EXTENSION_ELEMENT_TRUNCATED: -15,
  RTP_EXTENSION_TOO_MANY_ELEMENTS: -16,
  RTP_PADDING_ZERO: -17,
  RTP_PADDING_OVERFLOW: -18,
  RTP_TOO_LONG: -19,
  DEMUX_HEADER_TOO_LARGE: -30,
  DEMUX_BODY_TOO_LARGE: -31,
  DEMUX_BAD_CONTENT_LENGTH: -32,
  POOL_EXHAUSTED: -50,
  POOL_SIZE_TOO_LARGE: -51,
  POOL_STALE_HANDLE: -52,
  POOL_INVALID_HANDLE: -53,
  POOL_REFCOUNT_OVERFLOW: -54,
  POOL_BAD_LIMIT: -55,
  DEPAY_BAD_CODEC: -70,
  DEPAY_BAD_PARAMETER: -71,
  DEPAY_BAD_STATE: -72,
  DEPAY_BAD_RECORD: -73,
} as const;

/** The name of one status, e.g. `'RTP_TOO_SHORT'`. */
export type StatusName = keyof typeof Status;

const NAMES = new Map<number, StatusName>(
  (Object.keys(Status) as StatusName[]).map((name) => [Status[name], name]),
);

/** Name of a status code returned by the wasm core (`'UNKNOWN_STATUS_<n>'` for a code not in the table). */
export function statusName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_STATUS_${code}`;
}

/** One-line explanations used in error messages. */
export const STATUS_MESSAGES: Record<StatusName, string> = {
  OK: 'success',
  ERR_BAD_ARGUMENT: 'argument outside linear memory or out of range',
  ERR_OUT_OF_MEMORY: 'the fixed wasm memory has no free region large enough (raise memoryBytes)',
  RTP_TOO_SHORT: 'shorter than the 12-octet RTP fixed header',
  RTP_BAD_VERSION: 'RTP version is not 2',
  RTP_CSRC_TRUNCATED: 'the CSRC list runs past the end of the packet',
  RTP_EXTENSION_HEADER_TRUNCATED: 'X bit set but the 4-octet extension header is missing',
  RTP_EXTENSION_TRUNCATED: 'the header extension runs past the end of the packet',
  RTP_EXTENSION_ELEMENT_TRUNCATED: 'an RFC 8285 extension element runs past the end of the extension block',
  RTP_EXTENSION_TOO_MANY_ELEMENTS: 'more RFC 8285 extension elements than supported (32)',
  RTP_PADDING_ZERO: 'P bit set but the padding count is 0',
  RTP_PADDING_OVERFLOW: 'the padding count is larger than what follows the header',
  RTP_TOO_LONG: 'longer than the 65535 octets an RTP packet can have',
  DEMUX_HEADER_TOO_LARGE: 'an RTSP message header exceeds the demuxer header limit',
  DEMUX_BODY_TOO_LARGE: 'an RTSP message body exceeds the demuxer body limit',
  DEMUX_BAD_CONTENT_LENGTH: 'Content-Length is not a decimal number',
  POOL_EXHAUSTED: 'no free slot and the pool byte limit forbids another',
  POOL_SIZE_TOO_LARGE: 'larger than the largest pool slot (65536 octets)',
  POOL_STALE_HANDLE: 'the slot was released since this handle was issued',
  POOL_INVALID_HANDLE: 'the handle does not name a slot of this pool',
  POOL_REFCOUNT_OVERFLOW: 'too many references to one slot (65535)',
  POOL_BAD_LIMIT: 'pool limit below one 64 KiB slab or above 256 MiB',
  DEPAY_BAD_CODEC: 'unknown depayloader codec',
  DEPAY_BAD_PARAMETER: 'a depayloader parameter (maxFrameBytes, raw geometry, AAC field lengths) is out of range',
  DEPAY_BAD_STATE: 'not a live depayloader (destroyed or never created)',
  DEPAY_BAD_RECORD: 'the RTP record does not describe this packet (status not OK, or length/payload range disagree)',
};
