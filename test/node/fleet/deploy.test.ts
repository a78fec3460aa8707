// deploy/: the Kubernetes manifests, the systemd unit and the Dockerfile agree with each other and with the command
// they run — every option they pass is one the command's parser accepts, ports, paths and user ids match, the example
// camera list loads, and the shards of the StatefulSet cover every camera exactly once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/node/fleet/config.js';
import { filterShard, resolveShard } from '../../../src/node/fleet/shard.js';

import { parseCommandLine } from '../../../src/node/cli/args.js';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(root + path, 'utf8');

/** The command's options and whether each takes a value, read from the parseArgs config in src/node/cli/. */
function cliOptions(): Map<string, 'string' | 'boolean'> {
  const files = readdirSync(root + 'src/node/cli').map((f) => `src/node/cli/${f}`);
  const options = new Map<string, 'string' | 'boolean'>();
  for (const file of files.filter((f) => f.endsWith('.ts') && existsSync(root + f))) {
    for (const m of read(file).matchAll(/^\s*'?([a-z][a-z-]*)'?: \{ type: '(string|boolean)'/gm)) options.set(m[1], m[2] as 'string' | 'boolean');
  }
  return options;
}

/**
 * Checks a command line's arguments against the parser's options, then hands them to the command's own parser
 * (parseCommandLine), which must accept them; returns the values by option.
 */
function checkArgs(args: string[]): Map<string, string | true> {
  const known = cliOptions();
  const values = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)$/.exec(args[i]);
    expect(m, `argument ${args[i]}: expected an option (a fleet is run from --config, without URLs)`).not.toBeNull();
    const type = known.get(m![1]);
    expect(type, `--${m![1]} is not an option of wasm-rtsp`).toBeDefined();
    if (type === 'string') {
      const value = args[++i];
      expect(value !== undefined && !value.startsWith('--'), `--${m![1]} needs a value`).toBe(true);
      values.set(m![1], value);
    } else {
      values.set(m![1], true);
    }
  }
  expect(() => parseCommandLine(args, {}), `the command's parser refuses ${args.join(' ')}`).not.toThrow();
  return values;
}

function manifests(): Array<Record<string, any>> {
  const docs: Array<Record<string, any>> = [];
  for (const f of readdirSync(root + 'deploy/kubernetes').filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(read(`deploy/kubernetes/${f}`))) {
      expect(d.errors, f).toEqual([]);
      docs.push({ ...d.toJS(), file: f });
    }
  }
  return docs;
}

const byKind = (kind: string) => manifests().find((m) => m.kind === kind)!;

describe('the option scan', () => {
  it('finds the options of today\'s parser', () => {
    const o = cliOptions();
    expect(o.get('metrics-port')).toBe('string');
    expect(o.get('json')).toBe('boolean');
    expect(o.size).toBeGreaterThan(15);
    expect(() => checkArgs(['--no-such-option'])).toThrow(/not an option/);
    expect(() => checkArgs(['--metrics-port'])).toThrow(/needs a value/);
  });
});

