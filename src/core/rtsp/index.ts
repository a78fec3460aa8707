// RTSP text protocol, portable part: messages, header values, URLs and SDP. No Node globals below here.
export * from './message.js';
export * from './url.js';
export * from './sdp.js';
