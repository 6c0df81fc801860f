-- Stats at 1,000,000 petitions in well under a second (storage/stats.py, bench/README.md).
--
-- 1. Integer epoch seconds beside the ISO times (unixepoch of the ISO text, so instants compare
--    whatever zone was written). Triggers keep them written wherever the ISO times are written
--    (petitions.create/transition, handlers/deadlines.py, storage/clock.py, imports, raw SQL alike).
ALTER TABLE petitions ADD COLUMN created_ts INTEGER;
ALTER TABLE petitions ADD COLUMN dispatched_ts INTEGER;
ALTER TABLE petitions ADD COLUMN accepted_ts INTEGER;
ALTER TABLE petitions ADD COLUMN resolved_ts INTEGER;
ALTER TABLE petitions ADD COLUMN closed_ts INTEGER;
ALTER TABLE petitions ADD COLUMN clock_started_ts INTEGER;
ALTER TABLE petitions ADD COLUMN sign_deadline_ts INTEGER;
ALTER TABLE petitions ADD COLUMN resolve_deadline_ts INTEGER;
UPDATE petitions SET created_ts = unixepoch(created_at), dispatched_ts = unixepoch(dispatched_at),
  accepted_ts = unixepoch(accepted_at), resolved_ts = unixepoch(resolved_at), closed_ts = unixepoch(closed_at),
  clock_started_ts = unixepoch(clock_started_at), sign_deadline_ts = unixepoch(sign_deadline),
  resolve_deadline_ts = unixepoch(resolve_deadline);
CREATE TRIGGER petitions_ts_insert AFTER INSERT ON petitions BEGIN
  UPDATE petitions SET created_ts = unixepoch(NEW.created_at), dispatched_ts = unixepoch(NEW.dispatched_at),
    accepted_ts = unixepoch(NEW.accepted_at), resolved_ts = unixepoch(NEW.resolved_at),
    closed_ts = unixepoch(NEW.closed_at), clock_started_ts = unixepoch(NEW.clock_started_at),
    sign_deadline_ts = unixepoch(NEW.sign_deadline), resolve_deadline_ts = unixepoch(NEW.resolve_deadline)
  WHERE id = NEW.id;
END;
CREATE TRIGGER petitions_ts_update AFTER UPDATE OF created_at, dispatched_at, accepted_at, resolved_at, closed_at,
  clock_started_at, sign_deadline, resolve_deadline ON petitions BEGIN
  UPDATE petitions SET created_ts = unixepoch(NEW.created_at), dispatched_ts = unixepoch(NEW.dispatched_at),
    accepted_ts = unixepoch(NEW.accepted_at), resolved_ts = unixepoch(NEW.resolved_at),
    closed_ts = unixepoch(NEW.closed_at), clock_started_ts = unixepoch(NEW.clock_started_at),
    sign_deadline_ts = unixepoch(NEW.sign_deadline), resolve_deadline_ts = unixepoch(NEW.resolve_deadline)
  WHERE id = NEW.id;
END;
-- 2. What each petition adds to the SPEC §10 sums (storage/stats.py `numbers`, as the SQL of
--    migration-era stats computed them), with `bucket` = the month of created_at as written
--    ('' when created_at is not a time). The one definition of the per-row predicates.
CREATE VIEW petition_stat_rows AS
SELECT id, CASE WHEN unixepoch(created_at) IS NULL THEN '' ELSE substr(created_at, 1, 7) END AS bucket,
  unixepoch(created_at) AS at, coalesce(nullif(grid, ''), '-') AS g, coalesce(worker, '') AS w, category AS c,
  1 AS received,
  state IN ('cancelled', 'rejected', 'merged') AS excluded,
  state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated') AS open,
  st IS NOT NULL AS dispatched,
  coalesce(st IS NOT NULL AND acc IS NOT NULL AND CASE WHEN nullif(sign_deadline, '') IS NOT NULL
      THEN unixepoch(acc) <= unixepoch(sign_deadline) ELSE unixepoch(acc) - unixepoch(st) <= 7200 END, 0)
    AS signed_on_time,
  st IS NOT NULL AND acc IS NOT NULL AS sign_n,
  coalesce(CASE WHEN st IS NOT NULL AND acc IS NOT NULL THEN unixepoch(acc) - unixepoch(st) END, 0) AS sign_sum,
  state IN ('resolved', 'closed') AS done,
  coalesce(state IN ('resolved', 'closed') AND res IS NOT NULL AND CASE WHEN nullif(resolve_deadline, '') IS NOT NULL
      THEN unixepoch(res) <= unixepoch(resolve_deadline)
      ELSE coalesce(unixepoch(res) - unixepoch(st), 0) <= 259200 END, 0) AS done_on_time,
  state IN ('resolved', 'closed') AND st IS NOT NULL AND res IS NOT NULL AS resolve_n,
  coalesce(CASE WHEN state IN ('resolved', 'closed') AND st IS NOT NULL AND res IS NOT NULL
      THEN unixepoch(res) - unixepoch(st) END, 0) AS resolve_sum,
  coalesce(rating IN ('satisfied', 'basic', 'unsatisfied'), 0) AS rated,
  coalesce(rating IN ('satisfied', 'basic'), 0) AS satisfied,
  reopen_count AS reopened
