// Command-line parsing of `wasm-rtsp`, the credentials it applies, and how it sizes wasm memory for its cameras.
// Kept apart from run.ts so tests can call it without starting anything.

import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SLAB_BYTES } from '../../core/layout.js';
import { POOL_MAX_LIMIT_BYTES, POOL_MIN_LIMIT_BYTES } from '../../core/pool.js';
import { parseRtspUrl, redactUrl, RtspUrlError } from '../../core/rtsp/url.js';
import { coreBytesFor } from '../../core/media/sizing.js';
import { CAMERA_DEFAULTS, type CameraSpec } from '../fleet/config.js';
import { parseShard, type Shard } from '../fleet/shard.js';
import { DEFAULT_READ_INTERVAL_MS, MAX_READ_INTERVAL_MS } from '../rtsp/connection.js';

/** Seconds the demo plays. */
export const DEMO_SECONDS = 10;
// The command line's defaults are the config file's (CAMERA_DEFAULTS): one place, so a camera behaves the same
// whether it is given as a URL or in a file.
/** Default --pool-limit, MiB. */
export const DEFAULT_POOL_LIMIT_MB = CAMERA_DEFAULTS.poolLimitBytes / 2 ** 20;
/** Default --queue-limit, KiB. */
export const DEFAULT_QUEUE_LIMIT_KB = CAMERA_DEFAULTS.queueLimitBytes / 1024;
/** Largest --pool-limit, MiB: the largest pool the core has (4096 slabs of 64 KiB). */
export const MAX_POOL_LIMIT_MB = 256;
/** Default --timeout, seconds: connect and each request. */
export const DEFAULT_TIMEOUT_S = CAMERA_DEFAULTS.timeoutMs / 1000;
/** Default --retry-delay, seconds: RtspCamera's first retry delay; it doubles (±20 % jitter) up to --retry-max-delay. */
export const DEFAULT_RETRY_DELAY_S = CAMERA_DEFAULTS.retryDelayMs / 1000;
/** Default --retry-max-delay, seconds (RtspCamera's). */
export const DEFAULT_RETRY_MAX_DELAY_S = CAMERA_DEFAULTS.retryMaxDelayMs / 1000;
/** Default --media-timeout, seconds (RtspCamera's): a playing camera without RTP for this long is reconnected. */
export const DEFAULT_MEDIA_TIMEOUT_S = CAMERA_DEFAULTS.mediaTimeoutMs / 1000;
/** Most worker processes (--workers): the config file's bound. */
export const MAX_WORKERS = 256;
/** The internal option a worker process is started with (`I/N`: worker I of N); not for people. */
export const WORKER_FLAG = '--worker-of';
/** Environment variable with `user:password` for URLs that carry none. */
export const CREDENTIALS_ENV = 'WASM_RTSP_CREDENTIALS';

/** A command line that cannot be run as given (exit code 2). */
export class UsageError extends Error {
  /** The option the user should change, when one is to blame. */
  readonly option?: string;
  /** The camera (URL without credentials) the problem is about, if any. */
  readonly camera?: string;
  constructor(message: string, options: { option?: string; camera?: string } = {}) {
    super(message);
    this.name = 'UsageError';
    this.option = options.option;
    this.camera = options.camera;
  }
}

