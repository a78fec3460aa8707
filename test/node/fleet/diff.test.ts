// Reload: which cameras a new config adds, removes, changes or leaves alone — compared by name on resolved specs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, type CameraSpec } from '../../../src/node/fleet/config.js';
import { deepEqual, diffCameras, diffConfig } from '../../../src/node/fleet/diff.js';

function load(text: string, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) {
  return parseConfig(text, { source: 'cams.yaml', baseDir: '/cfg', env, readFile: (p) => files[p] ?? '' });
}

const BEFORE = `
defaults:
  transport: udp
  username: admin
  password: file:pw
cameras:
  - {name: a, url: "rtsp://h/a"}
  - {name: b, url: "rtsp://h/b", transport: tcp}
  - {name: c, url: "rtsp://h/c"}
  - {name: d, url: "rtsp://h/d"}
`;

describe('diffCameras', () => {
  it('sorts cameras into added, removed, changed and unchanged by name', () => {
    const before = load(BEFORE, {}, { '/cfg/pw': 'one' });
    const after = load(`
# reordered, comments and flow style changed: none of that is a change
defaults:
  transport: udp
  username: admin
  password: file:pw
cameras:
  - name: c
    url: rtsp://h/c
  - {name: a, url: "rtsp://h/a", timeout: 3s}
  - {name: b, url: "rtsp://h/b", transport: tcp}
  - {name: e, url: "rtsp://h/e"}
`, {}, { '/cfg/pw': 'one' });
    const d = diffCameras(before.cameras, after.cameras);
    expect(d.added.map((s) => s.name)).toEqual(['e']);
    expect(d.removed.map((s) => s.name)).toEqual(['d']);
    expect(d.changed.map((c) => [c.name, c.keys])).toEqual([['a', ['timeoutMs']]]);
    expect(d.unchanged.map((s) => s.name)).toEqual(['c', 'b']);
    expect(d.changed[0].before.timeoutMs).toBe(10_000);
    expect(d.changed[0].after.timeoutMs).toBe(3000);
  });

  it('counts a changed default as a change of exactly the cameras that inherit it', () => {
    const before = load(BEFORE, {}, { '/cfg/pw': 'one' });
    const after = load(BEFORE.replace('transport: udp', 'transport: tcp'), {}, { '/cfg/pw': 'one' });
    const d = diffCameras(before.cameras, after.cameras);
    expect(d.changed.map((c) => c.name)).toEqual(['a', 'c', 'd']);
    expect(d.unchanged.map((s) => s.name)).toEqual(['b']); // it set tcp itself
    expect(d.changed.every((c) => c.keys.join() === 'transport')).toBe(true);
  });

  it('sees a rotated password file as a changed URL, without naming the password', () => {
    const before = load(BEFORE, {}, { '/cfg/pw': 'one' });
    const after = load(BEFORE, {}, { '/cfg/pw': 'two' });
    const d = diffCameras(before.cameras, after.cameras);
    expect(d.changed).toHaveLength(4);
    expect(d.changed.map((c) => c.keys)).toEqual([['url'], ['url'], ['url'], ['url']]);
  });

  it('treats a disabled camera as removed and re-enabling it as added', () => {
    const before = load(BEFORE, {}, { '/cfg/pw': 'one' });
    const off = load(BEFORE.replace('{name: c, url: "rtsp://h/c"}', '{name: c, url: "rtsp://h/c", enabled: false}'), {}, { '/cfg/pw': 'one' });
    expect(diffCameras(before.cameras, off.cameras).removed.map((s) => s.name)).toEqual(['c']);
    expect(diffCameras(off.cameras, before.cameras).added.map((s) => s.name)).toEqual(['c']);
  });

  it('reports changed process settings apart', () => {
    const a = load('metrics: {port: 9464}\nworkers: 2\ncameras: []\n');
    const b = load('metrics: {port: 9465}\nworkers: 2\nshard: 0/2\ncameras: []\n');
    expect(diffConfig(a, b).settings).toEqual(['metricsPort', 'shard']);
    expect(diffConfig(a, a).settings).toEqual([]);
  });

  it('refuses a set with a name twice', () => {
    const [s] = load('cameras:\n  - {name: a, url: "rtsp://h/a"}\n').cameras;
    expect(() => diffCameras([s, s], [])).toThrow(RangeError);
  });

  it('partitions any two sets: every name in exactly one bucket, and applying the diff gives the new set', () => {
    const spec = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      transport: fc.constantFrom('tcp', 'udp'),
      timeoutMs: fc.constantFrom(1000, 2000),
      record: fc.option(fc.record({ path: fc.constantFrom('/r/x', '/r/y'), overwrite: fc.boolean() }), { nil: undefined }),
    });
    const set = fc.uniqueArray(spec, { selector: (s) => s.name, maxLength: 6 });
    fc.assert(fc.property(set, set, (a, b) => {
      const running = a as unknown as CameraSpec[];
      const next = b as unknown as CameraSpec[];
      const d = diffCameras(running, next);
      const names = [...d.added, ...d.unchanged, ...d.changed.map((c) => c.after)].map((s) => s.name).sort();
      expect(names).toEqual(next.map((s) => s.name).sort());
      const kept = new Set([...d.unchanged, ...d.changed.map((c) => c.after)].map((s) => s.name));
      expect(d.removed.every((s) => !kept.has(s.name))).toBe(true);
      // running − removed − changed(before) + changed(after) + added = next
      const applied = new Map(running.map((s) => [s.name, s]));
      for (const s of d.removed) applied.delete(s.name);
      for (const c of d.changed) applied.set(c.name, c.after);
      for (const s of d.added) applied.set(s.name, s);
      expect(deepEqual([...applied.values()].sort((x, y) => x.name.localeCompare(y.name)), [...next].sort((x, y) => x.name.localeCompare(y.name)))).toBe(true);
      expect(diffCameras(next, next).unchanged).toHaveLength(next.length);
    }), { numRuns: 300 });
  });
});

describe('deepEqual', () => {
  it.each([
    [{ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ r: Infinity }, { r: Infinity }, true],
    [{ a: [1, 2] }, { a: [2, 1] }, false],
    [{ a: { b: 1 } }, { a: { b: 2 } }, false],
    [{ a: [] }, { a: {} }, false],
    [{ a: null }, { a: {} }, false],
    [{ a: '1' }, { a: 1 }, false],
  ])('%j vs %j → %s', (a, b, equal) => {
    expect(deepEqual(a, b)).toBe(equal);
  });
});
