-- A version stamp of the organisation (communities, staff, grids, their workers, buildings), changed by
-- triggers on every write to those tables, whoever writes (storage.org.store, a test, another process).
-- storage/org.py keeps the organisation in memory and reads only this one row per lookup to know
-- whether its copy is still current. The stamp is random, not a counter: a write undone by a rolled
-- back savepoint followed by another write must never bring back a stamp the cache has already seen.
CREATE TABLE org_version (id INTEGER PRIMARY KEY CHECK (id = 1), stamp INTEGER NOT NULL);
INSERT INTO org_version (id, stamp) VALUES (1, random());
CREATE TRIGGER org_version_communities_i AFTER INSERT ON communities BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_communities_u AFTER UPDATE ON communities BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_communities_d AFTER DELETE ON communities BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_staff_i AFTER INSERT ON staff BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_staff_u AFTER UPDATE ON staff BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_staff_d AFTER DELETE ON staff BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grids_i AFTER INSERT ON grids BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grids_u AFTER UPDATE ON grids BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grids_d AFTER DELETE ON grids BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grid_workers_i AFTER INSERT ON grid_workers BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grid_workers_u AFTER UPDATE ON grid_workers BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_grid_workers_d AFTER DELETE ON grid_workers BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_buildings_i AFTER INSERT ON buildings BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_buildings_u AFTER UPDATE ON buildings BEGIN UPDATE org_version SET stamp = random(); END;
CREATE TRIGGER org_version_buildings_d AFTER DELETE ON buildings BEGIN UPDATE org_version SET stamp = random(); END;
