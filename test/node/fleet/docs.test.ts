// docs/config.md stays true: its full example loads and uses every option of the schema, and its sample errors are
// the ones the loader prints.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema, parseConfig } from '../../../src/node/fleet/config.js';
import { ConfigError } from '../../../src/node/fleet/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(root + 'docs/config.md', 'utf8');

/** The first fenced block of `lang` after `heading`. */
function block(heading: string, lang: string): string {
  const from = doc.indexOf(heading);
  expect(from, heading).toBeGreaterThanOrEqual(0);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(from));
  expect(m, `${lang} block after ${heading}`).not.toBeNull();
  return m![1];
}

const example = block('## Full example', 'yaml');
const BASE = '/etc/wasm-rtsp';

function loadExample() {
  return parseConfig(example, {
    source: 'docs/config.md', baseDir: BASE,
    env: { CAMERA_USER: 'viewer', WAREHOUSE_CREDENTIALS: 'ops:s3cret' },
    readFile: (p) => {
      if (p === `${BASE}/secrets/camera.pw`) return 'pw\n';
      throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    },
  });
}

describe('docs/config.md', () => {
  it('has a full example that loads', () => {
    const c = loadExample();
    expect(c.cameras.map((s) => s.name)).toEqual(['entrance', 'parking', 'lobby', 'warehouse']);
    expect(c.disabled).toEqual(['old-gate']);
    expect(c.settings).toEqual({ metricsPort: 9464, metricsHost: '0.0.0.0', workers: 2, shard: { index: 0, count: 1 } });
    const [entrance, parking, lobby, warehouse] = c.cameras;
    expect(entrance.url).toBe('rtsp://viewer:pw@10.0.0.11/Streaming/Channels/101');
    expect(entrance.record).toEqual({
      path: `${BASE}/recordings/{camera}/%Y%m%d-%H%M%S.mp4`, camera: 'entrance', segmentMs: 600_000, retainMs: 7 * 86_400_000, retainBytes: 50 * 2 ** 30, overwrite: false,
    });
    expect([parking.transport, parking.mediaTimeoutMs, parking.retries]).toEqual(['udp', 5000, 20]);
    expect(lobby.url).toBe('rtsp://viewer:env%3Anot-a-variable@10.0.0.13/stream1');
    expect(lobby.record).toBeUndefined();
    expect(lobby.pipeline).toBe('videoconvert ! autovideosink');
    expect(lobby.frames).toBe(false);
    expect(warehouse).toMatchObject({
      url: 'rtsps://ops:s3cret@10.0.0.14:322/live', frames: true, tlsCaFile: `${BASE}/certs/warehouse-ca.pem`,
      record: {
        path: '/srv/video/{camera}.mp4', camera: 'warehouse', segmentMs: 3_600_000, retainMs: 30 * 86_400_000, retainBytes: 200e9, overwrite: true,
        snapshotPath: '/srv/video/{camera}.jpg', snapshotIntervalMs: 30_000,
      },
      timeoutMs: 5000, retryDelayMs: 500, retryMaxDelayMs: 120_000, poolLimitBytes: 16 * 2 ** 20, queueLimitBytes: 4 * 2 ** 20,
    });
  });

  it('uses every option of the schema in its full example', () => {
    const schema = configSchema() as { properties: Record<string, unknown>; definitions: Record<string, { properties: Record<string, unknown> }> };
    const keys = [
      ...Object.keys(schema.properties).filter((k) => k !== '$schema'),
      'port', 'host',
      ...Object.keys(schema.definitions.camera.properties),
    ];
    for (const key of keys) expect(example, key).toMatch(new RegExp(`^\\s*(- )?${key.replace('$', '\\$')}:`, 'm'));
  });

  it('shows errors the way the loader prints them', () => {
    const shown = block('## Errors', '').trim().split('\n');
    const bad = `metrics:
  port: 9464
shard: 2/2
defaults:
  transport: udp
  timeout: 5 days
  mediatimeout: 10s
cameras:
  - name: lobby
    url: rtsp://10.0.0.1/stream
    username: admin
    password: 1234
  - name: lobby
    url: rtsp://10.0.0.2/stream
`;
    let err: ConfigError | undefined;
    try {
      parseConfig(bad, { source: 'cameras.yaml' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.message.split('\n')).toEqual(shown);
  });
});
