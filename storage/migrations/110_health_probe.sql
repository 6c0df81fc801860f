-- One row that /healthz rewrites (committed) to prove the store still takes a write: on a full disk
-- a WAL commit fails, while reads and rolled-back writes (never written to the WAL) still succeed.
CREATE TABLE IF NOT EXISTS health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
