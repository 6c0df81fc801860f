"""Everything that touches SQLite: schema, org, petitions and their event log, outbox, stats."""
