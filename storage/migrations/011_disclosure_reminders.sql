-- A disclosure request past its answer deadline is raised with staff once.
ALTER TABLE disclosures ADD COLUMN overdue_notified_at TEXT;
