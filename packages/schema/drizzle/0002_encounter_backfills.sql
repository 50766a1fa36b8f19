CREATE TABLE "vc_migration"."encounter_backfills" (
	"session_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"legacy_id" text NOT NULL,
	"encounter_ref" text NOT NULL,
	"created" boolean NOT NULL,
	"phase" text NOT NULL,
	"backfilled_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "encounter_backfills_tenant_idx" ON "vc_migration"."encounter_backfills" USING btree ("tenant_id");