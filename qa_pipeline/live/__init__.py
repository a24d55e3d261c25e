"""The live path without sockets: a session fed audio chunks, emitting utterances, alerts, a report.

`session` (`LiveSession` with `replay()`), `clips` (which clips leave a session), `parts` (long
turns in parts), `events` (the session's event values), `protocol` (ingest messages), `asr`
(the live ASR queue and guesses).

May import: `types`, `errors`, `config`, `audio`, `asr`, `text`, `policy`, `rules`. Never a socket.
"""
