"""The built-in mechanisms' specs, one module each (registered in :data:`explorer_core.registry.BUILTINS`)."""
