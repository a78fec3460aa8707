// How much wasm memory a core needs for N cameras: one computation for RtspClient/RtspCamera (a core of their own)
// and for the CLI (N cameras sharing one core).
//
// A core's memory is fixed when it is made (it never grows), so it must hold, per camera: the packet pool (its slabs
// plus the pool's descriptor and slab tables), the interleaved demuxer (state, event and RTP record arrays), the
// connection's record and spill area, the UDP record and a reserve for frame assembly; per core: the module's static
// data, the core's scratch area and slack for the region allocator. UDP reorder buffers hold packets in their pool
// slots (inside the pool limit) and need no memory of their own. Pages that are never written cost address space,
// not RAM, and the region allocator hands out zeroed blocks without writing a page that is not already dirty
// (assembly/region.ts): a camera's resident memory follows what it holds (the slabs its pool carved, the frames it
// assembled or retained), not these limits. So the fixed parts are generous; the pool's share is exact.
//
//   const memoryBytes = coreBytesFor({ cameras: 8, poolLimitBytes: 16 << 20 });   // throws RtspError('BAD_OPTION')
//   const core = await createCore({ memoryBytes });

import { MAX_MEMORY_BYTES } from '../core.js';
import { RTP_RECORD_BYTES, SLAB_BYTES } from '../layout.js';
import { POOL_MAX_LIMIT_BYTES, POOL_MIN_LIMIT_BYTES } from '../pool.js';
import { DEFAULT_MAX_AAC_FRAME_BYTES, DEFAULT_MAX_VIDEO_FRAME_BYTES } from '../depay.js';
import { RtspError } from '../rtsp/errors.js';
import { DEFAULT_RETAINED_FRAME_BYTES, type FrameModeOptions } from './frames.js';

/** Default packet pool per camera: 64 slabs of 64 KiB. */
export const DEFAULT_POOL_LIMIT_BYTES = 4 * 1024 * 1024;
/** Per core: the module's static data, the core's 64 KiB scratch area, allocator headers and slack. */
export const CORE_BASE_BYTES = 1024 * 1024;
/**
 * Per camera, outside the pool: demuxer state + 128 events + 128 RTP records (~49 KB), the connection's record and
 * 4 KiB spill area, the UDP record and each UDP stream's 64 KiB landing area for the read tick (two streams fit; a
 * third stays on dgram's events), with room to spare (a redirect makes a new demuxer in the freed blocks). Pages
 * never written cost no RAM.
 */
export const CAMERA_FIXED_BYTES = 256 * 1024;
/** A depayloader's state and frame records (assembly/depay.ts), with its region header, rounded up. */
const DEPAY_STATE_BYTES = 4096;

/**
 * Wasm memory frame mode may take per camera: the two assembly buffers (and state) of a video depayloader at
 * `maxFrameBytes` and of an audio one, plus the budget of retained frames. Raw video needs `maxFrameBytes` of at
 * least one whole frame (width × height × bytes per pixel).
 */
export function frameReserveBytes(options: FrameModeOptions = {}): number {
  const video = options.maxFrameBytes ?? DEFAULT_MAX_VIDEO_FRAME_BYTES;
  return 2 * video + 2 * DEFAULT_MAX_AAC_FRAME_BYTES + 2 * DEPAY_STATE_BYTES + (options.retainedBytesLimit ?? DEFAULT_RETAINED_FRAME_BYTES);
}

/** Per camera: reserve for frame mode at its defaults, unless `frameAssemblyBytes` says otherwise (address space, not RAM, until used). */
export const FRAME_ASSEMBLY_RESERVE_BYTES = frameReserveBytes();
/** Pool bookkeeping per 64 KiB slab: a 16-byte slab entry and 256 8-byte slot descriptors (assembly/pool.ts). */
const POOL_TABLE_BYTES_PER_SLAB = 16 + 256 * 8;
/** Pool state head and the two region block headers, rounded up. */
const POOL_FIXED_BYTES = 1024;
const PAGE_BYTES = 65536;

/** What a core is shared by. */
export interface CoreSizing {
  /** Cameras (RtspClient or RtspCamera) on the core; default 1. */
  cameras?: number;
  /** Each camera's `poolLimitBytes` (the same for all); default DEFAULT_POOL_LIMIT_BYTES. */
  poolLimitBytes?: number;
  /** Each camera's frame assembly reserve; default FRAME_ASSEMBLY_RESERVE_BYTES. */
  frameAssemblyBytes?: number;
}

