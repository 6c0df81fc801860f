-- Where a message actually went (the robot key, openid, userid): rate limits belong to the destination,
-- and several buildings may share one group robot.
ALTER TABLE outbox ADD COLUMN dest TEXT;
DROP INDEX IF EXISTS outbox_sent_target;
CREATE INDEX IF NOT EXISTS outbox_sent_dest ON outbox (via, dest, sent_at) WHERE status = 'sent';
