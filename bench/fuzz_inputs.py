"""Fuzz the real ``qa`` command line with malformed inputs: audio, metadata, policies and stores.

Every input is generated (seeded, reproducible) into a scratch folder and handed to the real CLI in
a subprocess with a timeout. Each run is judged by the README's contract:

- no Python traceback on stderr, no hang (timeout);
- a refused input: exit code 2 and exactly one line ``error: <FILE...>: <problem>`` naming the file
  (``qa policy check`` may print one such line per problem);
- an accepted input (e.g. metadata with a UTF-8 BOM, float audio scaled x1000): exit code 0.

Usage (from the repository root): ``python bench/fuzz_inputs.py [--repo DIR] [--only KIND] [--every N]``.
``--repo`` runs another checkout's code (e.g. the code before a fix) against the same inputs.
Prints the counts per kind and every failing case; exit code 1 if any case failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180.0
SEED = 14


@dataclass(frozen=True)
class Case:
    """One malformed input and how to feed it to ``qa``.

    ``args`` may use ``{path}`` (the input) and ``{work}`` (the scratch folder). ``names`` is what the
    error line must mention. ``accept``: True means exit 0 is the right answer, None that either a clean
    exit 0 or a clean refusal is (what a codec library decides to read).
    """

    kind: str
    label: str
    path: str
    args: tuple[str, ...]
    accept: bool | None = False
    names: tuple[str, ...] = ()
    multi_line: bool = False


@dataclass
class Outcome:
    case: Case
    code: int | None
    stderr: str
    elapsed_s: float
    problems: list[str] = field(default_factory=list)


# -- generators -----------------------------------------------------------------------------------


def silent_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> Path:
    sf.write(path, np.zeros((int(seconds * rate), 2), dtype=np.int16), rate, subtype="PCM_16")
    return path


def wav_header(channels: int, rate: int, bits: int, tag: int, data_bytes: int, block_align: int | None = None) -> bytes:
    align = block_align if block_align is not None else channels * max(bits, 8) // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_bytes))


def audio_cases(root: Path, rng: random.Random) -> list[Case]:
    d = root / "audio"
    d.mkdir()
    cases: list[Case] = []

    def add(name: str | bytes, data: bytes | None = None, label: str = "", accept: bool | None = False) -> None:
        path = os.path.join(os.fsencode(d), name) if isinstance(name, bytes) else str(d / name)
        if data is not None:
            with open(path, "wb") as handle:
                handle.write(data)
        shown = os.fsdecode(path)
        cases.append(Case("audio", label or os.fsdecode(name), shown, ("transcribe", "{path}"), accept,
                          (Path(shown).name,)))

    good = silent_wav(root / "good.wav").read_bytes()
    add("empty.wav", b"", "empty file")
    for n in (1, 4, 11, 12, 20, 36, 43, 44):
        add(f"truncated_{n}.wav", good[:n], f"WAV cut to {n} bytes")
    for i in range(12):
        add(f"random_{i}.wav", rng.randbytes(rng.choice([10, 100, 1000, 50_000])), "random bytes .wav")
    for ext in ("flac", "ogg", "mp3"):
        for i in range(3):
            add(f"random_{i}.{ext}", rng.randbytes(rng.choice([50, 5000])), f"random bytes .{ext}")
        add(f"text.{ext}", "这不是音频".encode() * 50, f"text as .{ext}")
    for tag in (0x0000, 0x0050, 0x0055, 0x00FF, 0x1234, 0xFFFF):
        add(f"tag_{tag:04x}.wav", wav_header(1, 8000, 16, tag, 16000) + bytes(16000), f"WAV format tag 0x{tag:04X}")
    for channels in (0, 3, 9, 255):
        add(f"channels_{channels}.wav", wav_header(channels, 8000, 16, 1, 16000) + bytes(16000), f"{channels} channels")
    for rate in (0, 1, 1000, 3_000_000, 0xFFFFFFFF):
        add(f"rate_{rate}.wav", wav_header(1, rate, 16, 1, 16000) + bytes(16000), f"sample rate {rate}")
    for bits in (0, 3, 12, 64):
        add(f"bits_{bits}.wav", wav_header(1, 8000, bits, 1, 16000) + bytes(16000), f"{bits} bits", accept=None)
    add("data_oversized.wav", wav_header(1, 8000, 16, 1, 1 << 30) + bytes(100), "data chunk claims 1 GB", accept=None)
    add("zero_data.wav", wav_header(1, 8000, 16, 1, 0), "no samples")
    add("block_align_0.wav", wav_header(1, 8000, 16, 1, 16000, block_align=0) + bytes(16000), "block align 0",
        accept=None)
    t = np.arange(8000) / 8000
    tone = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    for subtype, label in (("GSM610", "GSM 6.10"), ("G721_32", "G.721"), ("IMA_ADPCM", "IMA ADPCM")):
        sf.write(d / f"{subtype}.wav", tone, 8000, subtype=subtype)
        add(f"{subtype}.wav", None, f"{label} WAV", accept=subtype == "IMA_ADPCM")  # libsndfile reads IMA
    for kind, values in (("nan", np.full(16000, np.nan)), ("inf", np.full(16000, np.inf)),
                         ("halfnan", np.where(np.arange(16000) % 2, np.nan, 0.1))):
        sf.write(d / f"float_{kind}.wav", np.stack([values, values], 1).astype(np.float32), 8000, subtype="FLOAT")
        add(f"float_{kind}.wav", None, f"float WAV, {kind} samples", accept=kind == "halfnan")
    sf.write(d / "float_x1000.wav", np.stack([tone * 1000, tone * 1000], 1), 8000, subtype="FLOAT")
    add("float_x1000.wav", None, "float samples scaled x1000", accept=True)
    # An 18-hour recording: a real header over a sparse file.
    long_bytes = 18 * 3600 * 8000 * 2
    with open(d / "eighteen_hours.wav", "wb") as handle:
        handle.write(wav_header(1, 8000, 16, 1, long_bytes))
        handle.truncate(44 + long_bytes)
    add("eighteen_hours.wav", None, "an 18-hour recording")
    add(b"name_\xff\xfe.wav", good, "non-UTF-8 file name", accept=True)
    (d / "folder.wav").mkdir()
    add("folder.wav", None, "a directory named .wav")
    add("missing.wav", None, "a file that does not exist")
    os.symlink(d / "loop_b.wav", d / "loop_a.wav")
    os.symlink(d / "loop_a.wav", d / "loop_b.wav")
    add("loop_a.wav", None, "a symlink loop")
    unreadable = d / "unreadable.wav"
    unreadable.write_bytes(good)
    unreadable.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        add("unreadable.wav", None, "an unreadable file")
    return cases


BAD_VALUES = [1e999, -1e999, float("nan"), -1, 1.5, 2 ** 70, "abc", "", [], {}, [1, 2], {"a": 1}, True, None,
              "1e999", "NaN", "-5", 10 ** 400]
_BAD_FOR_STRINGS = [[], {}, True, [1, 2], {"a": 1}]
_ALWAYS_BAD = {
    "rings": [1e999, float("nan"), -1, 1.5, 2 ** 70, "abc", [], {}, True],
    "answer_delay_s": [1e999, float("nan"), -1, "abc", [], {}, True, 10 ** 400],
    "direction": ["sideways", 1, [], {}], "hangup_by": ["nobody", 3, [], {}],
}
META_FIELDS = ["call_id", "agent_id", "direction", "queue", "started_at", "hangup_by", "rings", "answer_delay_s"]


def meta_cases(root: Path, rng: random.Random) -> list[Case]:
    d = root / "meta"
    d.mkdir()
    audio = silent_wav(root / "meta_call.wav", seconds=0.5)
    cases: list[Case] = []

    def add(name: str, data: bytes, label: str, accept: bool = False) -> None:
        (d / name).write_bytes(data)
        cases.append(Case("meta", label, str(d / name), ("audit", str(audio), "--meta", "{path}"), accept, (name,)))

    base = {"call_id": "C1", "agent_id": "8123", "direction": "inbound", "started_at": "2026-11-21T10:00:00"}
    for field_name in ("rings", "answer_delay_s"):
        for i, value in enumerate(BAD_VALUES):
            if value is None or value == "" or (field_name == "answer_delay_s" and value == 1.5):
                continue  # no value, or a valid one
            text = json.dumps({**base, field_name: value}, allow_nan=True)
            text = text.replace('"__inf__"', "1e999")
            add(f"{field_name}_{i}.json", text.encode(), f"{field_name}={value!r:.30}")
    for field_name in ("call_id", "agent_id", "queue", "started_at", "direction", "hangup_by"):
        for i, value in enumerate(([], {"x": 1}, [[1]], True, 1e999)):
            add(f"{field_name}_{i}.json", json.dumps({**base, field_name: value}).encode(), f"{field_name}={value!r}")
    for field_name, value in (("direction", "sideways"), ("direction", 1), ("hangup_by", "nobody"), ("hangup_by", 3)):
        add(f"{field_name}_{value}.json", json.dumps({**base, field_name: value}).encode(), f"{field_name}={value!r}")
    add("rings_1e999_literal.json", b'{"rings": 1e999}', "rings: 1e999 (JSON literal)")
    add("delay_nan_literal.json", b'{"answer_delay_s": NaN}', "answer_delay_s: NaN (JSON literal)")
    add("deep_list.json", b"[" * 200_000 + b"]" * 200_000, "JSON nested 200,000 deep")
    add("deep_object.json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "object nested 100,000 deep")
    add("deep_unclosed.json", b"[" * 200_000, "unclosed deep JSON")
    add("bom.json", b"\xef\xbb\xbf" + json.dumps(base).encode(), "UTF-8 BOM", accept=True)
    add("utf16.json", json.dumps(base).encode("utf-16"), "UTF-16")
    add("latin1.json", '{"queue": "caf\xe9"}'.encode("latin-1"), "Latin-1 bytes")
    add("empty.json", b"", "empty")
    add("whitespace.json", b"  \n ", "whitespace only")
    add("truncated.json", json.dumps(base).encode()[:-5], "truncated")
    for top in (b"[]", b'"text"', b"1", b"null", b"true"):
        add(f"top_{top.decode().strip(chr(34))}.json", top, f"top level {top.decode()}")
    add("nul.json", b'{"call_id": "C\x001"}', "NUL byte in JSON")
    for i in range(20):
        add(f"random_{i}.json", rng.randbytes(rng.choice([5, 200, 4000])), "random bytes")
    for i in range(20):  # random soups of fields that are all wrong
        data = {}
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(META_FIELDS)
            data[name] = rng.choice(_ALWAYS_BAD[name] if name in _ALWAYS_BAD else _BAD_FOR_STRINGS)
        add(f"soup_{i}.json", json.dumps({**base, **data}, allow_nan=True).encode(), f"soup {data!r:.40}")
    return cases


POLICY_NUMBERS = ["rate_min_cpm", "inbound_limit_s", "hold_limit_s", "greeting_window_s", "min_similarity",
                  "closing_last_utterances", "max_rings", "greeting", "forbidden_phrases", "agent_hangup"]


def policy_cases(root: Path, rng: random.Random) -> list[Case]:
    from qa_pipeline.policy.files import default_policy_dir

    d = root / "policy"
    d.mkdir()
    source = default_policy_dir()
    policy_text = (source / "policy.toml").read_text(encoding="utf-8")
    phrases_text = (source / "phrases.toml").read_text(encoding="utf-8")
    cases: list[Case] = []

    def add(name: str, label: str, policy: str | bytes | None = None, phrases: str | bytes | None = None,
            userdict: bytes | None = None, audit: bool = False) -> None:
        name = f"{len(cases):03d}_{name}"  # unique, and named in every error line
        folder = d / name
        shutil.copytree(source, folder)
        for file, text in (("policy.toml", policy), ("phrases.toml", phrases)):
            if text is not None:
                (folder / file).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        if userdict is not None:
            (folder / "userdict.txt").write_bytes(userdict)
        if audit:
            args = ("audit", str(root / "meta_call.wav"), "--policy", "{path}")
        else:
            args = ("policy", "check", "{path}")
        cases.append(Case("policy", label, str(folder), args, False, (name,), multi_line=not audit))

    for key in POLICY_NUMBERS:
        for value in ("nan", "inf", "-inf", '"x"', "[]", "{}", "-1e308", "1e308", "true"):
            pattern = re.compile(rf"^{key}\s*=.*$", re.M)
            if not pattern.search(policy_text):
                continue
            add(f"{key}_{len(value)}", f"{key} = {value}", policy=pattern.sub(f"{key} = {value}", policy_text, 1))
    for key in ("min_similarity", "hold_limit_s"):
        pattern = re.compile(rf"^{key}\s*=.*$", re.M)
        add(f"audit_{key}_nan", f"{key} = nan through qa audit", policy=pattern.sub(f"{key} = nan", policy_text, 1), audit=True)
    list_keys = re.findall(r"^(\w+)\s*=\s*\[", phrases_text, re.M)
    for key in list_keys[:12]:
        pattern = re.compile(rf"^{key}\s*=\s*\[.*?\]\s*$", re.M | re.S)
        for value in ("[1, 2]", "[[\"a\"]]", '"not a list"', "[{a = 1}]", "[\"\"]"):
            add(f"list_{key}_{len(value)}", f"{key} = {value}", phrases=pattern.sub(f"{key} = {value}", phrases_text, 1))
    add("forbidden_ints", "forbidden = [1, 2]", phrases=phrases_text + "\n[[forbidden]]\nphrases = [1, 2]\n")
    add("deep_array", "array nested 100,000 deep", phrases="x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    add("deep_inline", "inline tables nested deep", phrases="x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")
    add("garbage", "random bytes", policy=rng.randbytes(3000))
    add("not_utf8", "Latin-1 policy", policy="name = \"caf\xe9\"\n".encode("latin-1"))
    add("empty_files", "empty policy files", policy="", phrases="")
    add("bad_toml", "invalid TOML", policy="[weights\nx = ")
    add("dup_key", "duplicate key", policy=policy_text + "\nname = \"again\"\n")
    add("userdict_latin1", "userdict not UTF-8", userdict="café 3 n\n".encode("latin-1") + b"\xff\xfe", audit=True)
    add("userdict_binary", "userdict binary", userdict=rng.randbytes(500), audit=True)
    for i in range(10):
        lines = policy_text.splitlines()
        index = rng.randrange(len(lines))
        lines[index] = rng.choice(["=", "[", "x = ", "]]", "nan = nan", "\x00", "rate_min_cpm = [[[]]]"])
        add(f"mutant_{i}", f"mutated line {index + 1}", policy="\n".join(lines))
    return cases


def store_cases(root: Path, rng: random.Random) -> list[Case]:
    d = root / "stores"
    d.mkdir()
    empty_dir = root / "empty_calls"
    empty_dir.mkdir(exist_ok=True)
    good = d / "_good.sqlite"
    _make_store(good)
    cases: list[Case] = []
    commands = (("report", "--db", "{path}", "--out", "{work}/daily.html"), ("export", "--db", "{path}"),
                ("export", "--db", "{path}", "--format", "jsonl"), ("batch", str(empty_dir), "--db", "{path}"))

    def add(name: str, label: str, data: bytes | None = None, every: bool = True, row_only: bool = False) -> None:
        path = d / name
        if data is not None:
            path.write_bytes(data)
        for args in commands if every else commands[:1]:
            # A batch on an empty folder never reads the stored rows: a bad row need not stop it.
            accept = None if row_only and args[0] == "batch" else False
            cases.append(Case("store", f"{label} ({' '.join(args[:1] + args[3:5])})", str(path), args, accept, (name,)))

    add("random.sqlite", "random bytes", rng.randbytes(8192))
    add("text.sqlite", "a text file", "这不是数据库\n".encode() * 100)
    add("header_only.sqlite", "SQLite header then garbage", b"SQLite format 3\x00" + rng.randbytes(4000))
    good_bytes = good.read_bytes()
    add("truncated.sqlite", "truncated store", good_bytes[: len(good_bytes) // 3])
    for i in range(6):
        data = bytearray(good_bytes)
        for _ in range(20):
            offset = rng.randrange(1024, len(data))
            data[offset] = rng.randrange(256)
        add(f"flipped_{i}.sqlite", "bytes flipped in pages", bytes(data), every=False)
    for i, bad in enumerate(("{", "null", "[]", '"text"', "[" * 100_000 + "]" * 100_000, "\x00\x01")):
        path = d / f"bad_row_{i}.sqlite"
        shutil.copy(good, path)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE calls SET report_json=? WHERE id=(SELECT MIN(id) FROM calls)", (bad,))
        add(path.name, f"report_json {bad[:12]!r}", row_only=True)
    other = d / "other_schema.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE calls (x INTEGER)")
    add(other.name, "another program's SQLite file")
    version = d / "version_99.sqlite"
    shutil.copy(good, version)
    with sqlite3.connect(version) as conn:
        conn.execute("UPDATE schema_version SET version=99")
    add(version.name, "schema version 99")
    index = d / "bad_index.sqlite"
    shutil.copy(good, index)
    _corrupt_index(index)
    add(index.name, "corrupted index")
    (d / "dir.sqlite").mkdir()
    add("dir.sqlite", "a directory as the store")
    return cases


def _make_store(path: Path) -> None:
    from qa_pipeline.store.results import CallKey, ResultStore

    with ResultStore(path) as store:
        for i in range(30):
            report = {"call_id": f"C{i}", "agent_id": "8123", "direction": "inbound", "duration_s": 60.0,
                      "utterances": [], "checks": {"greeting": {"passed": i % 2 == 0}}, "findings": [],
                      "score": float(i), "policy_id": "p", "model_id": "m", "incomplete": False}
            store.record_result(CallKey(f"{i:064x}", "p", "m"), report, f"/calls/c{i}.wav")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def _corrupt_index(path: Path) -> None:
    """Point the calls_by_audio index at wrong rows: an index page whose keys no longer match the table."""
    with sqlite3.connect(path) as conn:
        root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='calls_by_audio'").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (root_page - 1) * page_size
    page = data[start : start + page_size]
    hexdigits = b"0123456789abcdef"
    for offset in range(100, len(page)):  # rewrite hex digits of the indexed sha256 keys
        if page[offset] in hexdigits:
            page[offset] = hexdigits[(hexdigits.index(page[offset]) + 7) % 16]
    data[start : start + page_size] = page
    path.write_bytes(bytes(data))


KINDS = {"audio": audio_cases, "meta": meta_cases, "policy": policy_cases, "store": store_cases}


# -- running and judging --------------------------------------------------------------------------


def run_case(case: Case, work: Path, repo: Path) -> Outcome:
    args = [a.format(path=case.path, work=work) for a in case.args]
    env = {**os.environ, "PYTHONPATH": str(repo), "COLUMNS": "120", "PYTHONWARNINGS": "ignore"}
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "qa_pipeline.cli", *args], capture_output=True,
                              timeout=TIMEOUT_S, cwd=work, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode("utf-8", "replace")
        return judge(Outcome(case, None, stderr, time.monotonic() - started))
    return judge(Outcome(case, proc.returncode, proc.stderr.decode("utf-8", "replace"), time.monotonic() - started))


def judge(outcome: Outcome) -> Outcome:
    case, stderr = outcome.case, outcome.stderr
    # Log warnings and the batch progress bar are not error lines.
    lines = [line for line in stderr.splitlines()
             if line.strip() and not line.startswith(("WARNING ", "scoring "))]
    if outcome.code is None:
        outcome.problems.append("hang (timeout)")
        return outcome
    if "Traceback (most recent call last)" in stderr:
        outcome.problems.append("traceback")
    if case.accept or (case.accept is None and outcome.code == 0):
        if outcome.code != 0:
            outcome.problems.append(f"exit {outcome.code}, expected 0 (a valid input)")
        return outcome
    if outcome.code != 2:
        outcome.problems.append(f"exit {outcome.code}, expected 2")
    errors = [line for line in lines if line.startswith("error: ")]
    if not errors or (len(lines) != 1 and not case.multi_line) or len(errors) != len(lines):
        outcome.problems.append(f"{len(lines)} stderr lines, expected one 'error:' line")
    elif not all(any(name in line for name in case.names) for line in errors):
        outcome.problems.append("the error line does not name the file")
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose qa_pipeline to run")
    parser.add_argument("--only", choices=sorted(KINDS), action="append", help="only these kinds")
    parser.add_argument("--every", type=int, default=1, help="run every N-th case (a quick sample)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the outcomes here")
    args = parser.parse_args()
    outcomes = run_all(args.repo, args.only, args.every, args.jobs)
    report(outcomes)
    if args.json:
        args.json.write_text(json.dumps([{"kind": o.case.kind, "label": o.case.label, "code": o.code,
                                          "problems": o.problems, "stderr": o.stderr[-2000:]} for o in outcomes],
                                        ensure_ascii=False, indent=1))
    return 1 if any(o.problems for o in outcomes) else 0


def build_cases(root: Path, kinds: list[str] | None = None, every: int = 1) -> list[Case]:
    rng = random.Random(SEED)
    silent_wav(root / "meta_call.wav", seconds=0.5)
    cases = [c for kind, make in KINDS.items() if not kinds or kind in kinds for c in make(root, rng)]
    return cases[::every]


def run_all(repo: Path, kinds: list[str] | None = None, every: int = 1, jobs: int = 2) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="qa-fuzz-") as tmp:
        root = Path(tmp)
        cases = build_cases(root, kinds, every)
        work = root / "work"
        work.mkdir()
        with ThreadPoolExecutor(jobs) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, work, repo), cases))
        for path in root.rglob("*"):  # let the scratch folder be removed
            if not path.is_symlink():
                path.chmod(0o700 if path.is_dir() else 0o600)
    return outcomes


def report(outcomes: list[Outcome]) -> None:
    kinds = sorted({o.case.kind for o in outcomes})
    print(f"{'kind':8} {'inputs':>6} {'ok':>5} {'traceback':>9} {'hang':>5} {'wrong':>6}  median s")
    for kind in kinds + ["all"]:
        chosen = [o for o in outcomes if kind in ("all", o.case.kind)]
        tracebacks = sum("traceback" in o.problems for o in chosen)
        hangs = sum(o.code is None for o in chosen)
        wrong = sum(bool(o.problems) and "traceback" not in o.problems and o.code is not None for o in chosen)
        ok = sum(not o.problems for o in chosen)
        median = sorted(o.elapsed_s for o in chosen)[len(chosen) // 2] if chosen else math.nan
        print(f"{kind:8} {len(chosen):6d} {ok:5d} {tracebacks:9d} {hangs:5d} {wrong:6d}  {median:.2f}")
    for o in outcomes:
        if o.problems:
            last = [line for line in o.stderr.splitlines() if line.strip()][-1:] or [""]
            print(f"FAIL {o.case.kind}: {o.case.label}: {'; '.join(o.problems)} | exit {o.code} | {last[0][:160]}")


if __name__ == "__main__":
    sys.exit(main())
