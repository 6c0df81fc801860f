-- Several instances on one store (PostgreSQL; on SQLite the one process uses the same columns):
-- an intake row names the instance holding it and until when (the database's clock, epoch seconds),
-- and whether a retry reached another instance meanwhile (its replies then go as messages); an outbox
-- row being sent names the instance sending it and until when its claim holds.
ALTER TABLE intake ADD COLUMN sender TEXT;
ALTER TABLE intake ADD COLUMN owner TEXT;
ALTER TABLE intake ADD COLUMN lease_until REAL;
ALTER TABLE intake ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_until TEXT;
CREATE INDEX IF NOT EXISTS outbox_sending ON outbox (claim_until) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS intake_lease ON intake (lease_until);
-- wrong workbench logins per address, counted by every instance (a guess across userids waits)
CREATE TABLE IF NOT EXISTS login_failures (
  address TEXT NOT NULL,
  at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures (address, at);