/** The parsed command line. */
export interface Args {
  /** URLs with credentials applied (from the URL itself, --credentials-file or the environment). */
  urls: string[];
  transport: 'tcp' | 'udp';
  pipeline?: string;
  record?: string;
  durationS?: number;
  poolLimitBytes: number;
  queueLimitBytes: number;
  timeoutMs: number;
  json: boolean;
  jsonProgress: boolean;
  demo: boolean;
  /** Consecutive failed attempts after which a camera gives up (Infinity: never). */
  retries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  /** A playing camera without an RTP packet for this long is reconnected. */
  mediaTimeoutMs: number;
  /** A playing camera whose wasm-depayloaded streams make no frame for this long is reconnected; 0: off. */
  frameTimeoutMs: number;
  /** TCP: read each camera's socket at most this often, ms (0: at every readable event). */
  readIntervalMs: number;
  /** Push RTP packets into GStreamer (its depayloaders) instead of frames depayloaded in wasm. */
  rtp: boolean;
  /** Serve Prometheus metrics on this port (GET /metrics), on `metricsHost`. */
  metricsPort?: number;
  metricsHost: string;
  /** rtsps://: accept a server certificate with this SHA-256 fingerprint (a self-signed camera), and/or trust this CA file. */
  tlsFingerprint?: string;
  tlsCaFile?: string;
  /** --config: the fleet file (cameras come from it, not from URLs). */
  configFile?: string;
  /** --watch: reload the config file when it changes (as SIGHUP does). */
  watch: boolean;
  /** --workers: worker processes (undefined: the file's `workers`, else none). */
  workers?: number | 'auto';
  /** --shard text, resolved with the environment and the file by resolveShard. */
  shard?: string;
  /** --ready-min: /readyz answers 200 once this many cameras play (default: all of them). */
  readyMin?: number;
  /** --metrics-allow-host: Host names accepted besides the bound address and localhost (DNS rebinding guard). */
  metricsAllowHosts: string[];
  /** Set in a worker process (internal --worker-of I/N). */
  workerOf?: Shard;
}

export const USAGE = `usage: wasm-rtsp <rtsp-url>... [options]
       wasm-rtsp --config cameras.yaml [--watch] [--workers N|auto] [--shard I/N] [options]
       wasm-rtsp --demo
       wasm-rtsp relay <rtsp-url>... [--port N]   (cameras to browsers over WebSocket: wasm-rtsp relay --help)

  --transport tcp|udp        RTP over the RTSP connection (default) or over UDP
  --pipeline '<launch>'      GStreamer launch text after each appsrc (default: decode, fakesink); it receives
                             frames (H.264 avc / H.265 hvc1 access units, raw video, raw AAC), or RTP with --rtp
  --record out.mp4           write H.264/H.265 into an MP4 file instead
  --rtp                      push RTP packets for GStreamer to depayload, instead of frames depayloaded in wasm
                             (streams whose SDP lacks the codec configuration are pushed as RTP anyway)
  --duration seconds         stop after this long (default: until Ctrl-C; the demo: ${DEMO_SECONDS})
  --timeout seconds          TCP connect and request timeout, and how long the pipeline waits for every camera's
                             first answer (default ${DEFAULT_TIMEOUT_S})
  --pool-limit MB            packet pool per camera, 0.0625 to ${MAX_POOL_LIMIT_MB} (default ${DEFAULT_POOL_LIMIT_MB}); wasm memory is sized from it
  --queue-limit KB           appsrc queue bound per stream (default ${DEFAULT_QUEUE_LIMIT_KB}); beyond it packets are dropped, counted
  --credentials-file path    user:password for URLs without credentials: one line for all, or one line per URL
                             (also: ${CREDENTIALS_ENV}=user:password in the environment)
  --retries N|inf            failed attempts in a row before a camera gives up (default inf: retry for ever)
  --retry-delay seconds      wait before the first retry, doubled each time (default ${DEFAULT_RETRY_DELAY_S})
  --retry-max-delay seconds  longest wait between retries (default ${DEFAULT_RETRY_MAX_DELAY_S})
  --media-timeout seconds    reconnect a playing camera that sent no RTP packet for this long (default ${DEFAULT_MEDIA_TIMEOUT_S})
  --frame-timeout seconds    reconnect a playing camera whose packets make no frame for this long (default: off)
  --read-interval ms         TCP: read each camera's socket at most this often, all that arrived at once (default
                             ${DEFAULT_READ_INTERVAL_MS}; adds up to that much latency); 0 reads at every readable event
  --metrics-port N           serve http://<metrics-host>:N/metrics (Prometheus), /status (JSON per camera),
                             /healthz and /readyz
  --metrics-host address     address for --metrics-port (default 127.0.0.1)
  --tls-fingerprint sha256   rtsps://: accept the server certificate with this SHA-256 fingerprint (self-signed camera)
  --tls-ca file              rtsps://: trust this CA certificate (PEM) besides the system's
  --config file              the cameras from a YAML/JSON file (docs/config.md); SIGHUP re-reads it: added cameras
                             start, removed ones stop, changed ones restart, the others go on untouched
  --watch                    with --config: also re-read the file when it changes
  --workers N|auto           spread the cameras over N worker processes (auto: one per core when each gets two or
                             more cameras); a worker that dies is restarted, its cameras resume
  --shard I/N                run only the cameras shard I of N owns (also WASM_RTSP_SHARD=I/N, or WASM_RTSP_SHARDS=N
                             with the host name's ordinal)
  --ready-min N              /readyz is ready once N cameras play (default: every camera)
  --metrics-allow-host name  a Host name the metrics port answers besides its address and localhost (repeatable)
  --json                     print a JSON summary on stdout at the end
  --json-progress            print one JSON line per camera on stdout every second
  --demo                     play the local GStreamer test server (needs /usr/bin/python3 with gi)
  --version                  print the version
  -h, --help                 this text

exit codes: 0 stopped (Ctrl-C, --duration) with at least one camera played, 1 unexpected error, 2 bad usage,
            3 no camera played, 4 GStreamer failure`;

