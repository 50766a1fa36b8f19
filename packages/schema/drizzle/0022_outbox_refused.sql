-- An outbox row the far side refused for good (a FHIR Encounter answered 400, 412 or 422) is parked, not retried
-- blindly: refused_at says when, refused_reason why (status and FHIR issue codes only, never the diagnostics text,
-- which may echo PHI). Operators list and requeue parked rows by SQL (apps/service/README.md).
ALTER TABLE "outbox" ADD COLUMN "refused_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "refused_reason" text;
