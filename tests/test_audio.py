"""load_call_audio, decode_stream_bytes and StreamResampler on files generated in tmp_path."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa_pipeline.audio.io import CallAudio, StreamResampler, decode_stream_bytes, load_call_audio
from qa_pipeline.config import AudioOptions
from qa_pipeline.errors import AudioFormatError
from qa_pipeline.types import Role

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AT_8K = AudioOptions(target_rate_hz=8000)


def sine(freq_hz: float, rate_hz: int, duration_s: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate_hz * duration_s)) / rate_hz
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate_hz)[spectrum.argmax()])


def stereo(rate_hz: int) -> np.ndarray:
    return np.stack([sine(500, rate_hz), sine(1500, rate_hz, amplitude=0.25)], axis=1)


@pytest.mark.parametrize(
    ("name", "fmt", "subtype", "rate_hz"),
    [
        ("pcm16.wav", "WAV", "PCM_16", 8000),
        ("ulaw.wav", "WAV", "ULAW", 8000),
        ("alaw.wav", "WAV", "ALAW", 8000),
        ("pcm16_16k.wav", "WAV", "PCM_16", 16000),
        ("pcm16_44k.wav", "WAV", "PCM_16", 44100),
        ("call.flac", "FLAC", "PCM_16", 16000),
        ("call.ogg", "OGG", "VORBIS", 16000),
        ("call.mp3", "MP3", "MPEG_LAYER_III", 16000),
    ],
)
def test_stereo_formats_give_two_role_channels_with_their_own_tones(tmp_path, name, fmt, subtype, rate_hz):
    path = tmp_path / name
    sf.write(path, stereo(rate_hz), rate_hz, format=fmt, subtype=subtype)
    audio = load_call_audio(path)
    assert isinstance(audio, CallAudio)
    assert (audio.source_rate_hz, audio.source_channels, audio.sample_rate_hz) == (rate_hz, 2, 16000)
    assert audio.roles == (Role.AGENT, Role.CUSTOMER)
    assert all(ch.dtype == np.float32 and ch.ndim == 1 for ch in audio.channels)
    # Lossy codecs may pad a few ms at the edges; the content must stay within 50 ms of 1 s.
    assert audio.duration_s == pytest.approx(1.0, abs=0.05)
    middle = slice(2000, 14000)
    assert peak_hz(audio.channels[0][middle], 16000) == pytest.approx(500, abs=2)
    assert peak_hz(audio.channels[1][middle], 16000) == pytest.approx(1500, abs=2)


def test_resampling_keeps_a_1khz_sine_at_1khz_and_its_level(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(1000, 8000, 2.0), 8000, subtype="PCM_16")
    audio = load_call_audio(path)
    x = audio.channels[0]
    assert len(x) == 32000
    assert peak_hz(x[4000:28000], 16000) == pytest.approx(1000, abs=1)
    rms = float(np.sqrt(np.mean(x[4000:28000] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_mulaw_round_trip_stays_within_quantisation(tmp_path):
    original = sine(700, 8000, amplitude=0.8)
    path = tmp_path / "ulaw.wav"
    sf.write(path, original, 8000, subtype="ULAW")
    decoded = load_call_audio(path, AT_8K).channels[0]
    assert len(decoded) == len(original)
    # mu-law keeps ~4 mantissa bits: error within 1/32 of the value plus the smallest step.
    assert np.all(np.abs(decoded - original) <= np.abs(original) / 32 + 1e-3)
    assert not np.array_equal(decoded, original)  # it really went through the codec


def test_pcm16_at_target_rate_is_bit_exact(tmp_path):
    values = (np.arange(-32768, 32768, 257, dtype=np.int16)).astype(np.int16)
    path = tmp_path / "exact.wav"
    sf.write(path, values, 8000, subtype="PCM_16")
    decoded = load_call_audio(path, AT_8K).channels[0]
    np.testing.assert_array_equal(decoded, values.astype(np.float32) / 32768)


def test_mono_file_is_one_mixed_channel(tmp_path):
    path = tmp_path / "mono.wav"
    sf.write(path, sine(440, 16000), 16000, subtype="PCM_16")
    audio = load_call_audio(path)
    assert audio.roles == (Role.MIXED,)
    assert len(audio.channels) == 1 and audio.source_channels == 1


def test_mono_mode_mixes_stereo_down(tmp_path):
    path = tmp_path / "st.wav"
    left, right = np.full(800, 0.5, np.float32), np.full(800, -0.25, np.float32)
    sf.write(path, np.stack([left, right], axis=1), 8000, subtype="PCM_16")
    audio = load_call_audio(path, AudioOptions(target_rate_hz=8000, channel_mode="mono"))
    assert audio.roles == (Role.MIXED,)
    np.testing.assert_allclose(audio.channels[0], 0.125, atol=1 / 32768)


def test_custom_channel_roles_follow_channel_order(tmp_path):
    path = tmp_path / "swapped.wav"
    sf.write(path, stereo(8000), 8000, subtype="PCM_16")
    options = AudioOptions(channel_roles=(Role.CUSTOMER, Role.AGENT))
    assert load_call_audio(path, options).roles == (Role.CUSTOMER, Role.AGENT)


def test_real_sample_mulaw_call_loads_at_16k():
    audio = load_call_audio(SAMPLES / "dev_call_04.wav")
    assert (audio.source_rate_hz, audio.source_channels) == (8000, 2)
    assert audio.duration_s == pytest.approx(73.975, abs=0.001)
    assert len(audio.channels[0]) == len(audio.channels[1]) == 73.975 * 16000


# ---- bad input: one AudioFormatError line naming the file -------------------------------


def wav_bytes(rate_hz: int = 8000) -> bytes:
    import io

    buffer = io.BytesIO()
    sf.write(buffer, sine(440, rate_hz, 0.2), rate_hz, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def patched(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(wav_bytes())
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


BAD_FILES = {
    "empty.wav": (b"", "empty"),
    "junk.wav": (b"this is a text file, not a recording\n" * 20, "not a recognised audio file"),
    "truncated.wav": (wav_bytes()[:30], "truncated"),
    "codec.wav": (patched(20, "<H", 0x0161), "unsupported audio codec"),
    "slow.wav": (patched(24, "<I", 1), "sample rate 1 Hz"),
    "fast.wav": (patched(24, "<I", 10_000_000), "sample rate 10000000 Hz"),
    "noframes.wav": (wav_bytes()[:44], "no samples"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_clear_line_naming_the_file(tmp_path, name):
    content, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioFormatError) as info:
        load_call_audio(path)
    assert_one_line(info.value, path, expected)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(AudioFormatError) as info:
        load_call_audio(path)
    assert_one_line(info.value, path, "not found")


def test_three_channels_are_refused(tmp_path):
    path = tmp_path / "three.wav"
    sf.write(path, np.zeros((800, 3), np.float32), 8000, subtype="PCM_16")
    with pytest.raises(AudioFormatError) as info:
        load_call_audio(path)
    assert_one_line(info.value, path, "3 channels")


def test_zero_length_stereo_wav_written_by_soundfile(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 2), np.float32), 16000, subtype="ULAW")
    with pytest.raises(AudioFormatError) as info:
        load_call_audio(path)
    assert_one_line(info.value, path, "no samples")


def assert_one_line(error: AudioFormatError, path: Path, expected: str) -> None:
    text = str(error)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert expected in error.problem
    assert "Error" not in text and "libsndfile" not in text  # translated, not soundfile's words


# ---- live path helpers ---------------------------------------------------------------------


def test_decode_pcm16_interleaved_frames():
    raw = struct.pack("<4h", 16384, -16384, 32767, -32768)
    np.testing.assert_array_equal(
        decode_stream_bytes(raw, "pcm16", 2),
        np.array([[0.5, -0.5], [32767 / 32768, -1.0]], dtype=np.float32),
    )


def test_decode_g711_known_code_points():
    # mu-law 0xFF and A-law 0xD5 are the zero code points; mu-law 0x80 is the positive maximum.
    np.testing.assert_array_equal(decode_stream_bytes(bytes([0xFF]), "mulaw", 1), [[0.0]])
    assert decode_stream_bytes(bytes([0x80]), "mulaw", 1)[0, 0] == pytest.approx(32124 / 32768)
    assert abs(decode_stream_bytes(bytes([0xD5]), "alaw", 1)[0, 0]) <= 8 / 32768


def test_decode_matches_the_file_decoder(tmp_path):
    original = sine(300, 8000, 0.1)
    path = tmp_path / "a.wav"
    sf.write(path, original, 8000, subtype="ALAW")
    payload = path.read_bytes()[-len(original) :]  # the data chunk: one byte per sample
    from_file = load_call_audio(path, AT_8K).channels[0]
    np.testing.assert_array_equal(decode_stream_bytes(payload, "alaw", 1)[:, 0], from_file)


def test_decode_rejects_partial_frames_and_unknown_encodings():
    with pytest.raises(ValueError, match="whole number"):
        decode_stream_bytes(b"\x00\x01\x02", "pcm16", 1)
    with pytest.raises(ValueError, match="whole number"):
        decode_stream_bytes(b"\x00\x01\x02", "mulaw", 2)
    with pytest.raises(ValueError, match="encoding"):
        decode_stream_bytes(b"\x00\x00", "opus", 1)
    assert decode_stream_bytes(b"", "pcm16", 2).shape == (0, 2)


def test_stream_resampler_in_chunks_matches_rate_and_frequency():
    x = sine(1000, 8000, 2.0)
    resampler = StreamResampler(8000, 16000)
    pieces = [resampler.process(x[i : i + 333]) for i in range(0, len(x), 333)]
    out = np.concatenate(pieces + [resampler.flush()])
    assert len(out) == pytest.approx(32000, abs=2)
    assert peak_hz(out[4000:28000], 16000) == pytest.approx(1000, abs=1)


def test_stream_resampler_is_identity_at_equal_rates():
    x = sine(1000, 16000, 0.1)
    resampler = StreamResampler(16000, 16000)
    np.testing.assert_array_equal(resampler.process(x), x)
    assert resampler.flush().size == 0
