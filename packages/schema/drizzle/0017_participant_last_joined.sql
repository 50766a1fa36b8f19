-- When a participant last joined, so an Encounter can tell a participant who left and came back (in the room
-- at the end) from one who left for good: last_left_at keeps the latest leave, which a rejoin does not clear.
-- NULL for rows written before this migration and for rows backfilled from legacy AuditLog: their Encounter
-- ends the participant at last_left_at, as before.
ALTER TABLE "session_participants" ADD COLUMN "last_joined_at" timestamp (3) with time zone;
