// The fleet parts of the command without a server: the command line's defaults agree with the config file's, the
// worker count, the merged metrics text of several workers, the merged summary's exit code, the terminal's status
// block (a log line never runs on from it), and readiness.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, specsFromArgs, type Args } from '../../src/node/cli/args.js';
import { parseConfig, CAMERA_DEFAULTS } from '../../src/node/fleet/config.js';
import { workerOfCamera } from '../../src/node/cli/fleet.js';
import { mergeSummaries, workerCount } from '../../src/node/cli/workers.js';
import { readiness, StatusDisplay } from '../../src/node/cli/status.js';
import { hostOfHeader, isLoopbackHost, mergeMetricsText } from '../../src/node/metrics.js';
import type { Summary } from '../../src/node/cli/summary.js';

describe('defaults', () => {
  it('a URL on the command line and the same URL in a file resolve to the same camera (CAMERA_DEFAULTS is the one source)', () => {
    const url = 'rtsp://127.0.0.1:8554/h264';
    const [fromArgs] = specsFromArgs(parseCommandLine([url]) as Args);
    const [fromFile] = parseConfig(`cameras:\n  - name: x\n    url: ${url}\n`).cameras;
    expect({ ...fromArgs, name: 'x' }).toEqual(fromFile);
    expect(fromArgs!.timeoutMs).toBe(CAMERA_DEFAULTS.timeoutMs);
    expect(fromArgs!.poolLimitBytes).toBe(CAMERA_DEFAULTS.poolLimitBytes);
    expect(fromArgs!.queueLimitBytes).toBe(CAMERA_DEFAULTS.queueLimitBytes);
  });

  it('names command-line cameras by their URL without credentials, with the position when a URL repeats', () => {
    const a = parseCommandLine(['rtsp://u:p@h/a', 'rtsp://h/b', 'rtsp://h/a']) as Args;
    expect(specsFromArgs(a).map((s) => s.name)).toEqual(['rtsp://h/a (#1)', 'rtsp://h/b', 'rtsp://h/a (#3)']);
  });

  it('refuses camera options next to --config, and --watch without it', () => {
    expect(() => parseCommandLine(['--config', 'c.yaml', '--pool-limit', '8'])).toThrow(/--pool-limit is a camera option/);
    expect(() => parseCommandLine(['--config', 'c.yaml', 'rtsp://h/a'])).toThrow(/give no URL/);
    expect(() => parseCommandLine(['rtsp://h/a', '--watch'])).toThrow(/--watch re-reads the --config file/);
    expect(() => parseCommandLine(['rtsp://h/a', '--workers', '0'])).toThrow(/--workers must be auto or a number/);
    expect(parseCommandLine(['--config', 'c.yaml', '--workers', 'auto', '--shard', '1/2', '--ready-min', '1'])).toMatchObject({
      configFile: 'c.yaml', workers: 'auto', shard: '1/2', readyMin: 1,
    });
  });
});

