-- Messages a resident sent faster than [limits] allows: kept here (nothing is lost), shown to staff,
-- and answered once instead of one by one.
CREATE TABLE IF NOT EXISTS held_inbound (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, at TEXT NOT NULL, channel TEXT NOT NULL,
  sender TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS held_inbound_sender ON held_inbound (sender, id);
