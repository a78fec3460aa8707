#!/usr/bin/env node
// The `wasm-rtsp` executable (the package's bin): runs the command when executed directly, and exports the command's
// public names (exit codes, summary types, the command-line parser) for tests and embedders.
// The command: run.ts; a camera of it: camera.ts; what it reports: summary.ts; its options: args.ts.

import { run } from './run.js';
import { EXIT_ERROR } from './summary.js';

export * from './args.js';
export { run } from './run.js';
export type { CameraState } from './camera.js';
export {
  EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_RTSP, EXIT_GSTREAMER, type Summary, type SummaryError, type CameraSummary,
  type ProgressLine,
} from './summary.js';

// Run when executed directly (the package's bin, dist/node/cli/index.js), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:cli[\\/]index\.(?:js|ts)|wasm-rtsp)$/.test(invoked)) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(EXIT_ERROR);
    },
  );
}