describe('workers', () => {
  it('auto is one per core, and only as many as give each two cameras', () => {
    expect(workerCount(undefined, 50, 8)).toBe(1);
    expect(workerCount(3, 1, 8)).toBe(3);
    expect(workerCount('auto', 50, 8)).toBe(8);
    expect(workerCount('auto', 6, 8)).toBe(3);
    expect(workerCount('auto', 3, 8)).toBe(1);
  });

  it('a camera stays in its worker when others are added (rendezvous), and the split is not the shard split', () => {
    const names = Array.from({ length: 400 }, (_, i) => `cam-${i}`);
    const before = names.map((n) => workerOfCamera(n, 4));
    const counts = [0, 1, 2, 3].map((w) => before.filter((x) => x === w).length);
    for (const c of counts) expect(c).toBeGreaterThan(70); // ~100 each
    expect(names.map((n) => workerOfCamera(n, 4))).toEqual(before);
  });

  it('merges the workers\' metrics: one HELP/TYPE per metric, every sample labelled with its worker', () => {
    const w = (n: number) => `# HELP m_total a counter\n# TYPE m_total counter\nm_total{camera="c${n}"} ${n}\n` +
      `# HELP h a histogram\n# TYPE h histogram\nh_bucket{le="1"} ${n}\nh_sum ${n}\nh_count ${n}\n`;
    const text = mergeMetricsText([{ labels: { worker: '0' }, text: w(0) }, { labels: { worker: '1' }, text: w(1) }]);
    expect(text).toBe('# HELP m_total a counter\n# TYPE m_total counter\nm_total{camera="c0",worker="0"} 0\nm_total{camera="c1",worker="1"} 1\n' +
      '# HELP h a histogram\n# TYPE h histogram\nh_bucket{le="1",worker="0"} 0\nh_sum{worker="0"} 0\nh_count{worker="0"} 0\n' +
      'h_bucket{le="1",worker="1"} 1\nh_sum{worker="1"} 1\nh_count{worker="1"} 1\n');
  });

  it('one summary: Ctrl-C is exit 0, a GStreamer failure in any worker is 4, no camera played is 3', () => {
    const part = (played: boolean, exitCode = 0): Summary => ({
      durationS: 1, exitReason: 'duration', exitCode, cameras: [{ name: 'x', url: 'rtsp://h/', index: 0, state: 'stopped', played, reconnects: 0 }],
      streams: [], pools: [], process: { rssBytes: 1, heapUsedBytes: 1 },
    });
    const slots = (...s: Summary[]) => s.map((summary, index) => ({ index, summary, restarts: 0, exitCode: 0 }));
    expect(mergeSummaries(slots(part(true), part(false)), 'SIGINT', Date.now()).exitCode).toBe(0);
    expect(mergeSummaries(slots(part(true), part(true, 4)), 'SIGINT', Date.now()).exitCode).toBe(4);
    expect(mergeSummaries(slots(part(false, 3), part(false, 3)), undefined, Date.now()).exitCode).toBe(3);
    expect(mergeSummaries(slots(part(true), part(false, 3)), undefined, Date.now())).toMatchObject({ exitCode: 0, exitReason: 'duration' });
  });
});

describe('status', () => {
  it('readiness: every camera, or --ready-min of them; no camera is ready', () => {
    expect(readiness(['playing', 'reconnecting'])).toEqual({ ready: false, playing: 1 });
    expect(readiness(['playing', 'reconnecting'], 1)).toEqual({ ready: true, playing: 1 });
    expect(readiness([], undefined).ready).toBe(true);
  });

  it('a log line erases the status block first and the block is drawn again below it (issue: a reconnect line ran on from the status row)', () => {
    let screen = '';
    const display = new StatusDisplay({ write: (t: string) => (screen += t), rows: 40, columns: 80 });
    display.draw(['header', '  cam-a playing', '  cam-b connecting']);
    screen = '';
    display.log('wasm-rtsp: cam-b: reconnecting');
    // Back to the block's first row (up 2), erase to the end of the screen, the log line, the block again.
    expect(screen).toBe('\r\x1b[2A\x1b[Jwasm-rtsp: cam-b: reconnecting\nheader\n  cam-a playing\n  cam-b connecting');
    screen = '';
    display.clear();
    expect(screen).toBe('\r\x1b[2A\x1b[J');
    screen = '';
    display.log('after');
    expect(screen).toBe('after\n');
  });

  it('the block fits the terminal: long lines cut, extra cameras summed up', () => {
    let screen = '';
    const display = new StatusDisplay({ write: (t: string) => (screen += t), rows: 6, columns: 30 });
    display.draw(['h', ...Array.from({ length: 10 }, (_, i) => `  camera-${i} ${'x'.repeat(40)}`)]);
    const lines = screen.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('  … and 8 more camera(s)');
    for (const l of lines) expect(l.length).toBeLessThan(30);
  });
});

describe('metrics host check', () => {
  it('knows loopback addresses and parses Host headers', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(hostOfHeader('localhost:9464')).toBe('localhost');
    expect(hostOfHeader('[::1]:9464')).toBe('::1');
    expect(hostOfHeader('Evil.Example')).toBe('evil.example');
    expect(hostOfHeader('a b')).toBeUndefined();
  });
});
