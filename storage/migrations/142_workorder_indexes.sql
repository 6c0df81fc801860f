-- The walks of the workbench's list (storage/workorders.py), each read in its own order and covering
-- every filtered column, so a page reads from the table only the rows it shows. The columns after the
-- order are carried, not sorted on. Queries name these indexes (INDEXED BY): a change here wants the
-- same change there.
--
-- every petition, by time received (staff looking at everything)
CREATE INDEX IF NOT EXISTS petitions_desk_all ON petitions (created_ts, id, state, grid, building, category,
  urgent, rating, sign_deadline_ts, resolve_deadline_ts);
-- one grid's (a worker's or a head's list, or the grid filter)
CREATE INDEX IF NOT EXISTS petitions_desk_grid ON petitions (grid, created_ts, id, state, building, category,
  urgent, rating, sign_deadline_ts, resolve_deadline_ts);
-- one building's
CREATE INDEX IF NOT EXISTS petitions_desk_building ON petitions (building, created_ts, id, state, grid,
  category, urgent, rating, sign_deadline_ts, resolve_deadline_ts);
-- open ones (the list as it opens, and the overdue filter): storage.states.OPEN_STATES in this order
CREATE INDEX IF NOT EXISTS petitions_desk_open ON petitions (created_ts, id, state, grid, building, category,
  urgent, rating, sign_deadline_ts, resolve_deadline_ts)
  WHERE state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated');
-- running ones by the deadline they are up against (storage.workorders.DUE; storage.states.RUNNING in
-- this order): the overdue first, for the sort by deadline and the board of overdue petitions
CREATE INDEX IF NOT EXISTS petitions_desk_due ON petitions ((CASE WHEN state = 'assigned' THEN
  coalesce(min(sign_deadline_ts, resolve_deadline_ts), sign_deadline_ts, resolve_deadline_ts)
  ELSE resolve_deadline_ts END), id, state, grid, building, category, urgent, rating, created_ts,
  sign_deadline_ts, resolve_deadline_ts)
  WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
-- the petitions merged into one (its detail page lists them)
CREATE INDEX IF NOT EXISTS petitions_merged_into ON petitions (merged_into) WHERE merged_into IS NOT NULL;