/** Parses argv; 'help' and 'version' for those flags. Throws UsageError. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Args | 'help' | 'version' {
  if (argv.length === 0) throw new UsageError('no camera URL given (use --demo for the built-in test server)');
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        transport: { type: 'string' },
        pipeline: { type: 'string' },
        record: { type: 'string' },
        duration: { type: 'string' },
        timeout: { type: 'string' },
        'pool-limit': { type: 'string' },
        'queue-limit': { type: 'string' },
        'credentials-file': { type: 'string' },
        retries: { type: 'string' },
        'retry-delay': { type: 'string' },
        'retry-max-delay': { type: 'string' },
        'media-timeout': { type: 'string' },
        'frame-timeout': { type: 'string' },
        'read-interval': { type: 'string' },
        rtp: { type: 'boolean' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        'tls-fingerprint': { type: 'string' },
        'tls-ca': { type: 'string' },
        json: { type: 'boolean' },
        'json-progress': { type: 'boolean' },
        demo: { type: 'boolean' },
        config: { type: 'string' },
        watch: { type: 'boolean' },
        workers: { type: 'string' },
        shard: { type: 'string' },
        'ready-min': { type: 'string' },
        'metrics-allow-host': { type: 'string', multiple: true },
        'worker-of': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // parseArgs quotes the offending argument; a URL given after an unknown option may carry a password.
    throw new UsageError(redactUrl((e as Error).message));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  const transport = (v.transport ?? 'tcp') as 'tcp' | 'udp';
  if (transport !== 'tcp' && transport !== 'udp') throw new UsageError(`--transport must be tcp or udp, not ${v.transport}`, { option: '--transport' });
  if (v.pipeline !== undefined && v.record !== undefined) throw new UsageError('--pipeline and --record exclude each other');
  const number = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be a number from ${min} to ${max}, not ${text}`, { option: `--${name}` });
    }
    return n;
  };
  const retries = (text: string | undefined): number => {
    if (text === undefined || text === 'inf') return Infinity;
    if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--retries must be a whole number or inf, not ${text}`, { option: '--retries' });
    return Number(text);
  };
  const demo = v.demo ?? false;
  const configFile = v.config;
  if (demo && parsed.positionals.length > 0) throw new UsageError('--demo plays its own server: give no URL with it');
  if (configFile !== undefined) {
    if (demo) throw new UsageError('--demo and --config exclude each other', { option: '--config' });
    if (parsed.positionals.length > 0) throw new UsageError('--config takes the cameras from the file: give no URL with it', { option: '--config' });
    // Camera options belong in the file (its `defaults:` applies to all): two places for one value would disagree.
    for (const name of CAMERA_OPTIONS) {
      if (v[name as keyof typeof v] !== undefined) {
        throw new UsageError(`--${name} is a camera option: with --config set it in the file (under defaults: for every camera)`, { option: `--${name}` });
      }
    }
  } else if (!demo && parsed.positionals.length === 0) {
    throw new UsageError('no camera URL given (use --demo for the built-in test server)');
  }
  if (v.watch && configFile === undefined) throw new UsageError('--watch re-reads the --config file: give --config', { option: '--watch' });
  const credentials = readCredentials(v['credentials-file'], env, parsed.positionals.length);
  const urls = parsed.positionals.map((url, i) => {
    checkUrl(url);
    const c = credentials.length === 1 ? credentials[0] : credentials[i];
    return c ? withCredentials(url, c) : url;
  });
  return {
    urls,
    transport,
    pipeline: v.pipeline,
    record: v.record,
    durationS: number('duration', v.duration, 0.1, 365 * 86400),
    timeoutMs: Math.round((number('timeout', v.timeout, 0.1, 3600) ?? DEFAULT_TIMEOUT_S) * 1000),
    poolLimitBytes: poolLimitBytes(number('pool-limit', v['pool-limit'], POOL_MIN_LIMIT_BYTES / 2 ** 20, MAX_POOL_LIMIT_MB) ?? DEFAULT_POOL_LIMIT_MB),
    queueLimitBytes: Math.round((number('queue-limit', v['queue-limit'], 16, 1024 * 1024) ?? DEFAULT_QUEUE_LIMIT_KB) * 1024),
    json: v.json ?? false,
    jsonProgress: v['json-progress'] ?? false,
    demo,
    retries: retries(v.retries),
    retryDelayMs: Math.round((number('retry-delay', v['retry-delay'], 0.01, 3600) ?? DEFAULT_RETRY_DELAY_S) * 1000),
    retryMaxDelayMs: Math.round((number('retry-max-delay', v['retry-max-delay'], 0.01, 3600) ?? DEFAULT_RETRY_MAX_DELAY_S) * 1000),
    mediaTimeoutMs: Math.round((number('media-timeout', v['media-timeout'], 0.1, 3600) ?? DEFAULT_MEDIA_TIMEOUT_S) * 1000),
    frameTimeoutMs: Math.round((number('frame-timeout', v['frame-timeout'], 0.1, 3600) ?? 0) * 1000),
    readIntervalMs: readInterval(v['read-interval']),
    rtp: v.rtp ?? false,
    metricsPort: metricsPort(v['metrics-port']),
    metricsHost: v['metrics-host'] ?? '127.0.0.1',
    tlsFingerprint: tlsFingerprint(v['tls-fingerprint']),
    tlsCaFile: v['tls-ca'],
    configFile,
    watch: v.watch ?? false,
    workers: workers(v.workers),
    shard: v.shard,
    readyMin: v['ready-min'] === undefined ? undefined : number('ready-min', v['ready-min'], 0, 1e6),
    metricsAllowHosts: v['metrics-allow-host'] ?? [],
    workerOf: v['worker-of'] === undefined ? undefined : parseShard(v['worker-of'], WORKER_FLAG),
  };
}

/** Options that configure a camera (with --config they are set in the file instead). */
const CAMERA_OPTIONS = ['transport', 'pipeline', 'record', 'timeout', 'pool-limit', 'queue-limit', 'credentials-file', 'retries',
  'retry-delay', 'retry-max-delay', 'media-timeout', 'frame-timeout', 'read-interval', 'rtp', 'tls-fingerprint', 'tls-ca'];

