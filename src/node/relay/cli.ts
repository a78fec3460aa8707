// `wasm-rtsp relay <rtsp-url>… [--port N]`: serves the cameras to browsers (see server.ts). Runs until SIGINT/SIGTERM
// (or --duration), then closes the cameras (TEARDOWN) and the browsers' sockets.

import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BUFFERED_BYTES, startRelay } from './server.js';

/** Exit codes, as the main command's. */
const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

/** Usage text of `wasm-rtsp relay`. */
export const RELAY_USAGE = `usage: wasm-rtsp relay <rtsp-url>... [options]

  Serves the cameras to browsers: open the printed http:// address. Each camera's RTP goes over a WebSocket
  (interleaved, as RTSP over TCP); the page demuxes and depayloads it with the package's wasm and decodes it with
  WebCodecs (raw RFC 4175 video is drawn directly).

  --port N              HTTP/WebSocket port (default 8080; 0 picks a free one)
  --host ADDRESS        listen address (default 127.0.0.1; 0.0.0.0 for every interface)
  --max-buffered KB     per browser, unsent bytes before whole access units are dropped (default ${DEFAULT_MAX_BUFFERED_BYTES / 1024})
  --duration seconds    stop after this long (default: until Ctrl-C)
  --json                print the relay's statistics as JSON at the end
  -h, --help            this text`;

/** Runs the relay subcommand; resolves with the exit code once it stops. */
export async function runRelay(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let urls: string[];
  try {
    const parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'max-buffered': { type: 'string' },
        duration: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    urls = parsed.positionals;
  } catch (e) {
    io.err.write(`wasm-rtsp relay: ${(e as Error).message}\n${RELAY_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out.write(RELAY_USAGE + '\n');
    return EXIT_OK;
  }
  const number = (name: string, min: number, max: number): number | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number between ${min} and ${max}`);
    return n;
  };
  let port: number | undefined;
  let maxBufferedKb: number | undefined;
  let durationS: number | undefined;
  try {
    if (urls.length === 0) throw new Error('give at least one rtsp:// URL');
    port = number('port', 0, 65535);
    maxBufferedKb = number('max-buffered', 64, 1024 * 1024);
    durationS = number('duration', 0.1, 365 * 86400);
  } catch (e) {
    io.err.write(`wasm-rtsp relay: ${(e as Error).message}\n${RELAY_USAGE}\n`);
    return EXIT_USAGE;
  }
  let relay;
  try {
    relay = await startRelay({
      urls, port: port ?? 8080, host: typeof values.host === 'string' ? values.host : undefined,
      maxBufferedBytes: maxBufferedKb === undefined ? undefined : Math.round(maxBufferedKb * 1024),
      onError: (camera, e) => io.err.write(`wasm-rtsp relay: camera ${camera}: ${(e as Error).message ?? e}\n`),
    });
  } catch (e) {
    io.err.write(`wasm-rtsp relay: ${(e as Error).message}\n`);
    return EXIT_ERROR;
  }
  io.out.write(`wasm-rtsp relay: open ${relay.url} (${urls.length} camera${urls.length === 1 ? '' : 's'})\n`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS !== undefined) setTimeout(stop, durationS * 1000).unref();
  });
  const stats = relay.stats();
  await relay.close();
  if (values.json) io.out.write(JSON.stringify({ cameras: stats }) + '\n');
  return EXIT_OK;
}
