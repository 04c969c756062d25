-- Enrollments keep SHA-256 of Graph's challenge (base64url), not the
-- challenge: Entra's challenges run to kilobytes, which put every
-- enrollment row on overflow pages, rewritten at each state change.
-- The old column stays, unused, so that nodes not yet upgraded keep
-- working during a rolling upgrade; a later release drops it. Options
-- issued by such a node have no digest, and a device that completes them
-- on an upgraded node is told to request new ones.
ALTER TABLE enrollments ADD COLUMN challenge_digest TEXT NOT NULL DEFAULT '';
