"""Pages served to people: the simulator's static files and the public board (/public)."""
