"""Swift generation: custom-layer classes, typed model wrappers, and a syntax check."""
