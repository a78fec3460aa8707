// The portable media layer: what happens to a stream's packets once a transport (TCP, UDP, a WebSocket) delivered
// them into core memory — reception statistics, reordering, packets and frames for the consumer, memory sizing.
export { StreamReceiver, type ReceiverHost, type RtcpStats } from './receiver.js';
export { mediaStream, type MediaStream, type MediaStreamDescription, type MediaStreamState, type SenderReportInfo } from './stream.js';
export { RtpPacket, receivedPacket, type ReceivedPacket, type RetainedPacket } from './packet.js';
export {
  Frame, StreamFrames, codecConfigFromSdp, frameCodecOf, DEFAULT_RETAINED_FRAME_BYTES, type RetainedFrame, type FrameModeOptions,
  type FrameStats, type CodecConfig, type RetainBudget, type WallClock,
} from './frames.js';
export {
  ReorderBuffer, DEFAULT_REORDER_DEPTH, DEFAULT_REORDER_LATENCY_MS, MAX_REORDER_DEPTH, type ReorderOptions, type ReorderSink,
} from './reorder.js';
export {
  coreBytesFor, checkPoolLimit, DEFAULT_POOL_LIMIT_BYTES, CORE_BASE_BYTES, CAMERA_FIXED_BYTES, FRAME_ASSEMBLY_RESERVE_BYTES,
  frameReserveBytes, type CoreSizing,
} from './sizing.js';
