import { z } from 'zod';

/** The roles a caller token may carry (docs/design.md §7). Unknown roles are ignored, not rejected. */
export const ROLES = ['vc:admin', 'vc:practitioner', 'vc:patient'] as const;
export type Role = (typeof ROLES)[number];

/** Caller token claims: `{ sub: "Practitioner/123", tenant: "acme", roles: ["vc:practitioner"] }`. */
export const callerClaimsSchema = z.object({
  sub: z.string().regex(/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/, { message: 'expected a FHIR reference such as Practitioner/123' }),
  tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'expected a tenant id' }),
  roles: z.array(z.string()).transform((roles) => roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r))),
});

/** Who is calling, attached to `res.locals.principal` by the auth middleware. */
export interface Principal {
  sub: string;
  tenant: string;
  roles: readonly Role[];
}

export function hasRole(principal: Principal, ...roles: Role[]): boolean {
  return roles.some((role) => principal.roles.includes(role));
}
