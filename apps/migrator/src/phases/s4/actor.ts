import { userInfo } from 'node:os';

/** Who ran a cutover, rollback or decommission, as recorded in `vc_migration.cutovers.actor`. */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    // Containers without a passwd entry have no user name; the uid still identifies who ran it.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
