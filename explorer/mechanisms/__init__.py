"""One module per mechanism; ``explorer.registry`` imports them on first lookup."""
