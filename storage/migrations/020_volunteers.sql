-- 微心愿 review and claiming by party members, and observers' last known location.
ALTER TABLE items ADD COLUMN claimed_by TEXT;
ALTER TABLE items ADD COLUMN review_note TEXT;
ALTER TABLE items ADD COLUMN updated_at TEXT;
ALTER TABLE residents ADD COLUMN lat REAL;
ALTER TABLE residents ADD COLUMN lng REAL;
ALTER TABLE residents ADD COLUMN located_at TEXT;
