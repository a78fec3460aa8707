// The fleet config file (`wasm-rtsp --config cameras.yaml`, YAML or JSON) turned into a plain list of camera specs.
//
// Three passes, each reporting every problem it finds with file:line:column and key path:
//   1. YAML syntax (eemeli/yaml keeps source ranges; a LineCounter turns offsets into lines),
//   2. the published JSON schema (schema/wasm-rtsp.schema.json, ajv) — ajv's instancePath is mapped back to the node,
//   3. what a schema cannot say: unique names, URLs that parse, credentials that resolve, values in range after units.
// The result holds no YAML nodes and no defaults to apply later: two loads of the same file compare equal (diff.ts).

import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { SLAB_BYTES } from '../../core/layout.js';
import { POOL_MAX_LIMIT_BYTES, POOL_MIN_LIMIT_BYTES } from '../../core/pool.js';
import { parseRtspUrl, redactUrl, RtspUrlError } from '../../core/rtsp/url.js';
import { DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS, DEFAULT_MEDIA_TIMEOUT_MS } from '../rtsp/camera.js';
import { DEFAULT_READ_INTERVAL_MS } from '../rtsp/connection.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { parseShard, type Shard } from './shard.js';
import { checkTemplate, TemplateError } from '../record/template.js';

/** The published JSON schema of the config file (shipped in the package's `schema/` folder). */
export const CONFIG_SCHEMA_URL = new URL('../../../schema/wasm-rtsp.schema.json', import.meta.url);
/** Largest config file read: far above any real fleet, small enough that a wrong path (a video) fails fast. */
export const MAX_CONFIG_BYTES = 16 * 2 ** 20;

/** Built-in values of the camera options (the same as the command line's defaults). */
export const CAMERA_DEFAULTS = Object.freeze({
  transport: 'tcp' as const,
  frames: true,
  timeoutMs: 10_000,
  mediaTimeoutMs: DEFAULT_MEDIA_TIMEOUT_MS,
  /** Off: a camera whose packets make no frame is not reconnected for that alone. */
  frameTimeoutMs: 0,
  /** TCP reads at every readable event (see --read-interval). */
  readIntervalMs: DEFAULT_READ_INTERVAL_MS,
  retries: Infinity,
  retryDelayMs: DEFAULT_INITIAL_DELAY_MS,
  retryMaxDelayMs: DEFAULT_MAX_DELAY_MS,
  poolLimitBytes: 4 * 2 ** 20,
  queueLimitBytes: 2048 * 1024,
  overwrite: false,
  metricsHost: '127.0.0.1',
});

/** Recording options of one camera (`record` and what goes with it). */
export interface RecordSpec {
  /**
   * Where to record: the `record` template resolved against the file's folder, its `{name}` written `{camera}`; the
   * recorder fills `{camera}` (with `camera`), `{stream}` and strftime fields, and makes the folders below the
   * template's fixed part (`rec/{camera}/…`: `rec` must exist, `rec/door` is made).
   */
  path: string;
  /** The camera's name in file names and its index: the camera's `name` (a command-line camera: see specsFromArgs). */
  camera: string;
  /** Length of one file, ms (`segment`); undefined: one file. */
  segmentMs?: number;
  /** Delete files older than this, ms (`retain`). */
  retainMs?: number;
  /** Delete the oldest files past this many bytes of this camera's recordings (`retainBytes`). */
  retainBytes?: number;
  /** Replace existing files instead of failing (`overwrite`). */
  overwrite: boolean;
  /** Snapshot path template (`snapshot`), as `path`. */
  snapshotPath?: string;
  /** Seconds between snapshots, ms (`snapshotInterval`; 10 s when only `snapshot` is set). */
  snapshotIntervalMs?: number;
}

