import type { Principal } from './principal';

/** What a cached verification holds: the principal it produced and the claims its time checks read. */
export interface VerifiedToken {
  principal: Principal;
  /** `exp`, in seconds since the epoch: the entry is served only while `now < exp`, as jose accepts. */
  exp: number;
  /** `iat`, when the token had one: the lifetime check is run again on every hit. */
  iat: number | undefined;
  /** The key-set generation the token was verified under (see `VerifiedTokenCache.hit`). */
  generation: number;
}

/**
 * Caller tokens that passed full verification (signature, algorithm, issuer, audience, `exp`, lifetime,
 * claims), keyed by the exact token string, so a caller's next request with the same token skips the
 * signature check and claim parsing. Safe because a token string is immutable: the same bytes verify the
 * same way under the same key until a clock-dependent check fails, and those checks (`exp`, the lifetime
 * bound) are run again on every hit. An entry is served only under the key-set generation it was verified
 * under: a reload of the JWKS starts a new generation, so a removed key is refused exactly when it would be
 * without the cache. Refusals are never cached. Bounded: least recently used entries go first.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(readonly maxEntries: number) {}

  /** The entry of `token` if it was verified under `generation`, moved to the most recently used end. */
  hit(token: string, generation: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.generation !== generation) return undefined;
    this.entries.set(token, entry);
    return entry;
  }

  remember(token: string, entry: VerifiedToken): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, entry);
  }

  forget(token: string): void {
    this.entries.delete(token);
  }

  get size(): number {
    return this.entries.size;
  }
}
