-- The workbench's numbers (/admin/numbers, issue 15) and a fix of the average sign-for time.
--
-- 1. The sign-for time (SPEC §10) runs from the latest dispatch that preceded the sign-for to the
--    sign-for. Migration 060 measured it from the start of the clock, so a petition dispatched again
--    after it was signed for (a reopening, a re-dispatch of a returned one, a transfer of an old one)
--    gave accepted − dispatched < 0: the average could go negative, and the old sign-for counted as
--    signed on time against the new deadline. Now a sign-for counts only when it follows the latest
--    dispatch (dispatched_at, the start of the clock for rows written before it was stamped): a
--    petition dispatched again is dispatched and not yet signed for until it is signed for again, and
--    its time is measured from that dispatch. The rollup of 060 is rebuilt with the new view.
-- 2. The view gains `week` (the Monday of the week of created_at, as written: '' when it is not a
--    time), `basic` (基本满意) and `unrated` (resolved or closed without a rating: 未评价).
-- 3. `desk_weekly`: the same sums per (week, grid, worker), and `desk_weekly_categories`: how many were
--    received per (week, grid, category), kept by triggers like petition_rollup, so the workbench reads
--    any run of whole weeks without touching a petition (≈60 and ≈350 rows a week at 1M petitions over
--    two years, for 20 grids and 41 workers: 104 weeks are ≈6k rows; one table keyed by category as
--    well held 17 times as many). Without rowid: a run of weeks is one range of the key.
-- 4. Open petitions per building (the map): a partial index that covers the count, the urgent ones
--    and the overdue ones.
DROP VIEW petition_stat_rows;
CREATE VIEW petition_stat_rows AS
SELECT id, CASE WHEN unixepoch(created_at) IS NULL THEN '' ELSE substr(created_at, 1, 7) END AS bucket,
  CASE WHEN unixepoch(created_at) IS NULL THEN ''
    ELSE coalesce(date(substr(created_at, 1, 10), '-6 days', 'weekday 1'), '') END AS week,
  unixepoch(created_at) AS at, coalesce(nullif(grid, ''), '-') AS g, coalesce(worker, '') AS w, category AS c,
  1 AS received,
  (state = 'cancelled' OR state = 'rejected' OR state = 'merged') AS excluded,
  (state = 'submitted' OR state = 'assigned' OR state = 'accepted' OR state = 'in_progress'
    OR state = 'returned' OR state = 'escalated') AS open,
  st IS NOT NULL AS dispatched,
  coalesce(st IS NOT NULL AND signed AND CASE WHEN nullif(sign_deadline, '') IS NOT NULL
      THEN unixepoch(acc) <= unixepoch(sign_deadline) ELSE unixepoch(acc) - unixepoch(sst) <= 7200 END, 0)
    AS signed_on_time,
  st IS NOT NULL AND signed AS sign_n,
  CASE WHEN st IS NOT NULL AND signed THEN unixepoch(acc) - unixepoch(sst) ELSE 0 END AS sign_sum,
  state IN ('resolved', 'closed') AS done,
  coalesce(state IN ('resolved', 'closed') AND res IS NOT NULL AND CASE WHEN nullif(resolve_deadline, '') IS NOT NULL
      THEN unixepoch(res) <= unixepoch(resolve_deadline)
      ELSE coalesce(unixepoch(res) - unixepoch(st), 0) <= 259200 END, 0) AS done_on_time,
  state IN ('resolved', 'closed') AND st IS NOT NULL AND res IS NOT NULL AS resolve_n,
  coalesce(CASE WHEN state IN ('resolved', 'closed') AND st IS NOT NULL AND res IS NOT NULL
      THEN unixepoch(res) - unixepoch(st) END, 0) AS resolve_sum,
  coalesce((rating = 'satisfied' OR rating = 'basic' OR rating = 'unsatisfied'), 0) AS rated,
  coalesce(rating IN ('satisfied', 'basic'), 0) AS satisfied,
  reopen_count AS reopened,
  coalesce(rating = 'basic', 0) AS basic,
  state IN ('resolved', 'closed') AND NOT coalesce((rating = 'satisfied' OR rating = 'basic'
    OR rating = 'unsatisfied'), 0) AS unrated
FROM (SELECT *, coalesce(unixepoch(acc) >= unixepoch(sst), 0) AS signed
  FROM (SELECT *, coalesce(nullif(clock_started_at, ''), nullif(dispatched_at, '')) AS st,
          coalesce(nullif(dispatched_at, ''), nullif(clock_started_at, '')) AS sst,
          nullif(accepted_at, '') AS acc, nullif(resolved_at, '') AS res FROM petitions));
