// Shared pieces of the fast-check fuzz suites (test/fuzz/*.test.ts): deterministic parameters, structured mutators,
// and the "only a typed error" check. See docs/fuzzing.md.
//
// Every property runs with a fixed seed and a fixed number of runs, and is cut short after a time limit so a loaded
// machine cannot make the suite hang. Raise both for a longer campaign:
//   FUZZ_SCALE=50 FUZZ_TIME_MS=600000 npx vitest run test/fuzz --exclude test/fuzz/soak.test.ts
// and replay or explore another seed with FUZZ_SEED=<n> (every property then uses that seed).
import fc from 'fast-check';
import { expect } from 'vitest';
import { WasmRtspError } from '../../src/core/errors.js';

/** Multiplies every property's numRuns (default 1). */
export const FUZZ_SCALE = Math.max(0.01, Number(process.env.FUZZ_SCALE ?? 1) || 1);
/** Wall-clock limit per property in ms; after it the property stops early and passes with the runs done so far. */
export const FUZZ_TIME_MS = Number(process.env.FUZZ_TIME_MS ?? 0) || Math.round(4000 * Math.max(1, FUZZ_SCALE));
/** When set, overrides every property's own seed. */
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED) | 0;
/** vitest timeout of one fuzz test: its properties' time limits plus room for setup and a shrink. */
export const FUZZ_TEST_TIMEOUT_MS = 2 * FUZZ_TIME_MS + 60_000; // (a test may run two properties)

/** What one property did, for the summary line of each suite. */
export interface FuzzReport { name: string; seed: number; runs: number; planned: number; interrupted: boolean }
export const reports: FuzzReport[] = [];

/**
 * Runs a property with a fixed seed and `runs` runs (× FUZZ_SCALE), interrupted after FUZZ_TIME_MS. Fails with
 * fast-check's report (seed, path and shrunk counterexample) when the property fails. Returns the report.
 */
export function fuzz<Ts extends [unknown, ...unknown[]]>(
  name: string,
  seed: number,
  runs: number,
  prop: fc.IPropertyWithHooks<Ts>,
): FuzzReport {
  const s = FUZZ_SEED ?? seed;
  const planned = Math.max(1, Math.round(runs * FUZZ_SCALE));
  const details = fc.check(prop, {
    seed: s,
    numRuns: planned,
    plugins: [fc.interruptAfterTimeLimit(FUZZ_TIME_MS)],
  } as fc.Parameters<Ts>);
  return settle(name, s, planned, details);
}

/** Fails on a counterexample, records the run, and checks it got anywhere in its time limit. */
function settle<Ts>(name: string, seed: number, planned: number, details: fc.RunDetails<Ts>): FuzzReport {
  if (details.failed) throw new Error(`${name}: ${fc.defaultReportMessage(details) ?? 'failed'}`);
  const report = { name, seed, runs: details.numRuns, planned, interrupted: details.interrupted };
  reports.push(report);
  // Even a badly loaded machine gets through a handful of runs in the time limit; none at all means a hang.
  expect(details.numRuns, `${name}: runs done`).toBeGreaterThanOrEqual(Math.min(planned, 5));
  return report;
}

/** Async variant of {@link fuzz} (for properties that await, e.g. model runs over sockets). */
export async function fuzzAsync<Ts extends [unknown, ...unknown[]]>(
  name: string,
  seed: number,
  runs: number,
  prop: fc.IAsyncPropertyWithHooks<Ts>,
): Promise<FuzzReport> {
  const s = FUZZ_SEED ?? seed;
  const planned = Math.max(1, Math.round(runs * FUZZ_SCALE));
  const details = await fc.check(prop, {
    seed: s,
    numRuns: planned,
    plugins: [fc.interruptAfterTimeLimit(FUZZ_TIME_MS)],
  } as fc.Parameters<Ts>);
  return settle(name, s, planned, details);
}

/**
 * True when the property ran all its planned runs. The checks that the generators reached every interesting case
 * hold only then: a property cut short by the time limit on a loaded machine has simply seen fewer inputs.
 */
export function complete(r: FuzzReport): boolean {
  return r.runs >= r.planned;
}

