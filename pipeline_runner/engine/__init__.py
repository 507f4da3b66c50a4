"""The stage engine: stage definitions, cache keys and manifest, locking, the runner."""
