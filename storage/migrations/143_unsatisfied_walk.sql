-- The petitions rated 不满意 are few (a few in a thousand): the list's 仅不满意 filter walks them alone
-- (storage/workorders.py), instead of every petition when nothing else narrows the list.
CREATE INDEX IF NOT EXISTS petitions_desk_unsatisfied ON petitions (created_ts, id, state, grid, building,
  category, urgent, rating, sign_deadline_ts, resolve_deadline_ts) WHERE rating = 'unsatisfied';
