"""Speech to text: one recogniser protocol and the faster-whisper decoders behind it.

`recognizer` is the protocol and its value types (`AudioClip`, `ClipText`); `packed` decodes a
channel's utterances packed into 30-second windows (batch); `clips` decodes one window per clip, many
clips in one batch (live); `model_cache` joins and verifies the bundled model once. Heavy imports
(faster-whisper, CTranslate2) happen only when a model is loaded.

May import: `types`, `errors`, `config`, `paths`, `hooks`.
"""
