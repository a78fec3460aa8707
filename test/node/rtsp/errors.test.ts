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

describe('a server that answers in another protocol', () => {
  /** A TCP server on loopback that answers whatever comes with `pieces`, each its own write (a pause between). */
  async function foreignServer(pieces: string[]): Promise<{ url: string; close(): Promise<void> }> {
    const { default: net } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', async () => {
        for (const p of pieces) {
          if (socket.destroyed) return;
          socket.write(p);
          await new Promise((r) => setTimeout(r, 30));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return {
      url: `rtsp://127.0.0.1:${port}/stream`,
      close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
    };
  }

  it.each([
    ['in one piece', ['HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n']],
    ['cut inside "HTTP/" and inside its start line', ['HT', 'TP/1.1 40', '0 Bad Request\r\n\r\n']],
  ])('an HTTP answer (%s) fails at once with NOT_RTSP, its start line in the context, not a timeout', async (_name, pieces) => {
    const { RtspClient } = await import('../../../src/node/index.js');
    const server = await foreignServer(pieces);
    const started = Date.now();
    try {
      const error = await RtspClient.open(server.url, { requestTimeoutMs: 10_000 }).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'NOT_RTSP', context: { startLine: 'HTTP/1.1 400 Bad Request' } });
      expect((error as Error).message).toMatch(/HTTP\/1\.1/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await server.close();
    }
  });
});
