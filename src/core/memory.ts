// What the wrappers of the wasm core (PacketPool, InterleavedDemuxer, the RTP record views, Depayloader) need of a
// core: its exports, its fixed memory and typed views of it, and the region allocator. Core (core.ts) implements it
// and composes the wrappers; the wrappers depend on this interface only, so no module imports core.ts back.

import type { CoreExports } from './wasm.js';

/** One wasm core's memory and exports, as the wrappers use them (implemented by Core). */
export interface CoreMemory {
  readonly exports: CoreExports;
  /** The fixed linear memory (never grown). */
  readonly memory: WebAssembly.Memory;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  /** The core's 64 KiB scratch area (parseRtpHeader copies a packet there). */
  readonly scratchPtr: number;
  /** The core's own RTP record. */
  readonly recordPtr: number;
  readonly memoryBytes: number;
  readonly reservedBytes: number;
  /** Rebuilds the typed views if the memory's buffer changed; returns `u8`. */
  views(): Uint8Array;
  /** A new view of [at, at + length) of the memory (after the same check as views()). */
  view(at: number, length: number): Uint8Array;
  /** A block of `bytes` from the region allocator (CoreError OUT_OF_MEMORY when none is free). */
  alloc(bytes: number, what?: string): number;
  free(ptr: number): void;
  /** Runs a call into wasm; a trap marks the core unusable (CoreError TRAPPED) and is rethrown. */
  guard<T>(fn: () => T): T;
  /** Throws CoreError('TRAPPED') once a trap poisoned this core. */
  assertUsable(): void;
}
