"""Reports: text, JSON and HTML of one call (the `WRITERS` table), the daily report, exports.

May import: `types`, `errors`, `text` (masking), `store`, `rules` (check labels).
"""
