/**
 * Jitsi Meet token claims, per Jitsi's token spec (lib-jitsi-meet `doc/tokens.md`, prosody `token_auth`):
 * `iss` = the application id (`app_id`), `aud` = the accepted audience (`jitsi` unless the deployment says
 * otherwise), `sub` = the Jitsi tenant for `https://host/TENANT/ROOM` conferences and the domain for
 * `https://host/ROOM` ones (see `jitsiSubject`), `room` = the room the token admits to, `exp`/`nbf` in
 * seconds since the epoch, and `context.user` whose values Jitsi reads as strings (`moderator: "true"`).
 */

export const DEFAULT_JITSI_AUDIENCE = 'jitsi';

/** Jitsi tokens for a join are short-lived: long enough to open the meeting, useless if leaked later. */
export const DEFAULT_JITSI_TOKEN_TTL_SECONDS = 300;

export interface JitsiUserContext {
  id: string;
  name: string;
  /** `"true"` lets the holder moderate (practitioners); strings, because Jitsi compares strings. */
  moderator: 'true' | 'false';
  email?: string;
  avatar?: string;
}

export interface JitsiClaims {
  iss: string;
  aud: string;
  sub: string;
  room: string;
  iat: number;
  nbf: number;
  exp: number;
  context: { user: JitsiUserContext };
}

export interface JitsiClaimsInput {
  appId: string;
  serverUrl: string;
  room: string;
  user: { id: string; name: string; moderator: boolean; email?: string };
  now: Date;
  ttlSeconds?: number;
  audience?: string;
}

/** Builds the claims of a Jitsi join token; the caller signs them (HS256, the tenant's app secret). */
export function buildJitsiClaims(input: JitsiClaimsInput): JitsiClaims {
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  const ttl = input.ttlSeconds ?? DEFAULT_JITSI_TOKEN_TTL_SECONDS;
  const user: JitsiUserContext = { id: String(input.user.id), name: String(input.user.name), moderator: input.user.moderator ? 'true' : 'false' };
  if (input.user.email !== undefined) user.email = String(input.user.email);
  return {
    iss: input.appId,
    aud: input.audience ?? DEFAULT_JITSI_AUDIENCE,
    sub: jitsiSubject(input.serverUrl),
    room: input.room,
    iat: nowSeconds,
    // A little slack for clocks that run behind ours; Jitsi rejects tokens that are not yet valid.
    nbf: nowSeconds - 10,
    exp: nowSeconds + ttl,
    context: { user },
  };
}

/** The non-empty path segments of a Jitsi server URL, as written (still percent-encoded). */
export function jitsiServerPathSegments(serverUrl: string): string[] {
  return new URL(serverUrl).pathname.split('/').filter(Boolean);
}

/**
 * The token's `sub`. The join URL keeps the server URL's path (`jitsiJoinUrl`), so a server URL with a path makes
 * `https://host/TENANT/ROOM` conferences, for which prosody compares `sub` with the tenant, lower-cased; without a
 * path the conference is `https://host/ROOM` and `sub` is the domain. `PUT /config` refuses a server URL with more
 * than one segment (Jitsi has no nested tenants); one that still has several (written by the migrator from legacy
 * data) gets its first, which is the segment Jitsi's nginx routes as the tenant.
 */
export function jitsiSubject(serverUrl: string): string {
  const [tenant] = jitsiServerPathSegments(serverUrl);
  if (tenant === undefined) return new URL(serverUrl).hostname;
  return decodeSegment(tenant).toLowerCase();
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A stray `%` the URL parser let through: the segment as written is the best name for the tenant.
    return segment;
  }
}

/** Room names are derived from the session id: unguessable, stable, and free of PHI. */
export function roomNameForSession(sessionId: string): string {
  return `vc-${sessionId.replace(/-/g, '')}`;
}

/** The URL a client opens: `<server>/<room>?jwt=<token>`, keeping any path prefix of the server URL. */
export function jitsiJoinUrl(serverUrl: string, room: string, jwt: string): string {
  const url = new URL(serverUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(room)}`;
  url.search = '';
  url.searchParams.set('jwt', jwt);
  return url.toString();
}
