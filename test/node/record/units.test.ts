// The recorder's pure parts, table-driven: path templates (fields, strftime, names made safe, the directories that must
// exist), the retention choice, and the index file (last record wins, lines cut by a crash, compaction).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkTemplate, fixedDirectory, indexDirectory, renderTemplate, safeName, SegmentIndex, segmentsToDelete, type SegmentRecord,
} from '../../../src/node/record/index.js';

const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-rec-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 2026-03-05 07:08:09.250 UTC, a Thursday, day 64 of the year. */
const T = Date.UTC(2026, 2, 5, 7, 8, 9, 250);
const F = { camera: 'door', stream: 'video0' };

describe('path templates', () => {
  it.each([
    ['rec/{camera}/%Y%m%d-%H%M%S.mp4', 'rec/door/20260305-070809.mp4'],
    ['{camera}_{stream}_%y-%j_%H%%.mkv', 'door_video0_26-064_07%.mkv'],
    ['%s.ts', `${Math.floor(T / 1000)}.ts`],
    ['/abs/%z/x.mp4', '/abs/+0000/x.mp4'],
  ])('renders %s in UTC', (template, expected) => {
    checkTemplate(template);
    expect(renderTemplate(template, F, T, true)).toBe(expected);
  });

  it('renders local time by default', () => {
    const d = new Date(T);
    expect(renderTemplate('%H%M', F, T)).toBe(String(d.getHours()).padStart(2, '0') + String(d.getMinutes()).padStart(2, '0'));
  });

  it.each([
    ['a/b', 'a_b'], ['..', '__'], ['.', '_'], ['', '_'], ['cam 1:ä', 'cam_1__'], ['ok.name-1_x', 'ok.name-1_x'],
  ])('makes the name %j safe as one path component: %j', (name, safe) => {
    expect(safeName(name)).toBe(safe);
    expect(renderTemplate('{camera}.mp4', { camera: name, stream: 's' }, T, true)).toBe(`${safe}.mp4`);
  });

  it.each([
    ['rec.mp4', '.mp4'], ['REC.MKV', '.mkv'], ['a/b.ts', '.ts'],
  ])('picks the container of %s by its extension', (template, extension) => {
    expect(checkTemplate(template).extension).toBe(extension);
  });

  it.each([
    ['rec.avi', 'BAD_EXTENSION'], ['rec.mp4.part', 'BAD_EXTENSION'], ['%Q.mp4', 'BAD_TEMPLATE'], ['{name}.mp4', 'BAD_TEMPLATE'],
    ['', 'BAD_TEMPLATE'], ['a\0b.mp4', 'BAD_TEMPLATE'], ['rec-%.mp4', 'BAD_TEMPLATE'],
  ])('refuses %j (%s)', (template, code) => {
    expect(() => checkTemplate(template)).toThrow(expect.objectContaining({ code }));
  });

  it.each([
    ['rec/{camera}/%Y/x.mp4', 'rec', 'rec/door'],
    ['/var/rec/%Y%m%d/{camera}.mp4', '/var/rec', '/var/rec'],
    ['x-%H.mp4', '.', '.'],
    ['rec.mp4', '.', '.'],
    ['/x.mp4', '/', '/'],
    ['a/b/{camera}-{stream}/c/%H.ts', 'a/b', 'a/b/door-video0/c'],
  ])('%s: must exist %j, index in %j', (template, fixed, index) => {
    expect(fixedDirectory(template)).toBe(fixed);
    expect(indexDirectory(template, F)).toBe(index);
  });
});

function seg(path: string, startMs: number, durationMs: number | null, bytes: number | null, state: SegmentRecord['state'] = 'closed'): SegmentRecord {
  return {
    path, camera: 'c', stream: 'video0', state, start: new Date(startMs).toISOString(), startMs, clock: 'arrival', durationMs, bytes,
    frames: 1, keyframes: 1, gapBeforeMs: 0, discontinuities: 0, droppedFrames: 0, reason: 'rotate',
  };
}

describe('retention', () => {
  const now = 100_000;
  const segs = [seg('a', 10_000, 10_000, 100), seg('b', 20_000, 10_000, 100, 'failed'), seg('c', 30_000, 10_000, 100), seg('d', 90_000, null, null, 'open')];

  it.each([
    [{}, 0, []],
    [{ retainSeconds: 75 }, 0, ['a']],
    [{ retainSeconds: 65 }, 0, ['a', 'b']],
    [{ retainSeconds: 1 }, 0, ['a', 'b', 'c']],
    [{ retainBytes: 300 }, 0, []],
    [{ retainBytes: 300 }, 50, ['a']],
    [{ retainBytes: 250 }, 0, ['a']],
    [{ retainBytes: 1 }, 1000, ['a', 'b', 'c']],
    [{ retainSeconds: 75, retainBytes: 150 }, 0, ['a', 'b']],
  ] as const)('limits %j with %i bytes open delete %j, never the open segment', (limits, openBytes, expected) => {
    expect(segmentsToDelete(segs, limits, now, openBytes).map((s) => s.path)).toEqual(expected);
  });

  it('deletes oldest first whatever the order of the records', () => {
    expect(segmentsToDelete([segs[2]!, segs[0]!, segs[1]!], { retainBytes: 150 }, now, 0).map((s) => s.path)).toEqual(['a', 'b']);
  });
});

describe('SegmentIndex', () => {
  it('keeps the last record of each path, skips a line cut by a crash, drops deleted ones and compacts', () => {
    const file = join(dir, 'i.jsonl');
    const lines = [seg('a', 1, null, null, 'open'), seg('b', 2, null, null, 'open'), seg('a', 1, 5, 10), seg('c', 3, 4, 5), seg('c', 3, 4, 5, 'deleted')];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"path":"d","sta');
    const index = new SegmentIndex(file);
    expect(index.segments().map((s) => [s.path, s.state])).toEqual([['b', 'open'], ['a', 'closed']]);
    // 'b' was left open by a process that died: closed as crashed (its file is gone: 0 bytes).
    const fixed = index.closeCrashed(() => false);
    expect(fixed.map((s) => [s.path, s.state, s.crashed, s.bytes])).toEqual([['b', 'closed', true, 0]]);
    index.put(seg('e', 5, null, null, 'open'));
    index.compact();
    const after = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SegmentRecord);
    expect(after.map((s) => [s.path, s.state])).toEqual([['a', 'closed'], ['b', 'closed'], ['e', 'open']]);
  });
});
