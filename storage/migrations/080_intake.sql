-- The intake journal: a callback's message is written here (and committed) before WeChat gets its
-- answer, and handled later by the store thread, in arrival order. Handling deletes the row in the same
-- transaction that writes the message's effects and its `inbound` record, so a message is always in
-- exactly one of the two tables; rows left here by a crash are handled at the next start.
CREATE TABLE IF NOT EXISTS intake (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, at TEXT NOT NULL, message TEXT NOT NULL);
