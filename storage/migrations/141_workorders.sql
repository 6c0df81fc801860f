-- The workbench's list of petitions (工单, issue 15) at 1,000,000 petitions: storage/workorders.py.
--
-- 1. Full-text search in the residents' words. Chinese has no spaces, so the text is indexed as its
--    overlapping character bigrams ("门口路灯" -> "门口 口路 路灯 灯"; the last character alone, so a
--    one-character query finds it at the end too) and a query is the phrase of its own bigrams
--    ("路灯不亮" -> "路灯 灯不 不亮"), or a prefix term for one character ("灯*"). The FTS5 `trigram`
--    tokenizer would need no bigram expression, but matches nothing for a term of fewer than three
--    characters, and most Chinese search words have two (路灯, 漏水, 电梯).
--    The bigrams are made in SQL (no application function, so any writer keeps the index right): the
--    positions 0..n-1 of a text of n characters are the keys of a JSON array of n zeros. The table is
--    contentless (the words are in petitions.text already); a row is deleted with the words it was
--    indexed with, made again from the old text.
CREATE VIRTUAL TABLE IF NOT EXISTS petition_words USING fts5(grams, content='', columnsize=0,
  tokenize='unicode61');
INSERT INTO petition_words (rowid, grams) SELECT p.id, (SELECT group_concat(substr(p.text, j.key + 1, 2), ' ')
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length(p.text))), '00', '0,'), ',') || ']') AS j)
FROM petitions AS p;
CREATE TRIGGER IF NOT EXISTS petition_words_insert AFTER INSERT ON petitions BEGIN
  INSERT INTO petition_words (rowid, grams) SELECT NEW.id, group_concat(substr(NEW.text, j.key + 1, 2), ' ')
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length(NEW.text))), '00', '0,'), ',') || ']') AS j;
END;
CREATE TRIGGER IF NOT EXISTS petition_words_update AFTER UPDATE OF text ON petitions BEGIN
  INSERT INTO petition_words (petition_words, rowid, grams) SELECT 'delete', OLD.id,
    group_concat(substr(OLD.text, j.key + 1, 2), ' ')
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length(OLD.text))), '00', '0,'), ',') || ']') AS j;
  INSERT INTO petition_words (rowid, grams) SELECT NEW.id, group_concat(substr(NEW.text, j.key + 1, 2), ' ')
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length(NEW.text))), '00', '0,'), ',') || ']') AS j;
END;
CREATE TRIGGER IF NOT EXISTS petition_words_delete AFTER DELETE ON petitions BEGIN
  INSERT INTO petition_words (petition_words, rowid, grams) SELECT 'delete', OLD.id,
    group_concat(substr(OLD.text, j.key + 1, 2), ' ')
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length(OLD.text))), '00', '0,'), ',') || ']') AS j;
END;
