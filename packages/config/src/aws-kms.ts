import type { z } from 'zod';
import { addRuleIssue } from './env';

/** The standard AWS variables an `aws:` KMS spec reads, for an app's list of settings. */
export const AWS_KMS_SETTINGS = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

/** The AWS settings an `aws:` KMS spec reads (the standard AWS variables plus ours). */
export interface AwsKmsSettings {
  VC_KMS_ENDPOINT?: string | undefined;
  VC_KMS_CREDENTIALS?: 'provider-chain' | 'stand-in' | undefined;
  AWS_REGION?: string | undefined;
  AWS_DEFAULT_REGION?: string | undefined;
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  AWS_SESSION_TOKEN?: string | undefined;
  AWS_PROFILE?: string | undefined;
  AWS_WEB_IDENTITY_TOKEN_FILE?: string | undefined;
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI?: string | undefined;
  AWS_CONTAINER_CREDENTIALS_FULL_URI?: string | undefined;
}

/** Region, endpoint and credentials of the AWS KMS client, decided from config so the client reads no environment. */
export interface AwsKmsConnection {
  endpoint?: string;
  region: string | undefined;
  /** `none`: nothing configured; the client refuses to start rather than probe for credentials. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | 'provider-chain' | 'stand-in' | 'none';
}

/**
 * How to reach AWS KMS: static keys when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set; else what
 * VC_KMS_CREDENTIALS names; else the SDK's provider chain when a profile, web identity or container role
 * is configured; else `none`. An endpoint without a region (a stand-in, LocalStack) signs for `us-east-1`.
 */
export function awsKmsConnection(s: AwsKmsSettings): AwsKmsConnection {
  const region = s.AWS_REGION ?? s.AWS_DEFAULT_REGION ?? (s.VC_KMS_ENDPOINT ? 'us-east-1' : undefined);
  const chainConfigured = Boolean(
    s.AWS_PROFILE || s.AWS_WEB_IDENTITY_TOKEN_FILE || s.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || s.AWS_CONTAINER_CREDENTIALS_FULL_URI,
  );
  const credentials: AwsKmsConnection['credentials'] =
    s.AWS_ACCESS_KEY_ID && s.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: s.AWS_ACCESS_KEY_ID, secretAccessKey: s.AWS_SECRET_ACCESS_KEY, ...(s.AWS_SESSION_TOKEN ? { sessionToken: s.AWS_SESSION_TOKEN } : {}) }
      : (s.VC_KMS_CREDENTIALS ?? (chainConfigured ? 'provider-chain' : 'none'));
  return { ...(s.VC_KMS_ENDPOINT ? { endpoint: s.VC_KMS_ENDPOINT } : {}), region, credentials };
}

/** Cross-variable rules of the AWS settings, for an app schema's `superRefine`. */
export function refineAwsSettings(s: AwsKmsSettings, ctx: z.RefinementCtx): void {
  if (Boolean(s.AWS_ACCESS_KEY_ID) !== Boolean(s.AWS_SECRET_ACCESS_KEY)) {
    const missing = s.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    addRuleIssue(ctx, missing, 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together, or neither');
  }
}
