"""`qa batch`: discovery of recordings, the per-call job, the local and Ray engines.

May import: `types`, `errors`, `config`, `hooks`, `audio`, `asr`, `policy`, `pipeline`, `store`.
"""
