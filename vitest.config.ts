import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The GStreamer addon is not safe across worker threads: run test files in child processes.
    pool: 'forks',
    // test/core/memory_usage.test.ts compares heapUsed after a forced gc(): expose it in the child processes.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what CI counts (.ci/run prints "N passed, N failed" from it).
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
