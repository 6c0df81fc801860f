-- Issue 12: a vote's electorate is fixed when it opens (households per building in scope), each
-- person is tied to one household for the vote (the one they had at the opening, or when they first
-- voted), and a ballot belongs to the person who cast it.
ALTER TABLE votes ADD COLUMN electorate TEXT;
CREATE TABLE IF NOT EXISTS vote_roll (
  vote INTEGER NOT NULL, resident TEXT NOT NULL, building TEXT NOT NULL, household TEXT,
  at TEXT NOT NULL, PRIMARY KEY (vote, resident));
CREATE INDEX IF NOT EXISTS vote_roll_household ON vote_roll (vote, household);
ALTER TABLE ballots ADD COLUMN building TEXT;
CREATE INDEX IF NOT EXISTS ballots_resident ON ballots (vote, resident);
-- a second resident who claimed a room already on a vote's roll (shown to staff once per person)
CREATE TABLE IF NOT EXISTS vote_conflicts (
  vote INTEGER NOT NULL, household TEXT NOT NULL, resident TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (vote, household, resident));
