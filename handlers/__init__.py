"""One module per capability. A handler decides; it never calls a WeChat API and never sleeps."""
