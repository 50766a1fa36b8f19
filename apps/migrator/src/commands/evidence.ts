import { hostname } from 'node:os';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config';
import { assertKnownTenant, legacyTenantList } from '../engine/known-tenants';
import { lockTenantsForReading, type ReadLock } from '../engine/read-lock';
import { closeAfterStop, Interrupted, stopOnSignals, untilStopped } from '../engine/stop-signals';
import { createServices } from '../engine/services';
import { assertFreshOutDir, writeEvidencePack } from '../evidence/pack';
import { isPackArchive, verifyPackArchive } from '../evidence/archive';
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
  $ pnpm migrator evidence verify evidence/acme.tar.gz --expect-key <key-id>   # the archive, signed by that key

The pack: validation.{json,junit.xml,md}, ledger.json (the tenant's run-ledger rows and the chain's verdict),
fingerprints.json, rejects.json and warnings.json (counts and legacy ids), kms-keys.json, kong-before.json and
kong-after.json (plugin configs redacted but for known settings), report.html (one static file), MANIFEST.json
(sha256 of every file), SIGNATURE.json when signed; the key that signed is printed: note it for the auditor.
Legacy ids, counts and hashes only: every file passes the PHI guard or the pack is refused.

--out must be absent or empty, and <out>.tar.gz absent (exit 2 otherwise, before anything runs). The pack is
written into a partial folder beside it and renamed into place once complete: SIGINT, SIGTERM or SIGHUP stops
it, removes the partial folder and exits 1; a second signal stops at once.`;

const VERIFY_EXAMPLES = `
Examples:
  $ pnpm migrator evidence verify ./evidence/acme          # exit 3 naming a changed, missing or added file
  $ pnpm migrator evidence verify ./evidence/acme.tar.gz   # the archive as handed over, unpacked into a temporary folder
  $ pnpm migrator evidence verify ./evidence/acme --require-signature
  $ pnpm migrator evidence verify ./evidence/acme --expect-key <key-id>      # the key the pack was signed with
  $ pnpm migrator evidence verify ./evidence/acme --json

The signature is checked with the VC_KMS key, or the --expect-key key (a pack written with --sign-key, or by
another key of the local keyring): never with the key SIGNATURE.json names, which whoever rewrote the pack chose.
Exit 0 intact (the key is named); 3 tampered (a changed, missing or unlisted file, a symlink or other non-file,
a signature that does not verify under that key, an archive holding links or paths outside its folder); 2 a
path that is not there, or neither a folder nor a .tar.gz.`;

/**
 * Whether `evidence verify`'s path is a pack's archive (else a pack folder). Exit 2 for a path that is not
 * there or is neither: a typo is no tampered pack.
 */
async function packKind(given: string, target: string): Promise<boolean> {
  let entry;
  try {
    entry = await stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ExitError(2, `evidence verify: ${given} does not exist: give the pack folder (or its .tar.gz) that evidence --out wrote`);
    throw error;
  }
  if (entry.isDirectory()) return false;
  if (entry.isFile() && isPackArchive(target)) return true;
  throw new ExitError(2, `evidence verify: ${given} is not a folder nor a .tar.gz: give the pack folder (or its .tar.gz) that evidence --out wrote`);
}

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
      let readLock: ReadLock | undefined;
      try {
        const legacy = await services.legacy();
        assertKnownTenant(flags.tenant, await legacyTenantList(legacy), legacy.description);
        // One state of the tenant: the validation and every file beside it (rejects, warnings, keys, Kong, ledger)
        // are read under one reading lock, given back once the pack is written. Released after the validation, a
        // run starting then would write between the verdict and the tallies that the pack presents together.
        readLock = await lockTenantsForReading(handle, [flags.tenant]);
        const held = readLock;
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
          lockForReading: async () => ({ refused: held.refused, lost: () => held.lost(), release: async () => undefined }),
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
            `evidence pack of ${flags.tenant}: ${pack.dir} (${pack.files} files; validation ${report.status}${pack.signedBy ? `; signed by key ${pack.signedBy}` : ''})\narchive: ${pack.archive}`,
          );
      } finally {
        stop.dispose();
        await readLock?.release();
        await closeAfterStop(
          services.close().finally(() => handle.close()),
          stop.signal,
        );
      }
    });
  evidence
    .command('verify')
    .description('check a pack folder or its .tar.gz against its MANIFEST.json (and SIGNATURE.json through VC_KMS); exit 3 naming a tampered file')
    .argument('<path>', 'the pack folder, or the .tar.gz written beside it')
    .option('--require-signature', 'exit 3 when the pack has no SIGNATURE.json (an auditor checking a pack that was signed)')
    .option('--expect-key <key-id>', 'the key the signature must verify under, instead of the VC_KMS key (implies --require-signature)')
    .option('--json', 'print one JSON verdict on stdout')
    .addHelpText('after', VERIFY_EXAMPLES)
    .action(async (path: string, flags: { json?: boolean; requireSignature?: boolean; expectKey?: string }) => {
      // `evidence` has a --json of its own, which commander gives the parent wherever it is typed.
      const json = flags.json === true || evidence.opts<{ json?: boolean }>().json === true;
      const target = resolve(path);
      const archive = await packKind(path, target);
      const config = loadConfig(process.env);
      const services = createServices(config);
      try {
        const options = { requireSignature: flags.requireSignature === true, ...(flags.expectKey ? { expectKey: flags.expectKey } : {}) };
        const verdict = archive ? await verifyPackArchive(target, services.kms, options) : await verifyPack(target, services.kms, options);
        const from = archive ? ` (archive ${path})` : '';
        if (json) printJson(archive ? { ...verdict, archive: target } : verdict);
        else
          printText(
            verdict.status === 'intact'
              ? `evidence intact${from}: ${verdict.files} files${verdict.signed ? `, signature valid (key ${verdict.keyId})` : ', unsigned'}`
              : `evidence TAMPERED${from}: ${verdict.file}: ${verdict.message}`,
          );
        if (verdict.status === 'tampered') throw new ExitError(3, verdict.message);
      } finally {
        await services.close();
      }
    });
  return evidence;
}
