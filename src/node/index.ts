// The Node entry: the portable core and parsers, plus what needs Node (loading from disk, sockets, GStreamer).
export * from '../core/index.js';
export { createCore, wasmUrl, type NodeCoreOptions } from './core.js';

export { RtspClient, type RtspClientOptions, type MediaStream, type ClientStats } from './rtsp/client.js';
export { RtpPacket, type RetainedPacket } from './rtsp/packet.js';
export {
  Frame, codecConfigFromSdp, frameCodecOf, DEFAULT_RETAINED_FRAME_BYTES, type RetainedFrame, type FrameModeOptions,
  type FrameStats, type CodecConfig,
} from './rtsp/frames.js';
export { createMetrics, serveMetrics, type MetricsSources, type CameraSample } from './metrics.js';
export { RtspError } from './rtsp/errors.js';
export { RtspAuthenticator, RtspAuthError } from './rtsp/auth.js';
export * from './gst/index.js';
export {
  RtspCamera, type RtspCameraOptions, type CameraStats, type CameraState, type ReconnectingEvent, type ReconnectedEvent,
  DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS, DEFAULT_BACKOFF_FACTOR, DEFAULT_JITTER, DEFAULT_MEDIA_TIMEOUT_MS,
} from './rtsp/camera.js';
export {
  coreBytesFor, checkPoolLimit, type CoreSizing, DEFAULT_POOL_LIMIT_BYTES, CORE_BASE_BYTES, CAMERA_FIXED_BYTES,
  FRAME_ASSEMBLY_RESERVE_BYTES, frameReserveBytes,
} from './rtsp/memory.js';
export { type RtspTlsOptions } from './rtsp/connection.js';
export {
  type ReorderOptions, DEFAULT_REORDER_DEPTH, DEFAULT_REORDER_LATENCY_MS, MAX_REORDER_DEPTH,
} from './rtsp/reorder.js';
