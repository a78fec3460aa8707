// RTSP text protocol, portable part: messages, header values, requests, URLs and SDP. No Node globals below here.
export * from './message.js';
export * from './header-values.js';
export * from './serialize.js';
export * from './url.js';
export * from './sdp.js';
