// `wasm-rtsp relay <rtsp-url>… [--port N]`: serves the cameras to browsers (see server.ts). Runs until SIGINT/SIGTERM
// (or --duration), then closes the cameras (TEARDOWN) and the browsers' sockets. Human lines go to stderr; with
// --json, stdout carries only the JSON summary.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLoopbackHost, parseUserPassword, RelayAccessError, validateAuth, type RelayAuth } from './guard.js';
import { DEFAULT_MAX_BUFFERED_BYTES, startRelay, type RelayOptions } from './server.js';

/** Exit codes, as the main command's. */
const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

/** Environment variables read for the viewer login when no --auth / --auth-token option gives it. */
export const AUTH_ENV = 'WASM_RTSP_RELAY_AUTH';
export const TOKEN_ENV = 'WASM_RTSP_RELAY_TOKEN';

/** Usage text of `wasm-rtsp relay`. */
export const RELAY_USAGE = `usage: wasm-rtsp relay <rtsp-url>... [options]

  Serves the cameras to browsers: open the printed http(s):// address. Each camera's RTP goes over a WebSocket
  (interleaved, as RTSP over TCP); the page demuxes and depayloads it with the package's wasm and decodes it with
  WebCodecs (raw RFC 4175 video is drawn directly).

  --port N              HTTP/WebSocket port (default 8080; 0 picks a free one)
  --host ADDRESS        listen address (default 127.0.0.1; 0.0.0.0 for every interface: needs a login)
  --tls-cert FILE       serve https/wss with this PEM certificate (with --tls-key): WebCodecs needs a
  --tls-key FILE        secure context, so other devices decode H.264/H.265 only over https
  --auth USER:PASSWORD  viewer login (HTTP Basic for the page and the WebSocket); also \$${AUTH_ENV}
  --auth-file FILE      the login from a file holding user:password
  --auth-token TOKEN    accept "Authorization: Bearer TOKEN" (and Basic with TOKEN as the password); also
  --auth-token-file F   \$${TOKEN_ENV}, or from a file
  --allow-host NAME     also accept this name in the Host header (repeatable; default: loopback names and
                        the listen address)
  --allow-origin ORIGIN also let pages of this origin open WebSockets (repeatable; e.g. https://app.example)
  --max-buffered KB     per browser, unsent bytes before whole access units are dropped (default ${DEFAULT_MAX_BUFFERED_BYTES / 1024})
  --duration seconds    stop after this long (default: until Ctrl-C)
  --json                print the relay's statistics as JSON at the end (stdout holds only JSON)
  -h, --help            this text

  Anything but a loopback --host needs a login (exit code 2 without one).`;

/** Reads a small secret file (a login, a key): its text without the final newline, or a usage error naming it. */
function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new RelayAccessError('BAD_AUTH', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { context: { path } });
  }
}

/** The login from the options, a file or the environment (options first); undefined when none is given. */
export function loginFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): RelayAuth | undefined {
  if (values.auth !== undefined && values['auth-file'] !== undefined) throw new RelayAccessError('BAD_AUTH', 'give --auth or --auth-file, not both');
  if (values['auth-token'] !== undefined && values['auth-token-file'] !== undefined) {
    throw new RelayAccessError('BAD_AUTH', 'give --auth-token or --auth-token-file, not both');
  }
  let auth: RelayAuth = {};
  if (typeof values.auth === 'string') auth = parseUserPassword(values.auth, '--auth');
  else if (typeof values['auth-file'] === 'string') auth = parseUserPassword(readSecretFile(values['auth-file'], '--auth-file'), `--auth-file ${values['auth-file']}`);
  else if (env[AUTH_ENV]) auth = parseUserPassword(env[AUTH_ENV]!, AUTH_ENV);
  let token: string | undefined;
  if (typeof values['auth-token'] === 'string') token = values['auth-token'];
  else if (typeof values['auth-token-file'] === 'string') token = readSecretFile(values['auth-token-file'], '--auth-token-file');
  else if (env[TOKEN_ENV]) token = env[TOKEN_ENV];
  if (token !== undefined) auth.token = token;
  if (auth.user === undefined && auth.token === undefined) return undefined;
  validateAuth(auth);
  return auth;
}

