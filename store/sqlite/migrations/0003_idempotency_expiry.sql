-- Every claim of an Idempotency-Key first deletes the expired keys. Without
-- an index on created_at that DELETE read the whole table on every request
-- carrying a key: a day of traffic (the keys' lifetime) made each
-- enrollment step scan every key of the last 24 hours.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
