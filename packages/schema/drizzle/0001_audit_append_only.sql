-- The audit trail is evidence: refuse any rewrite of it, whoever asks.
CREATE OR REPLACE FUNCTION "session_audit_events_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'session_audit_events is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "session_audit_events_no_rewrite"
  BEFORE UPDATE OR DELETE ON "session_audit_events"
  FOR EACH ROW EXECUTE FUNCTION "session_audit_events_append_only"();
