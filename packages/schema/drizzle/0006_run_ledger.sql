CREATE TABLE "vc_migration"."ledger" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"entry" jsonb NOT NULL,
	"tenants" text[] NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ledger_tenants_idx" ON "vc_migration"."ledger" USING gin ("tenants");
