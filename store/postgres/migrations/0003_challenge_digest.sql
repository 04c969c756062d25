-- Enrollments keep SHA-256 of Graph's challenge (base64url), not the
-- challenge: Entra's challenges run to kilobytes, which put every
-- enrollment row on overflow pages, rewritten at each state change.
-- Options issued before this migration hold a challenge, not a digest:
-- they expire, and the device asks for new ones.
ALTER TABLE enrollments RENAME COLUMN challenge TO challenge_digest;
UPDATE enrollments SET challenge_digest = '';
UPDATE enrollments SET state = 'expired', error = 'passkeyd was upgraded while these options were open: request new options'
    WHERE state = 'options_issued';
