// A hostile client for the relay tests: writes exactly the bytes it is given on a raw TCP socket (no HTTP library to
// fix a malformed request line up) and reads the first answer, bounded in time.
import { connect } from 'node:net';

/** Bound of one exchange: a relay that neither answers nor closes in this time fails the check that uses it. */
export const RAW_TIMEOUT_MS = 5_000;

/** The first answer to a raw request. */
export interface RawAnswer {
  /** The status code, or undefined when the relay closed (or the time ran out) before a status line. */
  status: number | undefined;
  statusLine: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** True when the relay closed the connection; false when the answer was complete and the client hung up. */
  closedByRelay: boolean;
  timedOut: boolean;
}

/**
 * Sends `request` to `address`:`port` (default 127.0.0.1) and reads one answer: until the header block and its content-length are in,
 * a 101 (the WebSocket is then dropped), the relay closing, or `timeoutMs`. `halfClose` ends the sending side after
 * the request, so an incomplete request is answered or closed instead of waiting for more.
 */
export function rawExchange(port: number, request: string | Uint8Array, options: { timeoutMs?: number; halfClose?: boolean; address?: string } = {}): Promise<RawAnswer> {
  const timeoutMs = options.timeoutMs ?? RAW_TIMEOUT_MS;
  return new Promise((resolve) => {
    const socket = connect({ host: options.address ?? '127.0.0.1', port });
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (closedByRelay: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(data, closedByRelay, timedOut));
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on('error', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const answer = parse(data, false, false);
      const length = Number(answer.headers['content-length'] ?? NaN);
      if (answer.status === 101 || (Number.isFinite(length) && data.length >= end + 4 + length)) finish(false, false);
    });
    socket.on('connect', () => {
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
      if (options.halfClose) socket.end();
    });
  });
}

function parse(data: Buffer, closedByRelay: boolean, timedOut: boolean): RawAnswer {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : undefined, statusLine, headers, body: end < 0 ? '' : text.slice(end + 4), closedByRelay, timedOut };
}

/** A WebSocket handshake for `path` with the given extra header lines (Host first when given). */
export function upgradeRequest(path: string, headers: Record<string, string>): string {
  const lines = [`GET ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A plain GET for `path` with the given header lines. */
export function getRequest(path: string, headers: Record<string, string>): string {
  return `${[`GET ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close'].join('\r\n')}\r\n\r\n`;
}

/** `Authorization: Basic …` for user:password. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
