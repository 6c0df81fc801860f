-- storage/stats.py `summary` at 1,000,000 petitions (bench/README.md, round 6).
--
-- 1. Overdue petitions: a summary counts them per (grid, worker, category) and lists the oldest few;
--    it no longer fetches them all.
--    Through the one index of 060 (led by state and deadlines) the GROUP BY sorted every overdue
--    petition in a temporary B-tree (95k rows: 0.13-0.25 s), and the oldest N took a scan of every
--    running one with a top-N sort (≈30 ms). These partial indexes replace it, each read in its order:
--    - by group: the per-group counts are one GROUP BY over it with no sort;
--    - by sign-for deadline (assigned) and by resolution deadline (running): the overdue list is the
--      merge of two walks in deadline order, which stop after N entries (the whole list needs no sort).
--    All three cover their queries. The states are storage.states.RUNNING, in this order: the queries
--    repeat these WHERE terms literally and name the indexes, so a change of RUNNING fails loudly and
--    wants a new migration.
DROP INDEX IF EXISTS petitions_running_deadlines;
CREATE INDEX IF NOT EXISTS petitions_running_by_group ON petitions (grid, worker, category, state,
  sign_deadline_ts, resolve_deadline_ts, created_ts)
  WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
CREATE INDEX IF NOT EXISTS petitions_assigned_by_sign_deadline ON petitions (sign_deadline_ts, created_ts,
  grid, worker, category, sign_deadline, state)
  WHERE state = 'assigned';
CREATE INDEX IF NOT EXISTS petitions_running_by_resolve_deadline ON petitions (resolve_deadline_ts, state,
  sign_deadline_ts, created_ts, grid, worker, category, resolve_deadline)
  WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
-- 2. The sums of a period without bounds add every rollup row per (grid, worker, category): read in
--    this index's order instead of sorted in a temporary B-tree (≈75 → ≈40 ms for 33k rollup rows).
--    The triggers never change g, w or c of a rollup row, so only a new (month, group) row touches it.
CREATE INDEX IF NOT EXISTS petition_rollup_by_group ON petition_rollup (g, w, c);