describe('Kubernetes', () => {
  it('has a ConfigMap, a Secret, a headless Service and a StatefulSet, all in the kustomization', () => {
    const all = manifests();
    expect(all.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Kustomization', 'Secret', 'Service', 'StatefulSet']);
    const k = all.find((m) => m.kind === 'Kustomization')!;
    expect([...k.resources].sort()).toEqual(all.filter((m) => m.kind !== 'Kustomization').map((m) => m.file).sort());
    expect(byKind('Service').spec.clusterIP).toBe('None');
  });

  it('probes /healthz for liveness and /readyz for readiness on the metrics port, which Prometheus scrapes', () => {
    const sts = byKind('StatefulSet');
    const pod = sts.spec.template;
    const [c] = pod.spec.containers;
    const port = c.ports.find((p: any) => p.name === 'metrics');
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const args = checkArgs(c.args);
    expect(Number(args.get('metrics-port'))).toBe(port.containerPort);
    expect(args.get('metrics-host')).toBe('0.0.0.0'); // reachable from the kubelet and Prometheus
    for (const annotations of [pod.metadata.annotations, byKind('Service').metadata.annotations]) {
      expect(annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port.containerPort), 'prometheus.io/path': '/metrics' });
    }
    const svc = byKind('Service');
    expect(svc.spec.ports).toEqual([expect.objectContaining({ name: 'metrics', port: port.containerPort, targetPort: 'metrics' })]);
  });

  it('wires names, labels, the config mount and the non-root user together', () => {
    const sts = byKind('StatefulSet');
    const pod = sts.spec.template;
    const [c] = pod.spec.containers;
    expect(sts.spec.serviceName).toBe(byKind('Service').metadata.name);
    expect(pod.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    expect(pod.metadata.labels).toMatchObject(byKind('Service').spec.selector);
    const configPath = String(checkArgs(c.args).get('config'));
    const mount = c.volumeMounts.find((v: any) => configPath.startsWith(v.mountPath + '/'));
    const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
    expect(volume.configMap.name).toBe(byKind('ConfigMap').metadata.name);
    expect(byKind('ConfigMap').data).toHaveProperty(configPath.slice(mount.mountPath.length + 1));
    expect(c.envFrom[0].secretRef.name).toBe(byKind('Secret').metadata.name);
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: dockerUser() });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // A read-only root needs a writable /tmp (GStreamer's registry) and the recordings volume where the config records.
    expect(c.volumeMounts.map((v: any) => v.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/var/lib/wasm-rtsp/recordings']));
  });

  it('loads its camera list with the Secret\'s variables, and its shards (pod ordinals) cover every camera once', () => {
    const sts = byKind('StatefulSet');
    const [c] = sts.spec.template.spec.containers;
    const env = { ...byKind('Secret').stringData } as Record<string, string>;
    const config = parseConfig(byKind('ConfigMap').data['cameras.yaml'], { source: 'configmap.yaml', env, baseDir: '/etc/wasm-rtsp' });
    expect(config.cameras.length).toBeGreaterThan(3);
    for (const cam of config.cameras) if (cam.record) expect(cam.record.path.startsWith('/var/lib/wasm-rtsp/recordings/')).toBe(true);
    const shards = Number(c.env.find((e: any) => e.name === 'WASM_RTSP_SHARDS').value);
    expect(shards).toBe(sts.spec.replicas);
    const owned = new Map<string, number>();
    for (let ordinal = 0; ordinal < sts.spec.replicas; ordinal++) {
      const shard = resolveShard({ env: { WASM_RTSP_SHARDS: String(shards) }, hostname: `${sts.metadata.name}-${ordinal}` });
      expect(shard).toMatchObject({ index: ordinal, count: shards });
      for (const cam of filterShard(config.cameras, shard)) owned.set(cam.name, (owned.get(cam.name) ?? 0) + 1);
    }
    expect([...owned.keys()].sort()).toEqual(config.cameras.map((c) => c.name).sort());
    expect([...owned.values()].every((n) => n === 1)).toBe(true);
  });
});

/** `Key=value` lines of a systemd unit, a key listed as often as it appears. */
function unit(): Array<[string, string]> {
  return read('deploy/wasm-rtsp.service').split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('systemd unit', () => {
  const get = (key: string) => unit().filter(([k]) => k === key).map(([, v]) => v);

  it('runs the real command line: wasm-rtsp with options its parser accepts', () => {
    const [exec] = get('ExecStart');
    const [binary, ...args] = exec.split(/\s+/);
    expect(binary).toMatch(/\/wasm-rtsp$/);
    const values = checkArgs(args);
    expect(values.get('config')).toBe('/etc/wasm-rtsp/cameras.yaml');
    expect(get('ConfigurationDirectory')).toEqual(['wasm-rtsp']); // /etc/wasm-rtsp
  });

  it('reloads with SIGHUP and does not restart on a bad config (exit 2)', () => {
    expect(get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(get('Restart')).toEqual(['on-failure']);
    expect(get('RestartPreventExitStatus')).toEqual(['2']);
  });

  it('is hardened', () => {
    const u = new Map(unit());
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
      DynamicUser: 'yes', CapabilityBoundingSet: '', RestrictNamespaces: 'yes', ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes', ProtectControlGroups: 'yes', LockPersonality: 'yes', SystemCallArchitectures: 'native',
    })) expect(u.get(k), k).toBe(v);
    expect(get('SystemCallFilter')).toContain('@system-service');
    expect(get('RestrictAddressFamilies')[0].split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    // V8 and the wasm core need writable-executable memory: this option would kill the process at start.
    expect(u.has('MemoryDenyWriteExecute')).toBe(false);
  });
});

