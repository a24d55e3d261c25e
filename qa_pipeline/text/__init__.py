"""Text: normalisation, word segmentation, phrase matching, PII masking, utterance building.

`normalize` (OpenCC, widths, numerals, a private jieba tokenizer), `segment` (timed words),
`match` (pinyin-level fuzzy phrase matching), `pii` (card, ID and phone masking), `utterances`
(recognised clips → `Utterance` values, shared by batch and live), `roles` (which of two voices on
a mono call is the agent, from the words), `diarize` (separated voices → role-labelled utterances).

May import: `types`, `errors`, `config`, `paths`, `asr.recognizer`, `audio.redact` (the span type of
masked audio), `audio.speakers` (the separated-voice piece type).
"""
