"""Sound in, spans out: decoding, resampling, voice activity, tones and hold music.

`io` reads files and stream bytes into float32 channels at 16 kHz; `vad` is one webrtcvad state
machine behind a whole-file function and a streaming object; `tones` finds the disconnect tone and
tells music from speech; `channel` turns a whole channel (batch) or a stream (live) into speech,
music and tone spans; `speakers` separates two voices sharing one (mono) channel.

May import: `types`, `errors`, `config`, `paths`, `hooks`, `asr.recognizer` (the clip value type),
`text.utterances` (clip bounds). Never the rules, the store or a server.
"""
