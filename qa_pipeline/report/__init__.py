"""Reports: text, JSON and HTML of one call (`output.WRITERS`), the daily report, exports.

May import: `types`, `errors`, `text` (masking), `store`, `rules` (check labels).
"""
