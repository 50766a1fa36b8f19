-- The run ledger is evidence: its hash chain proves a row edited or deleted in the middle, but nothing in
-- the chain itself can tell that its newest rows were deleted, or that the last row was edited and
-- re-hashed. Refuse every rewrite of it at the database, whoever asks; only dropping the table (or the
-- vc_migration schema, after the migration is over) removes rows.
CREATE OR REPLACE FUNCTION "vc_migration"."ledger_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'vc_migration.ledger is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "ledger_no_rewrite"
  BEFORE UPDATE OR DELETE ON "vc_migration"."ledger"
  FOR EACH ROW EXECUTE FUNCTION "vc_migration"."ledger_append_only"();
--> statement-breakpoint
CREATE TRIGGER "ledger_no_truncate"
  BEFORE TRUNCATE ON "vc_migration"."ledger"
  FOR EACH STATEMENT EXECUTE FUNCTION "vc_migration"."ledger_append_only"();
