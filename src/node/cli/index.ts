#!/usr/bin/env node
// The `wasm-rtsp` executable (the package's bin): runs the command when executed directly, and exports the command's
// public names (exit codes, summary types, the command-line parser) for tests and embedders.
// The command: run.ts; a camera of it: camera.ts; what it reports: summary.ts; its options: args.ts.
//
// libuv's thread pool: every recording pipeline's bus poll holds one pool thread while it runs (record.ts,
// threadPoolSizeFor), and the pool's size is read from UV_THREADPOOL_SIZE once, when the pool is first used. Setting
// it here would be too late: Node 20 loads an ES module entry with asynchronous file reads, so the pool exists (4
// threads) before the first line of this file runs. A recording run without UV_THREADPOOL_SIZE is therefore run
// again in a child process with it set (sizedChild): this process only forwards signals and the exit code, and the
// child ends itself at once (SIGKILL) if this process dies, so killing the command kills its recordings' writer as
// a crash would, leaving nothing running.

import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { run } from './run.js';
import { POOL_SIZED_ENV, threadPoolSizeFor } from './record.js';
import { EXIT_ERROR } from './summary.js';

export * from './args.js';
export { run } from './run.js';
export type { CameraState } from './camera.js';
export {
  EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_RTSP, EXIT_GSTREAMER, type Summary, type SummaryError, type CameraSummary,
  type ProgressLine,
} from './summary.js';

/** Signals the parent passes on to the sized child (which runs in its own process group, so each comes once). */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs the command again with UV_THREADPOOL_SIZE=`size`; this process waits and exits as the child did. */
function sizedChild(size: number): void {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    // fd 3: a pipe the child watches; it closes when this process ends, however it ends.
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, UV_THREADPOOL_SIZE: String(size), [POOL_SIZED_ENV]: '1' },
    // Its own process group: a terminal's Ctrl-C reaches it once, through this process, not twice.
    detached: true,
  });
  for (const sig of FORWARDED_SIGNALS) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    console.error(e);
    process.exit(EXIT_ERROR);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? EXIT_ERROR);
  });
}

/** In the sized child: when the parent's pipe closes (the parent died, even by SIGKILL), die as it did. */
function watchParent(): void {
  let pipe: Socket;
  try {
    pipe = new Socket({ fd: 3, readable: true, writable: false });
  } catch {
    return; // started by hand with the variable set: no parent to watch
  }
  pipe.on('error', () => undefined);
  pipe.on('close', () => process.kill(process.pid, 'SIGKILL'));
  pipe.resume();
  pipe.unref();
}

// Run when executed directly (the package's bin, dist/node/cli/index.js), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:cli[\\/]index\.(?:js|ts)|wasm-rtsp)$/.test(invoked)) {
  const argv = process.argv.slice(2);
  const size = threadPoolSizeFor(argv, process.env);
  if (size !== undefined) {
    sizedChild(size);
  } else {
    if (process.env[POOL_SIZED_ENV] !== undefined) {
      watchParent();
      // Not inherited: a worker (--workers) has its IPC channel on fd 3, and no pipe to watch.
      delete process.env[POOL_SIZED_ENV];
    }
    run(argv).then(
      (code) => process.exit(code),
      (e) => {
        console.error(e);
        process.exit(EXIT_ERROR);
      },
    );
  }
}
