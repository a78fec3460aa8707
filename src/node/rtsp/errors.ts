// Errors of the RTSP client. Codes are stable; messages never contain credentials.
import { WasmRtspError } from '../../core/errors.js';

/**
 * An RTSP session failed. `code` is one of: 'CONNECT_FAILED', 'CONNECTION_CLOSED', 'TIMEOUT', 'STATUS' (a non-2xx
 * reply: see `statusCode`), 'UNAUTHORIZED', 'TOO_MANY_REDIRECTS', 'PROTOCOL' (the server broke the protocol),
 * 'NO_MEDIA', 'UNSUPPORTED', 'ABORTED' (close() or the signal while something waited), 'CLOSED' (used after close),
 * 'BAD_OPTION', 'MEDIA_TIMEOUT' (a stream went silent), 'UDP_TIMEOUT' (no UDP packet after PLAY),
 * 'SESSION_NOT_FOUND' (a keep-alive answered 454), 'SDP_CHANGED' (RtspCamera: the streams changed shape), 'TLS'.
 */
export class RtspError extends WasmRtspError {
  /** The reply's status code for code 'STATUS' / 'UNAUTHORIZED'. */
  readonly statusCode?: number;
  constructor(code: string, message: string, options: { context?: Record<string, unknown>; cause?: unknown; statusCode?: number } = {}) {
    super(code, message, options);
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}
