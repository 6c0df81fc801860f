-- A worker's 办结 note reaches the building group only when staff approve it (公示 N): one row per
-- publication, keyed to the resolution it approves (a reopened and again resolved petition may be
-- published again).
CREATE TABLE IF NOT EXISTS group_publications (
  id INTEGER PRIMARY KEY AUTOINCREMENT, petition INTEGER NOT NULL, resolved_at TEXT NOT NULL,
  text TEXT NOT NULL, approved_by TEXT NOT NULL, at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS group_publications_resolution ON group_publications (petition, resolved_at);