function workers(text: string | undefined): number | 'auto' | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto') return 'auto';
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS) {
    throw new UsageError(`--workers must be auto or a number from 1 to ${MAX_WORKERS}, not ${text}`, { option: '--workers' });
  }
  return Number(text);
}

/** --read-interval in ms: an integer from 0 to MAX_READ_INTERVAL_MS. */
function readInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_READ_INTERVAL_MS;
  if (!/^\d{1,4}$/.test(text) || Number(text) > MAX_READ_INTERVAL_MS) {
    throw new UsageError(`--read-interval must be a whole number of milliseconds from 0 to ${MAX_READ_INTERVAL_MS}, not ${text}`, { option: '--read-interval' });
  }
  return Number(text);
}

/**
 * The cameras of a command line as the config file's specs: each URL with the command's options. A camera given as
 * a URL is named by its URL without credentials (what the logs always called it), with `(#position)` when the same
 * URL is given twice, so names stay unique.
 */
export function specsFromArgs(a: Args, urls: readonly string[] = a.urls): CameraSpec[] {
  const plain = urls.map((u) => String(parseRtspUrl(u)));
  return urls.map((url, i) => ({
    name: plain[i]! + (plain.filter((p) => p === plain[i]).length > 1 ? ` (#${i + 1})` : ''),
    url,
    transport: a.transport,
    frames: !a.rtp,
    ...(a.pipeline !== undefined ? { pipeline: a.pipeline } : {}),
    // --record: every camera into the one file, replaced if it exists (as the command always did).
    ...(a.record !== undefined ? { record: { path: a.record, overwrite: true } } : {}),
    timeoutMs: a.timeoutMs,
    mediaTimeoutMs: a.mediaTimeoutMs,
    frameTimeoutMs: a.frameTimeoutMs,
    readIntervalMs: a.readIntervalMs,
    retries: a.retries,
    retryDelayMs: a.retryDelayMs,
    retryMaxDelayMs: a.retryMaxDelayMs,
    poolLimitBytes: a.poolLimitBytes,
    queueLimitBytes: a.queueLimitBytes,
    ...(a.tlsFingerprint !== undefined ? { tlsFingerprint: a.tlsFingerprint } : {}),
    ...(a.tlsCaFile !== undefined ? { tlsCaFile: a.tlsCaFile } : {}),
  }));
}

function metricsPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--metrics-port must be a port number (0–65535), not ${text}`, { option: '--metrics-port' });
  return Number(text);
}

function tlsFingerprint(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^([0-9a-f]{2}[:\s-]?){31}[0-9a-f]{2}$/i.test(text.trim())) {
    throw new UsageError('--tls-fingerprint must be a SHA-256 fingerprint: 32 hex octets, colons allowed', { option: '--tls-fingerprint' });
  }
  return text.trim();
}

/** --pool-limit in MiB → bytes, rounded down to whole 64 KiB slabs (as the pool does), at least one slab. */
export function poolLimitBytes(mb: number): number {
  const slabs = Math.floor((mb * 2 ** 20) / SLAB_BYTES);
  return Math.min(Math.max(slabs, 1) * SLAB_BYTES, POOL_MAX_LIMIT_BYTES);
}

/** Throws UsageError naming the (redacted) URL when it does not parse or is not rtsp://. */
function checkUrl(url: string): void {
  try {
    parseRtspUrl(url);
  } catch (e) {
    if (e instanceof RtspUrlError) {
      const shown = String(e.context.url ?? redactUrl(url));
      throw new UsageError(`${shown}: bad camera URL: ${e.message} [${e.code}]`, { camera: shown });
    }
    throw e;
  }
}

/** `user:password` credentials (the password may contain ':'). */
export interface Credentials { username: string; password: string }

/** Splits `user:password` at the first ':'. */
function splitCredentials(line: string, where: string): Credentials {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`${where}: expected user:password`, { option: where.startsWith('--') ? '--credentials-file' : undefined });
  return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

/**
 * Credentials from --credentials-file (one `user:password` line for every URL, or one per URL in order; blank lines
 * and lines starting with '#' are skipped) or else from the environment variable; [] when neither is given.
 * URLs that carry their own credentials keep them.
 */
export function readCredentials(file: string | undefined, env: NodeJS.ProcessEnv, urlCount: number): Credentials[] {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--credentials-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { option: '--credentials-file' });
    }
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
    if (lines.length !== 1 && lines.length !== urlCount) {
      throw new UsageError(`--credentials-file ${file}: has ${lines.length} user:password lines; give one for all URLs or one per URL (${urlCount})`,
        { option: '--credentials-file' });
    }
    return lines.map((l, i) => splitCredentials(l, `--credentials-file ${file} line ${i + 1}`));
  }
  const fromEnv = env[CREDENTIALS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return [splitCredentials(fromEnv, CREDENTIALS_ENV)];
  return [];
}

/** The URL with `c` as its userinfo (percent-encoded) unless it already has credentials. */
export function withCredentials(url: string, c: Credentials): string {
  if (parseRtspUrl(url).credentials) return url;
  const s = url.indexOf('://') + 3;
  return `${url.slice(0, s)}${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${url.slice(s)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Memory sizing

/** How cameras are spread over cores: camera counts per core and each core's memory size. */
export interface CorePlan {
  cores: Array<{ cameras: number; memoryBytes: number }>;
  totalBytes: number;
}

/** The most cameras of `poolLimitBytes` one core (one wasm32 memory, at most 4 GiB) can hold. */
export function camerasPerCore(poolLimitBytes: number): number {
  let lo = 1;
  let hi = 65536;
  const fits = (n: number) => {
    try {
      coreBytesFor({ cameras: n, poolLimitBytes });
      return true;
    } catch {
      return false;
    }
  };
  if (!fits(1)) return 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Sizes the wasm memory for `cameras` cameras at `poolLimitBytes` each (coreBytesFor: pools, demuxers, records, frame
 * assembly). One wasm32 memory holds at most 4 GiB, so cameras are grouped into as few cores as needed. Throws
 * UsageError naming --pool-limit when the total would not fit in this machine's memory (every pool is reserved and
 * filled up to its limit under load).
 */
export function planCores(cameras: number, poolLimitBytes: number, machineBytes = totalmem()): CorePlan {
  const perCore = camerasPerCore(poolLimitBytes);
  if (perCore === 0) {
    throw new UsageError(`--pool-limit ${(poolLimitBytes / 2 ** 20).toFixed(2)} does not fit in one wasm core: lower --pool-limit`, { option: '--pool-limit' });
  }
  const cores: CorePlan['cores'] = [];
  for (let left = cameras; left > 0; left -= perCore) {
    const n = Math.min(left, perCore);
    cores.push({ cameras: n, memoryBytes: coreBytesFor({ cameras: n, poolLimitBytes }) });
  }
  const totalBytes = cores.reduce((a, c) => a + c.memoryBytes, 0);
  if (totalBytes > machineBytes * MAX_MACHINE_FRACTION) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    throw new UsageError(`${cameras} camera${cameras === 1 ? '' : 's'} at --pool-limit ${(poolLimitBytes / 2 ** 20).toFixed(2)} need ${mib(totalBytes)} ` +
      `of wasm memory, more than this machine can give (${mib(machineBytes)}): lower --pool-limit or run fewer cameras per process`,
      { option: '--pool-limit' });
  }
  return { cores, totalBytes };
}

/** Share of the machine's memory the cores may take (the rest: Node, GStreamer, the system). */
const MAX_MACHINE_FRACTION = 0.8;
