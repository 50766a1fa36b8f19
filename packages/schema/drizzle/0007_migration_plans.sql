-- Distributed plans (migrator enqueue / worker): PostgreSQL holds each plan and the state of its items;
-- the VC_MIGRATION_WORK JetStream stream only carries who works on what.
CREATE TABLE "vc_migration"."plans" (
	"id" text PRIMARY KEY NOT NULL,
	"phase" text NOT NULL,
	"options" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."plan_items" (
	"plan_id" text NOT NULL REFERENCES "vc_migration"."plans"("id") ON DELETE CASCADE,
	"item_key" text NOT NULL,
	"tenant_id" text NOT NULL,
	"subject" text NOT NULL,
	"msg_id" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"worker_host" text,
	"worker_pid" integer,
	"heartbeat_at" timestamp (3) with time zone,
	"error" text,
	"published_at" timestamp (3) with time zone,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"completions" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "plan_items_pk" PRIMARY KEY("plan_id","item_key"),
	CONSTRAINT "plan_items_status_ck" CHECK ("status" in ('queued', 'running', 'done', 'failed'))
);
