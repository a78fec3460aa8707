// The fleet config file: what it resolves to (defaults, credentials, units, paths) and how each mistake is reported
// (file, line, column, key path, a message that says what to write; never a password).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../src/node/fleet/errors.js';
import { CAMERA_DEFAULTS, configSchema, loadConfig, parseConfig, toBytes, toSeconds } from '../../../src/node/fleet/config.js';

const BASE = '/etc/wasm-rtsp';

function parse(text: string, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) {
  return parseConfig(text, {
    source: 'cams.yaml', baseDir: BASE, env,
    readFile: (p) => {
      if (p in files) return files[p];
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    },
  });
}

/** The ConfigError parse throws (fails the test when it does not throw one). */
function errorOf(text: string, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}): ConfigError {
  try {
    parse(text, env, files);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG');
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolving a config', () => {
  it('applies built-in defaults to a minimal camera, as the command line does', () => {
    const c = parse('cameras:\n  - name: a\n    url: rtsp://10.0.0.1/s\n');
    expect(c.cameras).toEqual([{
      name: 'a', url: 'rtsp://10.0.0.1/s', transport: 'tcp', frames: true, timeoutMs: 10_000,
      mediaTimeoutMs: CAMERA_DEFAULTS.mediaTimeoutMs, frameTimeoutMs: 0, readIntervalMs: CAMERA_DEFAULTS.readIntervalMs, retries: Infinity, retryDelayMs: CAMERA_DEFAULTS.retryDelayMs,
      retryMaxDelayMs: CAMERA_DEFAULTS.retryMaxDelayMs, poolLimitBytes: 4 * 2 ** 20, queueLimitBytes: 2048 * 1024,
    }]);
    expect(c.settings).toEqual({});
    expect(c.disabled).toEqual([]);
    expect(c.lines).toEqual({ a: 2 });
  });

  it('merges defaults under each camera, the camera winning key by key', () => {
    const c = parse(`
defaults:
  transport: udp
  timeout: 5
  retries: 3
  frames: false
cameras:
  - name: a
    url: rtsp://h/a
  - name: b
    url: rtsp://h/b
    transport: tcp
    retries: inf
`);
    expect(c.cameras.map((s) => [s.name, s.transport, s.timeoutMs, s.retries, s.frames])).toEqual([
      ['a', 'udp', 5000, 3, false],
      ['b', 'tcp', 5000, Infinity, false],
    ]);
  });

  it('converts durations and sizes with units; bare poolLimit is MiB and queueLimit KiB, as on the command line', () => {
    const [s] = parse(`
cameras:
  - name: a
    url: rtsp://h/a
    timeout: 500ms
    mediaTimeout: 2m
    retryDelay: 0.5
    retryMaxDelay: 1h
    poolLimit: 8
    queueLimit: 512
`).cameras;
    expect([s.timeoutMs, s.mediaTimeoutMs, s.retryDelayMs, s.retryMaxDelayMs]).toEqual([500, 120_000, 500, 3_600_000]);
    expect(s.poolLimitBytes).toBe(8 * 2 ** 20);
    expect(s.queueLimitBytes).toBe(512 * 1024);
    const [t] = parse('cameras:\n  - {name: a, url: "rtsp://h/a", poolLimit: 100KiB, queueLimit: 1MB}\n').cameras;
    expect(t.poolLimitBytes).toBe(65536); // rounded down to whole 64 KiB slabs, as the pool does
    expect(t.queueLimitBytes).toBe(1_000_000);
    expect(toSeconds('7d')).toBe(7 * 86400);
    expect(toBytes('2GiB')).toBe(2 ** 31);
    expect(toBytes('3kB')).toBe(3000);
  });

  it('resolves credentials inline, from env:, from file: (one trailing newline dropped) and plain:', () => {
    const c = parse(`
cameras:
  - {name: a, url: "rtsp://h/a", username: admin, password: "p@ss:w/rd"}
  - {name: b, url: "rtsp://h/b", username: env:CAM_USER, password: env:CAM_PASS}
  - {name: c, url: "rtsp://h/c", username: viewer, password: file:secrets/c.txt}
  - {name: d, url: "rtsp://h/d", username: u, password: "plain:env:literally"}
  - {name: e, url: "rtsp://h/e", credentials: file:/run/secrets/e}
  - {name: f, url: "rtsp://h/f", credentials: env:CAM_F}
`, { CAM_USER: 'root', CAM_PASS: 'é!', CAM_F: 'x:y:z' }, { [`${BASE}/secrets/c.txt`]: 'from-file\n', '/run/secrets/e': 'eu:ep\r\n' });
    expect(c.cameras.map((s) => s.url)).toEqual([
      'rtsp://admin:p%40ss%3Aw%2Frd@h/a',
      `rtsp://root:${encodeURIComponent('é!')}@h/b`,
      'rtsp://viewer:from-file@h/c',
      'rtsp://u:env%3Aliterally@h/d',
      'rtsp://eu:ep@h/e',
      'rtsp://x:y%3Az@h/f',
    ]);
  });

  it('lets a URL keep its own credentials over inherited ones', () => {
    const c = parse(`
defaults: {username: admin, password: secret}
cameras:
  - {name: a, url: "rtsp://own:pw@h/a"}
  - {name: b, url: "rtsp://h/b"}
`);
    expect(c.cameras.map((s) => s.url)).toEqual(['rtsp://own:pw@h/a', 'rtsp://admin:secret@h/b']);
  });

  it('drops disabled cameras without resolving them (a switched-off camera needs no secret)', () => {
    const c = parse(`
cameras:
  - {name: a, url: "rtsp://h/a"}
  - {name: b, url: "rtsp://h/b", enabled: false, username: u, password: env:GONE}
`);
    expect(c.cameras.map((s) => s.name)).toEqual(['a']);
    expect(c.disabled).toEqual(['b']);
    expect(c.lines).toEqual({ a: 3, b: 4 });
  });

  it('applies enabled: false from defaults unless a camera switches itself on', () => {
    const c = parse('defaults: {enabled: false}\ncameras:\n  - {name: a, url: "rtsp://h/a"}\n  - {name: b, url: "rtsp://h/b", enabled: true}\n');
    expect(c.cameras.map((s) => s.name)).toEqual(['b']);
  });

  it('fills {name} into the record template and resolves paths against the config folder', () => {
    const c = parse(`
defaults:
  record: rec/{name}/%Y%m%d-%H%M%S.mp4
  segment: 10m
  retain: 7d
  retainBytes: 50GiB
cameras:
  - {name: a, url: "rtsp://h/a", tlsCa: ca.pem}
  - {name: b, url: "rtsp://h/b", overwrite: true, record: /data/b.mp4}
  - {name: c, url: "rtsp://h/c", pipeline: "videoconvert ! fakesink"}
`);
    expect(c.cameras[0].record).toEqual({
      path: `${BASE}/rec/{camera}/%Y%m%d-%H%M%S.mp4`, camera: 'a', segmentMs: 600_000, retainMs: 7 * 86_400_000, retainBytes: 50 * 2 ** 30, overwrite: false,
    });
    expect(c.cameras[0].tlsCaFile).toBe(`${BASE}/ca.pem`);
    expect(c.cameras[1].record).toMatchObject({ path: '/data/b.mp4', overwrite: true });
    // A camera's own pipeline replaces the record it would inherit.
    expect(c.cameras[2].record).toBeUndefined();
    expect(c.cameras[2].pipeline).toBe('videoconvert ! fakesink');
  });

  it('reads the global settings', () => {
    const c = parse('metrics: {port: 9464, host: 0.0.0.0}\nworkers: 2\nshard: 1/3\ncameras: []\n');
    expect(c.settings).toEqual({ metricsPort: 9464, metricsHost: '0.0.0.0', workers: 2, shard: { index: 1, count: 3 } });
    expect(c.cameras).toEqual([]);
  });

  it('accepts x- keys for YAML anchors, merged into cameras with <<', () => {
    const c = parse(`
x-lan: &lan {transport: udp, timeout: 3s}
cameras:
  - {name: a, url: "rtsp://h/a", <<: *lan}
`);
    expect(c.cameras[0].transport).toBe('udp');
  });

  it('reads JSON files, with line numbers in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
    const file = join(dir, 'cams.json');
    writeFileSync(file, JSON.stringify({ cameras: [{ name: 'a', url: 'rtsp://h/a' }, { name: 'b', url: 'rtsp://h/b', transport: 'sctp' }] }, null, 2));
    let err: ConfigError | undefined;
    try {
      loadConfig(file);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues).toEqual([expect.objectContaining({ source: file, line: 10, column: 20, path: 'cameras[1].transport', camera: 'b' })]);
    writeFileSync(file, JSON.stringify({ cameras: [{ name: 'a', url: 'rtsp://h/a' }] }));
    expect(loadConfig(file).cameras[0].name).toBe('a');
  });

  it('names the file it cannot read', () => {
    expect(() => loadConfig('/nonexistent/cams.yaml')).toThrow(/^\/nonexistent\/cams\.yaml: cannot read the config file: ENOENT/);
  });
});

