"""The checks of the service standard, their registry, `run_checks`, scoring.

Each check is one class that declares itself (name, labels, live behaviour, policy keys, default
weight); `run_checks` runs them over a transcript and `score_transcript` turns results into a report.

May import: `types`, `errors`, `config`, `text`, `policy`.
"""
