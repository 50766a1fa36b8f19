-- An Idempotency-Key replay repeats the headers of the stored reply (the Location of a 201), not only its
-- status and body. Rows stored before this migration replay without them, as they did.
ALTER TABLE "idempotency_keys" ADD COLUMN "response_headers" jsonb;
