import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config';
import { assertKnownTenant, legacyTenantList } from '../engine/known-tenants';
import { lockTenantsForReading } from '../engine/read-lock';
import { closeAfterStop, Interrupted, stopOnSignals, untilStopped } from '../engine/stop-signals';
import { createServices } from '../engine/services';
import { assertFreshOutDir, writeEvidencePack } from '../evidence/pack';
import { verifyPack } from '../evidence/manifest';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { runValidation } from '../validate/run-validation';
import type { TableFingerprint } from '../validate/fingerprints';
import { parseAsOf, positiveInt } from './run-options';
import { openTarget } from './target';
import { VALIDATE_REQUIRES } from './validate';

const EXAMPLES = `
Examples:
  $ pnpm migrator evidence --tenant acme --out evidence/acme          # folder + evidence/acme.tar.gz
  $ pnpm migrator evidence --tenant acme --out evidence/acme --sign    # SIGNATURE.json by the VC_KMS key
  $ pnpm migrator evidence verify evidence/acme                        # exit 3 naming a tampered file

The pack: validation.{json,junit.xml,md}, ledger.json (the tenant's run-ledger rows and the chain's verdict),
fingerprints.json, rejects.json and warnings.json (counts and legacy ids), kms-keys.json, kong-before.json and
kong-after.json, report.html (one static file), MANIFEST.json (sha256 of every file), SIGNATURE.json when signed.
Legacy ids, counts and hashes only: every file passes the PHI guard or the pack is refused.

--out must be absent or empty (exit 2 otherwise, before anything runs). The pack is written into a partial
folder beside it and renamed into place once complete: SIGINT, SIGTERM or SIGHUP stops it, removes the
partial folder and exits 1; a second signal stops at once.`;

interface EvidenceFlags {
  tenant?: string;
  out?: string;
  sign?: boolean;
  signKey?: string;
  asOf?: string;
  batchSize: string;
  json?: boolean;
}

/** `migrator evidence --tenant X --out DIR [--sign]` and `migrator evidence verify DIR`. */
export function makeEvidenceCommand(): Command {
  const evidence = new Command('evidence')
    .description("write a tenant's evidence pack for auditors (reports, ledger, fingerprints, tallies, keys, Kong snapshots, MANIFEST, HTML)")
    .option('--tenant <id>', 'the tenant whose pack to write')
    .option('--out <dir>', 'a new (or empty) folder for the pack; <dir>.tar.gz is written beside it')
    .option('--sign', 'sign MANIFEST.json with the VC_KMS key (AWS KMS Sign, or the local keyring)')
    .option('--sign-key <key-id>', 'sign with this KMS key instead (AWS: an asymmetric ECC_NIST_P256 key)')
    .option('--as-of <iso>', 'instant the validation judges "recent" at (default: now)')
    .option('--batch-size <n>', 'legacy rows read per batch', '5000')
    .option('--json', 'print one JSON object { status, dir, archive, files, validation } on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: EvidenceFlags) => {
      if (!flags.tenant || !flags.out) throw new ExitError(2, 'evidence needs --tenant <id> and --out <dir> (or: evidence verify <dir>)');
      const outDir = resolve(flags.out);
      // Before the validation, which takes minutes on a large tenant: a folder that would refuse the pack at the end.
      await assertFreshOutDir(outDir);
      // Safe points: anywhere in the validation (it only reads), and between the pack's files (written into a
      // partial folder that is removed, so --out is never left half-written).
      const stop = stopOnSignals(process.env, 'stopping: no pack is written (its partial folder is removed)');
      const interrupted = () => `evidence interrupted (${(stop.signal.reason as Error).message}): no pack written; run it again`;
      const config = loadConfig(process.env, VALIDATE_REQUIRES);
      const asOf = parseAsOf(flags.asOf, new Date());
      const services = createServices(config);
      const handle = await openTarget(config);
      try {
        const legacy = await services.legacy();
        assertKnownTenant(flags.tenant, await legacyTenantList(legacy), legacy.description);
        const fingerprints = new Map<string, TableFingerprint[]>();
        const deps = {
          db: handle.db,
          legacy,
          portal: await services.portal(),
          accessPolicy: await services.accessPolicy(),
          fhir: config.VC_FHIR_BASE_URL ? services.fhir : undefined,
          asOf,
          batchSize: positiveInt('--batch-size', flags.batchSize),
          fingerprints,
          lockForReading: (tenants: readonly string[]) => lockTenantsForReading(handle, tenants),
        };
        const { report, startedAt, seconds, tenantSeconds } = await untilStopped(runValidation(deps, [flags.tenant]), stop.signal, interrupted);
        const signWith = flags.sign || flags.signKey ? { kms: await services.kms(), ...(flags.signKey ? { keyId: flags.signKey } : {}) } : undefined;
        const pack = await writeEvidencePack(handle, {
          tenant: flags.tenant,
          outDir,
          signal: stop.signal,
          report,
          junit: { startedAt, hostname: hostname() || 'localhost', seconds, tenantSeconds },
          fingerprints: fingerprints.get(flags.tenant) ?? [],
          buildCommit: config.VC_BUILD_COMMIT,
          ...(signWith ? { signWith } : {}),
        }).catch((error: unknown) => {
          throw stop.signal.aborted ? new Interrupted(interrupted(), { cause: error }) : error;
        });
        if (flags.json) printJson({ status: 'written', ...pack, validation: report.status, signed: signWith !== undefined });
        else
          printText(
            `evidence pack of ${flags.tenant}: ${pack.dir} (${pack.files} files; validation ${report.status}${signWith ? '; signed' : ''})\narchive: ${pack.archive}`,
          );
      } finally {
        stop.dispose();
        await closeAfterStop(
          services.close().finally(() => handle.close()),
          stop.signal,
        );
      }
    });
  evidence
    .command('verify')
    .description('check a pack folder against its MANIFEST.json (and SIGNATURE.json through VC_KMS); exit 3 naming a tampered file')
    .argument('<dir>', 'the pack folder')
    .option('--require-signature', 'exit 3 when the pack has no SIGNATURE.json (an auditor checking a pack that was signed)')
    .option('--json', 'print one JSON verdict on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pnpm migrator evidence verify ./evidence/acme          # exit 3 naming a changed, missing or added file\n  $ pnpm migrator evidence verify ./evidence/acme --require-signature\n  $ pnpm migrator evidence verify ./evidence/acme --json\n',
    )
    .action(async (dir: string, flags: { json?: boolean; requireSignature?: boolean }) => {
      // `evidence` has a --json of its own, which commander gives the parent wherever it is typed.
      const json = flags.json === true || evidence.opts<{ json?: boolean }>().json === true;
      const config = loadConfig(process.env);
      const services = createServices(config);
      try {
        const verdict = await verifyPack(resolve(dir), services.kms, { requireSignature: flags.requireSignature === true });
        if (json) printJson(verdict);
        else
          printText(
            verdict.status === 'intact'
              ? `evidence intact: ${verdict.files} files${verdict.signed ? ', signature valid' : ', unsigned'}`
              : `evidence TAMPERED: ${verdict.file}: ${verdict.message}`,
          );
        if (verdict.status === 'tampered') throw new ExitError(3, verdict.message);
      } finally {
        await services.close();
      }
    });
  return evidence;
}
