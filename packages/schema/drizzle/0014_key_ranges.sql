-- Key ranges (`migrator enqueue … --split-larger-than N`): a large tenant's S1 steps 1.1 and 1.4 run as several
-- work items, each over a range of legacy keys with its own checkpoint. `key_range` is '' for a step's
-- whole-tenant checkpoint (every run before this migration), else the range's key.
ALTER TABLE "vc_migration"."step_checkpoints" ADD COLUMN "key_range" text DEFAULT '' NOT NULL;
--> statement-breakpoint
ALTER TABLE "vc_migration"."step_checkpoints" DROP CONSTRAINT "step_checkpoints_pk";
--> statement-breakpoint
ALTER TABLE "vc_migration"."step_checkpoints" ADD CONSTRAINT "step_checkpoints_pk" PRIMARY KEY("tenant_id","phase","step_id","key_range");
--> statement-breakpoint
-- A plan item's range: null for a whole tenant's phase, else {step, index, count, after, until} (legacy keys).
ALTER TABLE "vc_migration"."plan_items" ADD COLUMN "key_range" jsonb;
