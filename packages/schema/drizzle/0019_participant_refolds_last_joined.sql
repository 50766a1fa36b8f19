-- The legacy participant folds now keep each participant's latest join (session_participants.last_joined_at):
-- S4's refold and a split tenant's 1.4 stage it here before merging it. A row staged before this column
-- existed has NULL: a refold or split 1.4 in flight across the upgrade is restarted (runbooks/s1-session-data.md).
ALTER TABLE "vc_migration"."participant_refolds" ADD COLUMN "last_joined_at" timestamp (3) with time zone;
