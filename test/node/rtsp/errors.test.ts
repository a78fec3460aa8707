// One path from a reply's status to an error: typed codes, the status number, a message naming the request.
import { describe, expect, it } from 'vitest';
import { statusError, statusErrorCode } from '../../../src/core/rtsp/errors.js';

describe('statusError', () => {
  it.each([
    [401, 'UNAUTHORIZED'], [403, 'FORBIDDEN'], [404, 'NOT_FOUND'], [454, 'SESSION_NOT_FOUND'], [461, 'UNSUPPORTED_TRANSPORT'],
    [500, 'SERVER_ERROR'], [503, 'SERVER_ERROR'], [400, 'STATUS'], [457, 'STATUS'], [302, 'STATUS'], [undefined, 'STATUS'],
  ])('status %s → %s', (statusCode, code) => {
    expect(statusErrorCode(statusCode)).toBe(code);
    const e = statusError('DESCRIBE', 'rtsp://camera/x', { statusCode, reason: 'Reason' }, 'what it means');
    expect(e).toMatchObject({ code, statusCode, context: { method: 'DESCRIBE' } });
    expect(e.message).toBe(`DESCRIBE rtsp://camera/x: ${statusCode ?? '(no status)'} Reason: what it means`);
  });
});
