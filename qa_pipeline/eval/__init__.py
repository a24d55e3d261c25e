"""`qa eval`: agreement of the checks with labelled calls, CER per role.

May import: `types`, `errors`, `config`, `hooks`, `text`, `policy`, `pipeline`.
"""
