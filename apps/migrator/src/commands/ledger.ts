import { Command } from 'commander';
import { ExitError } from '../exit-error';
import { UsageError } from '../engine/errors';
import { verifyChain, verifyChainTo } from '../ledger/chain';
import { ledgerLine, unfinishedStarts } from '../ledger/runs';
import { readLedger, tenantLedgerRows } from '../ledger/store';
import { printJson, printText } from '../output';
import { withCommandContext } from './context';

const EXAMPLES = `
Examples:
  $ pnpm migrator ledger verify                 # exit 3 naming the first broken row
  $ pnpm migrator ledger show --tenant acme --json

Every invocation that writes (phases, rollback, decommission, tenant commands, --force overrides) appends
a start row to vc_migration.ledger as it begins and an end row naming it as it ends: OS user and
VC_OPERATOR, host, tool commit, command and flags (secret values never), sha256 of the effective
configuration, start/end, exit status and per-step counts. A run killed outright leaves its start row
alone (\`ledger show\` marks it UNFINISHED). Each row carries the sha256 of the row before it, so an
edited, inserted or deleted row breaks the chain; the database refuses any UPDATE, DELETE or TRUNCATE of
the table. The free text of --reason is kept as its sha256 and length only (the text belongs in the
change ticket). Keep the tip \`ledger verify\` prints (or an evidence pack's ledger.json) outside the
database: \`ledger verify --expect-tip <hash>\` also catches rows removed from the end of the chain.`;

const TIP = /^sha256:[0-9a-f]{64}$/;

/** `migrator ledger verify | show`: checks the run ledger's hash chain, or lists rows. */
export function makeLedgerCommand(): Command {
  const ledger = new Command('ledger').description('the tamper-evident run ledger: verify its hash chain, show its rows').addHelpText('after', EXAMPLES);
  ledger
    .command('verify')
    .description('check the hash chain of vc_migration.ledger; exit 3 naming the first row that breaks it')
    .option('--expect-tip <hash>', 'a tip printed earlier (sha256:…): exit 3 unless a row still has it (rows deleted from the end, or the last re-hashed)')
    .option('--json', 'print one JSON verdict on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pnpm migrator ledger verify            # exit 3 naming the first broken row\n  $ pnpm migrator ledger verify --json\n' +
        '  $ pnpm migrator ledger verify --expect-tip sha256:…   # the tip recorded in the change ticket or an evidence pack\n',
    )
    .action(async (flags: { expectTip?: string; json?: boolean }) => {
      const tip = flags.expectTip;
      if (tip !== undefined && !TIP.test(tip)) throw new UsageError('--expect-tip takes a tip as `ledger verify` prints it: sha256:<64 hex digits>');
      const { verdict, unfinished } = await withCommandContext(async ({ handle }) => {
        const rows = await readLedger(handle.db);
        return { verdict: tip ? verifyChainTo(rows, tip) : verifyChain(rows), unfinished: unfinishedStarts(rows) };
      });
      // An unfinished run is no break of the chain: it is said, for the auditor to look at.
      const open = unfinished.length ? `; ${unfinished.length} unfinished run(s), a start row with no end row: row ${unfinished.join(', ')}` : '';
      if (flags.json) printJson({ ...verdict, unfinished });
      else
        printText(
          verdict.status === 'intact'
            ? `ledger intact: ${verdict.rows} rows, tip ${verdict.tip}${open}`
            : `ledger BROKEN at row ${verdict.seq}: ${verdict.message}`,
        );
      if (verdict.status === 'broken') throw new ExitError(3, verdict.message);
    });
  ledger
    .command('show')
    .description('list ledger rows (all, or those of one tenant)')
    .option('--tenant <id>', 'only the rows that name this tenant (or ran every tenant)')
    .option('--json', 'print one JSON object { rows } on stdout')
    .addHelpText('after', '\nExamples:\n  $ pnpm migrator ledger show\n  $ pnpm migrator ledger show --tenant acme --json\n')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      const { rows, unfinished } = await withCommandContext(async ({ handle }) => {
        const all = await readLedger(handle.db);
        const shown = flags.tenant ? await tenantLedgerRows(handle.db, flags.tenant) : all;
        const open = new Set(unfinishedStarts(all));
        return { rows: shown, unfinished: shown.filter((r) => open.has(r.seq)).map((r) => r.seq) };
      });
      if (flags.json) printJson({ rows, unfinished });
      else printText(rows.map((r) => ledgerLine(r, new Set(unfinished))).join('\n') || 'no ledger rows');
    });
  return ledger;
}
