import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { captureInvocation } from './ledger/invocation';
import { isPhaseId, loadAllPhases, loadPhase } from './phases';

const ENVIRONMENT = `
Examples:
  $ pnpm migrator preflight --tenant acme      # before s0/s1: every system, schema, contract, credentials
  $ pnpm migrator phase s0
  $ pnpm migrator phase s1 --tenant acme --dry-run
  $ pnpm migrator phase s1 --tenant acme --as-of 2026-11-01T00:00:00Z
  $ pnpm migrator validate --tenant acme --out reports/acme
  $ pnpm migrator status --tenant acme
  $ pnpm migrator evidence --tenant acme --out evidence/acme --sign
  $ pnpm migrator ledger verify
  $ pnpm migrator enqueue phase s1 --all-tenants   # then \`migrator worker\` on each machine
  $ pnpm migrator <command> --help        # each command's flags and examples

Environment (every variable and its default: README.md, Configuration):
  VC_DATABASE_URL         target: postgres://… or pglite:<dir> (default pglite:./.data/pg)
  VC_LEGACY_DATABASE_URL  legacy digital_communication: mysql://…   or
  VC_LEGACY_EXPORT_DIR    a legacy CSV export directory
  VC_PORTAL_DATABASE_URL  legacy patient_portal: mysql://… (s3; CSV export dir otherwise)
  VC_LEGACY_MASTER_KEY    base64 32-byte key of the legacy credentials (s1 step 1.3)
  VC_LEGACY_KMS           aws:<key-id> when the legacy credentials are KMS ciphertext
  VC_KMS                  local:<keyring file> (default local:./.data/kms.json) or aws:<key-id>
  VC_KMS_CREDENTIALS      aws: KMS without AWS_ACCESS_KEY_ID: provider-chain (instance role) or stand-in (loopback VC_KMS_ENDPOINT)
  VC_NATS_URL             JetStream for the VIRTUAL_CARE stream (s0); optional; needed by enqueue/worker
  VC_NATS_WORK_STREAM     work queue of distributed plans (default VC_MIGRATION_WORK)
  VC_ACCESS_POLICY_URL    access-policy base URL, http(s)://… (s3, validate)
  VC_KONG_ADMIN_URL       Kong Admin API, http(s)://… (s4; else the decK file VC_KONG_FILE, default .data/kong.yaml)
  VC_FHIR_BASE_URL        FHIR R4 base URL, http(s)://… (s2, s4: Encounters legacy never made; tenant onboard)
  VC_LICENSING_URL        platform licensing API, http(s)://… (tenant onboard)
  VC_MODE                 live or shadow (s0 warns unless shadow before the cutover)
  VC_OPERATOR             who runs it, recorded in the run ledger (vc_migration.ledger) beside the OS user
  VC_BUILD_COMMIT         the tool's commit for the run ledger (default: git rev-parse HEAD, else unknown)

Each command checks the settings it needs before it opens anything: a missing or malformed one is exit 2,
naming the variable and the form expected (\`migrator phase --help\` lists what each phase needs).`;

/**
 * The commands, in one visible list. Each module is imported only when its command is run (or for help),
 * so `migrator phase s1` does not load what s2–s4 and validation need.
 */
const COMMANDS: Readonly<Record<string, (argv: readonly string[]) => Promise<Command>>> = {
  preflight: async () => (await import('./commands/preflight')).makePreflightCommand(),
  phase: async (argv) => (await import('./commands/phase')).makePhaseCommand(isPhaseId(argv[3]) ? [await loadPhase(argv[3])] : await loadAllPhases()),
  status: async () => (await import('./commands/status')).makeStatusCommand(),
  rejects: async () => (await import('./commands/rejects')).makeRejectsCommand(),
  validate: async () => (await import('./commands/validate')).makeValidateCommand(),
  rollback: async () => (await import('./commands/rollback')).makeRollbackCommand(),
  tenant: async () => (await import('./commands/tenant')).makeTenantCommand(),
  ledger: async () => (await import('./commands/ledger')).makeLedgerCommand(),
  evidence: async () => (await import('./commands/evidence')).makeEvidenceCommand(),
  enqueue: async () => (await import('./commands/enqueue')).makeEnqueueCommand(),
  worker: async () => (await import('./commands/worker')).makeWorkerCommand(),
  plan: async () => (await import('./commands/plan')).makePlanCommand(),
};

/** The package's version: what `migrator --version` prints and a bug report should quote. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The `migrator` program for this invocation (`argv` as in process.argv). */
export async function makeCli(argv: readonly string[]): Promise<Command> {
  const program = new Command('migrator')
    .description('moves tenants from legacy digital-communication onto virtual-care, phase by phase (s0–s4), resumably')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', ENVIRONMENT)
    // Every command that writes gets a run-ledger row (bin.ts appends it when the exit status is known).
    .hook('preAction', (_program, action) => captureInvocation(action));
  const named = argv[2];
  // `--version` needs no command; help, or anything not a command (a usage error lists them), needs all.
  const wanted = named === '--version' || named === '-V' ? [] : named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) program.addCommand(await COMMANDS[name]!(argv));
  return throwOnExit(program);
}

/**
 * Commander exits the process itself on a usage error unless told otherwise, and an added command does
 * not inherit that setting: every command of the tree throws instead, and bin.ts maps it to exit 2.
 */
function throwOnExit(command: Command): Command {
  command.exitOverride();
  for (const sub of command.commands) throwOnExit(sub);
  return command;
}