/** One mistake: the text, and the issue expected (line, column, path, a pattern of the message). */
const MISTAKES: Array<[string, string, Partial<ConfigIssue> & { match: RegExp }, NodeJS.ProcessEnv?]> = [
  ['YAML syntax', 'cameras:\n  - name: a\n   url: x\n', { line: 3, path: '', match: /^YAML: / }],
  ['duplicate YAML key', 'cameras:\n  - name: a\n    name: b\n    url: rtsp://h/\n', { line: 3, match: /YAML: .*unique/i }],
  ['empty file', '# nothing\n', { line: 1, match: /empty/ }],
  ['root not a mapping', '- a\n- b\n', { line: 1, path: '', match: /must be a mapping/ }],
  ['no cameras', 'workers: 2\n', { line: 1, path: '', match: /missing key "cameras"/ }],
  ['unknown key, near a known one', 'cameras:\n  - name: a\n    url: rtsp://h/\n    trasport: udp\n',
    { line: 4, column: 5, path: 'cameras[0].trasport', match: /unknown key: did you mean "transport"\?/ }],
  ['unknown top-level key', 'camera: []\ncameras: []\n', { line: 1, column: 1, path: 'camera', match: /did you mean "cameras"/ }],
  ['bad enum', 'cameras:\n  - name: a\n    url: rtsp://h/\n    transport: sctp\n',
    { line: 4, column: 16, path: 'cameras[0].transport', match: /must be one of tcp, udp, not "sctp"/ }],
  ['number where a string goes', 'cameras:\n  - name: 1234\n    url: rtsp://h/\n', { line: 2, column: 11, path: 'cameras[0].name', match: /must be a string, not 1234 \(put it in quotes\)/ }],
  ['YAML 1.1 boolean', 'cameras:\n  - {name: a, url: "rtsp://h/", enabled: yes}\n', { line: 2, path: 'cameras[0].enabled', match: /must be a boolean, not "yes"/ }],
  ['path in a name', 'cameras:\n  - name: ../etc\n    url: rtsp://h/\n', { line: 2, path: 'cameras[0].name', match: /safe in file names/ }],
  ['space in a name', 'cameras:\n  - name: front door\n    url: rtsp://h/\n', { line: 2, match: /safe in file names/ }],
  ['hidden-file name', 'cameras:\n  - name: .cam\n    url: rtsp://h/\n', { line: 2, match: /starting with a letter or digit/ }],
  ['missing url', 'cameras:\n  - name: a\n', { line: 2, column: 5, path: 'cameras[0]', match: /missing key "url"/ }],
  ['wrong scheme', 'cameras:\n  - name: a\n    url: http://h/\n', { line: 3, column: 10, match: /must be an rtsp:\/\/ or rtsps:\/\/ URL/ }],
  ['bad port', 'cameras:\n  - name: a\n    url: rtsp://h:99999/\n', { line: 3, path: 'cameras[0].url', match: /bad camera URL .*port.*\[BAD_URL_PORT\]/ }],
  ['duration form', 'cameras:\n  - {name: a, url: "rtsp://h/", timeout: 5 minutes}\n', { line: 2, match: /must be a duration/ }],
  ['duration range', 'cameras:\n  - {name: a, url: "rtsp://h/", timeout: 2h}\n', { line: 2, path: 'cameras[0].timeout', match: /must be from 100ms to 1h, not "2h"/ }],
  ['range of an inherited value points at defaults', 'defaults:\n  mediaTimeout: 0\ncameras:\n  - {name: a, url: "rtsp://h/"}\n',
    { line: 2, column: 17, path: 'defaults.mediaTimeout', camera: 'a', match: /must be from 100ms/ }],
  ['pool too large', 'cameras:\n  - {name: a, url: "rtsp://h/", poolLimit: 1GiB}\n', { line: 2, match: /must be from 64KiB to 256MiB/ }],
  ['retries', 'cameras:\n  - {name: a, url: "rtsp://h/", retries: 1.5}\n', { line: 2, match: /whole number of retries, or inf/ }],
  ['env var not set', 'cameras:\n  - {name: a, url: "rtsp://h/", username: u, password: env:CAM_PASS}\n',
    { line: 2, path: 'cameras[0].password', match: /environment variable CAM_PASS is not set/ }],
  ['file missing', 'cameras:\n  - {name: a, url: "rtsp://h/", username: u, password: file:pw.txt}\n',
    { line: 2, match: /cannot read \/etc\/wasm-rtsp\/pw\.txt: ENOENT/ }],
  ['credentials without colon', 'cameras:\n  - {name: a, url: "rtsp://h/", credentials: env:C}\n', { match: /env:C must hold user:password/ }, { C: 'nocolon' }],
  ['credentials not a reference', 'cameras:\n  - {name: a, url: "rtsp://h/", credentials: "u:p"}\n', { match: /must be env:VARIABLE or file:PATH/ }],
  ['username without password', 'cameras:\n  - {name: a, url: "rtsp://h/", username: u}\n', { path: 'cameras[0].username', match: /needs a password/ }],
  ['password without username', 'defaults: {password: p}\ncameras:\n  - {name: a, url: "rtsp://h/"}\n', { line: 1, path: 'defaults.password', match: /needs a username/ }],
  ['credentials twice', 'cameras:\n  - {name: a, url: "rtsp://u:p@h/", username: v, password: w}\n', { path: 'cameras[0].username', match: /URL carries credentials already/ }],
  ['pipeline and record together', 'cameras:\n  - {name: a, url: "rtsp://h/", pipeline: fakesink, record: a.mp4}\n', { path: 'cameras[0].record', match: /exclude each other/ }],
  ['recording option without record', 'cameras:\n  - {name: a, url: "rtsp://h/", segment: 10m}\n', { path: 'cameras[0].segment', match: /recording option.*set record/ }],
  ['record without a container', 'cameras:\n  - {name: a, url: "rtsp://h/", record: a.avi}\n', { path: 'cameras[0].record', match: /no container.*\[BAD_EXTENSION\]/ }],
  ['record with an unknown field', 'cameras:\n  - {name: a, url: "rtsp://h/", record: "{host}.mp4"}\n', { path: 'cameras[0].record', match: /unknown field \{host\}.*\[BAD_TEMPLATE\]/ }],
  ['record with frames: false', 'cameras:\n  - {name: a, url: "rtsp://h/", frames: false, record: a.mp4}\n', { path: 'cameras[0].frames', match: /frames: false and record exclude/ }],
  ['snapshot not a JPEG', 'cameras:\n  - {name: a, url: "rtsp://h/", record: a.mp4, snapshot: a.png}\n', { path: 'cameras[0].snapshot', match: /\.jpg or \.jpeg/ }],
  ['snapshot without record', 'cameras:\n  - {name: a, url: "rtsp://h/", snapshotInterval: 5s}\n', { path: 'cameras[0].snapshotInterval', match: /recording option.*set record/ }],
  ['shard out of range', 'shard: 3/3\ncameras: []\n', { line: 1, column: 8, path: 'shard', match: /counted from 0 to 2/ }],
  ['shard form', 'shard: "3 of 4"\ncameras: []\n', { line: 1, path: 'shard', match: /must be a shard I\/N/ }],
  ['metrics port', 'metrics: {port: 70000}\ncameras: []\n', { line: 1, path: 'metrics.port', match: /at most 65535/ }],
];

