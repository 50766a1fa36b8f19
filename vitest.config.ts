import { defineConfig } from 'vitest/config';
import SlowestFirstSequencer from './scripts/test-sequencer.mjs';

export default defineConfig({
  test: {
    include: ['{apps,packages}/*/src/**/*.test.ts', 'fixtures/src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/src/**/*.test.ts', 'bench/scale/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // The migrator CLI the tests start as a child process, built once per run (scripts/test-build.mjs).
    globalSetup: ['scripts/test-build.mjs'],
    pool: 'forks',
    maxWorkers: 3,
    // The test files that open PGlite in process (pglite:memory) compile its WebAssembly: without V8's optimising
    // tier, as the migrator children of the tests run (apps/migrator/src/testing/run-cli.ts says why and what it saves).
    execArgv: ['--liftoff-only'],
    // The longest files first, so that the run does not end waiting on one of them (scripts/test-sequencer.mjs).
    sequence: { sequencer: SlowestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests assert on structured output, not on timing; a retry would hide flakiness rather than fix it.
    retry: 0,
    reporters: ['default'],
  },
});
