// The demo's RTSP server: GStreamer's own gst-rtsp-server (the same script the tests use, test/server/rtsp_server.py)
// started on a free loopback port with Debian's Python, which has the `gi` bindings.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RtspError } from '../../core/rtsp/errors.js';

/** Debian's interpreter: the `python3` on PATH may be another one without `gi`. */
export const DEMO_PYTHON = '/usr/bin/python3';
/** The server script, shipped with the package. */
export const DEMO_SERVER_SCRIPT = fileURLToPath(new URL('../../../test/server/rtsp_server.py', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

/** A running demo server. */
export interface DemoServer {
  readonly port: number;
  url(path: string): string;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port; rejects with RtspError('DEMO_SERVER') and its stderr tail. */
export async function startDemoServer(): Promise<DemoServer> {
  for (const [path, what] of [[DEMO_PYTHON, 'Debian python3 (apt-get install python3-gi)'], [DEMO_SERVER_SCRIPT, 'the server script']]) {
    if (!existsSync(path)) throw new RtspError('DEMO_SERVER', `the demo needs ${what}: ${path} is missing`);
  }
  const child: ChildProcess = spawn(DEMO_PYTHON, [DEMO_SERVER_SCRIPT, '--port', '0', '--address', '127.0.0.1', '--exit-with-parent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new RtspError('DEMO_SERVER', `the demo RTSP server did not start (${why}); its stderr ends with:\n${stderr.trim()}\n` +
        'Install GStreamer and its RTSP server: bash scripts/setup.sh'));
    };
    const timer = setTimeout(() => fail('no ready line in time'), READY_TIMEOUT_MS);
    child.once('exit', (code) => fail(`exited with ${code}`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const ev = JSON.parse(line) as { event?: string; port?: number };
        if (ev.event === 'ready' && typeof ev.port === 'number') {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(ev.port);
        }
      } catch {
        /* not an event line */
      }
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    url: (path) => `rtsp://127.0.0.1:${port}${path}`,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopping;
    },
  };
}
