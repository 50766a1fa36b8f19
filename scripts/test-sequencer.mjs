// vitest sequencer: the test files known to take longest start first.
//
// vitest orders files by their durations in its cache of a previous run, and without one by size, larger first. CI
// runs a clean clone, so it has no cache: scripts/demo.test.ts, the longest file (~150 s on CI) but a small one, was
// handed to a worker among the last, and the run's end waited on it and a few other short-but-slow files alone.
// Started first, they run beside the many short files instead. The list only orders: a file missing from it, or
// listed but gone, runs as vitest would run it. Ordered by their durations on CI (slowest first), rounded.
import { relative } from 'node:path';
import { BaseSequencer } from 'vitest/node';

const SLOWEST_FIRST = [
  'scripts/demo.test.ts',
  'apps/migrator/src/scale/scale-out.int.test.ts',
  'apps/migrator/src/validate/validate.int.test.ts',
  'apps/migrator/src/phases/s1/hostile-rows.int.test.ts',
  'apps/migrator/src/commands/unknown-tenant.int.test.ts',
  'apps/migrator/src/phases/s1/s1-pglite.int.test.ts',
  'apps/migrator/src/validate/validate-pglite.int.test.ts',
  'apps/migrator/src/evidence/evidence-pglite.int.test.ts',
  'apps/migrator/src/commands/interrupt.int.test.ts',
  'apps/migrator/src/phases/resume-later-phases.int.test.ts',
  'apps/migrator/src/phases/s1/s1-resume.int.test.ts',
  'apps/migrator/src/phases/s4/s4.int.test.ts',
  'apps/migrator/src/phases/s2/s2.int.test.ts',
  'apps/migrator/src/phases/s3/s3.int.test.ts',
  'apps/migrator/src/output.int.test.ts',
];

export default class SlowestFirstSequencer extends BaseSequencer {
  async sort(files) {
    const ordered = await super.sort(files);
    const rank = (spec) => {
      const i = SLOWEST_FIRST.indexOf(relative(this.ctx.config.root, spec.moduleId).split('\\').join('/'));
      return i === -1 ? SLOWEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the files not listed keep vitest's own order among themselves.
    return ordered.sort((a, b) => rank(a) - rank(b));
  }
}
