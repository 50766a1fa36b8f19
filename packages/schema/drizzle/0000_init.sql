CREATE SCHEMA "vc_migration";
--> statement-breakpoint
CREATE TYPE "public"."billing_status" AS ENUM('pending', 'published', 'void');--> statement-breakpoint
CREATE TYPE "public"."outbox_kind" AS ENUM('event', 'fhir_encounter');--> statement-breakpoint
CREATE TYPE "public"."participant_role" AS ENUM('patient', 'practitioner', 'interpreter', 'caregiver', 'other');--> statement-breakpoint
CREATE TYPE "public"."participant_source" AS ENUM('live', 'audit_backfill');--> statement-breakpoint
CREATE TYPE "public"."session_status" AS ENUM('scheduled', 'waiting', 'in_progress', 'ended', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."video_backend" AS ENUM('jitsi', 'twilio', 'zoom');--> statement-breakpoint
CREATE TYPE "vc_migration"."run_status" AS ENUM('running', 'done', 'failed', 'interrupted');--> statement-breakpoint
CREATE TYPE "vc_migration"."step_status" AS ENUM('pending', 'running', 'done', 'failed');--> statement-breakpoint
CREATE TABLE "virtual_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"legacy_id" text,
	"patient_ref" text NOT NULL,
	"practitioner_ref" text,
	"scheduled_start" timestamp (3) with time zone,
	"scheduled_end" timestamp (3) with time zone,
	"started_at" timestamp (3) with time zone,
	"ended_at" timestamp (3) with time zone,
	"status" "session_status" NOT NULL,
	"cancel_reason" text,
	"video_backend" "video_backend" DEFAULT 'jitsi' NOT NULL,
	"room_name" text,
	"encounter_ref" text,
	"version" integer DEFAULT 1 NOT NULL,
	"migrated_from" jsonb,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "virtual_sessions_cancel_reason_only_when_cancelled" CHECK ("virtual_sessions"."cancel_reason" is null or "virtual_sessions"."status" = 'cancelled'),
	CONSTRAINT "virtual_sessions_version_positive" CHECK ("virtual_sessions"."version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "session_participants" (
	"session_id" uuid NOT NULL,
	"tenant_id" text NOT NULL,
	"participant_ref" text NOT NULL,
	"role" "participant_role" NOT NULL,
	"display_name" text,
	"first_joined_at" timestamp (3) with time zone,
	"last_left_at" timestamp (3) with time zone,
	"join_count" integer DEFAULT 0 NOT NULL,
	"source" "participant_source" NOT NULL,
	CONSTRAINT "session_participants_pk" PRIMARY KEY("session_id","participant_ref"),
	CONSTRAINT "session_participants_join_count_nonneg" CHECK ("session_participants"."join_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "tenant_virtual_care_configs" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"jitsi_server_url" text NOT NULL,
	"jitsi_app_id" text NOT NULL,
	"credentials_ciphertext" text NOT NULL,
	"kms_key_id" text NOT NULL,
	"branding" jsonb,
	"enabled" boolean DEFAULT true NOT NULL,
	"fhir_era_start" timestamp (3) with time zone,
	"billing" jsonb DEFAULT '{"placeOfService":"02","modifier":"95"}'::jsonb NOT NULL,
	"last_connection_test" jsonb,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "session_audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"session_id" uuid NOT NULL,
	"action" text NOT NULL,
	"actor_ref" text,
	"details" jsonb,
	"occurred_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"session_id" uuid NOT NULL,
	"legacy_id" text,
	"code" text NOT NULL,
	"modifier" text,
	"place_of_service" text NOT NULL,
	"units" integer DEFAULT 1 NOT NULL,
	"status" "billing_status" DEFAULT 'pending' NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"kind" "outbox_kind" DEFAULT 'event' NOT NULL,
	"subject" text NOT NULL,
	"aggregate_id" uuid,
	"payload" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp (3) with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"tenant_id" text NOT NULL,
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_pk" PRIMARY KEY("tenant_id","principal","key")
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."cutovers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"action" text NOT NULL,
	"previous_routing" jsonb,
	"applied_routing" jsonb,
	"watermark" timestamp (3) with time zone,
	"forced" boolean DEFAULT false NOT NULL,
	"reason" text,
	"actor" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."id_map" (
	"tenant_id" text NOT NULL,
	"entity" text NOT NULL,
	"legacy_id" text NOT NULL,
	"new_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "id_map_pk" PRIMARY KEY("tenant_id","entity","legacy_id")
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."rejects" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"phase" text NOT NULL,
	"step_id" text NOT NULL,
	"legacy_key" text NOT NULL,
	"reason" text NOT NULL,
	"detail" text,
	"raw" jsonb,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"phase" text NOT NULL,
	"status" "vc_migration"."run_status" DEFAULT 'running' NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"options" jsonb,
	"summary" jsonb,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "vc_migration"."step_checkpoints" (
	"tenant_id" text NOT NULL,
	"phase" text NOT NULL,
	"step_id" text NOT NULL,
	"status" "vc_migration"."step_status" DEFAULT 'pending' NOT NULL,
	"cursor" jsonb,
	"read" integer DEFAULT 0 NOT NULL,
	"written" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"deferred" integer DEFAULT 0 NOT NULL,
	"warnings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"facts" jsonb,
	"run_id" uuid,
	"error" text,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"duration_ms" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "step_checkpoints_pk" PRIMARY KEY("tenant_id","phase","step_id")
);
--> statement-breakpoint
ALTER TABLE "session_participants" ADD CONSTRAINT "session_participants_session_id_virtual_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."virtual_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_audit_events" ADD CONSTRAINT "session_audit_events_session_id_virtual_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."virtual_sessions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_events" ADD CONSTRAINT "billing_events_session_id_virtual_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."virtual_sessions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "virtual_sessions_tenant_legacy_uq" ON "virtual_sessions" USING btree ("tenant_id","legacy_id");--> statement-breakpoint
CREATE INDEX "virtual_sessions_tenant_created_idx" ON "virtual_sessions" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "virtual_sessions_tenant_status_idx" ON "virtual_sessions" USING btree ("tenant_id","status","scheduled_start");--> statement-breakpoint
CREATE INDEX "virtual_sessions_tenant_patient_idx" ON "virtual_sessions" USING btree ("tenant_id","patient_ref","scheduled_start");--> statement-breakpoint
CREATE INDEX "virtual_sessions_tenant_practitioner_idx" ON "virtual_sessions" USING btree ("tenant_id","practitioner_ref","scheduled_start");--> statement-breakpoint
CREATE INDEX "session_audit_events_session_idx" ON "session_audit_events" USING btree ("tenant_id","session_id","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "billing_events_session_code_uq" ON "billing_events" USING btree ("tenant_id","session_id","code");--> statement-breakpoint
CREATE UNIQUE INDEX "billing_events_tenant_legacy_uq" ON "billing_events" USING btree ("tenant_id","legacy_id");--> statement-breakpoint
CREATE INDEX "billing_events_tenant_occurred_idx" ON "billing_events" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("next_attempt_at") WHERE "outbox"."published_at" is null;--> statement-breakpoint
CREATE INDEX "cutovers_tenant_idx" ON "vc_migration"."cutovers" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "rejects_row_uq" ON "vc_migration"."rejects" USING btree ("tenant_id","phase","step_id","legacy_key","reason");--> statement-breakpoint
CREATE INDEX "rejects_tenant_reason_idx" ON "vc_migration"."rejects" USING btree ("tenant_id","reason");--> statement-breakpoint
CREATE INDEX "runs_tenant_phase_idx" ON "vc_migration"."runs" USING btree ("tenant_id","phase","started_at");