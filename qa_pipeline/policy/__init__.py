"""Policy files: what a bank configures (phrases, weights, limits), read and validated.

`files` reads a policy directory and reports errors as `file:line`; `policy` is the validated,
frozen `Policy` value and `load_policy`.

May import: `types`, `errors`, `config`, `paths`, `text`.
"""
