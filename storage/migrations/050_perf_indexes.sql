-- Indexes found by bench/ (see bench/README.md): each replaces a full scan on a hot path.
-- deliberation.find_duplicate runs on every report: building + category + recent created_at.
CREATE INDEX IF NOT EXISTS petitions_building_category ON petitions (building, category, created_at);
-- open petitions by state: stats.overdue_list, petitions.open_load (worker pick), returned_queue.
CREATE INDEX IF NOT EXISTS petitions_state ON petitions (state, worker);
-- Deliverer._rate_limited (outbox.sent_since) on every robot delivery: sent rows of one target.
CREATE INDEX IF NOT EXISTS outbox_sent_target ON outbox (via, target_kind, target_id, sent_at)
  WHERE status = 'sent';
