// Error classes shared by every layer. Each carries a stable `code` (what to branch on), a message a person can act
// on, the context needed to find the problem (never credentials), and `cause` when it wraps another error.

/** Base class of every error this library throws. */
export class WasmRtspError extends Error {
  /** Stable, machine-readable reason, e.g. `'RTP_TOO_SHORT'` or `'POOL_EXHAUSTED'`. */
  readonly code: string;
  /** What was being done when it failed: lengths, offsets, a short hex dump, stream ids. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }
}

/** Loading or using the wasm core failed: bad module, memory too small, a trap (the instance is then unusable). */
export class CoreError extends WasmRtspError {}

/** Up to `max` octets of `bytes` as hex pairs ("80 60 00 01 …"), enough to find a packet in a capture. */
export function hexDump(bytes: Uint8Array, max = 32): string {
  const n = Math.min(bytes.length, max);
  let out = '';
  for (let i = 0; i < n; i++) out += (i ? ' ' : '') + (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return bytes.length > max ? `${out} …(${bytes.length} octets)` : out;
}
