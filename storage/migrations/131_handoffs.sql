-- 转人工 (issue 14): a resident's conversation handed to their grid worker, open until either side
-- ends it or it falls silent; and scheduled announcements that staff cancel before they go out.
CREATE TABLE IF NOT EXISTS handoffs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  resident TEXT NOT NULL,
  worker TEXT NOT NULL,
  building TEXT,
  opened_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  closed_at TEXT,
  closed_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS handoffs_open_resident ON handoffs (resident) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS handoffs_open_worker ON handoffs (worker) WHERE closed_at IS NULL;
-- a cancelled scheduled announcement keeps its row; its send_at is cleared so the clock skips it
ALTER TABLE announcements ADD COLUMN cancelled_at TEXT;
ALTER TABLE announcements ADD COLUMN cancelled_send_at TEXT;
