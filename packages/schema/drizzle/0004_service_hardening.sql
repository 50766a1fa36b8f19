-- Idempotency replies hold whole replies (patient refs included) and live 24 h; the purge deletes by age.
CREATE INDEX IF NOT EXISTS "idempotency_keys_created_at_idx" ON "idempotency_keys" USING btree ("created_at");
--> statement-breakpoint
-- The Jitsi token's context.user.id: an opaque per-session pseudonym, never the FHIR ref (it rides in ?jwt=).
ALTER TABLE "session_participants" ADD COLUMN IF NOT EXISTS "pseudonym" text;
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "session_participants_pseudonym_idx" ON "session_participants" USING btree ("session_id","pseudonym");
