// The Node entry: the portable core and parsers, plus what needs Node (loading from disk, sockets, GStreamer).
export * from '../core/index.js';
export { createCore, wasmUrl, type NodeCoreOptions } from './core.js';

export { RtspClient, type RtspClientOptions, type MediaStream, type ClientStats, DEFAULT_READ_INTERVAL_MS, MAX_READ_INTERVAL_MS } from './rtsp/client.js';
export { createMetrics, serveMetrics, type MetricsSources, type CameraSample } from './metrics.js';
export { RtspAuthenticator, RtspAuthError } from './rtsp/auth.js';
export * from './gst/index.js';
export {
  RtspCamera, type RtspCameraOptions, type CameraStats, type CameraState, type ReconnectingEvent, type ReconnectedEvent,
  DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS, DEFAULT_BACKOFF_FACTOR, DEFAULT_JITTER, DEFAULT_MEDIA_TIMEOUT_MS,
} from './rtsp/camera.js';
export { type RtspTlsOptions } from './rtsp/connection.js';
export { UDP_RECEIVE_BUFFER_BYTES } from './rtsp/udp.js';
export * from './record/index.js';
