-- The PostgreSQL schema equivalent to storage/migrations/001_base.sql … 160_desk_office.sql applied in
-- order on SQLite: the same tables with the same columns (in SQLite's order), the same indexes and view,
-- and triggers with the same effect. See README.md beside this file for what differs and why.
--
-- 1. Functions. Those the triggers call are PL/pgSQL: PG 15 plans the body of a SQL function again on
--    every call from another statement unless it can inline it (a bare expression), while PL/pgSQL keeps
--    its plans for the session. With SQL functions an INSERT of a petition took ≈30 ms of planning; now
--    ≈1-2 ms, most of it the rollup and search triggers (a 2-core machine under load, round trip included).
--
-- unixepoch(text): SQLite's unixepoch() on the times the application stores: YYYY-MM-DD, optionally
-- followed (after spaces or a 'T', or nothing) by HH:MM[:SS[.fraction]] and an offset [+-]HH:MM or Z;
-- naive times are UTC; a date alone is its midnight (UTC). Out-of-range fields give NULL as in SQLite
-- (month 1-12, day 1-31, hour 0-24, minute and second 0-59, offset hours 0-14); a day past the end of
-- its month runs on into the next (2026-02-30 is 2 March), as in SQLite. The fraction is rounded to the
-- millisecond in float8, as SQLite does in double. NULL, '' and anything else give NULL (SQLite would
-- also read 'now', a time alone and a Julian day number: the application stores none of them). Spaces
-- are ASCII ones, as SQLite's isspace (a \s would take U+3000 under a UTF-8 locale).
CREATE FUNCTION unixepoch(t text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text[] := regexp_match(t, '^([0-9]{4})-([0-9]{2})-([0-9]{2})[ \t\n\v\f\rT]*(?:([0-9]{2}):([0-9]{2})'
    '(?::([0-9]{2})(\.[0-9]+)?)?[ \t\n\v\f\r]*(?:([+-])([0-9]{2}):([0-9]{2})|[Zz])?[ \t\n\v\f\r]*)?$');
BEGIN
  IF m IS NULL OR m[1]::int = 0 OR m[2]::int NOT BETWEEN 1 AND 12 OR m[3]::int NOT BETWEEN 1 AND 31
      OR coalesce(m[4]::int, 0) > 24 OR coalesce(m[5]::int, 0) > 59 OR coalesce(m[6]::int, 0) > 59
      OR coalesce(m[9]::int, 0) > 14 OR coalesce(m[10]::int, 0) > 59 THEN
    RETURN NULL;
  END IF;
  RETURN floor((
    (make_date(m[1]::int, m[2]::int, 1) - DATE '1970-01-01' + m[3]::int - 1)::bigint * 86400000
    + coalesce(m[4]::bigint * 3600000 + m[5]::bigint * 60000, 0)
    + floor((coalesce(m[6], '0')::float8 + coalesce(('0' || m[7])::float8, 0)) * 1000 + 0.5)::bigint
    - CASE m[8] WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END
      * (coalesce(m[9]::bigint, 0) * 60 + coalesce(m[10]::bigint, 0)) * 60000
  )::numeric / 1000)::bigint;
END
$$;
-- The Monday of the week of a created_at as written (its first ten characters), as SQLite's
-- date(substr(x, 1, 10), '-6 days', 'weekday 1'); '' when x is not a time (migration 150's `week`).
CREATE FUNCTION petition_week(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  d date;
BEGIN
  IF unixepoch(t) IS NULL THEN
    RETURN '';
  END IF;
  d := make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, 1) + (substr(t, 9, 2)::int - 1);
  RETURN to_char(d - (extract(isodow FROM d)::int - 1), 'YYYY-MM-DD');
END
$$;
-- The search index of migration 141. SQLite keeps an FTS5 table (tokenizer unicode61) of each text's
-- overlapping character bigrams ("门口路灯" -> "门口 口路 路灯 灯"). Here the same tokens, at the same
-- positions, are a tsvector built directly (no text-search parser or dictionary, so no locale or
-- configuration is involved) and searched with a GIN index: a phrase of bigrams is `'a' <-> 'b'`, a
-- one-character prefix `'x':*`. fts_tokens splits as unicode61 does for the scripts listed (letters
-- and digits are token characters, everything else separates) and lowercases with lower().
CREATE FUNCTION fts_tokens(t text) RETURNS TABLE (tok text, pos bigint) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT s.tok, row_number() OVER (ORDER BY s.n)
  FROM regexp_split_to_table(lower(t), '[^0-9a-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af'
    '\u0370-\u0373\u0376-\u037d\u037f-\u0386\u0388-\u03ff\u0400-\u0482\u048a-\u052f\u3040-\u3096\u309d-\u309f'
    '\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff10-\uff19\uff21-\uff3a'
    '\uff41-\uff5a\U00020000-\U0003134f]+') WITH ORDINALITY AS s(tok, n)
  WHERE s.tok <> ''
$$;
CREATE FUNCTION fts_lexeme(tok text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '''' || replace(replace(tok, '\', '\\'), '''', '''''') || ''''
$$;
-- The bigrams of a text as SQLite's 141 makes them, tokenized, with their positions.
CREATE FUNCTION petition_grams(t text) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN coalesce((SELECT string_agg(fts_lexeme(tok) || ':' || least(pos, 16383), ' ')
    FROM fts_tokens((SELECT string_agg(substr(t, i, 2), ' ' ORDER BY i) FROM generate_series(1, length(t)) AS i))
  )::tsvector, ''::tsvector);
END
$$;
-- The tsquery for an FTS5 query as storage.workorders.search_terms writes it: phrases in double quotes,
-- a '*' after one for a prefix, joined by AND. NULL (matches nothing) when a phrase has no token.
CREATE FUNCTION fts5_tsquery(q text) RETURNS tsquery LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN (SELECT CASE WHEN bool_and(phrase IS NOT NULL) THEN string_agg(phrase, ' & ' ORDER BY n)::tsquery END
    FROM (SELECT m.n, (SELECT string_agg(fts_lexeme(tok), ' <-> ' ORDER BY pos) FROM fts_tokens(m.x[1]))
        || CASE WHEN m.x[2] = '*' THEN ':*' ELSE '' END AS phrase
      FROM regexp_matches(q, '"([^"]*)"(\*?)', 'g') WITH ORDINALITY AS m(x, n)) AS phrases);
END
$$;
-- The append-only tables (events, audit): every UPDATE, DELETE and TRUNCATE is refused.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;
--
-- 2. Tables (columns in the order SQLite's ALTER TABLEs left them).
--
CREATE TABLE communities (
  id text PRIMARY KEY,
  name text NOT NULL);
CREATE TABLE staff (
  userid text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL,
  community text,
  phone text);
CREATE TABLE grids (
  id text PRIMARY KEY,
  community text NOT NULL,
  name text NOT NULL,
  head text);
CREATE TABLE grid_workers (
  grid text NOT NULL,
  userid text NOT NULL,
  PRIMARY KEY (grid, userid));
CREATE TABLE buildings (
  id text PRIMARY KEY,
  community text NOT NULL,
  grid text NOT NULL,
  name text NOT NULL,
  aliases text NOT NULL DEFAULT '[]',
  grp text,
  lat double precision,
  lng double precision,
  households bigint);
CREATE TABLE residents (
  openid text PRIMARY KEY,
  channel text NOT NULL,
  name text,
  phone text,
  building text,
  unit text,
  room text,
  role text NOT NULL DEFAULT 'resident',
  subscribed bigint NOT NULL DEFAULT 1,
  conv text,
  created_at text NOT NULL,
  lat double precision,
  lng double precision,
  located_at text);
CREATE TABLE petitions (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  resident text NOT NULL,
  building text,
  grid text,
  worker text,
  category text NOT NULL,
  text text NOT NULL,
  state text NOT NULL,
  urgent bigint NOT NULL DEFAULT 0,
  private bigint NOT NULL DEFAULT 0,
  reopen_count bigint NOT NULL DEFAULT 0,
  urge_count bigint NOT NULL DEFAULT 0,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  dispatched_at text,
  accepted_at text,
  resolved_at text,
  closed_at text,
  resolution text,
  rating text,
  rating_note text,
  clock_started_at text,
  sign_deadline text,
  feedback_deadline text,
  resolve_deadline text,
  sign_remind_at text,
  feedback_remind_at text,
  resolve_remind_at text,
  feedback_at text,
  escalation_level bigint NOT NULL DEFAULT 0,
  escalate_at text,
  followup_at text,
  autoclose_at text,
  merged_into bigint,
  created_ts bigint,
  dispatched_ts bigint,
  accepted_ts bigint,
  resolved_ts bigint,
  closed_ts bigint,
  clock_started_ts bigint,
  sign_deadline_ts bigint,
  resolve_deadline_ts bigint,
  group_notice_at text);
CREATE TABLE events (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  petition bigint NOT NULL,
  at text NOT NULL,
  actor text NOT NULL,
  from_state text,
  to_state text NOT NULL,
  note text);
CREATE TABLE inbound (
  key text PRIMARY KEY,
  at text NOT NULL,
  channel text NOT NULL,
  sender text,
  reply text,
  replied_late bigint NOT NULL DEFAULT 0,
  answered_again bigint NOT NULL DEFAULT 0);
CREATE TABLE outbox (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  created_at text NOT NULL,
  target_kind text NOT NULL,
  target_id text NOT NULL,
  text text NOT NULL,
  ref text,
  status text NOT NULL DEFAULT 'pending',
  attempts bigint NOT NULL DEFAULT 0,
  next_at text NOT NULL,
  last_error text,
  sent_at text,
  via text,
  dest text,
  retry_from text);
CREATE TABLE chat_log (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  person text NOT NULL,
  direction text NOT NULL,
  text text NOT NULL,
  at text NOT NULL);
CREATE TABLE announcements (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  author text NOT NULL,
  scope_kind text NOT NULL,
  scope_id text,
  text text NOT NULL,
  created_at text NOT NULL,
  buildings bigint NOT NULL,
  send_at text,
  sent_at text,
  cancelled_at text,
  cancelled_send_at text);
CREATE TABLE items (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  resident text NOT NULL,
  building text,
  text text NOT NULL,
  status text NOT NULL,
  created_at text NOT NULL,
  claimed_by text,
  review_note text,
  updated_at text);
CREATE TABLE failed_inbound (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  key text UNIQUE,
  at text NOT NULL,
  channel text NOT NULL,
  sender text,
  kind text,
  text text);
CREATE TABLE job_runs (
  job text NOT NULL,
  period text NOT NULL,
  at text NOT NULL,
  detail text,
  PRIMARY KEY (job, period));
CREATE TABLE visits (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  worker text NOT NULL,
  building text,
  room text,
  note text NOT NULL,
  petition bigint,
  at text NOT NULL);
CREATE TABLE followers (
  petition bigint NOT NULL,
  resident text NOT NULL,
  source bigint,
  at text NOT NULL,
  household text,
  PRIMARY KEY (petition, resident));
CREATE TABLE topics (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  petition bigint,
  title text NOT NULL,
  status text NOT NULL,
  opened_by text NOT NULL,
  reason text NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL);
CREATE TABLE topic_events (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  topic bigint NOT NULL,
  at text NOT NULL,
  actor text NOT NULL,
  note text NOT NULL);
CREATE TABLE votes (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  topic bigint NOT NULL,
  question text NOT NULL,
  options text NOT NULL,
  buildings text NOT NULL,
  deadline text NOT NULL,
  participation text NOT NULL,
  approval text NOT NULL,
  status text NOT NULL,
  result text,
  created_by text NOT NULL,
  created_at text NOT NULL,
  electorate text);
CREATE TABLE ballots (
  vote bigint NOT NULL,
  household text NOT NULL,
  resident text NOT NULL,
  option bigint NOT NULL,
  at text NOT NULL,
  building text,
  PRIMARY KEY (vote, household));
CREATE TABLE disclosures (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  title text NOT NULL,
  body text,
  requester text,
  status text NOT NULL,
  due_at text,
  answer text,
  answered_by text,
  answered_at text,
  created_at text NOT NULL,
  overdue_notified_at text);
CREATE TABLE petition_rollup (
  bucket text NOT NULL,
  g text NOT NULL,
  w text NOT NULL,
  c text NOT NULL,
  received bigint NOT NULL,
  excluded bigint NOT NULL,
  open bigint NOT NULL,
  dispatched bigint NOT NULL,
  signed_on_time bigint NOT NULL,
  sign_n bigint NOT NULL,
  sign_sum bigint NOT NULL,
  done bigint NOT NULL,
  done_on_time bigint NOT NULL,
  resolve_n bigint NOT NULL,
  resolve_sum bigint NOT NULL,
  rated bigint NOT NULL,
  satisfied bigint NOT NULL,
  reopened bigint NOT NULL,
  min_at bigint,
  max_at bigint,
  PRIMARY KEY (bucket, g, w, c));
CREATE TABLE org_version (
  id bigint PRIMARY KEY CHECK (id = 1),
  stamp bigint NOT NULL);
CREATE TABLE intake (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  key text NOT NULL UNIQUE,
  at text NOT NULL,
  message text NOT NULL);
CREATE TABLE vote_roll (
  vote bigint NOT NULL,
  resident text NOT NULL,
  building text NOT NULL,
  household text,
  at text NOT NULL,
  PRIMARY KEY (vote, resident));
CREATE TABLE vote_conflicts (
  vote bigint NOT NULL,
  household text NOT NULL,
  resident text NOT NULL,
  at text NOT NULL,
  PRIMARY KEY (vote, household, resident));
CREATE TABLE group_publications (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  petition bigint NOT NULL,
  resolved_at text NOT NULL,
  text text NOT NULL,
  approved_by text NOT NULL,
  at text NOT NULL);
CREATE TABLE held_inbound (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  key text,
  at text NOT NULL,
  channel text NOT NULL,
  sender text NOT NULL,
  kind text NOT NULL,
  text text NOT NULL DEFAULT '');
CREATE TABLE health_probe (
  id bigint PRIMARY KEY CHECK (id = 1),
  at text NOT NULL);
CREATE TABLE household_counts (
  petition bigint PRIMARY KEY,
  households bigint NOT NULL);
CREATE TABLE handoffs (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  resident text NOT NULL,
  worker text NOT NULL,
  building text,
  opened_at text NOT NULL,
  last_at text NOT NULL,
  closed_at text,
  closed_by text);
CREATE TABLE accounts (
  userid text PRIMARY KEY,
  password_hash text,
  failed bigint NOT NULL DEFAULT 0,
  locked_until text,
  epoch bigint NOT NULL DEFAULT 0,
  updated_at text NOT NULL);
CREATE TABLE audit (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at text NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT '',
  address text NOT NULL DEFAULT '');
CREATE TABLE desk_weekly (
  week text NOT NULL,
  g text NOT NULL,
  w text NOT NULL,
  received bigint NOT NULL,
  excluded bigint NOT NULL,
  open bigint NOT NULL,
  dispatched bigint NOT NULL,
  signed_on_time bigint NOT NULL,
  sign_n bigint NOT NULL,
  sign_sum bigint NOT NULL,
  done bigint NOT NULL,
  done_on_time bigint NOT NULL,
  resolve_n bigint NOT NULL,
  resolve_sum bigint NOT NULL,
  rated bigint NOT NULL,
  satisfied bigint NOT NULL,
  reopened bigint NOT NULL,
  basic bigint NOT NULL,
  unrated bigint NOT NULL,
  PRIMARY KEY (week, g, w));
CREATE TABLE desk_weekly_categories (
  week text NOT NULL,
  g text NOT NULL,
  c text NOT NULL,
  received bigint NOT NULL,
  PRIMARY KEY (week, g, c));
-- The search index of 141 (see petition_grams above): one row per petition, id = petitions.id (the
-- rowid of SQLite's petition_words); `grams` where SQLite has its one FTS5 column.
CREATE TABLE petition_words (
  id bigint PRIMARY KEY,
  grams tsvector NOT NULL);
CREATE INDEX petition_words_grams ON petition_words USING gin (grams);
--
-- 3. The org version stamp (070): from a sequence, so no value ever comes back (nextval is not undone
--    by a rollback), where SQLite draws a random 64-bit integer. (PG's random() is a float in [0, 1).)
--
CREATE SEQUENCE org_version_stamps AS bigint;
INSERT INTO org_version (id, stamp) VALUES (1, nextval('org_version_stamps'));
CREATE FUNCTION org_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE org_version SET stamp = nextval('org_version_stamps');
  RETURN NULL;
END
$$;
CREATE TRIGGER org_version_communities AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON communities
  FOR EACH STATEMENT EXECUTE FUNCTION org_version_bump();
CREATE TRIGGER org_version_staff AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff
  FOR EACH STATEMENT EXECUTE FUNCTION org_version_bump();
CREATE TRIGGER org_version_grids AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grids
  FOR EACH STATEMENT EXECUTE FUNCTION org_version_bump();
CREATE TRIGGER org_version_grid_workers AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_workers
  FOR EACH STATEMENT EXECUTE FUNCTION org_version_bump();
CREATE TRIGGER org_version_buildings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON buildings
  FOR EACH STATEMENT EXECUTE FUNCTION org_version_bump();
--
-- 4. Append-only logs (001, 140): row triggers refuse UPDATE and DELETE, a statement trigger TRUNCATE.
--
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION append_only('events are append-only');
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION append_only('events are append-only');
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION append_only('the audit log is append-only');
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION append_only('the audit log is append-only');
--
-- 5. The epoch twins of the ISO times (060, 122): set in the row before it is written, whoever writes
--    it, so RETURNING shows them (SQLite rewrites the row after, when one is not what its time gives).
--
CREATE FUNCTION petitions_ts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_ts := unixepoch(NEW.created_at);
  NEW.dispatched_ts := unixepoch(NEW.dispatched_at);
  NEW.accepted_ts := unixepoch(NEW.accepted_at);
  NEW.resolved_ts := unixepoch(NEW.resolved_at);
  NEW.closed_ts := unixepoch(NEW.closed_at);
  NEW.clock_started_ts := unixepoch(NEW.clock_started_at);
  NEW.sign_deadline_ts := unixepoch(NEW.sign_deadline);
  NEW.resolve_deadline_ts := unixepoch(NEW.resolve_deadline);
  RETURN NEW;
END
$$;
CREATE TRIGGER petitions_ts BEFORE INSERT OR UPDATE ON petitions FOR EACH ROW EXECUTE FUNCTION petitions_ts();
--
-- 6. What each petition adds to the sums (the view of 150): one definition, a function of the row, read
--    by the view and by the rollup triggers. The 0/1 columns are integers (SQLite's comparisons are).
--
CREATE TYPE petition_stat AS (
  bucket text, week text, at bigint, g text, w text, c text,
  received int, excluded int, open int, dispatched int, signed_on_time int, sign_n int, sign_sum bigint,
  done int, done_on_time int, resolve_n int, resolve_sum bigint, rated int, satisfied int, reopened bigint,
  basic int, unrated int);
CREATE FUNCTION petition_stat(p petitions) RETURNS petition_stat LANGUAGE plpgsql STABLE AS $$
DECLARE
  s petition_stat;
  v_st text := coalesce(nullif(p.clock_started_at, ''), nullif(p.dispatched_at, ''));  -- the clock's start
  v_sst text := coalesce(nullif(p.dispatched_at, ''), nullif(p.clock_started_at, ''));  -- the last dispatch
  v_acc text := nullif(p.accepted_at, '');
  v_res text := nullif(p.resolved_at, '');
  e_st bigint := unixepoch(v_st);
  e_sst bigint := unixepoch(v_sst);
  e_acc bigint := unixepoch(v_acc);
  e_res bigint := unixepoch(v_res);
  v_signed boolean := coalesce(e_acc >= e_sst, false);
  v_done boolean := p.state IN ('resolved', 'closed');
  v_rated boolean := coalesce(p.rating IN ('satisfied', 'basic', 'unsatisfied'), false);
BEGIN
  s.at := unixepoch(p.created_at);
  s.bucket := CASE WHEN s.at IS NULL THEN '' ELSE substr(p.created_at, 1, 7) END;
  s.week := petition_week(p.created_at);
  s.g := coalesce(nullif(p.grid, ''), '-');
  s.w := coalesce(p.worker, '');
  s.c := p.category;
  s.received := 1;
  s.excluded := (p.state IN ('cancelled', 'rejected', 'merged'))::int;
  s.open := (p.state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated'))::int;
  s.dispatched := (v_st IS NOT NULL)::int;
  s.signed_on_time := coalesce(v_st IS NOT NULL AND v_signed AND CASE WHEN nullif(p.sign_deadline, '') IS NOT NULL
    THEN e_acc <= unixepoch(p.sign_deadline) ELSE e_acc - e_sst <= 7200 END, false)::int;
  s.sign_n := (v_st IS NOT NULL AND v_signed)::int;
  s.sign_sum := CASE WHEN v_st IS NOT NULL AND v_signed THEN e_acc - e_sst ELSE 0 END;
  s.done := v_done::int;
  s.done_on_time := coalesce(v_done AND v_res IS NOT NULL AND CASE WHEN nullif(p.resolve_deadline, '') IS NOT NULL
    THEN e_res <= unixepoch(p.resolve_deadline) ELSE coalesce(e_res - e_st, 0) <= 259200 END, false)::int;
  s.resolve_n := (v_done AND v_st IS NOT NULL AND v_res IS NOT NULL)::int;
  s.resolve_sum := coalesce(CASE WHEN v_done AND v_st IS NOT NULL AND v_res IS NOT NULL THEN e_res - e_st END, 0);
  s.rated := v_rated::int;
  s.satisfied := coalesce(p.rating IN ('satisfied', 'basic'), false)::int;
  s.reopened := p.reopen_count;
  s.basic := coalesce(p.rating = 'basic', false)::int;
  s.unrated := (v_done AND NOT v_rated)::int;
  RETURN s;
END
$$;
CREATE VIEW petition_stat_rows AS
SELECT p.id, s.* FROM petitions AS p CROSS JOIN LATERAL petition_stat(p) AS s;
--
-- 7. The rollups (060, 150): a change takes the row's old contribution out and adds its new one, on the
--    same writes as SQLite's triggers (INSERT, DELETE, UPDATE OF the columns the sums read). Rows are
--    never deleted when their counts reach 0, and min_at/max_at are never narrowed, as in SQLite.
--
CREATE FUNCTION petitions_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s petition_stat;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    s := petition_stat(OLD);
    UPDATE petition_rollup SET received = received - s.received, excluded = excluded - s.excluded,
      open = open - s.open, dispatched = dispatched - s.dispatched,
      signed_on_time = signed_on_time - s.signed_on_time, sign_n = sign_n - s.sign_n,
      sign_sum = sign_sum - s.sign_sum, done = done - s.done, done_on_time = done_on_time - s.done_on_time,
      resolve_n = resolve_n - s.resolve_n, resolve_sum = resolve_sum - s.resolve_sum, rated = rated - s.rated,
      satisfied = satisfied - s.satisfied, reopened = reopened - s.reopened
    WHERE bucket = s.bucket AND g = s.g AND w = s.w AND c = s.c;
    UPDATE desk_weekly SET received = received - s.received, excluded = excluded - s.excluded,
      open = open - s.open, dispatched = dispatched - s.dispatched,
      signed_on_time = signed_on_time - s.signed_on_time, sign_n = sign_n - s.sign_n,
      sign_sum = sign_sum - s.sign_sum, done = done - s.done, done_on_time = done_on_time - s.done_on_time,
      resolve_n = resolve_n - s.resolve_n, resolve_sum = resolve_sum - s.resolve_sum, rated = rated - s.rated,
      satisfied = satisfied - s.satisfied, reopened = reopened - s.reopened, basic = basic - s.basic,
      unrated = unrated - s.unrated
    WHERE week = s.week AND g = s.g AND w = s.w;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    s := petition_stat(NEW);
    INSERT INTO petition_rollup AS r VALUES (s.bucket, s.g, s.w, s.c, s.received, s.excluded, s.open,
      s.dispatched, s.signed_on_time, s.sign_n, s.sign_sum, s.done, s.done_on_time, s.resolve_n, s.resolve_sum,
      s.rated, s.satisfied, s.reopened, s.at, s.at)
    ON CONFLICT (bucket, g, w, c) DO UPDATE SET received = r.received + excluded.received,
      excluded = r.excluded + excluded.excluded, open = r.open + excluded.open,
      dispatched = r.dispatched + excluded.dispatched, signed_on_time = r.signed_on_time + excluded.signed_on_time,
      sign_n = r.sign_n + excluded.sign_n, sign_sum = r.sign_sum + excluded.sign_sum, done = r.done + excluded.done,
      done_on_time = r.done_on_time + excluded.done_on_time, resolve_n = r.resolve_n + excluded.resolve_n,
      resolve_sum = r.resolve_sum + excluded.resolve_sum, rated = r.rated + excluded.rated,
      satisfied = r.satisfied + excluded.satisfied, reopened = r.reopened + excluded.reopened,
      min_at = least(r.min_at, excluded.min_at), max_at = greatest(r.max_at, excluded.max_at);
    INSERT INTO desk_weekly AS r VALUES (s.week, s.g, s.w, s.received, s.excluded, s.open, s.dispatched,
      s.signed_on_time, s.sign_n, s.sign_sum, s.done, s.done_on_time, s.resolve_n, s.resolve_sum, s.rated,
      s.satisfied, s.reopened, s.basic, s.unrated)
    ON CONFLICT (week, g, w) DO UPDATE SET received = r.received + excluded.received,
      excluded = r.excluded + excluded.excluded, open = r.open + excluded.open,
      dispatched = r.dispatched + excluded.dispatched, signed_on_time = r.signed_on_time + excluded.signed_on_time,
      sign_n = r.sign_n + excluded.sign_n, sign_sum = r.sign_sum + excluded.sign_sum, done = r.done + excluded.done,
      done_on_time = r.done_on_time + excluded.done_on_time, resolve_n = r.resolve_n + excluded.resolve_n,
      resolve_sum = r.resolve_sum + excluded.resolve_sum, rated = r.rated + excluded.rated,
      satisfied = r.satisfied + excluded.satisfied, reopened = r.reopened + excluded.reopened,
      basic = r.basic + excluded.basic, unrated = r.unrated + excluded.unrated;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER petitions_rollup AFTER INSERT OR DELETE OR UPDATE OF state, grid, worker, category, created_at,
  clock_started_at, dispatched_at, accepted_at, resolved_at, sign_deadline, resolve_deadline, rating,
  reopen_count ON petitions FOR EACH ROW EXECUTE FUNCTION petitions_rollup();
-- received per (week, grid, category): moves only with created_at, grid or category (150)
CREATE FUNCTION petitions_weekly_categories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE desk_weekly_categories SET received = received - 1
    WHERE week = petition_week(OLD.created_at) AND g = coalesce(nullif(OLD.grid, ''), '-') AND c = OLD.category;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO desk_weekly_categories AS r
    VALUES (petition_week(NEW.created_at), coalesce(nullif(NEW.grid, ''), '-'), NEW.category, 1)
    ON CONFLICT (week, g, c) DO UPDATE SET received = r.received + 1;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER petitions_weekly_categories AFTER INSERT OR DELETE OR UPDATE OF created_at, grid, category
  ON petitions FOR EACH ROW EXECUTE FUNCTION petitions_weekly_categories();
--
-- 8. The search index (141), kept by the writes that change a text.
--
CREATE FUNCTION petitions_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM petition_words WHERE id = OLD.id;
  ELSE
    INSERT INTO petition_words AS w (id, grams) VALUES (NEW.id, petition_grams(NEW.text))
    ON CONFLICT (id) DO UPDATE SET grams = excluded.grams;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
      DELETE FROM petition_words WHERE id = OLD.id;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER petitions_words AFTER INSERT OR DELETE OR UPDATE OF text ON petitions
  FOR EACH ROW EXECUTE FUNCTION petitions_words();
-- TRUNCATE (which SQLite does not have) skips the row triggers: what they keep goes with the petitions
CREATE FUNCTION petitions_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE petition_rollup, desk_weekly, desk_weekly_categories, petition_words;
  RETURN NULL;
END
$$;
CREATE TRIGGER petitions_truncated AFTER TRUNCATE ON petitions FOR EACH STATEMENT
  EXECUTE FUNCTION petitions_truncated();
--
-- 9. Households behind a petition (121): counted again when a resident moves or a follower leaves.
--
CREATE FUNCTION residents_household_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE followers SET household = CASE WHEN NEW.building <> '' AND NEW.room <> ''
    THEN NEW.building || ':' || NEW.room ELSE 'resident:' || NEW.openid END
  WHERE resident = NEW.openid;
  DELETE FROM household_counts WHERE petition IN (SELECT id FROM petitions WHERE resident = NEW.openid)
    OR petition IN (SELECT petition FROM followers WHERE resident = NEW.openid);
  RETURN NULL;
END
$$;
CREATE TRIGGER residents_household_moved AFTER UPDATE OF building, room ON residents FOR EACH ROW
  WHEN (coalesce(OLD.building, '') <> coalesce(NEW.building, '') OR coalesce(OLD.room, '') <> coalesce(NEW.room, ''))
  EXECUTE FUNCTION residents_household_moved();
CREATE FUNCTION followers_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM household_counts WHERE petition = OLD.petition;
  RETURN NULL;
END
$$;
CREATE TRIGGER followers_removed AFTER DELETE ON followers FOR EACH ROW EXECUTE FUNCTION followers_removed();
--
-- 10. Indexes (SQLite's, by name; petitions_desk_due spells SQLite's scalar min() as LEAST, which
--     ignores NULLs as coalesce(min(a, b), a, b) does: the PG twin of storage.workorders.DUE must be
--     spelled exactly so for the planner to use it).
--
CREATE INDEX petitions_resident ON petitions (resident, state);
CREATE INDEX petitions_worker ON petitions (worker, state);
CREATE INDEX events_petition ON events (petition);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX chat_log_person ON chat_log (kind, person, id);
CREATE INDEX petitions_escalate ON petitions (escalate_at);
CREATE INDEX visits_worker ON visits (worker, at);
CREATE INDEX petitions_building_category ON petitions (building, category, created_at);
CREATE INDEX petitions_state ON petitions (state, worker);
CREATE INDEX outbox_sent_dest ON outbox (via, dest, sent_at) WHERE status = 'sent';
CREATE INDEX petitions_created_ts ON petitions (created_ts);
CREATE INDEX petitions_open_by_building ON petitions (building, category, created_at) WHERE state IN
  ('submitted', 'assigned', 'accepted', 'in_progress', 'returned', 'escalated');
CREATE INDEX petitions_running_by_group ON petitions (grid, worker, category, state, sign_deadline_ts,
  resolve_deadline_ts, created_ts) WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
CREATE INDEX petitions_assigned_by_sign_deadline ON petitions (sign_deadline_ts, created_ts, grid, worker,
  category, sign_deadline, state) WHERE state = 'assigned';
CREATE INDEX petitions_running_by_resolve_deadline ON petitions (resolve_deadline_ts, state,
  sign_deadline_ts, created_ts, grid, worker, category, resolve_deadline) WHERE state IN ('assigned',
  'accepted', 'in_progress', 'escalated');
CREATE INDEX petition_rollup_by_group ON petition_rollup (g, w, c);
CREATE INDEX vote_roll_household ON vote_roll (vote, household);
CREATE INDEX ballots_resident ON ballots (vote, resident);
CREATE UNIQUE INDEX group_publications_resolution ON group_publications (petition, resolved_at);
CREATE INDEX held_inbound_sender ON held_inbound (sender, id);
CREATE INDEX followers_household ON followers (petition, household);
CREATE INDEX followers_resident ON followers (resident);
CREATE INDEX topics_petition ON topics (petition);
CREATE INDEX petitions_urgent ON petitions (id) WHERE urgent = 1;
CREATE UNIQUE INDEX handoffs_open_resident ON handoffs (resident) WHERE closed_at IS NULL;
CREATE INDEX handoffs_open_worker ON handoffs (worker) WHERE closed_at IS NULL;
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX petitions_desk_all ON petitions (created_ts, id, state, grid, building, category, urgent,
  rating, sign_deadline_ts, resolve_deadline_ts);
CREATE INDEX petitions_desk_grid ON petitions (grid, created_ts, id, state, building, category, urgent,
  rating, sign_deadline_ts, resolve_deadline_ts);
CREATE INDEX petitions_desk_building ON petitions (building, created_ts, id, state, grid, category, urgent,
  rating, sign_deadline_ts, resolve_deadline_ts);
CREATE INDEX petitions_desk_open ON petitions (created_ts, id, state, grid, building, category, urgent,
  rating, sign_deadline_ts, resolve_deadline_ts) WHERE state IN ('submitted', 'assigned', 'accepted',
  'in_progress', 'returned', 'escalated');
CREATE INDEX petitions_desk_due ON petitions ((CASE WHEN state = 'assigned' THEN
  coalesce(LEAST(sign_deadline_ts, resolve_deadline_ts), sign_deadline_ts, resolve_deadline_ts) ELSE
  resolve_deadline_ts END), id, state, grid, building, category, urgent, rating, created_ts, sign_deadline_ts,
  resolve_deadline_ts) WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated');
CREATE INDEX petitions_merged_into ON petitions (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX petitions_desk_unsatisfied ON petitions (created_ts, id, state, grid, building, category,
  urgent, rating, sign_deadline_ts, resolve_deadline_ts) WHERE rating = 'unsatisfied';
CREATE INDEX petitions_open_by_building_state ON petitions (building, urgent, state, sign_deadline_ts,
  resolve_deadline_ts) WHERE state IN ('submitted', 'assigned', 'accepted', 'in_progress', 'returned',
  'escalated');
CREATE INDEX outbox_ref ON outbox (ref);
CREATE INDEX items_kind_status ON items (kind, status, id);
CREATE INDEX items_kind ON items (kind, id);
CREATE INDEX residents_building_room ON residents (building, room);
CREATE INDEX disclosures_kind ON disclosures (kind, id);
CREATE INDEX votes_topic ON votes (topic);
