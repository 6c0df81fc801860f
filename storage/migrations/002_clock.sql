-- Clocks (SPEC §4, §9, §10): deadlines stored at dispatch, reminder and escalation state, follow-ups,
-- scheduled announcements, door-knocking visits and a ledger of periodic job runs.
-- A *_remind_at / followup_at / escalate_at / autoclose_at column holds when that step is due and is
-- cleared (or moved on) in the same transaction that writes its message, so nothing fires twice.
ALTER TABLE petitions ADD COLUMN clock_started_at TEXT;
ALTER TABLE petitions ADD COLUMN sign_deadline TEXT;
ALTER TABLE petitions ADD COLUMN feedback_deadline TEXT;
ALTER TABLE petitions ADD COLUMN resolve_deadline TEXT;
ALTER TABLE petitions ADD COLUMN sign_remind_at TEXT;
ALTER TABLE petitions ADD COLUMN feedback_remind_at TEXT;
ALTER TABLE petitions ADD COLUMN resolve_remind_at TEXT;
ALTER TABLE petitions ADD COLUMN feedback_at TEXT;
ALTER TABLE petitions ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE petitions ADD COLUMN escalate_at TEXT;
ALTER TABLE petitions ADD COLUMN followup_at TEXT;
ALTER TABLE petitions ADD COLUMN autoclose_at TEXT;
CREATE INDEX IF NOT EXISTS petitions_escalate ON petitions (escalate_at);
ALTER TABLE announcements ADD COLUMN send_at TEXT;
ALTER TABLE announcements ADD COLUMN sent_at TEXT;
CREATE TABLE IF NOT EXISTS job_runs (
  job TEXT NOT NULL, period TEXT NOT NULL, at TEXT NOT NULL, detail TEXT, PRIMARY KEY (job, period));
CREATE TABLE IF NOT EXISTS visits (
  id INTEGER PRIMARY KEY AUTOINCREMENT, worker TEXT NOT NULL, building TEXT, room TEXT,
  note TEXT NOT NULL, petition INTEGER, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS visits_worker ON visits (worker, at);
