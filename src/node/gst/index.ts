// The GStreamer sink: RTP packets from the RTSP client into one GStreamer pipeline (see docs/gstreamer.md).
export {
  GstError, rtpCaps, defaultDepayChain, decodeChain, mp4Recordable, capsString, launchQuote, frameFormat,
  type FrameBranchFormat, type FrameCapsConfig,
} from './caps.js';
export {
  GstSink, createGstSink, gstAvailable, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_CLOSE_TIMEOUT_MS, GST_ADDON_PACKAGE, GST_ADDON_ENV,
  GST_DEBIAN_PACKAGES, type GstBranch, type GstBranchStats, type GstSinkOptions, type GstSinkState, type GstSinkStats,
  type GstTail,
} from './sink.js';
