-- Who wrote a migrated row last is told by versions, not by instants: the service bumps `version` on every write
-- it makes, and the migrator records in `migrated_version` the version its own write left. A row is still the
-- migrator's (legacy's changes may replace it) while the two are equal; 0 marks a session the migrator linked to
-- its legacy row without writing legacy's values (a shadow session the live service changed); NULL, a row no
-- release recorded this for. `legacy_updated_at` is the legacy updatedAt of the version the migrator last wrote:
-- a legacy row stamped otherwise (later, or earlier when legacy's clock went back) is a change.
ALTER TABLE "virtual_sessions" ADD COLUMN "migrated_version" integer;--> statement-breakpoint
ALTER TABLE "virtual_sessions" ADD COLUMN "legacy_updated_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tenant_virtual_care_configs" ADD COLUMN "migrated_version" integer;--> statement-breakpoint
-- A migrated session still at version 1 was never written by the service (each of its writes bumps the version)
-- nor by an earlier S4 (which bumped it too), so it holds what the migrator loaded, legacy's updatedAt included.
-- Other migrated sessions stay NULL: they are judged as before, by their updated_at against legacy's.
UPDATE "virtual_sessions" SET "migrated_version" = 1, "legacy_updated_at" = "updated_at" WHERE "legacy_id" IS NOT NULL AND "version" = 1;--> statement-breakpoint
-- A config at version 1 that S1 1.3 wrote for its tenant (its step counted the write) has not been PUT since, whatever
-- its updated_at says (an earlier release's S2 2.2 stamped it with the time of its test). A config the service
-- created where S1 wrote none stays NULL: the service's.
UPDATE "tenant_virtual_care_configs" c SET "migrated_version" = 1
  WHERE c."version" = 1 AND EXISTS (
    SELECT 1 FROM "vc_migration"."step_checkpoints" k
     WHERE k."tenant_id" = c."tenant_id" AND k."phase" = 's1' AND k."step_id" = '1.3' AND k."written" > 0);
