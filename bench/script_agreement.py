"""Text checks against the labels of the unseen-call scripts themselves: no TTS, no ASR, seconds per set.

Each script's turns become one utterance each (agent or customer, timed at about 250 characters a
minute), the text checks run on them, and a call agrees per check as ``qa eval`` has it, with the turn
standing in for the ±time tolerance: forbidden phrases and promises agree when every turn holds as many
findings as labels; complaint when detected equals labelled; comfort when comforted equals labelled
(calls with a labelled complaint). ``--text`` reads the turns as ASR often writes them:

- ``clean``: as written, punctuation kept;
- ``nopunct``: every punctuation mark dropped (Whisper often writes a sentence without its commas);
- ``asr``: punctuation dropped and about one character in twelve swapped for a same-sound one
  (``qa_pipeline.eval.judgement.corrupt``, seeded by the call and turn).

This measures judgement only, on every labelled script at once; separation and recognition are for
``mono_agreement.py`` on rendered calls. Sets merged after their measurement have been read while
tuning, so these figures are not held-out ones; and the sets given to ``tools/labelled_from_scripts.py``
are the default policy's training sentences (``labelled_<intent>.tsv``): on them this measures fit.

    python bench/script_agreement.py --text nopunct bench/unseen_calls/scripts_*  [-v]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zlib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_pipeline.eval.evaluate import Outcome  # noqa: E402
from qa_pipeline.eval.judgement import corrupt  # noqa: E402
from qa_pipeline.policy.policy import load_policy  # noqa: E402
from qa_pipeline.rules.run import score_transcript  # noqa: E402
from qa_pipeline.text.normalize import normalize_display  # noqa: E402
from qa_pipeline.types import CallMeta, Role, Transcript, Utterance  # noqa: E402

TEXTS = ("clean", "nopunct", "asr")
CHECKS = ("forbidden", "promise", "complaint", "comfort")
_PUNCT = set("，。！？、；：,.!?;:")
_S_PER_CHAR = 60 / 250
_SWAP_RATE = 0.08


def turn_text(text: str, mode: str, seed: str, alphabet: str) -> str:
    if mode == "nopunct":
        return "".join(c for c in text if c not in _PUNCT)
    if mode == "asr":
        return corrupt(text, zlib.crc32(seed.encode()), alphabet, _SWAP_RATE)
    return text


def transcript_of(script: dict, mode: str, alphabet: str) -> Transcript:
    utterances, at_s = [], 1.0
    for i, turn in enumerate(script["turn"]):
        text = turn_text(turn["text"], mode, f"{script['call_id']}{i}", alphabet)
        at_s += max(turn.get("gap_s", 0.7), 0.05)
        end_s = at_s + 0.3 + _S_PER_CHAR * len(text)
        role = Role.AGENT if turn["role"] == "agent" else Role.CUSTOMER
        utterances.append(Utterance(role, 0 if role == Role.AGENT else 1, at_s, end_s, normalize_display(text)))
        at_s = end_s + turn.get("hold_s", 0.0)
    return Transcript(script["call_id"], at_s + 1.0, 8000, 2, tuple(utterances))


def _turn_of(transcript: Transcript, start_s: float) -> int:
    for i, u in enumerate(transcript.utterances):
        if u.start_s - 0.01 <= start_s <= u.end_s + 0.01:
            return i
    return -1


def _label_text(item: object) -> str:
    return item["phrase"] if isinstance(item, dict) else str(item)


def phrase_outcome(call: str, script: dict, key: str, hits: list, transcript: Transcript) -> Outcome:
    labelled = Counter({i: len(t[key]) for i, t in enumerate(script["turn"]) if t.get(key)})
    found = Counter(_turn_of(transcript, float(h["start_s"])) for h in hits)
    return Outcome(
        call,
        [f"{i}:{_label_text(x)}" for i, t in enumerate(script["turn"]) for x in t.get(key, [])],
        [f"{_turn_of(transcript, float(h['start_s']))}:{h.get('phrase')}" for h in hits],
        +labelled == +found,
    )


def complaint_outcomes(call: str, script: dict, handling: dict) -> dict[str, Outcome]:
    turns = script["turn"]
    complained = [i for i, t in enumerate(turns) if t.get("complaint")]
    detected = bool(handling.get("complaint"))
    out = {"complaint": Outcome(call, bool(complained), detected, detected == bool(complained))}
    if complained:
        comforted = any(t.get("comfort") for t in turns[complained[0]:])
        predicted = bool(handling.get("comforted")) if detected else None
        out["comfort"] = Outcome(call, comforted, predicted, predicted == comforted)
    return out


def read_script(path: Path) -> dict:
    """One script, or ValueError naming the file and what is wrong with it."""
    try:
        script = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: not a readable TOML script ({error})") from error
    turns = script.get("turn")
    if not isinstance(turns, list) or not all(isinstance(t, dict) and "text" in t and "role" in t for t in turns):
        raise ValueError(f"{path}: no [[turn]] tables with role and text")
    script.setdefault("call_id", path.stem)
    return script


def read_scripts(folders: list[Path]) -> tuple[list[Path], list[dict]]:
    """Every script of the folders, in name order; ValueError naming the first bad one, or none found."""
    files = [f for folder in folders for f in sorted(folder.glob("*.toml"))]
    if not files:
        raise ValueError("no scripts (*.toml) in the folders given")
    return files, [read_script(f) for f in files]


def outcomes_of(script: dict, mode: str, alphabet: str, policy) -> dict[str, Outcome]:
    """One outcome per check of ``CHECKS`` (comfort only for a call with a labelled complaint)."""
    transcript = transcript_of(script, mode, alphabet)
    meta = CallMeta.from_dict({"direction": script.get("direction", "inbound")})
    checks = score_transcript(transcript, meta, policy).to_dict()["checks"]
    call = script["call_id"].removeprefix("unseen_")
    return {
        "forbidden": phrase_outcome(call, script, "forbidden", checks["forbidden_phrases"].get("hits") or [], transcript),
        "promise": phrase_outcome(call, script, "promise", checks["unauthorized_promise"].get("hits") or [], transcript),
        **complaint_outcomes(call, script, checks["complaint_handling"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="text checks against the labels of call scripts")
    parser.add_argument("sets", nargs="+", type=Path, help="folders of unseen-call scripts (*.toml)")
    parser.add_argument("--text", choices=TEXTS, default="clean", help="how the turns are written")
    parser.add_argument("-v", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    try:
        files, scripts = read_scripts(args.sets)
    except ValueError as error:
        parser.error(str(error))
    alphabet = "".join(sorted({c for s in scripts for t in s["turn"] for c in t["text"]}))
    policy = load_policy()
    outcomes = [outcomes_of(script, args.text, alphabet, policy) for script in scripts]
    print(f"{len(files)} scripts, text {args.text}")
    for check in CHECKS:
        mine = [o[check] for o in outcomes if check in o]
        agreed = sum(o.agreed for o in mine)
        print(f"{check:10s} {agreed:5d}/{len(mine):<5d} {100 * agreed / max(len(mine), 1):5.1f} %")
    if args.v:
        for per_call in outcomes:
            for check, o in per_call.items():
                if not o.agreed:
                    print(f"{check:10s} {o.call:12s} labelled {o.expected} found {o.predicted}")


if __name__ == "__main__":
    main()
