-- When staff resend a failed message its retry horizon starts again from then (NULL: from created_at).
ALTER TABLE outbox ADD COLUMN retry_from TEXT;
