"""The config: YAML schema, its validation, and the cases a config expands into."""
