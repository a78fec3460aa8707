// The ABI of the wasm core. This file only re-exports; each concern lives in its own file.
// Every export here is listed in test/core/abi.test.ts, which fails when the surface changes unnoticed.

/** Bumped whenever an export, a status code or a record layout changes meaning. */
export const ABI_VERSION: u32 = 3;

export * from "./status";
export * from "./layout";
export { region_alloc, region_free, region_reserved_bytes, region_largest_free } from "./region";
export { rtp_parse, rtp_parse_batch } from "./rtp";
export { demux_create, demux_destroy, demux_reset, demux_set_channel, demux_scan } from "./demux";
export {
  pool_create, pool_destroy, pool_acquire, pool_retain, pool_release, pool_check, pool_ptr, pool_slot_bytes,
} from "./pool";
export { depay_create, depay_push, depay_flush, depay_destroy } from "./depay";
