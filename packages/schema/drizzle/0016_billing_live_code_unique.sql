-- One bill per (session, code) is a rule of the live service, not of legacy's history: legacy voids a bill and
-- bills the same code again as a new row, and S2 2.4 / S4 4.1 carry both over. Carried rows (legacy_id set)
-- stay unique by (tenant_id, legacy_id); live rows (legacy_id null) keep the one-bill-per-code key.
DROP INDEX IF EXISTS "billing_events_session_code_uq";
--> statement-breakpoint
CREATE UNIQUE INDEX "billing_events_session_code_uq" ON "billing_events" USING btree ("tenant_id","session_id","code") WHERE "billing_events"."legacy_id" is null;
