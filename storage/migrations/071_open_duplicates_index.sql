-- deliberation.find_duplicate runs on every report and wants the *open* petitions of one building and
-- category: through petitions_building_category it also walked every merged repeat of that building and
-- category in the window (the more a problem is reported, the slower the next report). This partial
-- index holds open petitions only. The query must repeat this WHERE term literally for SQLite to use
-- it (handlers/deliberation.py builds it from storage.states.OPEN_STATES, in this order); if the open
-- states ever change, the index is simply not used (no wrong answer), and a new migration should follow.
CREATE INDEX IF NOT EXISTS petitions_open_by_building ON petitions (building, category, created_at)
  WHERE state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated');
