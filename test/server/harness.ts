/**
 * Test harness for the GStreamer RTSP test server (test/server/rtsp_server.py).
 *
 * `startRtspServer()` spawns the server on a free loopback port and resolves once it listens; the returned object
 * collects the server's JSON events and stops the process. Every spawned server is tracked and killed when this
 * process exits, and the server itself exits when its parent dies (`--exit-with-parent`), so a failed or
 * interrupted test never leaves one behind. See docs/test-server.md for the events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter: it has the `gi` bindings (the `python3` on PATH may not). */
export const DEFAULT_PYTHON = '/usr/bin/python3';
/** The server script, next to this file. */
export const SERVER_SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));
/** How long `startRtspServer` waits for the ready line by default. */
export const READY_TIMEOUT_MS = 15_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
export const STOP_GRACE_MS = 3_000;
/** Default timeout of `waitFor`. */
export const WAIT_FOR_TIMEOUT_MS = 5_000;
/** How much of the server's stderr an error message quotes. */
const STDERR_TAIL_CHARS = 2_000;
/** How much stderr is kept in memory. */
const STDERR_KEEP_CHARS = 64_000;

/** Options of `startRtspServer`; each maps to a command-line option of rtsp_server.py. */
export interface RtspServerOptions {
  /** Seconds without an RTSP request before a session is torn down and its connection closed (default 60). */
  sessionTimeout?: number;
  /** Authentication required on every mount point (default 'none'). */
  auth?: 'none' | 'basic' | 'digest';
  /** User name for basic/digest auth (default 'user'). */
  user?: string;
  /** Password for basic/digest auth (default 'password'). */
  password?: string;
  /** Size and rate of the encoded streams /h264 and /h265 (default 320x240 at 30 fps). */
  width?: number;
  height?: number;
  framerate?: number;
  /** Target bitrate of /h264 and /h265 in kbit/s (x264enc/x265enc `bitrate`; default the encoder's own, 2048). */
  bitrate?: number;
  /** Size, rate and pixel format of /raw (default 320x240 at 30 fps, UYVY); 1280x720 gives ~40 k packets/s. */
  rawWidth?: number;
  rawHeight?: number;
  rawFramerate?: number;
  rawFormat?: string;
  /** Share one pipeline per mount point between clients (default false: each client gets its own). */
  shared?: boolean;
  /** How long to wait for the server to listen (default READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
  /** Interpreter to run the script with (default DEFAULT_PYTHON). */
  python?: string;
  /** Extra command-line arguments, appended last. */
  extraArgs?: string[];
  /** TCP port to listen on (default 0: a free one). Pass a stopped server's port to restart it on the same one. */
  port?: number;
}

/** One JSON line of the server's stdout; `event` names it, `t` is the server's monotonic clock in seconds. */
export interface RtspServerEvent {
  event: string;
  t: number;
  [field: string]: unknown;
}

