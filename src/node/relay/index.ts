// The relay: RTSP cameras to browsers over WebSocket (server.ts), access-unit gathering and keyframe detection
// (access-unit.ts), the `wasm-rtsp relay` subcommand (cli.ts).
export * from './server.js';
export * from './access-unit.js';
export { runRelay, RELAY_USAGE, AUTH_ENV, TOKEN_ENV } from './cli.js';
