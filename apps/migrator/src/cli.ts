import { Command } from 'commander';
import { makePhaseCommand } from './commands/phase';
import { makeRejectsCommand } from './commands/rejects';
import { makeRollbackCommand } from './commands/rollback';
import { makeStatusCommand } from './commands/status';
import { makeTenantCommand } from './commands/tenant';
import { makeValidateCommand } from './commands/validate';

const ENVIRONMENT = `
Environment (DESIGN §8):
  VC_DATABASE_URL         target: postgres://… or pglite:<dir> (default pglite:./.data/pg)
  VC_LEGACY_DATABASE_URL  legacy digital_communication: mysql://…   or
  VC_LEGACY_EXPORT_DIR    a legacy CSV export directory
  VC_PORTAL_DATABASE_URL  legacy patient_portal: mysql://… (s3; CSV export dir otherwise)
  VC_LEGACY_MASTER_KEY    base64 32-byte key of the legacy credentials (s1 step 1.3)
  VC_LEGACY_KMS           aws:<key-id> when the legacy credentials are KMS ciphertext
  VC_KMS                  local:<keyring file> (default local:./.data/kms.json) or aws:<key-id>
  VC_NATS_URL             JetStream for the VIRTUAL_CARE stream (s0); optional
  VC_FHIR_BASE_URL, VC_ACCESS_POLICY_URL, VC_KONG_ADMIN_URL, VC_LICENSING_URL, VC_MODE (live|shadow)`;

/** The `migrator` program: one module per command, added here in one visible list. */
export function makeCli(): Command {
  return new Command('migrator')
    .description('moves tenants from legacy digital-communication onto virtual-care, phase by phase (s0–s4), resumably')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', ENVIRONMENT)
    .addCommand(makePhaseCommand())
    .addCommand(makeStatusCommand())
    .addCommand(makeRejectsCommand())
    .addCommand(makeValidateCommand())
    .addCommand(makeRollbackCommand())
    .addCommand(makeTenantCommand());
}
