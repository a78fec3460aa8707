// The Node entry: the portable core and parsers, plus what needs Node (loading from disk, sockets, GStreamer).
export * from '../core/index.js';
export { createCore, wasmUrl, type NodeCoreOptions } from './core.js';

export { RtspClient, type RtspClientOptions, type MediaStream, type ClientStats } from './rtsp/client.js';
export { RtpPacket, type RetainedPacket } from './rtsp/packet.js';
export { RtspError } from './rtsp/errors.js';
export { RtspAuthenticator, RtspAuthError } from './rtsp/auth.js';
export * from './gst/index.js';