/** A running test server. */
export interface RtspTestServer {
  /** The TCP port it listens on (loopback). */
  readonly port: number;
  /** The server's process id (benchmarks read its CPU and open files from /proc). */
  readonly pid: number;
  /** Mount points it serves, e.g. ['/h264', '/raw', '/h265']. */
  readonly mounts: readonly string[];
  /** Every event received so far, in order (the ready event first). */
  readonly events: RtspServerEvent[];
  /** `rtsp://127.0.0.1:<port><path>`, with `user:password@` when credentials are given (URL-encoded). */
  url(path?: string, credentials?: { user: string; password: string }): string;
  /**
   * The first event, at or after index `fromIndex` of `events`, that matches `predicate`; waits for it until
   * `timeoutMs`, then rejects with the events seen. Pass `server.events.length` as `fromIndex` to wait for a new one.
   */
  waitFor(
    predicate: (event: RtspServerEvent) => boolean,
    timeoutMs?: number,
    fromIndex?: number,
  ): Promise<RtspServerEvent>;
  /** The server's stderr so far (its last 64 kB). */
  stderr(): string;
  /** Sends SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Raised when the server cannot start; the message quotes the end of its stderr. */
export class RtspServerStartError extends Error {
  readonly code = 'RTSP_SERVER_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RtspServerStartError';
  }
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every server still running when this process exits, however the tests ended. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function tail(text: string): string {
  const trimmed = text.length > STDERR_TAIL_CHARS ? '…' + text.slice(-STDERR_TAIL_CHARS) : text;
  return trimmed.trim() === '' ? '(stderr empty)' : trimmed.trimEnd();
}

function commandLine(options: RtspServerOptions): string[] {
  const args = [SERVER_SCRIPT, '--port', String(options.port ?? 0), '--address', '127.0.0.1', '--exit-with-parent'];
  const numeric: Array<[keyof RtspServerOptions, string]> = [
    ['sessionTimeout', '--session-timeout'],
    ['width', '--width'],
    ['height', '--height'],
    ['framerate', '--framerate'],
    ['bitrate', '--bitrate'],
    ['rawWidth', '--raw-width'],
    ['rawHeight', '--raw-height'],
    ['rawFramerate', '--raw-framerate'],
  ];
  for (const [key, flag] of numeric) {
    const value = options[key];
    if (value !== undefined) args.push(flag, String(value));
  }
  if (options.rawFormat !== undefined) args.push('--raw-format', options.rawFormat);
  if (options.auth !== undefined) args.push('--auth', options.auth);
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.password !== undefined) args.push('--password', options.password);
  if (options.shared) args.push('--shared');
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Spawns rtsp_server.py on a free loopback port and resolves once it listens. */
export async function startRtspServer(options: RtspServerOptions = {}): Promise<RtspTestServer> {
  installExitHook();
  const python = options.python ?? DEFAULT_PYTHON;
  const child = spawn(python, commandLine(options), { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      liveChildren.delete(child);
      resolve();
    };
    child.once('close', done);
    // A spawn failure (no such interpreter) may emit no 'close'.
    child.once('error', (error) => {
      spawnError = error;
      done();
    });
  });

  let stderrText = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrText = (stderrText + chunk).slice(-STDERR_KEEP_CHARS);
  });

  const events: RtspServerEvent[] = [];
  const waiters = new Set<() => void>();
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      stderrText += `[harness] stdout line is not JSON: ${line}\n`;
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as RtspServerEvent).event !== 'string') return;
    events.push(parsed as RtspServerEvent);
    for (const wake of [...waiters]) wake();
  });

  async function stop(): Promise<void> {
    if (!hasExited(child) && spawnError === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!hasExited(child)) child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await exited;
  }

  function waitFor(
    predicate: (event: RtspServerEvent) => boolean,
    timeoutMs: number = WAIT_FOR_TIMEOUT_MS,
    fromIndex = 0,
  ): Promise<RtspServerEvent> {
    return new Promise((resolve, reject) => {
      let checked = fromIndex;
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('close', onClose);
      };
      const check = (): void => {
        for (; checked < events.length; checked++) {
          if (predicate(events[checked]!)) {
            finish();
            resolve(events[checked]!);
            return;
          }
        }
      };
      const onClose = (): void => {
        check();
        if (!waiters.has(check)) return;
        finish();
        reject(new Error(`RTSP test server exited while waiting for an event; stderr:\n${tail(stderrText)}`));
      };
      const timer = setTimeout(() => {
        finish();
        const recent = events.slice(-20).map((e) => JSON.stringify(e)).join('\n');
        reject(new Error(`no matching server event within ${timeoutMs} ms; last events:\n${recent}`));
      }, timeoutMs);
      waiters.add(check);
      child.on('close', onClose);
      check();
    });
  }

  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let ready: RtspServerEvent;
  try {
    ready = await Promise.race([
      waitFor((event) => event.event === 'ready', readyTimeoutMs),
      exited.then(() => {
        if (spawnError) throw spawnError;
        return new Promise<never>(() => {});
      }),
    ]);
  } catch (error) {
    await stop();
    if (spawnError) {
      throw new RtspServerStartError(`cannot run ${python}: ${spawnError.message}`, { cause: spawnError });
    }
    const how = child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
    throw new RtspServerStartError(
      `RTSP test server did not become ready within ${readyTimeoutMs} ms (${how}); ` +
        `command: ${python} ${commandLine(options).join(' ')}\nstderr:\n${tail(stderrText)}`,
      { cause: error },
    );
  }

  const port = Number(ready.port);
  const mounts = Array.isArray(ready.mounts) ? (ready.mounts as string[]) : [];
  return {
    port,
    pid: child.pid ?? -1,
    mounts,
    events,
    url(path = '/h264', credentials) {
      const auth = credentials
        ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`
        : '';
      return `rtsp://${auth}127.0.0.1:${port}${path}`;
    },
    waitFor,
    stderr: () => stderrText,
    stop,
  };
}
