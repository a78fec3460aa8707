// Result codes of the wasm core: the Status table is generated from assembly/status.ts (status-codes.ts, by
// scripts/gen-abi.mjs); names and one-line messages for errors are here. test/core/abi.test.ts checks the table
// against the module's exported globals, and the compiler that every code has a message.

import type { WasmRtspError } from './errors.js';
import { Status } from './status-codes.js';

export { Status };

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

/** The one-line explanation of a status the core returned (for a code not in the table: `unknown status <n>`). */
export function statusMessage(status: number): string {
  const name = statusName(status);
  return name in STATUS_MESSAGES ? STATUS_MESSAGES[name as StatusName] : `unknown status ${status}`;
}

/** Constructor of a layer's error class (DemuxError, DepayError, PoolError, …). */
export type StatusErrorClass<E extends WasmRtspError> = new (code: string, message: string,
  options: { context?: Record<string, unknown>; cause?: unknown }) => E;

/**
 * The one way a negative status of the core becomes an error: `code` is the status name, the message the status's
 * explanation after `subject` (what failed: `pool "cam1"`, …), the context the caller's plus `status` (the number).
 */
export function coreStatusError<E extends WasmRtspError>(ErrorClass: StatusErrorClass<E>, status: number, subject: string | undefined,
  context: Record<string, unknown> = {}): E {
  const reason = statusMessage(status);
  return new ErrorClass(statusName(status), subject ? `${subject}: ${reason}` : reason, { context: { status, ...context } });
}