FROM (SELECT *, coalesce(nullif(clock_started_at, ''), nullif(dispatched_at, '')) AS st,
        nullif(accepted_at, '') AS acc, nullif(resolved_at, '') AS res FROM petitions);
-- 3. The sums per (month, grid, worker, category), kept in the same transaction as every change by
--    triggers: BEFORE a change the row's old contribution is taken out, AFTER it the new one is added.
--    min_at/max_at bound the instants of the bucket's rows (never narrowed when rows leave it), so
--    stats can tell the buckets wholly inside a period from those it must read row by row.
CREATE TABLE petition_rollup (
  bucket TEXT NOT NULL, g TEXT NOT NULL, w TEXT NOT NULL, c TEXT NOT NULL,
  received INTEGER NOT NULL, excluded INTEGER NOT NULL, open INTEGER NOT NULL, dispatched INTEGER NOT NULL,
  signed_on_time INTEGER NOT NULL, sign_n INTEGER NOT NULL, sign_sum INTEGER NOT NULL, done INTEGER NOT NULL,
  done_on_time INTEGER NOT NULL, resolve_n INTEGER NOT NULL, resolve_sum INTEGER NOT NULL,
  rated INTEGER NOT NULL, satisfied INTEGER NOT NULL, reopened INTEGER NOT NULL,
  min_at INTEGER, max_at INTEGER,
  PRIMARY KEY (bucket, g, w, c));
INSERT INTO petition_rollup
SELECT bucket, g, w, c, sum(received), sum(excluded), sum(open), sum(dispatched), sum(signed_on_time),
  sum(sign_n), sum(sign_sum), sum(done), sum(done_on_time), sum(resolve_n), sum(resolve_sum), sum(rated),
  sum(satisfied), sum(reopened), min(at), max(at)
FROM petition_stat_rows GROUP BY bucket, g, w, c;
CREATE TRIGGER petition_rollup_insert AFTER INSERT ON petitions BEGIN
  INSERT INTO petition_rollup
  SELECT bucket, g, w, c, received, excluded, open, dispatched, signed_on_time, sign_n, sign_sum, done,
    done_on_time, resolve_n, resolve_sum, rated, satisfied, reopened, at, at
  FROM petition_stat_rows WHERE id = NEW.id
  ON CONFLICT (bucket, g, w, c) DO UPDATE SET received = received + excluded.received,
    excluded = excluded + excluded.excluded, open = open + excluded.open,
    dispatched = dispatched + excluded.dispatched, signed_on_time = signed_on_time + excluded.signed_on_time,
    sign_n = sign_n + excluded.sign_n, sign_sum = sign_sum + excluded.sign_sum, done = done + excluded.done,
    done_on_time = done_on_time + excluded.done_on_time, resolve_n = resolve_n + excluded.resolve_n,
    resolve_sum = resolve_sum + excluded.resolve_sum, rated = rated + excluded.rated,
    satisfied = satisfied + excluded.satisfied, reopened = reopened + excluded.reopened,
    min_at = min(coalesce(min_at, excluded.min_at), coalesce(excluded.min_at, min_at)),
    max_at = max(coalesce(max_at, excluded.max_at), coalesce(excluded.max_at, max_at));
