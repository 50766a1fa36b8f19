// `pnpm stand-ins`: the outside systems of a rehearsal (FHIR R4, access-policy, Kong Admin API, licensing,
// AWS KMS, one Jitsi per tenant) as loopback stand-ins, the same the demo and the tests use. It prints the
// lines to export in the shell that runs `pnpm migrator …` and `pnpm service`, then serves until Ctrl-C.
import { startKmsStandIn } from '../../packages/integrations/src/kms';
import { startStandIns } from '../demo/stand-ins';

const DEFAULT_TENANTS = ['acme', 'globex', 'initech', 'umbrella'];

/** `--tenants a,b` (one Jitsi deployment each, plan 2.1); the fixture export's tenants otherwise. */
function tenantsFrom(argv: readonly string[]): string[] {
  const at = argv.indexOf('--tenants');
  if (at < 0) return DEFAULT_TENANTS;
  const list = (argv[at + 1] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error('--tenants expects a comma-separated list of tenant ids, e.g. --tenants acme,globex');
  return list;
}

/** A value as a POSIX shell word: the URLs are plain, but quoting keeps a copied line safe. */
const shellWord = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      'Usage: pnpm stand-ins [--tenants acme,globex]\n\nStarts loopback stand-ins of FHIR, access-policy, Kong, licensing, AWS KMS and one Jitsi per tenant,\nprints the VC_* lines to export, and serves until Ctrl-C (see runbooks/rehearsal.md).\n',
    );
    return;
  }
  const tenants = tenantsFrom(process.argv.slice(2));
  const [systems, kms] = await Promise.all([startStandIns(tenants), startKmsStandIn()]);
  const env: Record<string, string> = {
    ...systems.env,
    VC_KMS: `aws:${kms.keyIds[0]}`,
    VC_KMS_ENDPOINT: kms.url,
    // The SDK signs every request; the stand-in only checks that it is signed.
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'stand-in',
    AWS_SECRET_ACCESS_KEY: 'stand-in',
    // test-connection refuses loopback and plain http unless told: the Jitsi stand-ins are both.
    VC_OUTBOUND_ALLOW: '127.0.0.0/8',
    VC_OUTBOUND_ALLOW_HTTP: 'true',
  };
  const lines = [
    '# virtual-care rehearsal stand-ins (in memory: they forget everything when stopped)',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellWord(v)}`),
  ];
  for (const [tenant, jitsi] of systems.jitsi) lines.push(`# Jitsi of ${tenant} (PUT /config jitsiServerUrl before S2): ${jitsi.url}`);
  lines.push('# ready; Ctrl-C stops them');
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = async (): Promise<void> => {
    await Promise.allSettled([systems.close(), kms.close()]);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`stand-ins: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
