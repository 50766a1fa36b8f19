-- Releases before the last one put a cancelled session's free-text cancel reason (a clinician's words, which
-- may hold clinical detail) into its events' data. Events they wrote and did not publish still carry
-- `data.cancelReason` and would publish it after the upgrade: strip it from them. Published rows are left
-- as they are: their messages are already on the stream, and rewriting every event ever sent would scan the
-- whole table while the service starts (apps/service/README.md, "the outbox and the relay"). The relay also
-- leaves the field out when it publishes, whoever wrote the row.
UPDATE "outbox" SET "payload" = "payload" #- '{data,cancelReason}'
WHERE "kind" = 'event' AND "published_at" IS NULL AND "payload" -> 'data' ? 'cancelReason';
