import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { loadConfig, type SettingRequirement } from '../config';
import { createServices } from '../engine/services';
import { ExitError } from '../exit-error';
import { printJson } from '../output';
import { makeForgetCommand } from './tenant-forget';
import { mintOnboardingTokens, onboardTenant, readSecretFile, type OnboardInput } from './tenant-onboard';

/** Plan §3's module step calls the licensing API; its last step finds the first session's Encounter in FHIR. */
export const ONBOARD_REQUIRES: readonly SettingRequirement[] = [
  { anyOf: ['VC_LICENSING_URL'], neededBy: 'tenant onboard (enables the module through the licensing API)' },
  { anyOf: ['VC_FHIR_BASE_URL'], neededBy: "tenant onboard (verifies the first session's Encounter)" },
];

interface OnboardFlags {
  tenant: string;
  serviceUrl: string;
  jitsiUrl: string;
  jitsiAppId: string;
  jitsiSecretFile: string;
  brandingFile?: string;
  tokenSecretFile?: string;
  tokenIssuer?: string;
  tokenAudience?: string;
  adminTokenFile?: string;
  practitionerTokenFile?: string;
  testPatient: string;
  testPractitioner: string;
  encounterTimeout: string;
  serviceTimeout: string;
  json?: boolean;
}

function httpUrl(flag: string, value: string): string {
  if (!/^https?:\/\/[^/\s]+/.test(value)) throw new ExitError(2, `${flag} expects an http(s):// URL, got "${value}"`);
  return value;
}

/** The checks that need no file, no config and no network: they come first, so usage errors come first. */
function checkOnboardFlags(flags: OnboardFlags): { encounter: number; service: number } {
  httpUrl('--service-url', flags.serviceUrl);
  httpUrl('--jitsi-url', flags.jitsiUrl);
  if (!(flags.adminTokenFile && flags.practitionerTokenFile) && !flags.tokenSecretFile) {
    throw new ExitError(
      2,
      'tenant onboard needs --admin-token-file and --practitioner-token-file, or --token-secret-file (the service HS256 secret, dev/tests)',
    );
  }
  return { encounter: milliseconds('--encounter-timeout', flags.encounterTimeout), service: milliseconds('--service-timeout', flags.serviceTimeout) };
}

function milliseconds(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ExitError(2, `${flag} expects milliseconds (a whole number, e.g. 30000), got "${value}"`);
  return Number(value);
}

async function tokens(flags: OnboardFlags): Promise<OnboardInput['tokens']> {
  if (flags.adminTokenFile && flags.practitionerTokenFile) {
    return {
      admin: await readSecretFile(flags.adminTokenFile, '--admin-token-file'),
      practitioner: await readSecretFile(flags.practitionerTokenFile, '--practitioner-token-file'),
    };
  }
  const secret = await readSecretFile(flags.tokenSecretFile!, '--token-secret-file');
  return mintOnboardingTokens(secret, flags.tenant, flags.testPractitioner, { issuer: flags.tokenIssuer, audience: flags.tokenAudience });
}

async function branding(path: string | undefined): Promise<Record<string, unknown> | null> {
  if (!path) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ExitError(2, `--branding-file: ${path} is not a readable JSON object`, { cause: error });
  }
}

const ONBOARD_EXAMPLES = `
Examples:
  $ pnpm migrator tenant onboard --tenant hooli --service-url https://vc.internal \\
      --jitsi-url https://meet.hooli.example --jitsi-app-id hooli-virtual-care --jitsi-secret-file ./jitsi.secret \\
      --admin-token-file ./admin.jwt --practitioner-token-file ./practitioner.jwt
  $ pnpm migrator tenant onboard --tenant hooli --service-url http://127.0.0.1:8080 --jitsi-url http://127.0.0.1:8443 \\
      --jitsi-app-id hooli --jitsi-secret-file ./jitsi.secret --token-secret-file ./hs256.secret --json   # dev`;

function makeOnboardCommand(): Command {
  return new Command('onboard')
    .description('plan §3: PUT the config, test the connection, enable the module, run a first session and verify its Encounter')
    .requiredOption('--tenant <id>', 'the new tenant')
    .requiredOption('--service-url <url>', 'base URL of virtual-care-service (e.g. https://vc.internal)')
    .requiredOption('--jitsi-url <url>', "the tenant's Jitsi deployment")
    .requiredOption('--jitsi-app-id <id>', 'the Jitsi JWT application id')
    .requiredOption('--jitsi-secret-file <path>', 'file holding the Jitsi app secret')
    .option('--branding-file <path>', 'JSON file with the branding')
    .option('--admin-token-file <path>', 'file holding a vc:admin bearer token for the tenant')
    .option('--practitioner-token-file <path>', 'file holding a vc:practitioner bearer token for the tenant')
    .option('--token-secret-file <path>', "file holding the service's VC_AUTH_HS256_SECRET, to mint both tokens (dev/tests)")
    .option('--token-issuer <iss>', 'issuer of minted tokens (the service VC_AUTH_ISSUER)')
    .option('--token-audience <aud>', 'audience of minted tokens (the service VC_AUTH_AUDIENCE; default virtual-care)')
    .option('--test-patient <ref>', 'patient reference of the first-session test', 'Patient/onboarding-test')
    .option('--test-practitioner <ref>', 'practitioner reference of the first-session test', 'Practitioner/onboarding-test')
    .option('--encounter-timeout <ms>', 'how long to wait for the Encounter', '30000')
    .option('--service-timeout <ms>', 'how long one request to the service may take before its step fails', '30000')
    .option('--json', 'print the onboarding report as JSON on stdout')
    .addHelpText('after', ONBOARD_EXAMPLES)
    .action(async (flags: OnboardFlags) => {
      const timeouts = checkOnboardFlags(flags);
      const config = loadConfig(process.env, ONBOARD_REQUIRES);
      const input: OnboardInput = {
        tenant: flags.tenant,
        serviceUrl: flags.serviceUrl,
        jitsiServerUrl: flags.jitsiUrl,
        jitsiAppId: flags.jitsiAppId,
        jitsiAppSecret: await readSecretFile(flags.jitsiSecretFile, '--jitsi-secret-file'),
        branding: await branding(flags.brandingFile),
        tokens: await tokens(flags),
        testPatient: flags.testPatient,
        testPractitioner: flags.testPractitioner,
        encounterTimeoutMs: timeouts.encounter,
        serviceTimeoutMs: timeouts.service,
      };
      const services = createServices(config);
      try {
        const report = await onboardTenant(input, { licensing: await services.licensing(), fhir: () => services.fhir() });
        for (const step of report.steps) console.error(`${step.status === 'done' ? 'ok  ' : 'FAIL'} ${step.id}${step.detail ? `: ${step.detail}` : ''}`);
        if (flags.json) printJson(report);
        if (report.status === 'failed')
          throw new ExitError(1, `onboarding of tenant ${input.tenant} stopped at ${report.steps.at(-1)?.id}; fix it and run the same command again`);
      } finally {
        await services.close();
      }
    });
}

/** `migrator tenant <subcommand>`: tenant lifecycle after cutover (plan §3). */
export function makeTenantCommand(): Command {
  return new Command('tenant')
    .description('tenant lifecycle after cutover')
    .addCommand(makeOnboardCommand())
    .addCommand(makeForgetCommand())
    .addHelpText('after', ONBOARD_EXAMPLES);
}
