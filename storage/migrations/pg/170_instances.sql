-- Several instances on one database: see ../170_instances.sql (the same columns and indexes).
ALTER TABLE intake ADD COLUMN sender text;
ALTER TABLE intake ADD COLUMN owner text;
ALTER TABLE intake ADD COLUMN lease_until double precision;
ALTER TABLE intake ADD COLUMN late bigint NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by text;
ALTER TABLE outbox ADD COLUMN claim_until text;
CREATE INDEX outbox_sending ON outbox (claim_until) WHERE status = 'sending';
CREATE INDEX intake_lease ON intake (lease_until);
-- wrong workbench logins per address, counted by every instance (a guess across userids waits)
CREATE TABLE login_failures (
  address text NOT NULL,
  at text NOT NULL);
CREATE INDEX login_failures_address ON login_failures (address, at);