describe('mistakes', () => {
  it.each(MISTAKES)('%s', (_what, text, expected, env) => {
    const err = errorOf(text, env);
    const { match, ...fields } = expected;
    expect(err.issues[0]).toMatchObject({ source: 'cams.yaml', ...fields });
    expect(err.issues[0].message).toMatch(match);
    // The message starts with file:line[:column]: path, ready for an editor.
    expect(err.message.split('\n')[0]).toMatch(/^cams\.yaml(:\d+(:\d+)?)?: /);
  });

  it('names both lines of a duplicate camera name', () => {
    const err = errorOf('cameras:\n  - name: a\n    url: rtsp://h/1\n  - name: b\n    url: rtsp://h/2\n  - name: a\n    url: rtsp://h/3\n');
    expect(err.issues).toEqual([expect.objectContaining({ line: 6, column: 11, path: 'cameras[2].name' })]);
    expect(err.message).toContain('already used at line 2');
  });

  it('counts names that differ only in case as the same (they name files)', () => {
    const err = errorOf('cameras:\n  - {name: Lobby, url: "rtsp://h/1"}\n  - {name: lobby, url: "rtsp://h/2"}\n');
    expect(err.issues).toEqual([expect.objectContaining({ line: 3, path: 'cameras[1].name' })]);
    expect(err.message).toContain('differs from "Lobby" (line 2, cameras[0]) only in case');
  });

  it('names both cameras recording to the same path', () => {
    const err = errorOf('defaults: {record: /rec/out.mp4}\ncameras:\n  - {name: a, url: "rtsp://h/1"}\n  - {name: b, url: "rtsp://h/2"}\n');
    expect(err.issues).toEqual([expect.objectContaining({ line: 4, path: 'cameras[1].name', camera: 'b' })]);
    expect(err.message).toMatch(/same path as camera "a" \(line 3\).*\{camera\}/);
  });

  it('reports every problem of the file in one error, in file order', () => {
    const err = errorOf(`
defaults:
  transport: quic
cameras:
  - name: a
    url: rtsp://h/
    timeout: soon
  - name: a
    url: ftp://h/
  - name: ok
    url: rtsp://h/
    colour: red
`);
    expect(err.issues.map((i) => [i.line, i.path])).toEqual([
      [3, 'defaults.transport'], [7, 'cameras[0].timeout'], [8, 'cameras[1].name'], [9, 'cameras[1].url'], [12, 'cameras[2].colour'],
    ]);
    expect(err.message.split('\n')).toHaveLength(5);
  });

  it('never puts a password in a message', () => {
    const texts = [
      'cameras:\n  - {name: a, url: "rtsp://admin:hunter2@h:99999/"}\n',
      'cameras:\n  - {name: a, url: "http://admin:hunter2@h/"}\n',
      'cameras:\n  - {name: a, url: "rtsp://h/", username: u, password: 1234}\n',
      'cameras:\n  - {name: a, url: "rtsp://admin:hunter2@h/", username: u, password: hunter2}\n',
    ];
    for (const text of texts) {
      const err = errorOf(text);
      expect(err.message).not.toMatch(/hunter2|1234/);
      expect(JSON.stringify(err.context)).not.toMatch(/hunter2|1234/);
    }
  });

  it('stops an alias bomb instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) bomb.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`);
    const err = errorOf(bomb.join('\n') + '\ncameras: []\n');
    expect(err.message).toMatch(/YAML: .*alias/i);
  });
});

describe('the published schema', () => {
  const schema = configSchema() as { definitions: Record<string, { properties: Record<string, unknown> }> };

  it('gives defaults every camera option but name and url', () => {
    const camera = Object.keys(schema.definitions.camera.properties).filter((k) => k !== 'name' && k !== 'url');
    expect(Object.keys(schema.definitions.defaults.properties)).toEqual(camera);
  });

  it('ships with the package', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(pkg.files).toContain('schema');
  });
});
