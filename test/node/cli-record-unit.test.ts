// The recording options of the command line, without starting anything: names from #name=, per-camera templates,
// option checks, and the thread-pool size a recording run asks for.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, perCameraTemplate, specsFromArgs, splitCameraName, UsageError, type Args } from '../../src/node/cli/args.js';
import { MAX_THREAD_POOL_SIZE, POOL_SIZED_ENV, threadPoolSizeFor } from '../../src/node/cli/record.js';

const parse = (argv: string[]) => parseCommandLine(argv, {}) as Args;

describe('command-line recording', () => {
  it('takes a camera name from a trailing #name= and strips it from the URL (a # in a password stays)', () => {
    expect(splitCameraName('rtsp://h/s#name=door')).toEqual({ url: 'rtsp://h/s', name: 'door' });
    expect(splitCameraName('rtsp://u:p#w@h/s')).toEqual({ url: 'rtsp://u:p#w@h/s' });
    expect(splitCameraName('rtsp://h/s#name=a b')).toEqual({ url: 'rtsp://h/s#name=a b' });
    const specs = specsFromArgs(parse(['rtsp://u:pw@h:8554/s#name=door', 'rtsp://h:8554/s', '--record', 'r/%H.mp4']));
    expect(specs.map((s) => [s.name, s.url, s.record?.camera])).toEqual([
      ['door', 'rtsp://u:pw@h:8554/s', 'door'], ['rtsp://h:8554/s', 'rtsp://h:8554/s', 'h_8554_s'],
    ]);
  });

  it('gives several cameras distinct files: -{camera} before the extension, unique file names', () => {
    expect(perCameraTemplate('out.mp4', 1)).toBe('out.mp4');
    expect(perCameraTemplate('rec/out.mp4', 2)).toBe('rec/out-{camera}.mp4');
    expect(perCameraTemplate('rec/{camera}/%H.mp4', 2)).toBe('rec/{camera}/%H.mp4');
    const specs = specsFromArgs(parse(['rtsp://h/s', 'rtsp://h/s', '--record', 'out.ts', '--overwrite', '--segment', '5m', '--retain', '7d',
      '--retain-bytes', '2GiB', '--snapshot', 'snap.jpg']));
    expect(specs.map((s) => s.record)).toEqual([
      { path: 'out-{camera}.ts', camera: 'h_s', overwrite: true, segmentMs: 300_000, retainMs: 7 * 86_400_000, retainBytes: 2 * 2 ** 30,
        snapshotIntervalMs: 10_000, snapshotPath: 'snap-{camera}.jpg' },
      expect.objectContaining({ camera: 'h_s-2' }),
    ]);
  });

  it('fills {camera} into --pipeline', () => {
    const [spec] = specsFromArgs(parse(['rtsp://h/s#name=a', '--pipeline', 'filesink location={camera}-{stream}.bin']));
    expect(spec!.pipeline).toBe('filesink location=a-{stream}.bin');
  });

  it.each([
    [['rtsp://h/s', '--segment', '5'], /--segment is a recording option/],
    [['rtsp://h/s', '--record', 'a.mp4', '--segment', '0.5'], /--segment must be a duration/],
    [['rtsp://h/s', '--record', 'a.mp4', '--retain-bytes', '10kB'], /at least 1 MiB/],
    [['rtsp://h/s', '--record', 'a.avi'], /BAD_EXTENSION/],
    [['rtsp://h/s', '--record', 'a-%Q.mp4'], /BAD_TEMPLATE/],
    [['rtsp://h/s', '--record', 'a.mp4', '--rtp'], /leave out --rtp/],
    [['rtsp://h/s', '--record', 'a.mp4', '--snapshot', 'a.png'], /--snapshot/],
  ])('refuses %j', (argv, message) => {
    expect(() => specsFromArgs(parse(argv as string[]))).toThrow(UsageError);
    expect(() => specsFromArgs(parse(argv as string[]))).toThrow(message);
  });

  it('refuses two cameras with one #name=', () => {
    expect(() => specsFromArgs(parse(['rtsp://h/a#name=x', 'rtsp://h/b#name=x']))).toThrow(/two cameras are named x/);
  });

  it('sizes the thread pool for recording runs only, unless the user set it', () => {
    expect(threadPoolSizeFor(['rtsp://h/a', 'rtsp://h/b', 'rtsp://h/c', '--record', 'x.mp4'], {})).toBe(10);
    expect(threadPoolSizeFor(['rtsp://h/a', '--pipeline', 'fakesink'], {})).toBeUndefined();
    expect(threadPoolSizeFor(['rtsp://h/a', '--record', 'x.mp4'], { UV_THREADPOOL_SIZE: '64' })).toBeUndefined();
    expect(threadPoolSizeFor(['rtsp://h/a', '--record', 'x.mp4'], { [POOL_SIZED_ENV]: '1' })).toBeUndefined();
    expect(threadPoolSizeFor(['--record', 'x.avi', 'rtsp://h/a'], {})).toBeUndefined(); // the run reports it
    const many = Array.from({ length: 300 }, (_, i) => `rtsp://h/${i}`);
    expect(threadPoolSizeFor([...many, '--record', 'x.mp4'], {})).toBe(MAX_THREAD_POOL_SIZE);
  });
});