/** Wasm memory one camera takes on a shared core, for a pool limit (already checked). */
function cameraBytes(poolLimitBytes: number, frameAssemblyBytes: number): number {
  const slabs = Math.floor(poolLimitBytes / SLAB_BYTES);
  return slabs * (SLAB_BYTES + POOL_TABLE_BYTES_PER_SLAB) + POOL_FIXED_BYTES + CAMERA_FIXED_BYTES + frameAssemblyBytes
    + 2 * RTP_RECORD_BYTES;
}

/**
 * Bytes of wasm memory (whole 64 KiB pages) for a core shared by `cameras` cameras of `poolLimitBytes` each: pass it
 * to createCore({ memoryBytes }). Throws RtspError('BAD_OPTION') naming the option to change when the pool limit is
 * outside what a pool can have (64 KiB to 256 MiB) or the total exceeds the 4 GiB a wasm32 memory can address.
 */
export function coreBytesFor(sizing: CoreSizing = {}): number {
  const cameras = sizing.cameras ?? 1;
  const poolLimitBytes = sizing.poolLimitBytes ?? DEFAULT_POOL_LIMIT_BYTES;
  const frameAssemblyBytes = sizing.frameAssemblyBytes ?? FRAME_ASSEMBLY_RESERVE_BYTES;
  if (!Number.isInteger(cameras) || cameras < 1) {
    throw new RtspError('BAD_OPTION', `cameras must be a positive integer, not ${String(cameras)}`, { context: { cameras } });
  }
  if (!Number.isInteger(frameAssemblyBytes) || frameAssemblyBytes < 0) {
    throw new RtspError('BAD_OPTION', `frameAssemblyBytes must be an integer ≥ 0, not ${String(frameAssemblyBytes)}`, { context: { frameAssemblyBytes } });
  }
  checkPoolLimit(poolLimitBytes);
  const total = CORE_BASE_BYTES + cameras * cameraBytes(poolLimitBytes, frameAssemblyBytes);
  const bytes = Math.ceil(total / PAGE_BYTES) * PAGE_BYTES;
  if (bytes > MAX_MEMORY_BYTES) {
    const perCamera = Math.floor((MAX_MEMORY_BYTES - CORE_BASE_BYTES) / cameras);
    const slabsFit = Math.floor((perCamera - POOL_FIXED_BYTES - CAMERA_FIXED_BYTES - frameAssemblyBytes - 2 * RTP_RECORD_BYTES)
      / (SLAB_BYTES + POOL_TABLE_BYTES_PER_SLAB));
    const maxPool = Math.min(POOL_MAX_LIMIT_BYTES, slabsFit * SLAB_BYTES);
    const maxCameras = Math.floor((MAX_MEMORY_BYTES - CORE_BASE_BYTES) / cameraBytes(poolLimitBytes, frameAssemblyBytes));
    throw new RtspError('BAD_OPTION',
      `${cameras} camera(s) with poolLimitBytes ${poolLimitBytes} need ${bytes} bytes of wasm memory, more than the ` +
      `${MAX_MEMORY_BYTES} a wasm32 core can address: lower poolLimitBytes (--pool-limit) to at most ${maxPool > 0 ? maxPool : 0}, ` +
      `or put at most ${maxCameras} such cameras on one core`,
      { context: { cameras, poolLimitBytes, bytes, maxBytes: MAX_MEMORY_BYTES, maxPoolLimitBytes: Math.max(0, maxPool), maxCameras } });
  }
  return bytes;
}

/** Throws RtspError('BAD_OPTION') naming poolLimitBytes when a pool cannot have that limit. */
export function checkPoolLimit(poolLimitBytes: number): void {
  if (typeof poolLimitBytes !== 'number' || !Number.isInteger(poolLimitBytes)
    || poolLimitBytes < POOL_MIN_LIMIT_BYTES || poolLimitBytes > POOL_MAX_LIMIT_BYTES) {
    throw new RtspError('BAD_OPTION',
      `poolLimitBytes (--pool-limit) must be an integer from ${POOL_MIN_LIMIT_BYTES} (one 64 KiB slab) to ` +
      `${POOL_MAX_LIMIT_BYTES} (256 MiB), not ${String(poolLimitBytes)}`,
      { context: { poolLimitBytes, min: POOL_MIN_LIMIT_BYTES, max: POOL_MAX_LIMIT_BYTES } });
  }
}
