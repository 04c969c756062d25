-- Inventory pages are filtered and ordered by id. Indexes that end with id
-- serve the filter and the order together; with an index on the filtered
-- column alone SQLite sorted every matching row (a page of active passkeys
-- took 384 ms with 1,000,000 stored), and AAGUID had no index at all.
DROP INDEX passkeys_state;
CREATE INDEX passkeys_state ON passkeys (state, id);
DROP INDEX passkeys_user_id;
CREATE INDEX passkeys_user_id ON passkeys (user_id, id);
CREATE INDEX passkeys_aaguid ON passkeys (aaguid, id);
