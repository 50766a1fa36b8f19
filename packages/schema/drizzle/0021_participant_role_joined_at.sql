-- docs/design.md §5: a participant's role is the one the earliest join whose payload names a known role gives,
-- else the one guessed from the actor's type. The legacy folds merge batches (S1 1.4), key ranges and S4's refold
-- in SQL, so they keep when that join happened; NULL while the role is the guess (and on rows folded before).
ALTER TABLE "session_participants" ADD COLUMN "role_joined_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "vc_migration"."participant_refolds" ADD COLUMN "role_joined_at" timestamp (3) with time zone;