DELETE FROM petition_rollup;
INSERT INTO petition_rollup
SELECT bucket, g, w, c, sum(received), sum(excluded), sum(open), sum(dispatched), sum(signed_on_time),
  sum(sign_n), sum(sign_sum), sum(done), sum(done_on_time), sum(resolve_n), sum(resolve_sum), sum(rated),
  sum(satisfied), sum(reopened), min(at), max(at)
FROM petition_stat_rows GROUP BY bucket, g, w, c;
CREATE TABLE desk_weekly (
  week TEXT NOT NULL, g TEXT NOT NULL, w TEXT NOT NULL,
  received INTEGER NOT NULL, excluded INTEGER NOT NULL, open INTEGER NOT NULL, dispatched INTEGER NOT NULL,
  signed_on_time INTEGER NOT NULL, sign_n INTEGER NOT NULL, sign_sum INTEGER NOT NULL, done INTEGER NOT NULL,
  done_on_time INTEGER NOT NULL, resolve_n INTEGER NOT NULL, resolve_sum INTEGER NOT NULL,
  rated INTEGER NOT NULL, satisfied INTEGER NOT NULL, reopened INTEGER NOT NULL,
  basic INTEGER NOT NULL, unrated INTEGER NOT NULL,
  PRIMARY KEY (week, g, w)) WITHOUT ROWID;
INSERT INTO desk_weekly
SELECT week, g, w, sum(received), sum(excluded), sum(open), sum(dispatched), sum(signed_on_time), sum(sign_n),
    sum(sign_sum), sum(done), sum(done_on_time), sum(resolve_n), sum(resolve_sum), sum(rated), sum(satisfied),
    sum(reopened), sum(basic), sum(unrated)
FROM petition_stat_rows GROUP BY week, g, w;
CREATE TABLE desk_weekly_categories (
  week TEXT NOT NULL, g TEXT NOT NULL, c TEXT NOT NULL, received INTEGER NOT NULL,
  PRIMARY KEY (week, g, c)) WITHOUT ROWID;
INSERT INTO desk_weekly_categories SELECT week, g, c, count(*) FROM petition_stat_rows GROUP BY week, g, c;
CREATE TRIGGER desk_weekly_insert AFTER INSERT ON petitions BEGIN
  INSERT INTO desk_weekly SELECT week, g, w, received, excluded, open, dispatched, signed_on_time, sign_n, sign_sum,
    done, done_on_time, resolve_n, resolve_sum, rated, satisfied, reopened, basic, unrated FROM petition_stat_rows
    WHERE id = NEW.id
  ON CONFLICT (week, g, w) DO UPDATE SET received = received + excluded.received, excluded = excluded +
    excluded.excluded, open = open + excluded.open, dispatched = dispatched + excluded.dispatched, signed_on_time =
    signed_on_time + excluded.signed_on_time, sign_n = sign_n + excluded.sign_n, sign_sum = sign_sum +
    excluded.sign_sum, done = done + excluded.done, done_on_time = done_on_time + excluded.done_on_time, resolve_n =
    resolve_n + excluded.resolve_n, resolve_sum = resolve_sum + excluded.resolve_sum, rated = rated +
    excluded.rated, satisfied = satisfied + excluded.satisfied, reopened = reopened + excluded.reopened, basic =
    basic + excluded.basic, unrated = unrated + excluded.unrated;
END;
CREATE TRIGGER desk_weekly_update_out BEFORE UPDATE OF state, grid, worker, category, created_at,
  clock_started_at, dispatched_at, accepted_at, resolved_at, sign_deadline, resolve_deadline, rating,
  reopen_count ON petitions BEGIN
  UPDATE desk_weekly SET received = desk_weekly.received - r.received, excluded = desk_weekly.excluded - r.excluded,
    open = desk_weekly.open - r.open, dispatched = desk_weekly.dispatched - r.dispatched, signed_on_time =
    desk_weekly.signed_on_time - r.signed_on_time, sign_n = desk_weekly.sign_n - r.sign_n, sign_sum =
    desk_weekly.sign_sum - r.sign_sum, done = desk_weekly.done - r.done, done_on_time = desk_weekly.done_on_time -
    r.done_on_time, resolve_n = desk_weekly.resolve_n - r.resolve_n, resolve_sum = desk_weekly.resolve_sum -
    r.resolve_sum, rated = desk_weekly.rated - r.rated, satisfied = desk_weekly.satisfied - r.satisfied, reopened =
    desk_weekly.reopened - r.reopened, basic = desk_weekly.basic - r.basic, unrated = desk_weekly.unrated -
    r.unrated
  FROM (SELECT * FROM petition_stat_rows WHERE id = OLD.id) AS r
  WHERE desk_weekly.week = r.week AND desk_weekly.g = r.g AND desk_weekly.w = r.w;
