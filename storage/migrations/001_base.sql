-- The base schema: organisation, residents, petitions and their event log, intake, outbox.
CREATE TABLE IF NOT EXISTS communities (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff (
  userid TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, community TEXT, phone TEXT);
CREATE TABLE IF NOT EXISTS grids (
  id TEXT PRIMARY KEY, community TEXT NOT NULL, name TEXT NOT NULL, head TEXT);
CREATE TABLE IF NOT EXISTS grid_workers (
  grid TEXT NOT NULL, userid TEXT NOT NULL, PRIMARY KEY (grid, userid));
CREATE TABLE IF NOT EXISTS buildings (
  id TEXT PRIMARY KEY, community TEXT NOT NULL, grid TEXT NOT NULL, name TEXT NOT NULL,
  aliases TEXT NOT NULL DEFAULT '[]', grp TEXT, lat REAL, lng REAL);
CREATE TABLE IF NOT EXISTS residents (
  openid TEXT PRIMARY KEY, channel TEXT NOT NULL, name TEXT, phone TEXT, building TEXT, unit TEXT,
  room TEXT, role TEXT NOT NULL DEFAULT 'resident', subscribed INTEGER NOT NULL DEFAULT 1,
  conv TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS petitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, resident TEXT NOT NULL, building TEXT, grid TEXT,
  worker TEXT, category TEXT NOT NULL, text TEXT NOT NULL, state TEXT NOT NULL,
  urgent INTEGER NOT NULL DEFAULT 0, private INTEGER NOT NULL DEFAULT 0,
  reopen_count INTEGER NOT NULL DEFAULT 0, urge_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, dispatched_at TEXT, accepted_at TEXT,
  resolved_at TEXT, closed_at TEXT, resolution TEXT, rating TEXT, rating_note TEXT);
CREATE INDEX IF NOT EXISTS petitions_resident ON petitions (resident, state);
CREATE INDEX IF NOT EXISTS petitions_worker ON petitions (worker, state);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, petition INTEGER NOT NULL, at TEXT NOT NULL,
  actor TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS events_petition ON events (petition);
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE IF NOT EXISTS inbound (
  key TEXT PRIMARY KEY, at TEXT NOT NULL, channel TEXT NOT NULL, sender TEXT, reply TEXT,
  replied_late INTEGER NOT NULL DEFAULT 0, answered_again INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL, text TEXT NOT NULL, ref TEXT, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, next_at TEXT NOT NULL, last_error TEXT, sent_at TEXT,
  via TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
CREATE TABLE IF NOT EXISTS chat_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, person TEXT NOT NULL,
  direction TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chat_log_person ON chat_log (kind, person, id);
CREATE TABLE IF NOT EXISTS announcements (
  id INTEGER PRIMARY KEY AUTOINCREMENT, author TEXT NOT NULL, scope_kind TEXT NOT NULL,
  scope_id TEXT, text TEXT NOT NULL, created_at TEXT NOT NULL, buildings INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, resident TEXT NOT NULL, building TEXT,
  text TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failed_inbound (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, at TEXT NOT NULL, channel TEXT NOT NULL,
  sender TEXT, kind TEXT, text TEXT);
