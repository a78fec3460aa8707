// The portable entry: everything that runs without Node (browsers, workers, bundlers). No Node globals below here.
export { loadCore, compileCore, Core, DEFAULT_MEMORY_BYTES, MAX_MEMORY_BYTES, type CoreOptions, type WasmSource } from './core.js';
export { WasmRtspError, CoreError, hexDump } from './errors.js';
export { Status, statusName, statusMessage, coreStatusError, STATUS_MESSAGES, type StatusName } from './status.js';
export * from './rtp.js';
export * from './pool.js';
export * from './demuxer.js';
export type { CoreExports } from './wasm.js';
export * as layout from './layout.js';
export * from './rtsp/index.js';
export * from './rtcp.js';
export * from './stats.js';
export * from './depay.js';
export * from './codec.js';
export { RtspError, statusError, statusErrorCode, STATUS_ERROR_CODES } from './rtsp/errors.js';
export * from './media/index.js';
export type { CoreMemory } from './memory.js';