/** The Dockerfile's stages: name → its lines (continuations joined). */
function dockerStages(): Map<string, string[]> {
  const lines = read('deploy/Dockerfile').replace(/\\\n(\s*#[^\n]*\n)*/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  for (const l of lines) {
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(l);
    if (from) stages.set(from[1], (current = []));
    current.push(l);
  }
  return stages;
}

function dockerUser(): number {
  const user = dockerStages().get('runtime')!.find((l) => l.startsWith('USER '))!;
  return Number(user.split(/\s+/)[1].split(':')[0]);
}

describe('Dockerfile', () => {
  it('builds on Node 20 bookworm in two stages: -dev packages and the patched binding only in the build stage', () => {
    const text = read('deploy/Dockerfile');
    expect(text).toMatch(/ARG NODE_IMAGE=node:20-bookworm-slim/);
    const stages = dockerStages();
    expect([...stages.keys()]).toEqual(['build', 'runtime']);
    const build = stages.get('build')!.join('\n');
    const runtime = stages.get('runtime')!.join('\n');
    expect(build).toMatch(/libgstreamer1\.0-dev/);
    expect(build).toMatch(/libgstreamer-plugins-base1\.0-dev/);
    expect(build).toMatch(/npm ci[^\n]*&& node scripts\/patch-gst-binding\.mjs/);
    expect(runtime).not.toMatch(/-dev\b/);
    expect(runtime).not.toMatch(/\b(g\+\+|gcc|make|build-essential)\b/);
    expect(runtime).toMatch(/libgstreamer1\.0-0/);
    expect(runtime).toMatch(/COPY --from=build \/app\/node_modules/);
  });

  it('runs as a non-root user, the one the StatefulSet expects', () => {
    expect(dockerUser()).toBeGreaterThan(0);
    expect(byKind('StatefulSet').spec.template.spec.securityContext.runAsUser).toBe(dockerUser());
  });

  it('starts the real command with options its parser accepts, on the port it exposes', () => {
    const runtime = dockerStages().get('runtime')!;
    const json = (prefix: string) => JSON.parse(runtime.find((l) => l.startsWith(prefix))!.slice(prefix.length)) as string[];
    const entry = json('ENTRYPOINT ');
    expect(entry.slice(-2)).toEqual(['node', '/app/dist/node/cli/index.js']);
    expect(JSON.parse(read('package.json')).bin['wasm-rtsp']).toBe('dist/node/cli/index.js');
    const values = checkArgs(json('CMD '));
    expect(runtime).toContain(`EXPOSE ${values.get('metrics-port')}`);
    expect(values.get('config')).toBe('/etc/wasm-rtsp/cameras.yaml');
  });

  it('copies from the build context only what its .dockerignore lets in, and those paths exist', () => {
    const allowed = read('deploy/Dockerfile.dockerignore').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    for (const stage of dockerStages().values()) {
      for (const l of stage.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
        const sources = l.split(/\s+/).slice(1, -1);
        for (const s of sources) {
          expect(allowed.some((a) => s === a || s.startsWith(a + '/')), `${s} is excluded by Dockerfile.dockerignore`).toBe(true);
          expect(existsSync(root + s), s).toBe(true);
        }
      }
    }
  });
});
