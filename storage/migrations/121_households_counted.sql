-- Households behind a petition, counted as followers join instead of recounted on every repeat.
--
-- `households_raising` joined every follower with its resident on each merged report: with hundreds of
-- households behind one petition (a building-wide outage) each repeat cost a scan of all of them. Each
-- follower now keeps its household key (building:room, or resident:<openid> without a room), and
-- `household_counts` the number of distinct households behind a petition (its resident's included).
-- A missing row means "count again" (storage/deliberation.py recounts and stores it).
ALTER TABLE followers ADD COLUMN household TEXT;
UPDATE followers SET household = coalesce(
  (SELECT CASE WHEN r.building <> '' AND r.room <> '' THEN r.building || ':' || r.room END
   FROM residents AS r WHERE r.openid = followers.resident),
  'resident:' || resident);
CREATE INDEX IF NOT EXISTS followers_household ON followers (petition, household);
CREATE INDEX IF NOT EXISTS followers_resident ON followers (resident);
CREATE TABLE IF NOT EXISTS household_counts (
  petition INTEGER PRIMARY KEY,
  households INTEGER NOT NULL
);
-- a resident who moves changes the household of every petition they raised or follow: their followers'
-- keys follow them, and those petitions are counted again
CREATE TRIGGER residents_household_moved AFTER UPDATE OF building, room ON residents
WHEN coalesce(OLD.building, '') <> coalesce(NEW.building, '') OR coalesce(OLD.room, '') <> coalesce(NEW.room, '')
BEGIN
  UPDATE followers SET household = CASE WHEN NEW.building <> '' AND NEW.room <> ''
    THEN NEW.building || ':' || NEW.room ELSE 'resident:' || NEW.openid END
  WHERE resident = NEW.openid;
  DELETE FROM household_counts WHERE petition IN (SELECT id FROM petitions WHERE resident = NEW.openid)
    OR petition IN (SELECT petition FROM followers WHERE resident = NEW.openid);
END;
-- followers removed (unmerge): counted again
CREATE TRIGGER followers_removed AFTER DELETE ON followers BEGIN
  DELETE FROM household_counts WHERE petition = OLD.petition;
END;
