-- 亲邻议事: duplicate reports followed by other households, topics, votes and disclosure.
CREATE TABLE IF NOT EXISTS followers (
  petition INTEGER NOT NULL, resident TEXT NOT NULL, source INTEGER, at TEXT NOT NULL,
  PRIMARY KEY (petition, resident));
ALTER TABLE petitions ADD COLUMN merged_into INTEGER;
ALTER TABLE buildings ADD COLUMN households INTEGER;
CREATE TABLE IF NOT EXISTS topics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, petition INTEGER, title TEXT NOT NULL, status TEXT NOT NULL,
  opened_by TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topic_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, topic INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
  note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, topic INTEGER NOT NULL, question TEXT NOT NULL,
  options TEXT NOT NULL, buildings TEXT NOT NULL, deadline TEXT NOT NULL,
  participation TEXT NOT NULL, approval TEXT NOT NULL, status TEXT NOT NULL, result TEXT,
  created_by TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ballots (
  vote INTEGER NOT NULL, household TEXT NOT NULL, resident TEXT NOT NULL, option INTEGER NOT NULL,
  at TEXT NOT NULL, PRIMARY KEY (vote, household));
CREATE TABLE IF NOT EXISTS disclosures (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT,
  requester TEXT, status TEXT NOT NULL, due_at TEXT, answer TEXT, answered_by TEXT, answered_at TEXT,
  created_at TEXT NOT NULL);
