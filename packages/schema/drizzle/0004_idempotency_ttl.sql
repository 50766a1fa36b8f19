-- Idempotency replies hold whole replies (patient refs included) and live 24 h; the purge deletes by age.
CREATE INDEX IF NOT EXISTS "idempotency_keys_created_at_idx" ON "idempotency_keys" USING btree ("created_at");