/** One camera, resolved: defaults applied, credentials in the URL, units converted. Maps 1:1 onto the CLI's options. */
export interface CameraSpec {
  /** Unique in the file; safe in file names (letters, digits, '.', '_', '-'). */
  name: string;
  /** The URL with credentials applied (percent-encoded userinfo), as the CLI's `Args.urls`. Log it with redactUrl. */
  url: string;
  transport: 'tcp' | 'udp';
  /** Frames depayloaded in wasm (true) or RTP packets for GStreamer to depayload (false: `--rtp`). */
  frames: boolean;
  pipeline?: string;
  record?: RecordSpec;
  /** TCP connect and request timeout (`--timeout`). */
  timeoutMs: number;
  mediaTimeoutMs: number;
  /** Packets that make no frame for this long reconnect the camera (`--frame-timeout`); 0: off. */
  frameTimeoutMs: number;
  /** TCP: read the socket at most this often, ms (`--read-interval`); 0: at every readable event. */
  readIntervalMs: number;
  /** Consecutive failed attempts before the camera gives up (Infinity: never). */
  retries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  /** Packet pool of the camera, whole 64 KiB slabs (`--pool-limit`). */
  poolLimitBytes: number;
  /** appsrc queue bound per stream (`--queue-limit`). */
  queueLimitBytes: number;
  tlsFingerprint?: string;
  /** CA file for rtsps://, resolved against the config file's folder. */
  tlsCaFile?: string;
}

/** Settings of the whole process (not per camera). */
export interface FleetSettings {
  metricsPort?: number;
  metricsHost?: string;
  workers?: number;
  shard?: Shard;
}

/** A loaded config file. */
export interface FleetConfig {
  /** The file it was read from (as given). */
  source: string;
  /** The enabled cameras, in file order. */
  cameras: CameraSpec[];
  /** Names of the cameras with `enabled: false`. */
  disabled: string[];
  settings: FleetSettings;
  /** Line of each camera's entry (enabled or not), for messages about a camera. */
  lines: Record<string, number>;
}

/** What parseConfig needs besides the text. */
export interface ParseConfigOptions {
  /** Name of the file for messages (default `config`). */
  source?: string;
  /** Folder that relative paths (`file:`, `tlsCa`, `record`) are resolved against (default: the source's folder). */
  baseDir?: string;
  /** Environment for `env:VAR` credentials (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Reads a `file:PATH` credential (default readFileSync utf8); tests replace it. */
  readFile?: (path: string) => string;
}

