-- Phase gates (docs/design.md §11): S4 needs a passing `migrator validate` newer than the tenant's last
-- s1–s4 run, so each validate's verdict is kept per tenant, with when it started (database time, like runs).
CREATE TABLE IF NOT EXISTS "vc_migration"."validations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"status" text NOT NULL,
	"checks" integer NOT NULL,
	"failed_checks" text[] DEFAULT '{}' NOT NULL,
	"as_of" timestamp (3) with time zone NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"host" text,
	CONSTRAINT "validations_status_ck" CHECK ("status" in ('pass', 'fail'))
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "validations_tenant_idx" ON "vc_migration"."validations" USING btree ("tenant_id","started_at");
--> statement-breakpoint
-- Heartbeats: `migrator status` tells a run that is alive from one whose process died (killed, host lost).
ALTER TABLE "vc_migration"."runs" ADD COLUMN IF NOT EXISTS "host" text;
--> statement-breakpoint
ALTER TABLE "vc_migration"."runs" ADD COLUMN IF NOT EXISTS "pid" integer;
--> statement-breakpoint
ALTER TABLE "vc_migration"."runs" ADD COLUMN IF NOT EXISTS "heartbeat_at" timestamp (3) with time zone;
