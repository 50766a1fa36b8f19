import { readFile } from 'node:fs/promises';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import { SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { VIRTUAL_CARE_MODULE } from '@vc/integrations/licensing';
import { withRetry } from '@vc/integrations/retry';
import { SignJWT } from 'jose';
import type { FhirClient, Licensing } from '../engine/ports';
import { ExitError } from '../exit-error';

/** What `migrator tenant onboard` needs; secrets arrive as file paths so they stay out of argv and history. */
export interface OnboardInput {
  tenant: string;
  serviceUrl: string;
  jitsiServerUrl: string;
  jitsiAppId: string;
  jitsiAppSecret: string;
  branding: Record<string, unknown> | null;
  tokens: { admin: string; practitioner: string };
  testPatient: string;
  testPractitioner: string;
  encounterTimeoutMs: number;
  /** How long one request to the service may take, headers and body; a service that hangs fails its step. */
  serviceTimeoutMs: number;
}

export type OnboardStepId = 'config' | 'test_connection' | 'module' | 'first_session' | 'encounter';
export interface OnboardStep {
  id: OnboardStepId;
  status: 'done' | 'failed';
  /** Codes and ids only: check ids, HTTP statuses, the session id. */
  detail?: string;
}

export interface OnboardReport {
  tenant: string;
  status: 'done' | 'failed';
  steps: OnboardStep[];
}

class StepFailed extends Error {}

const API = '/api/v1/virtual-care';

async function call(input: OnboardInput, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  let res: Response;
  let reply: Record<string, unknown>;
  try {
    res = await fetch(`${input.serviceUrl.replace(/\/+$/, '')}${API}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(input.serviceTimeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // A body that is not JSON reads as `{}`; one cut off by the timeout is no answer.
    reply = (await res.json().catch((error: unknown) => {
      if (isTimeout(error)) throw error;
      return {};
    })) as Record<string, unknown>;
  } catch (error) {
    // A service that is down or hangs fails the step like a refusal does: the report says which call, the operator re-runs.
    throw new StepFailed(`${method} ${path} ${unanswered(error, input.serviceTimeoutMs)}`);
  }
  // problem+json carries a stable `type`; its `detail` may echo input, so only the type is kept.
  if (!res.ok) throw new StepFailed(`${method} ${path} answered ${res.status}${typeof reply.type === 'string' ? ` (${reply.type})` : ''}`);
  return reply;
}

const isTimeout = (error: unknown) => error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');

/** Why a call got no answer, as a code: never the URL's credentials or a token. */
function unanswered(error: unknown, timeoutMs: number): string {
  if (isTimeout(error)) return `got no answer within ${timeoutMs} ms`;
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return `could not reach the service (${typeof code === 'string' ? code : 'network error'})`;
}

/** Mints the admin and practitioner bearer tokens from the service's HS256 secret (dev, tests, demo). */
export async function mintOnboardingTokens(
  secret: string,
  tenant: string,
  practitioner: string,
  claims: { issuer?: string; audience?: string },
): Promise<OnboardInput['tokens']> {
  const key = new TextEncoder().encode(secret);
  const sign = (sub: string, roles: string[]) => {
    let jwt = new SignJWT({ tenant, roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('15m');
    if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
    // The service checks `aud` always: without --token-audience, its default VC_AUTH_AUDIENCE.
    jwt = jwt.setAudience(claims.audience ?? DEFAULT_TOKEN_AUDIENCE);
    return jwt.sign(key);
  };
  return { admin: await sign(practitioner, ['vc:admin']), practitioner: await sign(practitioner, ['vc:practitioner']) };
}

async function firstSession(input: OnboardInput): Promise<string> {
  const start = new Date();
  const created = await call(input, input.tokens.practitioner, 'POST', '/sessions', {
    patientRef: input.testPatient,
    practitionerRef: input.testPractitioner,
    scheduledStart: start.toISOString(),
    scheduledEnd: new Date(start.getTime() + 15 * 60_000).toISOString(),
  });
  const id = String(created.id);
  const joined = await call(input, input.tokens.practitioner, 'POST', `/sessions/${id}/join`, {});
  if (typeof joined.jwt !== 'string' || typeof joined.joinUrl !== 'string') throw new StepFailed(`join of session ${id} returned no Jitsi URL and token`);
  await call(input, input.tokens.practitioner, 'POST', `/sessions/${id}/end`, {});
  return id;
}

async function waitForEncounter(fhir: FhirClient, sessionId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  // The service creates the Encounter from its outbox after the end commits: asynchronously, so poll.
  return withRetry(
    async () => {
      const found = await fhir.findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: sessionId });
      if (!found?.id) throw new StepFailed(`no Encounter for session ${sessionId} within ${timeoutMs} ms`);
      return `Encounter/${found.id}`;
    },
    { retries: 1_000, baseMs: 200, maxMs: 1_000, isRetryable: (e) => e instanceof StepFailed && Date.now() < deadline },
  );
}

/**
 * Plan §3, tenant onboarding, through the service's HTTP API: PUT the config, test the connection, enable
 * the module through the platform licensing API, run a first session (create, join, end) and verify its
 * Encounter. Stops at the first failing step; every step is safe to repeat.
 */
export async function onboardTenant(input: OnboardInput, deps: { licensing: Licensing; fhir: () => Promise<FhirClient> }): Promise<OnboardReport> {
  const steps: OnboardStep[] = [];
  const run = async (id: OnboardStepId, action: () => Promise<string | undefined>): Promise<boolean> => {
    try {
      const detail = await action();
      steps.push({ id, status: 'done', ...(detail ? { detail } : {}) });
      return true;
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      steps.push({ id, status: 'failed', detail: error.message });
      return false;
    }
  };
  let sessionId = '';
  const ok =
    (await run('config', async () => {
      await call(input, input.tokens.admin, 'PUT', '/config', {
        jitsiServerUrl: input.jitsiServerUrl,
        jitsiAppId: input.jitsiAppId,
        jitsiAppSecret: input.jitsiAppSecret,
        branding: input.branding,
      });
      return undefined;
    })) &&
    (await run('test_connection', async () => {
      const result = await call(input, input.tokens.admin, 'POST', '/config/test-connection');
      const failing = ((result.checks as Array<{ id: string; ok: boolean }> | undefined) ?? []).filter((c) => !c.ok).map((c) => c.id);
      if (result.ok !== true) throw new StepFailed(`test-connection failed: ${failing.join(', ') || 'not ok'}`);
      return undefined;
    })) &&
    (await run('module', async () => {
      const { changed } = await deps.licensing.enableModule(input.tenant, VIRTUAL_CARE_MODULE);
      return changed ? 'enabled' : 'already enabled';
    })) &&
    (await run('first_session', async () => {
      sessionId = await firstSession(input);
      return `session ${sessionId}`;
    })) &&
    (await run('encounter', async () => {
      await waitForEncounter(await deps.fhir(), sessionId, input.encounterTimeoutMs);
      return `session ${sessionId}`;
    }));
  return { tenant: input.tenant, status: ok ? 'done' : 'failed', steps };
}

/** Reads a secret file (trailing newline dropped); an unreadable one is a usage error (exit 2) naming the flag, never the content. */
export async function readSecretFile(path: string, flag: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ExitError(2, `${flag} expects a readable file holding the secret; cannot read ${path}`, { cause: error });
  }
}