/** Reads and resolves a config file (YAML or JSON). Throws ConfigError listing every problem. */
export function loadConfig(file: string, options: Omit<ParseConfigOptions, 'source'> = {}): FleetConfig {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_CONFIG_BYTES) throw Object.assign(new Error(), { code: `larger than ${MAX_CONFIG_BYTES} bytes` });
    text = bytes.toString('utf8');
  } catch (e) {
    throw new ConfigError([{ source: file, path: '', message: `cannot read the config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }],
      { cause: e });
  }
  return parseConfig(text, { ...options, source: file });
}

/** Resolves config text (YAML, or JSON which YAML reads too). Throws ConfigError listing every problem. */
export function parseConfig(text: string, options: ParseConfigOptions = {}): FleetConfig {
  const source = options.source ?? 'config';
  const lineCounter = new LineCounter();
  // merge: YAML 1.1's `<<: *anchor` is how people share settings between entries; YAML 1.2 dropped it, users did not.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const where = new Locator(doc, lineCounter, source);
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ source, ...where.offset(e.pos[0]), path: '', message: `YAML: ${firstLine(e.message)}` })));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias bomb ("billion laughs") or an alias to nothing.
    throw new ConfigError([{ source, path: '', message: `YAML: ${(e as Error).message}` }], { cause: e });
  }
  if (data === null || data === undefined) {
    throw new ConfigError([{ source, line: 1, column: 1, path: '', message: 'the file is empty: it needs at least a cameras: list' }]);
  }
  const validate = schemaValidator();
  // Duplicate names are looked for even when the schema fails, so one run lists them with the rest.
  const duplicates = duplicateNames(data, where);
  if (!validate(data)) throw new ConfigError(sortIssues([...schemaIssues(validate.errors ?? [], data, where), ...duplicates]));
  if (duplicates.length > 0) throw new ConfigError(duplicates);
  const resolver = new Resolver(data as RawFile, where, {
    baseDir: options.baseDir ?? dirname(resolvePath(source)),
    env: options.env ?? process.env,
    readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')),
  });
  return resolver.run();
}

let compiled: ValidateFunction | undefined;

/** The JSON schema, compiled once. */
function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    compiled = ajv.compile(configSchema());
  }
  return compiled;
}

/** The published JSON schema (schema/wasm-rtsp.schema.json) as an object. */
export function configSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// Positions: key paths back to YAML nodes

type Segment = string | number;

/** Finds the line and column of a key path in the parsed document. */
class Locator {
  constructor(private readonly doc: Document, private readonly lines: LineCounter, readonly source: string) {}

  offset(offset: number): { line: number; column: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /**
   * Position of the value at `path` (of its key when `key`): the deepest node that exists, so a missing key points
   * at the object that lacks it.
   */
  at(path: readonly Segment[], key = false): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let pos = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(this.doc);
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        pos = rangeStart(pair.key) ?? pos;
        if (key && i === path.length - 1) break;
        node = pair.value;
        pos = rangeStart(node) ?? pos;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (item === undefined) break;
        node = item;
        pos = rangeStart(node) ?? pos;
      } else {
        break;
      }
    }
    return this.offset(pos);
  }

  issue(path: readonly Segment[], message: string, options: { key?: boolean; camera?: string } = {}): ConfigIssue {
    return { source: this.source, ...this.at(path, options.key), path: formatPath(path), message, camera: options.camera };
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** `cameras[2].transport` from ['cameras', 2, 'transport']. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number' || /^\d+$/.test(seg)) out += `[${seg}]`;
    else out += (out ? '.' : '') + (/^[A-Za-z_$][\w$-]*$/.test(seg) ? seg : JSON.stringify(seg));
  }
  return out;
}

function firstLine(text: string): string {
  return text.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Schema errors → issues

/** Keys whose values never appear in a message. */
const SECRET_KEYS = new Set(['username', 'password', 'credentials']);

function schemaIssues(errors: ErrorObject[], data: unknown, where: Locator): ConfigIssue[] {
  // An anyOf (duration, size, retries) fails with one error per branch plus its own: keep its own, which says what
  // the value may be in one sentence (its schema's description).
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf').map((e) => ({ path: e.instancePath, schema: e.schemaPath + '/' }));
  const kept = errors.filter((e) => !anyOfs.some((a) => a.path === e.instancePath && e.schemaPath.startsWith(a.schema)));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const path = pointerToPath(e.instancePath);
    const key = e.keyword === 'additionalProperties' ? [...path, (e.params as { additionalProperty: string }).additionalProperty] : path;
    const issue = where.issue(key, schemaMessage(e, key), { key: e.keyword === 'additionalProperties', camera: cameraName(data, key) });
    const id = `${issue.line}:${issue.column}:${issue.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      issues.push(issue);
    }
  }
  return issues;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/**
 * Every camera whose name an earlier camera has already, naming both lines. Names that differ only in case count as
 * the same: they name files and folders, which collide on case-insensitive file systems (macOS, Windows shares).
 */
function duplicateNames(data: unknown, where: Locator): ConfigIssue[] {
  const cameras = (data as { cameras?: unknown }).cameras;
  if (!Array.isArray(cameras)) return [];
  const first = new Map<string, number>();
  const issues: ConfigIssue[] = [];
  cameras.forEach((cam, i) => {
    const name = (cam as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const earlier = first.get(name.toLowerCase());
    if (earlier === undefined) {
      first.set(name.toLowerCase(), i);
      return;
    }
    const line = where.at(['cameras', earlier, 'name']).line;
    const other = (cameras[earlier] as { name: string }).name;
    const message = other === name
      ? `camera name "${name}" is already used at line ${line} (cameras[${earlier}]): names must be unique`
      : `camera name "${name}" differs from "${other}" (line ${line}, cameras[${earlier}]) only in case: names must be unique ignoring case (they name files)`;
    issues.push(where.issue(['cameras', i, 'name'], message, { camera: name }));
  });
  return issues;
}

/** JSON pointer (`/cameras/2/url`) → segments. */
function pointerToPath(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(seg) ? Number(seg) : seg;
  });
}

/** The camera a path is inside of, by its name when it has a string one. */
function cameraName(data: unknown, path: readonly Segment[]): string | undefined {
  if (path[0] !== 'cameras' || typeof path[1] !== 'number') return undefined;
  const cam = (data as { cameras?: unknown[] }).cameras?.[path[1]];
  const name = (cam as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** A message a person can act on, from one ajv error. */
function schemaMessage(e: ErrorObject, path: readonly Segment[]): string {
  const last = path[path.length - 1];
  const secret = typeof last === 'string' && SECRET_KEYS.has(last);
  const got = secret ? '' : `, not ${show(e.data, last === 'url')}`;
  const described = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case 'required':
      return `missing key "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const near = suggest(String(last), known);
      return `unknown key${near ? `: did you mean "${near}"?` : ` (known: ${known.join(', ')})`}`;
    }
    case 'type': {
      const want = String((e.params as { type: string }).type);
      const quote = want === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean') ? ' (put it in quotes)' : '';
      return `must be ${article(want)}${got}${quote}`;
    }
    case 'enum':
      return `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => String(v)).join(', ')}${got}`;
    case 'anyOf':
    case 'pattern':
      return described ? `must be ${described}${got}` : `${e.message ?? 'is not valid'}${got}`;
    case 'minimum':
    case 'maximum':
      return `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${(e.params as { limit: number }).limit}${got}`;
    case 'minLength':
      return 'must not be empty';
    default:
      return `${e.message ?? 'is not valid'}${got}`;
  }
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping (key: value)', array: 'a list', integer: 'a whole number' };
  return names[type] ?? (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
}

/** A value for a message: short, and a URL without its credentials. */
function show(v: unknown, url = false): string {
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'a mapping';
  const text = typeof v === 'string' ? JSON.stringify(url ? redactUrl(v) : v) : String(v);
  return text.length > 60 ? text.slice(0, 57) + '…' : text;
}

/** The known key closest to `key` (same letters in another case, or at most 2 edits), if any. */
function suggest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------------------------------
// Resolution: defaults, credentials, units, cross-camera rules

/** Camera options as written (the schema has checked their types). */
interface RawOptions {
  username?: string;
  password?: string;
  credentials?: string;
  transport?: 'tcp' | 'udp';
  frames?: boolean;
  pipeline?: string;
  record?: string;
  segment?: number | string;
  retain?: number | string;
  retainBytes?: number | string;
  overwrite?: boolean;
  snapshot?: string;
  snapshotInterval?: number | string;
  timeout?: number | string;
  mediaTimeout?: number | string;
  frameTimeout?: number | string;
  readInterval?: number | string;
  retries?: number | 'inf';
  retryDelay?: number | string;
  retryMaxDelay?: number | string;
  poolLimit?: number | string;
  queueLimit?: number | string;
  tlsFingerprint?: string;
  tlsCa?: string;
  enabled?: boolean;
}

interface RawCamera extends RawOptions {
  name: string;
  url: string;
}

interface RawFile {
  metrics?: { port?: number; host?: string };
  workers?: number;
  shard?: string;
  defaults?: RawOptions;
  cameras: RawCamera[];
}

/** Ranges, in seconds, of the durations (the command line's, plus the recording ones). */
const DURATION_RANGES_S: Record<string, [number, number]> = {
  timeout: [0.1, 3600],
  mediaTimeout: [0.1, 3600],
  frameTimeout: [0.1, 3600],
  readInterval: [0, 1],
  retryDelay: [0.01, 3600],
  retryMaxDelay: [0.01, 3600],
  segment: [1, 86_400],
  retain: [1, 100 * 365 * 86_400],
  snapshotInterval: [0.1, 86_400],
};
/** Snapshot interval when `snapshot` is given without `snapshotInterval` (as --snapshot). */
const DEFAULT_SNAPSHOT_INTERVAL_MS = 10_000;
const DURATION_UNITS_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
const SIZE_UNITS: Record<string, number> = {
  B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40,
};
/** Smallest retainBytes: below one MiB a single segment would not fit. */
const MIN_RETAIN_BYTES = 2 ** 20;
const MIN_QUEUE_LIMIT_BYTES = 16 * 1024;
const MAX_QUEUE_LIMIT_BYTES = 2 ** 30;
const RECORD_KEYS = ['segment', 'retain', 'retainBytes', 'overwrite', 'snapshot', 'snapshotInterval'] as const;

class Resolver {
  private readonly issues: ConfigIssue[] = [];
  private readonly defaults: RawOptions;

  constructor(
    private readonly raw: RawFile,
    private readonly where: Locator,
    private readonly io: { baseDir: string; env: NodeJS.ProcessEnv; readFile: (path: string) => string },
  ) {
    this.defaults = raw.defaults ?? {};
  }

  run(): FleetConfig {
    const settings = this.settings();
    const cameras: CameraSpec[] = [];
    const disabled: string[] = [];
    const lines: Record<string, number> = {};
    const firstIndex = new Map<string, number>();
    this.raw.cameras.forEach((cam, i) => {
      firstIndex.set(cam.name, i);
      lines[cam.name] = this.where.at(['cameras', i]).line;
      // A disabled camera is not resolved: switching one off must work while its secret or CA file is gone.
      if (!(cam.enabled ?? this.defaults.enabled ?? true)) {
        disabled.push(cam.name);
        return;
      }
      const spec = this.camera(cam, i);
      if (spec) cameras.push(spec);
    });
    this.uniqueRecordPaths(cameras, firstIndex);
    if (this.issues.length > 0) {
      throw new ConfigError(sortIssues(this.issues));
    }
    return { source: this.where.source, cameras, disabled, settings, lines };
  }

  private fail(path: Segment[], message: string, camera?: string): void {
    this.issues.push(this.where.issue(path, message, { camera }));
  }

  private settings(): FleetSettings {
    const s: FleetSettings = {};
    if (this.raw.metrics?.port !== undefined) s.metricsPort = this.raw.metrics.port;
    if (this.raw.metrics?.host !== undefined) s.metricsHost = this.raw.metrics.host;
    if (this.raw.workers !== undefined) s.workers = this.raw.workers;
    if (this.raw.shard !== undefined) {
      try {
        s.shard = parseShard(this.raw.shard, this.where.source);
      } catch (e) {
        this.fail(['shard'], (e as ConfigError).issues[0].message);
      }
    }
    return s;
  }

  /** The resolved camera, or undefined when something failed (the failures are in `issues`). */
  private camera(cam: RawCamera, i: number): CameraSpec | undefined {
    const before = this.issues.length;
    const at = (key: keyof RawOptions): Segment[] => (key in cam ? ['cameras', i, key] : ['defaults', key]);
    const pick = <K extends keyof RawOptions>(key: K): RawOptions[K] => (key in cam ? cam[key] : this.defaults[key]);
    const name = cam.name;
    const fail = (path: Segment[], message: string) => this.fail(path, message, name);

    const url = this.url(cam, i);
    // A camera's own pipeline replaces a record it would inherit, and the other way round; both on one level clash.
    for (const [level, opts] of [[['cameras', i], cam], [['defaults'], this.defaults]] as const) {
      if (opts.pipeline !== undefined && opts.record !== undefined) fail([...level, 'record'], 'pipeline and record exclude each other (as --pipeline and --record)');
    }
    const ownOutput = cam.pipeline !== undefined || cam.record !== undefined;
    const pipeline = ownOutput ? cam.pipeline : this.defaults.pipeline;
    const recordTemplate = ownOutput ? cam.record : this.defaults.record;

    const duration = (key: 'timeout' | 'mediaTimeout' | 'frameTimeout' | 'readInterval' | 'retryDelay' | 'retryMaxDelay' | 'segment' | 'retain'
      | 'snapshotInterval', fallbackMs?: number) => {
      const v = pick(key);
      if (v === undefined) return fallbackMs;
      const s = toSeconds(v);
      const [min, max] = DURATION_RANGES_S[key];
      if (!(s >= min && s <= max)) {
        fail(at(key), `must be from ${formatSeconds(min)} to ${formatSeconds(max)}, not ${JSON.stringify(v)}`);
        return fallbackMs;
      }
      return Math.round(s * 1000);
    };
    const size = (key: 'poolLimit' | 'queueLimit' | 'retainBytes', numberUnit: number, min: number, max: number, fallback?: number) => {
      const v = pick(key);
      if (v === undefined) return fallback;
      const bytes = typeof v === 'number' ? v * numberUnit : toBytes(v);
      if (!(bytes >= min && bytes <= max)) {
        fail(at(key), `must be from ${formatBytes(min)} to ${formatBytes(max)}, not ${JSON.stringify(v)}`);
        return fallback;
      }
      return Math.floor(bytes);
    };

    const spec: CameraSpec = {
      name,
      url: url ?? '',
      transport: pick('transport') ?? CAMERA_DEFAULTS.transport,
      frames: pick('frames') ?? CAMERA_DEFAULTS.frames,
      timeoutMs: duration('timeout', CAMERA_DEFAULTS.timeoutMs)!,
      mediaTimeoutMs: duration('mediaTimeout', CAMERA_DEFAULTS.mediaTimeoutMs)!,
      frameTimeoutMs: duration('frameTimeout', CAMERA_DEFAULTS.frameTimeoutMs)!,
      readIntervalMs: duration('readInterval', CAMERA_DEFAULTS.readIntervalMs)!,
      retries: retriesOf(pick('retries')),
      retryDelayMs: duration('retryDelay', CAMERA_DEFAULTS.retryDelayMs)!,
      retryMaxDelayMs: duration('retryMaxDelay', CAMERA_DEFAULTS.retryMaxDelayMs)!,
      // poolLimit and queueLimit as bare numbers are MiB and KiB, as --pool-limit and --queue-limit.
      poolLimitBytes: slabs(size('poolLimit', 2 ** 20, POOL_MIN_LIMIT_BYTES, POOL_MAX_LIMIT_BYTES, CAMERA_DEFAULTS.poolLimitBytes)!),
      queueLimitBytes: size('queueLimit', 1024, MIN_QUEUE_LIMIT_BYTES, MAX_QUEUE_LIMIT_BYTES, CAMERA_DEFAULTS.queueLimitBytes)!,
    };
    if (pipeline !== undefined) spec.pipeline = pipeline;
    if (recordTemplate !== undefined) {
      // {name}: the older spelling of {camera}.
      const fill = (t: string) => resolvePath(this.io.baseDir, t.replaceAll('{name}', '{camera}'));
      const record: RecordSpec = { path: fill(recordTemplate), camera: name, overwrite: pick('overwrite') ?? CAMERA_DEFAULTS.overwrite };
      const recordAt: Segment[] = 'record' in cam ? ['cameras', i, 'record'] : ['defaults', 'record'];
      try {
        checkTemplate(record.path);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        fail(recordAt, `${e.message} [${e.code}]`);
      }
      if (!(pick('frames') ?? CAMERA_DEFAULTS.frames)) fail(at('frames'), 'a recording takes frames depayloaded in wasm: frames: false and record exclude each other');
      const snapshot = pick('snapshot');
      if (snapshot !== undefined) {
        record.snapshotPath = fill(snapshot);
        if (!/\.jpe?g$/i.test(snapshot)) fail(at('snapshot'), `must end in .jpg or .jpeg, not ${JSON.stringify(snapshot)}`);
        else {
          try {
            checkTemplate(record.snapshotPath.replace(/\.jpe?g$/i, '.mp4'));
          } catch (e) {
            if (!(e instanceof TemplateError)) throw e;
            fail(at('snapshot'), `${e.message} [${e.code}]`);
          }
        }
      }
      const snapshotIntervalMs = duration('snapshotInterval', snapshot !== undefined ? DEFAULT_SNAPSHOT_INTERVAL_MS : undefined);
      if (snapshotIntervalMs !== undefined) record.snapshotIntervalMs = snapshotIntervalMs;
      const segmentMs = duration('segment');
      const retainMs = duration('retain');
      const retainBytes = size('retainBytes', 1, MIN_RETAIN_BYTES, Number.MAX_SAFE_INTEGER);
      if (segmentMs !== undefined) record.segmentMs = segmentMs;
      if (retainMs !== undefined) record.retainMs = retainMs;
      if (retainBytes !== undefined) record.retainBytes = retainBytes;
      spec.record = record;
    } else {
      for (const key of RECORD_KEYS) {
        if (key in cam) fail(['cameras', i, key], `${key} is a recording option, but this camera does not record: set record, or remove ${key}`);
      }
    }
    const fingerprint = pick('tlsFingerprint');
    if (fingerprint !== undefined) spec.tlsFingerprint = fingerprint.trim();
    const ca = pick('tlsCa');
    if (ca !== undefined) spec.tlsCaFile = resolvePath(this.io.baseDir, ca);
    return this.issues.length === before && url !== undefined ? spec : undefined;
  }

  /** The camera's URL with its credentials applied, or undefined after recording why not. */
  private url(cam: RawCamera, i: number): string | undefined {
    const fail = (path: Segment[], message: string) => this.fail(path, message, cam.name);
    let parsed;
    try {
      parsed = parseRtspUrl(cam.url);
    } catch (e) {
      if (!(e instanceof RtspUrlError)) throw e;
      fail(['cameras', i, 'url'], `bad camera URL ${String(e.context.url ?? redactUrl(cam.url))}: ${e.message} [${e.code}]`);
      return undefined;
    }
    const own = cam.username !== undefined || cam.password !== undefined || cam.credentials !== undefined;
    if (parsed.credentials) {
      // Like the command line, a URL's own credentials win over inherited ones; written twice on the camera is a mistake.
      if (own) fail(['cameras', i, cam.credentials !== undefined ? 'credentials' : cam.username !== undefined ? 'username' : 'password'],
        'the URL carries credentials already: give them once');
      return cam.url;
    }
    const level: Segment[] = own ? ['cameras', i] : ['defaults'];
    const opts: RawOptions = own ? cam : this.defaults;
    let username: string | undefined;
    let password: string | undefined;
    if (opts.credentials !== undefined) {
      if (opts.username !== undefined || opts.password !== undefined) {
        fail([...level, 'credentials'], 'give either credentials or username and password, not both');
        return undefined;
      }
      const pair = this.secret([...level, 'credentials'], opts.credentials, cam.name);
      if (pair === undefined) return undefined;
      const colon = pair.indexOf(':');
      if (colon <= 0) {
        fail([...level, 'credentials'], `${opts.credentials} must hold user:password`);
        return undefined;
      }
      username = pair.slice(0, colon);
      password = pair.slice(colon + 1);
    } else if (opts.username !== undefined || opts.password !== undefined) {
      if (opts.username === undefined) {
        fail([...level, 'password'], 'a password needs a username');
        return undefined;
      }
      if (opts.password === undefined) {
        fail([...level, 'username'], "a username needs a password (password: '' for none)");
        return undefined;
      }
      username = this.secret([...level, 'username'], opts.username, cam.name);
      password = this.secret([...level, 'password'], opts.password, cam.name);
      if (username === undefined || password === undefined) return undefined;
      if (username === '') {
        fail([...level, 'username'], 'the username is empty');
        return undefined;
      }
    }
    if (username === undefined || password === undefined) return cam.url;
    const s = cam.url.indexOf('://') + 3;
    return `${cam.url.slice(0, s)}${encodeURIComponent(username)}:${encodeURIComponent(password)}@${cam.url.slice(s)}`;
  }

  /** `env:VAR`, `file:PATH`, `plain:VALUE` or the value itself; undefined after recording why not. */
  private secret(path: Segment[], value: string, camera: string): string | undefined {
    if (value.startsWith('env:')) {
      const name = value.slice(4);
      const v = this.io.env[name];
      if (v === undefined) {
        this.fail(path, `environment variable ${name} is not set`, camera);
        return undefined;
      }
      return v;
    }
    if (value.startsWith('file:')) {
      const file = resolvePath(this.io.baseDir, value.slice(5));
      try {
        // One trailing newline is what editors and `echo` add; the secret itself never ends in one.
        return this.io.readFile(file).replace(/\r?\n$/, '');
      } catch (e) {
        this.fail(path, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, camera);
        return undefined;
      }
    }
    if (value.startsWith('plain:')) return value.slice(6);
    return value;
  }

  /** Two cameras writing the same files would destroy each other's recordings. */
  private uniqueRecordPaths(cameras: CameraSpec[], index: Map<string, number>): void {
    const byPath = new Map<string, CameraSpec>();
    for (const c of cameras) {
      if (!c.record) continue;
      const path = c.record.path.replaceAll('{camera}', c.record.camera);
      const other = byPath.get(path);
      if (other) {
        const i = index.get(c.name)!;
        const where = 'record' in this.raw.cameras[i] ? ['cameras', i, 'record'] : ['cameras', i, 'name'];
        this.fail(where, `records to the same path as camera "${other.name}" (line ${this.where.at(['cameras', index.get(other.name)!]).line}): ` +
          'put {camera} in the record template', c.name);
      } else {
        byPath.set(path, c);
      }
    }
  }
}

function retriesOf(v: number | 'inf' | undefined): number {
  return v === undefined || v === 'inf' ? CAMERA_DEFAULTS.retries : v;
}

/** Rounds a pool limit down to whole 64 KiB slabs, as the pool and --pool-limit do. */
function slabs(bytes: number): number {
  return Math.min(Math.max(Math.floor(bytes / SLAB_BYTES), 1) * SLAB_BYTES, POOL_MAX_LIMIT_BYTES);
}

/** A duration (number of seconds, or `30s`, `5m`…; the schema has checked the form) in seconds. */
export function toSeconds(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  return m ? Number(m[1]) * DURATION_UNITS_S[m[2]] : NaN;
}

/** A size (`512MiB`, `2GB`, `100B`; the schema has checked the form) in bytes. */
export function toBytes(v: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKMGT]i?B|B)\s*$/.exec(v);
  if (!m) return NaN;
  const unit = m[2] === 'KiB' || m[2] === 'kiB' ? 'KiB' : m[2] === 'kB' ? 'kB' : m[2];
  return Number(m[1]) * (SIZE_UNITS[unit] ?? NaN);
}

function formatSeconds(s: number): string {
  if (s < 1) return `${s * 1000}ms`;
  for (const [unit, n] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) if (s >= n && s % n === 0) return `${s / n}${unit}`;
  return `${s}s`;
}

function formatBytes(b: number): string {
  if (b >= Number.MAX_SAFE_INTEGER) return 'no limit';
  for (const [unit, n] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 1024]] as const) if (b >= n && b % n === 0) return `${b / n}${unit}`;
  return `${b}B`;
}
