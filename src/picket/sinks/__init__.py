"""Where alerts and tracks go: console, JSON Lines, the store (and, later, the network)."""
