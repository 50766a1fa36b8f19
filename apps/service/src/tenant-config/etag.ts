import type { TenantVirtualCareConfig } from '@vc/schema';
import { AppError } from '../errors';

/**
 * The config's entity tag (RFC 9110 §8.8.3): its version, which every PUT bumps, and the time of the last
 * connection test, which test-connection stores without a version bump. Together they fix the whole
 * representation, so the tag is strong and Express' `If-None-Match` handling on GET stays correct.
 */
export function configEtag(config: Pick<TenantVirtualCareConfig, 'version' | 'lastConnectionTest'>): string {
  const tested = config.lastConnectionTest ? Date.parse(config.lastConnectionTest.testedAt) : 0;
  return `"${config.version}-${Number.isFinite(tested) ? tested : 0}"`;
}

/** What `/openapi.json` declares as the header's `maxLength`. */
export const IF_MATCH_MAX_LENGTH = 500;

const ENTITY_TAG = /(W\/)?"[\x21\x23-\x7e]*"/g;
const IF_MATCH = /^\s*(\*|(W\/)?"[\x21\x23-\x7e]*"(\s*,\s*(W\/)?"[\x21\x23-\x7e]*")*)\s*$/;

/**
 * Evaluates `If-Match` (RFC 9110 §13.1.1) against the current config: `*` matches any existing config;
 * otherwise one listed tag must equal the current one by strong comparison (a weak tag never matches).
 * A failed precondition is a 412 problem; a malformed header a 400 naming it.
 */
export function checkIfMatch(header: string | undefined, current: TenantVirtualCareConfig | undefined): void {
  if (header === undefined) return;
  const malformed = (message: string) => new AppError('validation_failed', 'invalid header If-Match', { errors: [{ field: 'header.If-Match', message }] });
  // The documented bound: a client holds one tag (a few alternatives at most), never kilobytes of them.
  if (header.length > IF_MATCH_MAX_LENGTH) throw malformed(`expected at most ${IF_MATCH_MAX_LENGTH} characters`);
  if (!IF_MATCH.test(header)) throw malformed('expected * or a list of entity tags such as "3-0"');
  const matches =
    current !== undefined && (header.trim() === '*' || (header.match(ENTITY_TAG) ?? []).some((tag) => !tag.startsWith('W/') && tag === configEtag(current)));
  if (!matches) {
    throw new AppError(
      'precondition_failed',
      current ? 'the configuration changed since the If-Match tag was read; GET it again and retry' : 'there is no configuration for If-Match to match',
    );
  }
}