END;
CREATE TRIGGER desk_weekly_update_in AFTER UPDATE OF state, grid, worker, category, created_at,
  clock_started_at, dispatched_at, accepted_at, resolved_at, sign_deadline, resolve_deadline, rating,
  reopen_count ON petitions BEGIN
  INSERT INTO desk_weekly SELECT week, g, w, received, excluded, open, dispatched, signed_on_time, sign_n, sign_sum,
    done, done_on_time, resolve_n, resolve_sum, rated, satisfied, reopened, basic, unrated FROM petition_stat_rows
    WHERE id = NEW.id
  ON CONFLICT (week, g, w) DO UPDATE SET received = received + excluded.received, excluded = excluded +
    excluded.excluded, open = open + excluded.open, dispatched = dispatched + excluded.dispatched, signed_on_time =
    signed_on_time + excluded.signed_on_time, sign_n = sign_n + excluded.sign_n, sign_sum = sign_sum +
    excluded.sign_sum, done = done + excluded.done, done_on_time = done_on_time + excluded.done_on_time, resolve_n =
    resolve_n + excluded.resolve_n, resolve_sum = resolve_sum + excluded.resolve_sum, rated = rated +
    excluded.rated, satisfied = satisfied + excluded.satisfied, reopened = reopened + excluded.reopened, basic =
    basic + excluded.basic, unrated = unrated + excluded.unrated;
END;
CREATE TRIGGER desk_weekly_delete BEFORE DELETE ON petitions BEGIN
  UPDATE desk_weekly SET received = desk_weekly.received - r.received, excluded = desk_weekly.excluded - r.excluded,
    open = desk_weekly.open - r.open, dispatched = desk_weekly.dispatched - r.dispatched, signed_on_time =
    desk_weekly.signed_on_time - r.signed_on_time, sign_n = desk_weekly.sign_n - r.sign_n, sign_sum =
    desk_weekly.sign_sum - r.sign_sum, done = desk_weekly.done - r.done, done_on_time = desk_weekly.done_on_time -
    r.done_on_time, resolve_n = desk_weekly.resolve_n - r.resolve_n, resolve_sum = desk_weekly.resolve_sum -
    r.resolve_sum, rated = desk_weekly.rated - r.rated, satisfied = desk_weekly.satisfied - r.satisfied, reopened =
    desk_weekly.reopened - r.reopened, basic = desk_weekly.basic - r.basic, unrated = desk_weekly.unrated -
    r.unrated
  FROM (SELECT * FROM petition_stat_rows WHERE id = OLD.id) AS r
  WHERE desk_weekly.week = r.week AND desk_weekly.g = r.g AND desk_weekly.w = r.w;
END;
-- the categories move only with created_at, grid or category: computed from the row, not the view
CREATE TRIGGER desk_weekly_categories_insert AFTER INSERT ON petitions BEGIN
  INSERT INTO desk_weekly_categories VALUES (CASE WHEN unixepoch(NEW.created_at) IS NULL THEN ''
    ELSE coalesce(date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1'), '') END,
    coalesce(nullif(NEW.grid, ''), '-'), NEW.category, 1)
  ON CONFLICT (week, g, c) DO UPDATE SET received = received + 1;
END;
CREATE TRIGGER desk_weekly_categories_update_out BEFORE UPDATE OF created_at, grid, category ON petitions BEGIN
  UPDATE desk_weekly_categories SET received = received - 1
  WHERE week = CASE WHEN unixepoch(OLD.created_at) IS NULL THEN ''
    ELSE coalesce(date(substr(OLD.created_at, 1, 10), '-6 days', 'weekday 1'), '') END
    AND g = coalesce(nullif(OLD.grid, ''), '-') AND c = OLD.category;
END;
CREATE TRIGGER desk_weekly_categories_update_in AFTER UPDATE OF created_at, grid, category ON petitions BEGIN
  INSERT INTO desk_weekly_categories VALUES (CASE WHEN unixepoch(NEW.created_at) IS NULL THEN ''
    ELSE coalesce(date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1'), '') END,
    coalesce(nullif(NEW.grid, ''), '-'), NEW.category, 1)
  ON CONFLICT (week, g, c) DO UPDATE SET received = received + 1;
END;
CREATE TRIGGER desk_weekly_categories_delete BEFORE DELETE ON petitions BEGIN
  UPDATE desk_weekly_categories SET received = received - 1
  WHERE week = CASE WHEN unixepoch(OLD.created_at) IS NULL THEN ''
    ELSE coalesce(date(substr(OLD.created_at, 1, 10), '-6 days', 'weekday 1'), '') END
    AND g = coalesce(nullif(OLD.grid, ''), '-') AND c = OLD.category;
END;
CREATE INDEX petitions_open_by_building_state ON petitions (building, urgent, state, sign_deadline_ts,
  resolve_deadline_ts)
  WHERE state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated');
