import { CommanderError } from 'commander';
import { makeCli } from './cli';
import { explainDriverError, withoutSecrets } from './driver-errors';
import { exitCodeOf } from './exit-error';
import { boundHeapGrowth } from './heap-growth';
import { recordInvocation } from './ledger/record';
import { jsonPrinted, printJson, quietOnClosedPipes } from './output';
import { withoutQueryParams } from './query-error';

/** The entry point, and the only place that calls process.exit: errors become exit codes (docs/design.md §6). */
async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  try {
    await (await makeCli(argv)).parseAsync(argv);
    return 0;
  } catch (thrown) {
    const error = withoutQueryParams(explainDriverError(thrown, process.env) ?? thrown);
    if (error instanceof CommanderError) {
      // Help and version end "with an error" in commander; they are successes.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      // Commander already printed the usage error on stderr; a --json caller still gets its one object.
      if (wantsJson && !jsonPrinted()) printJson({ status: 'error', exitCode: 2, error: error.message.replace(/^error: /, '') });
      return 2;
    }
    const expected = exitCodeOf(error);
    const code = expected ?? 1;
    const message = withoutSecrets(error instanceof Error ? error.message : String(error));
    process.stderr.write(`migrator: ${message}\n`);
    if (expected === undefined) process.stderr.write(`${withoutSecrets((error as Error)?.stack ?? '')}\n`);
    if (wantsJson && !jsonPrinted()) printJson({ status: 'error', exitCode: code, error: message });
    return code;
  }
}

// Before anything is written: `migrator … | head` must not kill a run (and its ledger row) with an EPIPE.
quietOnClosedPipes();
// Before any legacy row is read: the heap grows to 1.3 times its live objects, not up to 4 times (heap-growth.ts).
boundHeapGrowth();
const code = await recordInvocation(await main(process.argv));
process.exitCode = code;
// Open handles (a pool, a keep-alive socket) must not keep a finished run alive.
setTimeout(() => process.exit(code), 50).unref();
