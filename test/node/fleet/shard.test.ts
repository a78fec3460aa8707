// Rendezvous sharding: every camera in exactly one shard, N→N+1 moves ~1/(N+1) of them (all to the new shard),
// shards balanced; and where the shard comes from (--shard, WASM_RTSP_SHARD, a StatefulSet pod's ordinal, the file).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/node/fleet/errors.js';
import {
  filterShard, fmix32, fnv1a32, hostOrdinal, parseShard, resolveShard, shardOf,
} from '../../../src/node/fleet/shard.js';

/** `n` distinct camera-like names: the shape real fleets use (site-floor-cam-007), which a weak hash clusters. */
function names(n: number, prefix = 'cam'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${Math.floor(i / 50)}-${String(i % 50).padStart(3, '0')}`);
}

describe('hash', () => {
  it('is FNV-1a 32 on the published test vectors', () => {
    // From the FNV reference (isthe.com/chongo/tech/comp/fnv): "" → offset basis, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, so a non-ASCII name is stable across platforms', () => {
    expect(fnv1a32('café')).toBe(fnv1a32('caf\u00e9'));
    expect(fnv1a32('café')).not.toBe(fnv1a32('cafe'));
  });

  it('fmix32 avalanches: one flipped input bit flips about half the output bits', () => {
    let flips = 0;
    let trials = 0;
    for (let x = 1; x < 2000; x += 7) {
      for (let bit = 0; bit < 32; bit++) {
        const d = (fmix32(x) ^ fmix32((x ^ (1 << bit)) >>> 0)) >>> 0;
        flips += d.toString(2).replace(/0/g, '').length;
        trials++;
      }
    }
    expect(flips / trials).toBeGreaterThan(15);
    expect(flips / trials).toBeLessThan(17);
  });
});

describe('rendezvous ownership', () => {
  it('puts every camera in exactly one shard, for any names and shard count', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 40 }),
      (list, count) => {
        const cams = list.map((name) => ({ name }));
        const seen = new Map<string, number>();
        for (let i = 0; i < count; i++) {
          for (const c of filterShard(cams, { index: i, count })) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
        }
        expect(seen.size).toBe(list.length);
        for (const n of seen.values()) expect(n).toBe(1);
      },
    ), { numRuns: 200 });
  });

  it('N → N+1 shards moves about 1/(N+1) of 2000 cameras, every one of them to the new shard', () => {
    const list = names(2000);
    for (let n = 1; n <= 16; n++) {
      let moved = 0;
      for (const name of list) {
        const before = shardOf(name, n);
        const after = shardOf(name, n + 1);
        if (before !== after) {
          moved++;
          expect(after).toBe(n); // rendezvous: only the new shard wins cameras
        }
      }
      const expected = list.length / (n + 1);
      // Binomial(2000, 1/(n+1)): sd <= 23; ±25 % of the mean (or 5 sd for the large fractions) is a tolerance a
      // hash that moved everything, or nothing, fails by far.
      expect(Math.abs(moved - expected), `n=${n}: moved ${moved}, expected ~${expected.toFixed(0)}`)
        .toBeLessThan(Math.max(0.25 * expected, 5 * Math.sqrt(expected)));
    }
  });

  it('balances shards: each holds its share of 2000 cameras within ±25 %', () => {
    const list = names(2000, 'site');
    for (const count of [2, 3, 4, 7, 8, 16]) {
      const sizes = new Array<number>(count).fill(0);
      for (const name of list) sizes[shardOf(name, count)]++;
      const share = list.length / count;
      for (const s of sizes) expect(Math.abs(s - share), `count=${count}: ${sizes.join(',')}`).toBeLessThan(0.25 * share);
    }
  });

  it('balances random names too (property: max shard under 1.6× its share for 400+ names)', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 3, maxLength: 20 }), { minLength: 400, maxLength: 600 }),
      fc.integer({ min: 2, max: 6 }),
      (list, count) => {
        const sizes = new Array<number>(count).fill(0);
        for (const name of list) sizes[shardOf(name, count)]++;
        expect(Math.max(...sizes)).toBeLessThan(1.6 * (list.length / count));
      },
    ), { numRuns: 30 });
  });

  it('is stable: the same name always lands in the same shard', () => {
    expect(shardOf('lobby', 4)).toBe(shardOf('lobby', 4));
    expect(names(100).map((n) => shardOf(n, 5))).toEqual(names(100).map((n) => shardOf(n, 5)));
  });

  it('keeps everything with one shard or none', () => {
    const cams = names(10).map((name) => ({ name }));
    expect(filterShard(cams, undefined)).toEqual(cams);
    expect(filterShard(cams, { index: 0, count: 1 })).toEqual(cams);
  });

  it('rejects a shard count that is not a whole number >= 1', () => {
    expect(() => shardOf('a', 0)).toThrow(RangeError);
    expect(() => shardOf('a', 1.5)).toThrow(RangeError);
  });
});

describe('parseShard', () => {
  it('reads I/N', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard(' 3 / 8 ')).toEqual({ index: 3, count: 8 });
  });

  it.each([
    ['3', 'must be I/N'],
    ['a/b', 'must be I/N'],
    ['-1/4', 'must be I/N'],
    ['4/4', 'counted from 0 to 3'],
    ['0/0', 'from 1 to'],
    ['1/2/3', 'must be I/N'],
  ])('rejects %j with a ConfigError naming --shard', (text, message) => {
    let err: unknown;
    try {
      parseShard(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG');
    expect((err as ConfigError).message).toMatch(/^--shard: /);
    expect((err as ConfigError).message).toContain(message);
  });
});

describe('resolveShard', () => {
  const file = { shard: { index: 1, count: 2 }, source: 'cams.yaml' };

  it('prefers --shard, then WASM_RTSP_SHARD, then the pod ordinal, then the file', () => {
    const env = { WASM_RTSP_SHARD: '2/5', WASM_RTSP_SHARDS: '4' };
    expect(resolveShard({ option: '0/3', env, hostname: 'wasm-rtsp-1', file })).toEqual({ index: 0, count: 3, from: '--shard' });
    expect(resolveShard({ env, hostname: 'wasm-rtsp-1', file })).toEqual({ index: 2, count: 5, from: 'WASM_RTSP_SHARD' });
    expect(resolveShard({ env: { WASM_RTSP_SHARDS: '4' }, hostname: 'wasm-rtsp-3', file }))
      .toMatchObject({ index: 3, count: 4 });
    expect(resolveShard({ env: {}, hostname: 'wasm-rtsp-3', file })).toEqual({ index: 1, count: 2, from: 'cams.yaml' });
    expect(resolveShard({ env: {}, hostname: 'wasm-rtsp-3' })).toBeUndefined();
  });

  it('takes the ordinal from $HOSTNAME when no host name is passed', () => {
    expect(resolveShard({ env: { WASM_RTSP_SHARDS: '3', HOSTNAME: 'cams-2.cams.default.svc' } })).toMatchObject({ index: 2, count: 3 });
  });

  it('explains a host name without an ordinal, and an ordinal beyond the shard count', () => {
    expect(() => resolveShard({ env: { WASM_RTSP_SHARDS: '3' }, hostname: 'myhost' })).toThrow(/does not end in -<number>/);
    expect(() => resolveShard({ env: { WASM_RTSP_SHARDS: '3' }, hostname: 'cams-3' })).toThrow(/only 3 shards/);
    expect(() => resolveShard({ env: { WASM_RTSP_SHARDS: 'x' }, hostname: 'cams-0' })).toThrow(/^WASM_RTSP_SHARDS: /);
    expect(() => resolveShard({ env: { WASM_RTSP_SHARD: '9/3' } })).toThrow(/^WASM_RTSP_SHARD: /);
  });

  it('reads pod ordinals', () => {
    expect(hostOrdinal('wasm-rtsp-0')).toBe(0);
    expect(hostOrdinal('wasm-rtsp-12.svc.cluster.local')).toBe(12);
    expect(hostOrdinal('wasm-rtsp')).toBeUndefined();
  });
});
