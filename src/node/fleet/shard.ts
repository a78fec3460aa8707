// Sharding a fleet over several processes (or pods): shard I of N keeps the cameras it owns by rendezvous hashing.
//
// Rendezvous (highest random weight, Thaler & Ravishankar 1998): every camera name gets a pseudo-random weight per
// shard and belongs to the shard with the highest. Each process decides alone from the names (no coordination, no
// shared table), every camera lands in exactly one shard, and going from N to N+1 shards moves only the cameras the new
// shard now wins — about 1/(N+1) of them, all to the new shard — where `hash % N` would move almost all.

import { hostname as osHostname } from 'node:os';
import { ConfigError } from './errors.js';

/** Shard `index` of `count` (0 <= index < count). */
export interface Shard {
  index: number;
  count: number;
}

/** A shard and where it was read from (`--shard`, an environment variable, the hostname, the config file). */
export interface ResolvedShard extends Shard {
  from: string;
}

/** Environment variable with `I/N`, read when --shard is not given. */
export const SHARD_ENV = 'WASM_RTSP_SHARD';
/** Environment variable with N: the shard index is then the hostname's ordinal (a StatefulSet pod `name-3` → 3). */
export const SHARDS_ENV = 'WASM_RTSP_SHARDS';
/** Most shards accepted: a sanity bound, far above any fleet this runs. */
export const MAX_SHARDS = 100_000;

/** Parses `I/N` (0 <= I < N <= MAX_SHARDS). Throws ConfigError naming `source`. */
export function parseShard(text: string, source = '--shard'): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m) throw shardError(source, `must be I/N (shard I of N, counted from 0), e.g. 0/4, not ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw shardError(source, `the shard count must be from 1 to ${MAX_SHARDS}, not ${count}`);
  if (index >= count) throw shardError(source, `shard ${index} of ${count} does not exist: shards are counted from 0 to ${count - 1}`);
  return { index, count };
}

/** Where resolveShard looks. */
export interface ShardSources {
  /** --shard's text, if given. */
  option?: string;
  /** The environment (WASM_RTSP_SHARD, WASM_RTSP_SHARDS, HOSTNAME). */
  env?: NodeJS.ProcessEnv;
  /** The host name (default: $HOSTNAME, else os.hostname()); a StatefulSet pod's is `<set>-<ordinal>`. */
  hostname?: string;
  /** The config file's `shard`, and the file's name for messages. */
  file?: { shard?: Shard; source: string };
}

/**
 * The shard this process runs, or undefined (all cameras). First found wins: --shard, then WASM_RTSP_SHARD, then
 * WASM_RTSP_SHARDS=N with the hostname's ordinal (`wasm-rtsp-3` → 3/N: one StatefulSet template serves every pod),
 * then the config file's `shard`. The environment comes before the file because one file is shared by every shard.
 * Throws ConfigError naming the source of a bad value.
 */
export function resolveShard(sources: ShardSources = {}): ResolvedShard | undefined {
  const env = sources.env ?? process.env;
  if (sources.option !== undefined) return { ...parseShard(sources.option, '--shard'), from: '--shard' };
  const fromEnv = env[SHARD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { ...parseShard(fromEnv, SHARD_ENV), from: SHARD_ENV };
  const shards = env[SHARDS_ENV];
  if (shards !== undefined && shards !== '') {
    if (!/^\s*\d{1,6}\s*$/.test(shards) || Number(shards) < 1 || Number(shards) > MAX_SHARDS) {
      throw shardError(SHARDS_ENV, `must be the shard count, a whole number from 1 to ${MAX_SHARDS}, not ${JSON.stringify(shards)}`);
    }
    const host = sources.hostname ?? (env.HOSTNAME || osHostname());
    const ordinal = hostOrdinal(host);
    if (ordinal === undefined) {
      throw shardError(SHARDS_ENV, `is set, so the shard index is the host name's ordinal, but host name ${JSON.stringify(host)} ` +
        `does not end in -<number> (a StatefulSet pod's does); set ${SHARD_ENV}=I/N instead`);
    }
    const count = Number(shards);
    if (ordinal >= count) {
      throw shardError(SHARDS_ENV, `host ${JSON.stringify(host)} is ordinal ${ordinal}, but there are only ${count} shards ` +
        `(0 to ${count - 1}): make ${SHARDS_ENV} equal the StatefulSet's replicas`);
    }
    return { index: ordinal, count, from: `${SHARDS_ENV} and host name ${host}` };
  }
  if (sources.file?.shard) return { ...sources.file.shard, from: sources.file.source };
  return undefined;
}

/** The ordinal at the end of a StatefulSet pod's host name (`wasm-rtsp-12` → 12), or undefined. */
export function hostOrdinal(host: string): number | undefined {
  const m = /-(\d{1,6})$/.exec(host.split('.')[0]);
  return m ? Number(m[1]) : undefined;
}

const FNV_OFFSET_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;
/** Per-shard salt step: the 32-bit golden ratio, so consecutive shard indexes get unrelated salts after mixing. */
const GOLDEN_32 = 0x9e3779b9;
const utf8 = new TextEncoder();

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`: cheap, and good enough once fmix32 has spread its bits. */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_32;
  for (const byte of utf8.encode(text)) h = Math.imul(h ^ byte, FNV_PRIME_32);
  return h >>> 0;
}

/**
 * MurmurHash3's 32-bit finalizer: a bijection where every input bit flips each output bit with probability ~1/2.
 * FNV-1a alone leaves names that differ in their last character (cam-001, cam-002) close in the high bits.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The rendezvous weight of a name (its fnv1a32 hash) for one shard: the name hash salted per shard, then mixed. */
export function shardWeight(nameHash: number, index: number): number {
  return fmix32((nameHash ^ fmix32(Math.imul(index + 1, GOLDEN_32))) >>> 0);
}

/** The shard (0 to count-1) that owns `name`: the one with the highest weight (the lower index on a tie). */
export function shardOf(name: string, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a whole number >= 1, not ${count}`);
  const h = fnv1a32(name);
  let best = 0;
  let bestWeight = -1;
  for (let i = 0; i < count; i++) {
    const w = shardWeight(h, i);
    if (w > bestWeight) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}

/** The items (cameras) whose `name` shard `shard` owns, in their order; all of them when `shard` is undefined. */
export function filterShard<T extends { name: string }>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return items.slice();
  return items.filter((c) => shardOf(c.name, shard.count) === shard.index);
}

function shardError(source: string, message: string): ConfigError {
  return new ConfigError([{ source, path: '', message }]);
}
