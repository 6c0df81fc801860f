-- A worker searches their grid: the grid beside each petition's words, and one GIN index on both
-- (btree_gin, a contrib extension of PostgreSQL's own package), so "these words in this grid" is one
-- index scan instead of a walk of the grid's petitions probing each one's words (the same index serves
-- a search of every grid). Kept by the words' trigger, which now also runs when a petition moves grid.
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE petition_words ADD COLUMN grid text;
UPDATE petition_words AS w SET grid = p.grid FROM petitions AS p WHERE p.id = w.id AND p.grid IS NOT NULL;
CREATE INDEX petition_words_grid_grams ON petition_words USING gin (grid, grams);
DROP INDEX petition_words_grams;   -- a GIN index on several columns serves a search on one of them
CREATE OR REPLACE FUNCTION petitions_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM petition_words WHERE id = OLD.id;
  ELSE
    INSERT INTO petition_words AS w (id, grams, grid) VALUES (NEW.id, petition_grams(NEW.text), NEW.grid)
    ON CONFLICT (id) DO UPDATE SET grams = excluded.grams, grid = excluded.grid;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
      DELETE FROM petition_words WHERE id = OLD.id;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER petitions_words ON petitions;
CREATE TRIGGER petitions_words AFTER INSERT OR DELETE OR UPDATE OF text, grid ON petitions
  FOR EACH ROW EXECUTE FUNCTION petitions_words();
