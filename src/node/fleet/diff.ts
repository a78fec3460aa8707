// What a reload (SIGHUP) changes: the running cameras against a newly loaded config, by name. The CLI restarts the
// changed, starts the added, stops the removed and leaves the unchanged alone (their sessions and recordings go on).

import type { CameraSpec, FleetConfig, FleetSettings } from './config.js';

/** A camera whose resolved spec differs between the running set and the new config. */
export interface ChangedCamera {
  name: string;
  before: CameraSpec;
  after: CameraSpec;
  /** Top-level keys of the spec that differ (e.g. `['url', 'record']`), for the log line; never their values. */
  keys: string[];
}

/** The difference between two sets of cameras, each list in the new config's order (removed: the running order). */
export interface CameraDiff {
  added: CameraSpec[];
  removed: CameraSpec[];
  changed: ChangedCamera[];
  unchanged: CameraSpec[];
}

/**
 * Compares cameras by name with a deep comparison of the resolved spec, so anything that changes how a camera runs
 * (its URL and credentials, a default it inherits, a rotated password file) counts, and key order, comments or a
 * moved entry do not. Names must be unique in each list (loadConfig guarantees it); a duplicate throws RangeError.
 */
export function diffCameras(running: readonly CameraSpec[], next: readonly CameraSpec[]): CameraDiff {
  const before = byName(running, 'running');
  const after = byName(next, 'next');
  const diff: CameraDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const spec of next) {
    const old = before.get(spec.name);
    if (!old) diff.added.push(spec);
    else if (deepEqual(old, spec)) diff.unchanged.push(spec);
    else diff.changed.push({ name: spec.name, before: old, after: spec, keys: changedKeys(old, spec) });
  }
  for (const spec of running) if (!after.has(spec.name)) diff.removed.push(spec);
  return diff;
}

/** A reload's full difference: the cameras, and the process settings that changed (they need a restart to apply). */
export interface ConfigDiff extends CameraDiff {
  /** Keys of FleetSettings that differ, e.g. `['metricsPort']`. */
  settings: Array<keyof FleetSettings>;
}

/** diffCameras over two loaded configs, plus which process settings changed. */
export function diffConfig(running: FleetConfig, next: FleetConfig): ConfigDiff {
  return { ...diffCameras(running.cameras, next.cameras), settings: changedKeys(running.settings, next.settings) as Array<keyof FleetSettings> };
}

function byName(list: readonly CameraSpec[], which: string): Map<string, CameraSpec> {
  const map = new Map<string, CameraSpec>();
  for (const spec of list) {
    if (map.has(spec.name)) throw new RangeError(`camera name "${spec.name}" twice in the ${which} set`);
    map.set(spec.name, spec);
  }
  return map;
}

/** Keys whose values differ, a key missing on one side counting as undefined. */
function changedKeys(a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])).sort();
}

/**
 * Structural equality of plain data (what a resolved spec is: objects, arrays, strings, numbers including Infinity,
 * booleans). A key holding undefined equals a missing key; NaN equals NaN.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}
