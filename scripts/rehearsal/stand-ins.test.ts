import { spawn } from 'node:child_process';
import { createKms } from '../../packages/integrations/src/kms';
import { createLicensingClient } from '../../packages/integrations/src/licensing';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../demo/settings';

/** `pnpm stand-ins` as an operator runs it: the lines it prints, exported, reach working systems. */
async function startStandIns(): Promise<{ env: Record<string, string>; jitsi: string[]; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/rehearsal/stand-ins.ts', '--tenants', 'acme,globex'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('# ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`stand-ins exited ${code} before ready:\n${out}\n${err}`)));
  });
  const env = Object.fromEntries([...out.matchAll(/^export ([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
  const jitsi = [...out.matchAll(/^# Jitsi of \S+ .*: (http\S+)$/gm)].map((m) => m[1]!);
  return {
    env,
    jitsi,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('pnpm stand-ins', () => {
  it('prints VC_* lines that point at working FHIR, access-policy, Kong, licensing, KMS and one Jitsi per tenant, and stops cleanly on SIGTERM', async () => {
    const standIns = await startStandIns();
    try {
      const { env } = standIns;
      expect(
        Object.keys(env)
          .filter((k) => k.startsWith('VC_'))
          .sort(),
      ).toEqual([
        'VC_ACCESS_POLICY_URL',
        'VC_FHIR_BASE_URL',
        'VC_KMS',
        'VC_KMS_ENDPOINT',
        'VC_KONG_ADMIN_URL',
        'VC_LICENSING_URL',
        'VC_OUTBOUND_ALLOW',
        'VC_OUTBOUND_ALLOW_HTTP',
      ]);
      expect((await fetch(`${env.VC_FHIR_BASE_URL}/metadata`)).status).toBe(200);
      expect((await fetch(`${env.VC_KONG_ADMIN_URL}/services`)).status).toBe(200);
      expect((await fetch(`${env.VC_ACCESS_POLICY_URL}/tenants/acme/Consent`)).status).toBe(200);
      expect(await createLicensingClient({ baseUrl: env.VC_LICENSING_URL! }).isEnabled('acme', 'virtual-care')).toBe(false);
      const kms = await createKms(env.VC_KMS!, {
        aws: {
          endpoint: env.VC_KMS_ENDPOINT,
          region: env.AWS_REGION,
          credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
        },
      });
      const context = { tenantId: 'acme', purpose: 'rehearsal' };
      expect(Buffer.from(await kms.decrypt(await kms.encrypt(Buffer.from('secret'), context), context)).toString()).toBe('secret');
      expect(standIns.jitsi).toHaveLength(2);
      for (const url of standIns.jitsi) expect((await fetch(`${url}/external_api.js`)).status).toBe(200);
    } finally {
      expect(await standIns.stop()).toBe(0);
    }
  });
});