END;
CREATE TRIGGER petition_rollup_update_out BEFORE UPDATE OF state, grid, worker, category, created_at,
  clock_started_at, dispatched_at, accepted_at, resolved_at, sign_deadline, resolve_deadline, rating,
  reopen_count ON petitions BEGIN
  UPDATE petition_rollup SET received = petition_rollup.received - r.received, excluded = petition_rollup.excluded - r.excluded,
    open = petition_rollup.open - r.open, dispatched = petition_rollup.dispatched - r.dispatched, signed_on_time = petition_rollup.signed_on_time - r.signed_on_time,
    sign_n = petition_rollup.sign_n - r.sign_n, sign_sum = petition_rollup.sign_sum - r.sign_sum, done = petition_rollup.done - r.done,
    done_on_time = petition_rollup.done_on_time - r.done_on_time, resolve_n = petition_rollup.resolve_n - r.resolve_n,
    resolve_sum = petition_rollup.resolve_sum - r.resolve_sum, rated = petition_rollup.rated - r.rated, satisfied = petition_rollup.satisfied - r.satisfied,
    reopened = petition_rollup.reopened - r.reopened
  FROM (SELECT * FROM petition_stat_rows WHERE id = OLD.id) AS r
  WHERE petition_rollup.bucket = r.bucket AND petition_rollup.g = r.g AND petition_rollup.w = r.w
    AND petition_rollup.c = r.c;
END;
CREATE TRIGGER petition_rollup_update_in AFTER UPDATE OF state, grid, worker, category, created_at,
  clock_started_at, dispatched_at, accepted_at, resolved_at, sign_deadline, resolve_deadline, rating,
  reopen_count ON petitions BEGIN
  INSERT INTO petition_rollup
  SELECT bucket, g, w, c, received, excluded, open, dispatched, signed_on_time, sign_n, sign_sum, done,
    done_on_time, resolve_n, resolve_sum, rated, satisfied, reopened, at, at
  FROM petition_stat_rows WHERE id = NEW.id
  ON CONFLICT (bucket, g, w, c) DO UPDATE SET received = received + excluded.received,
    excluded = excluded + excluded.excluded, open = open + excluded.open,
    dispatched = dispatched + excluded.dispatched, signed_on_time = signed_on_time + excluded.signed_on_time,
    sign_n = sign_n + excluded.sign_n, sign_sum = sign_sum + excluded.sign_sum, done = done + excluded.done,
    done_on_time = done_on_time + excluded.done_on_time, resolve_n = resolve_n + excluded.resolve_n,
    resolve_sum = resolve_sum + excluded.resolve_sum, rated = rated + excluded.rated,
    satisfied = satisfied + excluded.satisfied, reopened = reopened + excluded.reopened,
    min_at = min(coalesce(min_at, excluded.min_at), coalesce(excluded.min_at, min_at)),
    max_at = max(coalesce(max_at, excluded.max_at), coalesce(excluded.max_at, max_at));
END;
CREATE TRIGGER petition_rollup_delete BEFORE DELETE ON petitions BEGIN
  UPDATE petition_rollup SET received = petition_rollup.received - r.received, excluded = petition_rollup.excluded - r.excluded,
    open = petition_rollup.open - r.open, dispatched = petition_rollup.dispatched - r.dispatched, signed_on_time = petition_rollup.signed_on_time - r.signed_on_time,
    sign_n = petition_rollup.sign_n - r.sign_n, sign_sum = petition_rollup.sign_sum - r.sign_sum, done = petition_rollup.done - r.done,
    done_on_time = petition_rollup.done_on_time - r.done_on_time, resolve_n = petition_rollup.resolve_n - r.resolve_n,
    resolve_sum = petition_rollup.resolve_sum - r.resolve_sum, rated = petition_rollup.rated - r.rated, satisfied = petition_rollup.satisfied - r.satisfied,
    reopened = petition_rollup.reopened - r.reopened
  FROM (SELECT * FROM petition_stat_rows WHERE id = OLD.id) AS r
  WHERE petition_rollup.bucket = r.bucket AND petition_rollup.g = r.g AND petition_rollup.w = r.w
    AND petition_rollup.c = r.c;
END;
-- 4. Rows of a period that is not made of whole buckets, by instant; running petitions past a
--    deadline (the overdue numbers and list), covered so the list needs no table lookups.
CREATE INDEX petitions_created_ts ON petitions (created_ts);
CREATE INDEX petitions_running_deadlines ON petitions (state, sign_deadline_ts, resolve_deadline_ts, created_ts,
  grid, worker, category, sign_deadline, resolve_deadline)
  WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
