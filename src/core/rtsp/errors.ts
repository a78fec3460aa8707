// Errors of the RTSP client. Codes are stable; messages never contain credentials.
import { WasmRtspError } from '../errors.js';

/**
 * An RTSP session failed. `code` is one of: 'CONNECT_FAILED', 'CONNECTION_CLOSED', 'TIMEOUT', a reply's status (made
 * by statusError: 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'SESSION_NOT_FOUND', 'UNSUPPORTED_TRANSPORT',
 * 'SERVER_ERROR', else 'STATUS'; `statusCode` has the number), 'TOO_MANY_REDIRECTS', 'INSECURE_REDIRECT'
 * (an rtsps → rtsp redirect, refused), 'PROTOCOL' (the server broke the protocol), 'NOT_RTSP' (it answered in
 * another protocol: an HTTP server on the URL's port),
 * 'NO_MEDIA', 'UNSUPPORTED', 'ABORTED' (close() or the signal while something waited), 'CLOSED' (used after close),
 * 'BAD_OPTION', 'MEDIA_TIMEOUT' (a stream went silent), 'FRAME_TIMEOUT' (packets but no frame), 'UDP_TIMEOUT' (no UDP packet after PLAY),
 * 'SESSION_NOT_FOUND' (a keep-alive answered 454), 'SDP_CHANGED' (RtspCamera: the streams changed shape), 'TLS', 'BYE' (the server ended a stream with RTCP BYE),
 * 'FRAME_BUDGET' (retained frames past their budget).
 */
export class RtspError extends WasmRtspError {
  /** The reply's status code, for errors made from a reply (statusError). */
  readonly statusCode?: number;
  constructor(code: string, message: string, options: { context?: Record<string, unknown>; cause?: unknown; statusCode?: number } = {}) {
    super(code, message, options);
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** Reply statuses with a code of their own (RFC 2326 §7.1.1, §11); any other non-2xx reply is 'STATUS'. */
export const STATUS_ERROR_CODES: Readonly<Record<number, string>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  454: 'SESSION_NOT_FOUND',
  461: 'UNSUPPORTED_TRANSPORT',
};

/** The code an error made from a reply with `statusCode` gets (see STATUS_ERROR_CODES; 5xx is 'SERVER_ERROR'). */
export function statusErrorCode(statusCode: number | undefined): string {
  if (statusCode === undefined) return 'STATUS';
  return STATUS_ERROR_CODES[statusCode] ?? (statusCode >= 500 && statusCode <= 599 ? 'SERVER_ERROR' : 'STATUS');
}

/**
 * The one way a reply's status becomes an error: the typed code of statusErrorCode, `statusCode`, and a message
 * that names the request (`DESCRIBE rtsp://camera/x: 404 Not Found`) and, when given, what it means here.
 */
export function statusError(method: string, url: string, res: { statusCode?: number; reason?: string }, detail?: string,
  options: { context?: Record<string, unknown>; cause?: unknown } = {}): RtspError {
  const status = `${res.statusCode ?? '(no status)'} ${res.reason ?? ''}`.trim();
  return new RtspError(statusErrorCode(res.statusCode), `${method} ${url}: ${status}${detail ? `: ${detail}` : ''}`, {
    statusCode: res.statusCode, cause: options.cause, context: { method, ...options.context },
  });
}
