// Command-line parsing of `wasm-rtsp`, the credentials it applies, and how it sizes wasm memory for its cameras.
// Kept apart from run.ts so tests can call it without starting anything.

import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SLAB_BYTES } from '../../core/layout.js';
import { POOL_MAX_LIMIT_BYTES, POOL_MIN_LIMIT_BYTES } from '../../core/pool.js';
import { parseRtspUrl, redactUrl, RtspUrlError } from '../../core/rtsp/url.js';
import { coreBytesFor } from '../../core/media/sizing.js';
import { CAMERA_DEFAULTS, toBytes, toSeconds, type CameraSpec } from '../fleet/config.js';
import { checkTemplate, TemplateError } from '../record/template.js';
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
/** Default --snapshot-interval, seconds, when --snapshot is given without it. */
export const DEFAULT_SNAPSHOT_INTERVAL_S = 10;
/** Smallest --retain-bytes: below one MiB a single segment would not fit (as the config file's retainBytes). */
const MIN_RETAIN_BYTES = 2 ** 20;
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
  /** --record: the path template ({camera}, {stream}, strftime fields) of every camera's recording. */
  record?: string;
  /** --segment: a new file every this many seconds (at a keyframe). */
  segmentS?: number;
  /** --retain: delete a camera's segments older than this, seconds. */
  retainS?: number;
  /** --retain-bytes: delete a camera's oldest segments past this total. */
  retainBytes?: number;
  /** --overwrite: replace files that exist (default: refuse at start-up, exit 2). */
  overwrite: boolean;
  /** --snapshot: JPEG path template of each camera's snapshots. */
  snapshot?: string;
  /** --snapshot-interval: seconds between snapshots. */
  snapshotIntervalS?: number;
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
  --record TEMPLATE          record each camera into its own files instead (docs/recording.md): .mp4 (fragmented,
                             crash-safe), .mkv or .ts; fields {camera} {stream} and strftime (%Y%m%d-%H%M%S); with
                             several cameras and no {camera}, -{camera} goes before the extension
  --segment seconds          with --record: a new file at the first keyframe after this long (e.g. 300 or 5m)
  --retain duration          with --record: delete a camera's segments older than this (e.g. 7d)
  --retain-bytes size        with --record: delete a camera's oldest segments past this total (e.g. 50GB, 2GiB)
  --overwrite                with --record: replace files that exist (default: refuse, exit 2)
  --snapshot TEMPLATE        with --record: a JPEG of a keyframe (same fields; default: next to the index)
  --snapshot-interval s      with --record: seconds between snapshots (default 10 with --snapshot)
  --rtp                      push RTP packets for GStreamer to depayload, instead of frames depayloaded in wasm
                             (streams whose SDP lacks the codec configuration are pushed as RTP anyway)
  --duration seconds         stop after this long (default: until Ctrl-C; the demo: ${DEMO_SECONDS})
  --timeout seconds          TCP connect and request timeout, and how long the pipeline waits for every camera's
                             first answer, from the start of the batch's last camera (default ${DEFAULT_TIMEOUT_S})
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
        segment: { type: 'string' },
        retain: { type: 'string' },
        'retain-bytes': { type: 'string' },
        overwrite: { type: 'boolean' },
        snapshot: { type: 'string' },
        'snapshot-interval': { type: 'string' },
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
  // Durations as the config file writes them: seconds, or with a unit (300, 5m, 7d).
  const duration = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(text) ? Number(text) : toSeconds(text);
    if (!(n >= min && n <= max)) {
      throw new UsageError(`--${name} must be a duration from ${min} s to ${max} s (a number of seconds, or with ms, s, m, h, d), not ${text}`, { option: `--${name}` });
    }
    return n;
  };
  const size = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = /^\s*[0-9]+\s*$/.test(text) ? Number(text) : toBytes(text);
    if (!(n >= MIN_RETAIN_BYTES && n <= Number.MAX_SAFE_INTEGER)) {
      throw new UsageError(`--${name} must be a size of at least 1 MiB (bytes, or with B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), not ${text}`, { option: `--${name}` });
    }
    return Math.floor(n);
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
  if (v.record === undefined) {
    for (const name of RECORD_OPTIONS) {
      if (v[name as keyof typeof v] !== undefined) throw new UsageError(`--${name} is a recording option: give --record too`, { option: `--${name}` });
    }
  } else {
    if (v.rtp) throw new UsageError('--record takes frames depayloaded in wasm: leave out --rtp', { option: '--rtp' });
    recordTemplateCheck('--record', v.record);
    if (v.snapshot !== undefined) recordTemplateCheck('--snapshot', v.snapshot.replace(/\.jpe?g$/i, '.mp4'), v.snapshot);
  }
  if (v.watch && configFile === undefined) throw new UsageError('--watch re-reads the --config file: give --config', { option: '--watch' });
  const credentials = readCredentials(v['credentials-file'], env, parsed.positionals.length);
  const urls = parsed.positionals.map((url, i) => {
    checkUrl(splitCameraName(url).url);
    const c = credentials.length === 1 ? credentials[0] : credentials[i];
    return c ? withCredentials(url, c) : url;
  });
  return {
    urls,
    transport,
    pipeline: v.pipeline,
    record: v.record,
    segmentS: duration('segment', v.segment, 1, 86_400),
    retainS: duration('retain', v.retain, 1, 100 * 365 * 86_400),
    retainBytes: size('retain-bytes', v['retain-bytes']),
    overwrite: v.overwrite ?? false,
    snapshot: v.snapshot,
    snapshotIntervalS: v['snapshot-interval'] !== undefined ? duration('snapshot-interval', v['snapshot-interval'], 0.1, 86_400)
      : v.snapshot !== undefined ? DEFAULT_SNAPSHOT_INTERVAL_S : undefined,
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

/** Options that only mean something with --record. */
const RECORD_OPTIONS = ['segment', 'retain', 'retain-bytes', 'overwrite', 'snapshot', 'snapshot-interval'];

/** Options that configure a camera (with --config they are set in the file instead). */
const CAMERA_OPTIONS = [...RECORD_OPTIONS, 'transport', 'pipeline', 'record', 'timeout', 'pool-limit', 'queue-limit', 'credentials-file', 'retries',
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

/** A camera name given in the URL's fragment (`rtsp://host/s#name=door`): what the config file allows in names. */
const FRAGMENT_NAME = /#name=([A-Za-z0-9._-]{1,64})$/;

/**
 * Splits `rtsp://host/s#name=door` into the URL to connect to (the fragment stripped: it is never sent) and the
 * camera's name. Only a trailing `#name=` is taken: a password may hold a '#' of its own.
 */
export function splitCameraName(url: string): { url: string; name?: string } {
  const m = FRAGMENT_NAME.exec(url);
  return m ? { url: url.slice(0, m.index), name: m[1] } : { url };
}

/** A camera's name in file names (`{camera}`) from its URL: host_port_path, characters outside A-Za-z0-9._- as '_'. */
export function fileNameOfUrl(url: string): string {
  const u = parseRtspUrl(url);
  const port = u.explicitPort ? `_${u.port}` : '';
  const s = `${u.host}${port}${u.path.replace(/[/?]/g, '_')}`.replace(/[^A-Za-z0-9._-]/g, '_').replace(/_+$/, '');
  return s === '' || s === '.' || s === '..' ? 'camera' : s;
}

/**
 * A recording template made per camera: with several cameras and no {camera} field, `-{camera}` goes before the
 * extension (`out.mp4` → `out-{camera}.mp4`), so no two cameras ever share a file.
 */
export function perCameraTemplate(template: string, cameras: number): string {
  if (cameras <= 1 || template.includes('{camera}')) return template;
  const dot = template.lastIndexOf('.');
  const slash = template.lastIndexOf('/');
  return dot > slash + 1 ? `${template.slice(0, dot)}-{camera}${template.slice(dot)}` : `${template}-{camera}`;
}

/** Throws UsageError naming `option` when the recording template is refused (unknown field, no container). */
function recordTemplateCheck(option: string, template: string, shown = template): void {
  try {
    checkTemplate(template);
  } catch (e) {
    if (e instanceof TemplateError) throw new UsageError(`${option} ${shown}: ${e.message} [${e.code}]`, { option });
    throw e;
  }
}

/**
 * The cameras of a command line as the config file's specs: each URL with the command's options. A camera is named
 * by `#name=` in its URL, else by its URL without credentials (what the logs always called it), with `(#position)`
 * when the same URL is given twice, so names stay unique. In file names ({camera}) a camera without `#name=` is
 * host_port_path; --pipeline gets it for {camera} here ({stream} when its pipeline is built), --record's recorder
 * fills {camera} itself (so `rec/{camera}/…` needs only `rec` to exist).
 */
export function specsFromArgs(a: Args, urls: readonly string[] = a.urls): CameraSpec[] {
  const split = urls.map(splitCameraName);
  const plain = split.map((u) => String(parseRtspUrl(u.url)));
  const repeated = (i: number) => plain.filter((p, j) => p === plain[i] && split[j]!.name === undefined).length > 1;
  const names = split.map((u, i) => u.name ?? plain[i]! + (repeated(i) ? ` (#${i + 1})` : ''));
  for (let i = 0; i < names.length; i++) {
    if (names.indexOf(names[i]!) !== i) throw new UsageError(`two cameras are named ${names[i]}: give each its own #name=`, { camera: names[i] });
  }
  // File names: unique too (two URLs may map to one host_port_path).
  const files: string[] = [];
  for (let i = 0; i < split.length; i++) {
    const base = split[i]!.name ?? fileNameOfUrl(split[i]!.url);
    let f = base;
    for (let n = 2; files.includes(f); n++) f = `${base}-${n}`;
    files.push(f);
  }
  const template = a.record !== undefined ? perCameraTemplate(a.record, urls.length) : undefined;
  return split.map(({ url }, i) => ({
    name: names[i]!,
    url,
    transport: a.transport,
    frames: !a.rtp,
    ...(a.pipeline !== undefined ? { pipeline: a.pipeline.replaceAll('{camera}', files[i]!) } : {}),
    ...(template !== undefined ? {
      record: {
        path: template, camera: files[i]!, overwrite: a.overwrite,
        ...(a.segmentS !== undefined ? { segmentMs: Math.round(a.segmentS * 1000) } : {}),
        ...(a.retainS !== undefined ? { retainMs: Math.round(a.retainS * 1000) } : {}),
        ...(a.retainBytes !== undefined ? { retainBytes: a.retainBytes } : {}),
        ...(a.snapshotIntervalS !== undefined ? { snapshotIntervalMs: Math.round(a.snapshotIntervalS * 1000) } : {}),
        ...(a.snapshot !== undefined ? { snapshotPath: perCameraTemplate(a.snapshot, urls.length) } : {}),
      },
    } : {}),
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
