"""Built-in scenarios (YAML package data); list them with ``mana-sim list``."""
