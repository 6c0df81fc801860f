-- A 办结公示 went to the petition's building group at this time (issue 14): a petition reopened or
-- withdrawn afterwards gets a correction in that group. Urgent petitions are few and listed apart.
ALTER TABLE petitions ADD COLUMN group_notice_at TEXT;
CREATE INDEX IF NOT EXISTS petitions_urgent ON petitions (id) WHERE urgent = 1;
