/**
 * The instant a migrated session is placed in or before its tenant's FHIR era by (`s` = virtual_sessions):
 * its end, or for a legacy `completed` row that never recorded one, the latest instant it did record
 * (start, else scheduled start, else creation). SQL, shared by S2/S4's backfill and validation so they agree.
 */
export const SESSION_ERA_INSTANT = 'coalesce(s.ended_at, s.started_at, s.scheduled_start, s.created_at)';