/** Exit code of a start-up failure: a configuration the user must change is a usage error (2). */
function exitCodeOf(e: unknown): number {
  return e instanceof RelayAccessError ? EXIT_USAGE : EXIT_ERROR;
}

/** Runs the relay subcommand; resolves with the exit code once it stops. */
export async function runRelay(argv: string[], io = { out: process.stdout, err: process.stderr }, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  let urls: string[];
  const json = argv.includes('--json');
  /** A start-up failure: the message on stderr, and with --json a JSON line on stdout. */
  const fail = (code: number, e: unknown, usage: boolean): number => {
    io.err.write(`wasm-rtsp relay: ${(e as Error).message}\n${usage ? RELAY_USAGE + '\n' : ''}`);
    if (json) {
      io.out.write(JSON.stringify({ exitCode: code, error: { code: (e as { code?: string }).code ?? 'USAGE', message: (e as Error).message } }) + '\n');
    }
    return code;
  };
  try {
    const parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'max-buffered': { type: 'string' },
        duration: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
        auth: { type: 'string' }, 'auth-file': { type: 'string' }, 'auth-token': { type: 'string' }, 'auth-token-file': { type: 'string' },
        'allow-host': { type: 'string', multiple: true }, 'allow-origin': { type: 'string', multiple: true },
      },
    });
    values = parsed.values;
    urls = parsed.positionals;
  } catch (e) {
    return fail(EXIT_USAGE, e, true);
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
  const list = (name: string) => ((values[name] as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  let port: number | undefined;
  let maxBufferedKb: number | undefined;
  let durationS: number | undefined;
  try {
    if (urls.length === 0) throw new Error('give at least one rtsp:// URL');
    port = number('port', 0, 65535);
    maxBufferedKb = number('max-buffered', 64, 1024 * 1024);
    durationS = number('duration', 0.1, 365 * 86400);
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('give both --tls-cert and --tls-key');
  } catch (e) {
    return fail(EXIT_USAGE, e, true);
  }
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  let options: RelayOptions;
  try {
    let tls: RelayOptions['tls'];
    if (typeof values['tls-cert'] === 'string' && typeof values['tls-key'] === 'string') {
      const read = (path: string, what: string) => {
        try {
          return readFileSync(path);
        } catch (e) {
          throw new RelayAccessError('BAD_TLS', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { context: { path } });
        }
      };
      tls = { cert: read(values['tls-cert'], '--tls-cert'), key: read(values['tls-key'], '--tls-key') };
    }
    options = {
      urls, port: port ?? 8080, host, tls, auth: loginFrom(values, env),
      allowHosts: list('allow-host'), allowOrigins: list('allow-origin'),
      maxBufferedBytes: maxBufferedKb === undefined ? undefined : Math.round(maxBufferedKb * 1024),
      onError: (camera, e) => io.err.write(`wasm-rtsp relay: camera ${camera}: ${(e as Error).message ?? e}\n`),
    };
  } catch (e) {
    return fail(exitCodeOf(e), e, false);
  }
  let relay;
  try {
    relay = await startRelay(options);
  } catch (e) {
    return fail(exitCodeOf(e), e, false);
  }
  io.err.write(`wasm-rtsp relay: open ${relay.url} (${urls.length} camera${urls.length === 1 ? '' : 's'})\n`);
  if (!isLoopbackHost(host) && !options.tls) {
    io.err.write('wasm-rtsp relay: warning: plain http off loopback: the login and the video cross the network unencrypted, and other '
      + 'devices\' browsers will not decode H.264/H.265 (WebCodecs needs https); give --tls-cert and --tls-key\n');
  }
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS !== undefined) setTimeout(stop, durationS * 1000).unref();
  });
  const stats = relay.stats();
  const requests = relay.requests();
  await relay.close();
  if (values.json) io.out.write(JSON.stringify({ cameras: stats, requests }) + '\n');
  return EXIT_OK;
}
