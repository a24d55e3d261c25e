"""The results store: SQLite (WAL), one row per scored call, keyed by audio, policy and model.

May import: `types`, `errors`, `text.pii`.
"""
