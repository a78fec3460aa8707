// The wasm module's exports, typed by hand (as as-sha256 does) so hot calls go to the raw instance without a wrapper.
// Pointers are byte addresses in the core's linear memory; statuses are listed in status.ts.

/** Functions exported by build/{debug,release}.wasm. Constants are exported too, as WebAssembly.Global. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  region_alloc(bytes: number): number;
  region_free(ptr: number): number;
  region_reserved_bytes(): number;
  region_largest_free(): number;
  rtp_parse(ptr: number, len: number, out: number): number;
  rtp_parse_batch(descs: number, count: number, out: number): number;
  demux_create(maxHeaderBytes: number, maxBodyBytes: number): number;
  demux_destroy(d: number): number;
  demux_reset(d: number): number;
  demux_set_channel(d: number, channel: number, flags: number): number;
  demux_scan(d: number, base: number, len: number, events: number, maxEvents: number, records: number): number;
  pool_create(limitBytes: number, firstGeneration?: number): number;
  pool_destroy(p: number): number;
  /** A handle: an integer below 2^53 (generation × 2^20 + slab × 256 + slot), or a negative status. */
  pool_acquire(p: number, size: number): number;
  pool_retain(p: number, handle: number): number;
  pool_release(p: number, handle: number): number;
  pool_check(p: number, handle: number): number;
  pool_ptr(p: number, handle: number): number;
  pool_slot_bytes(p: number, handle: number): number;
  depay_create(codec: number, maxFrameBytes: number, options: number, a: number, b: number, c: number, d: number): number;
  depay_push(state: number, packetPtr: number, packetLength: number, recordPtr: number): number;
  depay_flush(state: number): number;
  depay_destroy(state: number): number;
  readonly [name: string]: unknown;
}
