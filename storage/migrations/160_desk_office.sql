-- The office pages of the workbench (/admin/announcements … /admin/deliveries) read by these: the
-- deliveries of an announcement (or any ref) in the outbox, items of a kind (and status) newest first,
-- the residents bound to a building (the roster page), disclosures of a kind newest first, a topic's votes.
CREATE INDEX IF NOT EXISTS outbox_ref ON outbox (ref);
CREATE INDEX IF NOT EXISTS items_kind_status ON items (kind, status, id);
CREATE INDEX IF NOT EXISTS items_kind ON items (kind, id);
CREATE INDEX IF NOT EXISTS residents_building_room ON residents (building, room);
CREATE INDEX IF NOT EXISTS disclosures_kind ON disclosures (kind, id);
CREATE INDEX IF NOT EXISTS votes_topic ON votes (topic);
