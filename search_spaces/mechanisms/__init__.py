"""The built-in mechanisms' specs, one module each (registered in :data:`search_spaces.registry.BUILTINS`)."""
