-- S4's participant refold stages its fold here, batch by batch, instead of holding a tenant's whole
-- participant history in memory; the difference against session_participants is then written in SQL.
CREATE TABLE "vc_migration"."participant_refolds" (
	"tenant_id" text NOT NULL,
	"step_id" text NOT NULL,
	"session_id" uuid NOT NULL,
	"participant_ref" text NOT NULL,
	"role" "participant_role" NOT NULL,
	"display_name" text,
	"first_joined_at" timestamp (3) with time zone,
	"last_left_at" timestamp (3) with time zone,
	"join_count" integer NOT NULL,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "participant_refolds_pk" PRIMARY KEY("tenant_id","step_id","session_id","participant_ref")
);
--> statement-breakpoint
-- Where a rejected row sits in its source when the legacy id alone cannot tell it (a CSV file and line):
-- two source rows with one legacy id and one reason are two rejects.
ALTER TABLE "vc_migration"."rejects" ADD COLUMN "source" text;
