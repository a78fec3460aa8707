// Packet buffer pool. STUB: to be written.
import { ERR_BAD_ARGUMENT } from "./status";

export function pool_create(limitBytes: u32): usize { return 0; }
export function pool_destroy(p: usize): i32 { return ERR_BAD_ARGUMENT; }
export function pool_acquire(p: usize, size: u32): i32 { return ERR_BAD_ARGUMENT; }
export function pool_retain(p: usize, handle: i32): i32 { return ERR_BAD_ARGUMENT; }
export function pool_release(p: usize, handle: i32): i32 { return ERR_BAD_ARGUMENT; }
export function pool_check(p: usize, handle: i32): i32 { return ERR_BAD_ARGUMENT; }
export function pool_ptr(p: usize, handle: i32): usize { return 0; }
export function pool_slot_bytes(p: usize, handle: i32): u32 { return 0; }