/** One line per property: how many runs were done of those planned, and with which seed. */
export function summary(): string {
  return reports.splice(0).map((r) => `${r.name}: ${r.runs}/${r.planned} runs, seed ${r.seed}${r.interrupted ? ' (time limit)' : ''}`).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// Typed errors

/** Outcome of a call that may fail only with a typed error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; error: WasmRtspError };

type ErrorClass = abstract new (...args: never[]) => WasmRtspError;

/**
 * Calls `fn`. A `WasmRtspError` (of `cls` when given) with a string `code` becomes `{ ok: false, code }`; anything
 * else (TypeError, RangeError, a wasm trap, a bare Error) is rethrown, which fails the property with the input.
 */
export function typed<T>(fn: () => T, cls?: ErrorClass): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof WasmRtspError && typeof e.code === 'string' && e.code !== '' && (cls === undefined || e instanceof cls)) {
      return { ok: false, code: e.code, error: e };
    }
    const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
    throw new Error(`expected ${cls?.name ?? 'WasmRtspError'} with a code, got ${what}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Structured mutation

/** Pieces that break framing in interesting ways: line ends, separators, quotes, item starts, huge and odd numbers. */
export const TRICKY_TOKENS: readonly string[] = [
  '\r\n', '\n', '\r', '\r\n\r\n', '\n\n', '\r\r\n', ' ', '\t', ':', ';', ',', '=', '"', '\\', '/', '-', '$', '\0', '\x7f',
  '\xff', '%', '@', '#', '?', '[', ']', '0', '00', '-1', '65535', '65536', '4294967295', '4294967296',
  '99999999999999999999', '1e9', 'NaN', 'Content-Length: 99999\r\n', 'Content-Length: 5\r\n', 'RTSP/1.0 200 OK\r\n',
  'a=rtpmap:96 H264/90000\r\n', 'm=video 0 RTP/AVP 96\r\n', '\u00e9', '\u20ac', '\ud83d\ude00',
];

/** One edit of a byte string or text; positions are taken modulo the length so any value applies to any input. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; token: string }
  | { op: 'delete'; at: number; n: number }
  | { op: 'duplicate'; at: number; n: number }
  | { op: 'swap'; at: number; to: number };

const pos = fc.nat({ max: 0xffff });
/** An arbitrary edit: flips and sets favour small changes, inserts favour the tricky tokens. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, token: fc.constantFrom(...TRICKY_TOKENS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, n: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: pos, n: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swap' as const), at: pos, to: pos }) },
);

/** 1..max edits. */
export const mutationsArb = (max = 4): fc.Arbitrary<Mutation[]> => fc.array(mutationArb, { minLength: 1, maxLength: max });

const latin1Bytes = (s: string): number[] => Array.from(new TextEncoder().encode(s));

/** Applies `edits` to a copy of `input`. */
export function mutateBytes(input: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of edits) {
    const at = m.at % (b.length + 1);
    switch (m.op) {
      case 'flip': if (b.length) b[at % b.length] ^= 1 << m.bit; break;
      case 'set': if (b.length) b[at % b.length] = m.value; break;
      case 'truncate': b = b.slice(0, at); break;
      case 'insert': b.splice(at, 0, ...latin1Bytes(m.token)); break;
      case 'delete': b.splice(at, m.n); break;
      case 'duplicate': b.splice(at, 0, ...b.slice(at, at + m.n)); break;
      case 'swap': if (b.length) { const i = at % b.length; const j = m.to % b.length; [b[i], b[j]] = [b[j], b[i]]; } break;
    }
  }
  return Uint8Array.from(b);
}

/** Applies `edits` to a string (UTF-16 units; flips and sets write a code unit, so lone surrogates can appear). */
export function mutateText(input: string, edits: readonly Mutation[]): string {
  let s = input;
  for (const m of edits) {
    const at = m.at % (s.length + 1);
    const i = s.length ? at % s.length : 0;
    switch (m.op) {
      case 'flip': if (s.length) s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << m.bit)) + s.slice(i + 1); break;
      case 'set': if (s.length) s = s.slice(0, i) + String.fromCharCode(m.value) + s.slice(i + 1); break;
      case 'truncate': s = s.slice(0, at); break;
      case 'insert': s = s.slice(0, at) + m.token + s.slice(at); break;
      case 'delete': s = s.slice(0, at) + s.slice(at + m.n); break;
      case 'duplicate': s = s.slice(0, at) + s.slice(at, at + m.n) + s.slice(at); break;
      case 'swap': if (s.length) { const j = m.to % s.length; const a = [...s]; if (i < a.length && j < a.length) { [a[i], a[j]] = [a[j], a[i]]; s = a.join(''); } } break;
    }
  }
  return s;
}

/** `valid` as is (a quarter of the time) or mutated. */
export function validOrMutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: valid },
    { weight: 3, arbitrary: fc.tuple(valid, mutationsArb()).map(([b, m]) => mutateBytes(b, m)) },
  );
}

/** `valid` as is (a quarter of the time) or mutated. */
export function validOrMutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: valid },
    { weight: 3, arbitrary: fc.tuple(valid, mutationsArb()).map(([s, m]) => mutateText(s, m)) },
  );
}

/** Bytes from a palette that makes parsers branch ('$', CR, LF, digits, 'R', 'T', ':') mixed with anything. */
export const trickyBytesArb = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.array(fc.oneof(fc.constantFrom(0x24, 0x0d, 0x0a, 0x20, 0x3a, 0x30, 0x39, 0x52, 0x54, 0x53, 0x50, 0x2f, 0x00, 0xff, 0x80), fc.integer({ min: 0, max: 255 })), { maxLength })
    .map((a) => Uint8Array.from(a));

/** Cut points for splitting `length` octets into reads: sorted offsets in (0, length). */
export const cutsArb = fc.array(fc.nat({ max: 0xffff }), { maxLength: 24 });

/** Splits `bytes` at `cuts` (taken modulo the length), each piece a fresh copy (so no chunk buffer is reused). */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)).filter((c) => c > 0))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(from, p));
    from = p;
  }
  return out;
}
