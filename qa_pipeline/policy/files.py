"""Reading policy files: parse the TOML, merge their tables, report every problem as ``file:line``.

A policy is a directory of ``*.toml`` files (the bundled default is ``qa_pipeline/lexicons/default``)
or a single TOML file; their top-level tables are merged and validated against one schema, and every
problem is a ``PolicyError`` naming ``file:line``. Building the ``Policy`` value is ``qa_pipeline.policy.policy``.
"""

from __future__ import annotations

import re
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from qa_pipeline.errors import PolicyError
from qa_pipeline.paths import default_policy_dir
from qa_pipeline.policy.standard import STANDARD_SCHEMA

__all__ = [
    "PHRASE_LISTS",
    "SCHEMA",
    "PolicyFiles",
    "check_policy",
    "default_policy_dir",
    "read_policy_files",
    "read_utf8",
]

# ---------------------------------------------------------------- schema
# Leaf specs: (type, low, high). Types: "str", "bool", "int", "float", "strs" (list of str),
# "banks", "gapped"; low/high bound numbers (None = unbounded).
SCHEMA: dict[str, dict[str, tuple[str, float | None, float | None]]] = {
    "policy": {"name": ("str", None, None), "any_bank": ("bool", None, None)},
    "thresholds": {
        "rate_min_cpm": ("float", 1.0, 2000.0),
        "rate_max_cpm": ("float", 1.0, 2000.0),
        "rate_target_cpm": ("float", 1.0, 2000.0),
        "inbound_limit_s": ("float", 1.0, 86400.0),
        "outbound_limit_s": ("float", 1.0, 86400.0),
        "hold_limit_s": ("float", 1.0, 3600.0),
        "greeting_window_s": ("float", 1.0, 120.0),
        "closing_last_utterances": ("int", 1, 50),
        "comfort_within_turns": ("int", 1, 20),
        "overtalk_s": ("float", 0.1, 60.0),
        "dead_air_s": ("float", 1.0, 3600.0),
        "seconds_per_ring": ("float", 0.5, 60.0),
        "max_rings": ("int", 0, 100),
    },
    "matching": {
        "short_max_chars": ("int", 1, 10),
        "min_similarity": ("float", 0.5, 1.0),
        "sound_min_similarity": ("float", 0.5, 1.0),
    },
    # [weights]: any check name -> weight; which names exist is the checks' registry's to say
    # (``rules.run.policy_problems``), and a check the table leaves out weighs its declared default.
    "weights": {},
    "caps": {"agent_hangup": ("float", 0.0, 100.0), "forbidden_phrase": ("float", 0.0, 100.0)},
    "bank": {"banks": ("banks", None, None)},
    "forbidden": {},  # array of tables, checked by _FORBIDDEN_KEYS
    "promises": {"gapped": ("gapped", None, None)},
    **STANDARD_SCHEMA,  # outbound script, holds, 首问负责, courtesy and language (policy/standard.py)
    "intent": {},  # array of tables, checked by _INTENT_KEYS (optional table)
    "judgement": {"background": ("strs", None, None), "pause_s": ("float", 0.1, 5.0)},
    "examples": {},  # [examples.<intent>] tables, merged across files (optional table)
}
# Tables a policy may leave out (the judgement layer then uses phrases only).
_OPTIONAL_TABLES = {"intent", "judgement", "examples"}
# Policy field <- [table] key, for every plain phrase list.
PHRASE_LISTS = {
    "hotword_list": ("asr", "hotwords"),
    "greeting_hello": ("greeting", "hello"),
    "greeting_service": ("greeting", "service"),
    "agent_id_markers": ("greeting", "agent_id_markers"),
    "bank_suffixes": ("bank", "generic_suffixes"),
    "closing_inbound": ("closing", "inbound"),
    "closing_outbound": ("closing", "outbound"),
    "closing_outbound_farewell": ("closing", "outbound_farewell"),
    "promise_phrases": ("promises", "phrases"),
    "complaint_cues": ("complaint", "cues"),
    "comfort_phrases": ("complaint", "comfort"),
    "suggestion_cues": ("feedback", "suggestion_cues"),
    "praise_cues": ("feedback", "praise_cues"),
    "thanks_phrases": ("feedback", "thanks"),
    "identity_triggers": ("identity", "triggers"),
    "verification_phrases": ("identity", "verification"),
    "account_detail_phrases": ("identity", "account_details"),
}
for _table, _key in PHRASE_LISTS.values():
    SCHEMA.setdefault(_table, {})[_key] = ("strs", None, None)
_FORBIDDEN_KEYS = {
    "phrase": ("str", None, None),
    "variants": ("strs", None, None),
    "exceptions": ("strs", None, None),
    "whole_reply": ("bool", None, None),
}
# [[intent]]: one semantic judgement each (forbidden, promise, complaint, comfort, praise, suggestion,
# thanks): key phrases, a head + outcome pattern within one clause, labelled example sentences.
_INTENT_KEYS = {
    "name": ("str", None, None),
    "threshold": ("float", 0.5, 1.0),
    "min_similarity": ("float", 0.0, 1.0),
    "model_needs": ("strs", None, None),
    "model_unless": ("strs", None, None),
    "positive": ("strs", None, None),
    "negative": ("strs", None, None),
    "patterns": ("patterns", None, None),
}
# [examples.<intent>]: more labelled sentences for an [[intent]], in any file of the policy, so a QA
# manager can keep one file of 相似问法 per judgement and add to it without touching the intent.
_EXAMPLE_KEYS = {"positive": ("strs", None, None), "negative": ("strs", None, None)}
_WEIGHT = ("float", 0.0, 1000.0)
_OPTIONAL = {
    ("forbidden", "variants"), ("forbidden", "exceptions"), ("forbidden", "whole_reply"),
    ("intent", "patterns"), ("intent", "min_similarity"), ("intent", "model_needs"),
    ("intent", "model_unless"), ("judgement", "pause_s"),
}
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")


@dataclass(frozen=True)
class _Source:
    """A parsed policy file: its path, text and top-level tables."""

    path: Path
    text: str
    data: Mapping[str, Any]

    def line_of(self, table: str, key: str | None = None, index: int | None = None) -> int:
        """Line of ``key`` in ``[table]`` (or of the table header); the ``index``-th ``[[table]]``."""
        current, count, header_line = None, -1, 0
        for number, line in enumerate(self.text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                current = header.group(2)
                if current == table:
                    count += 1 if header.group(1) == "[[" else 0
                    if index is None or count == index:
                        header_line = header_line or number
                        if key is None:
                            return number
                continue
            in_table = current == table and (index is None or count == index)
            if in_table and key and re.match(rf'\s*"?{re.escape(key)}"?\s*=', line):
                return number
        return header_line or 1

    def error(self, problem: str, table: str, key: str | None = None, index: int | None = None):
        return PolicyError(problem, f"{self.path}:{self.line_of(table, key, index)}")


def _policy_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise PolicyError("no *.toml policy files in this directory", str(path))
        return files
    if path.is_file():
        return [path]
    raise PolicyError("policy file or directory not found", str(path))


def _read_sources(path: Path) -> tuple[list[_Source], list[PolicyError]]:
    sources, errors = [], []
    for file in _policy_files(path):
        try:
            text = file.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            errors.append(PolicyError(f"invalid TOML: {exc}", f"{file}:{line.group(1) if line else 1}"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(PolicyError(f"cannot read policy file: {exc}", str(file)))
            continue
        except RecursionError:
            errors.append(PolicyError("invalid TOML: nested too deeply", f"{file}:1"))
            continue
        sources.append(_Source(file, text, data))
    return sources, errors


def _check_value(value: Any, spec: tuple[str, Any, Any]) -> str | None:
    kind, low, high = spec
    if kind == "str":
        return None if isinstance(value, str) and value.strip() else "must be a non-empty string"
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind in ("int", "float"):
        ok_type = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            return f"must be {'an integer' if kind == 'int' else 'a number'}"
        if not math.isfinite(value):
            return f"must be a finite number, not {value}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be between {low} and {high}, not {value}"
        return None
    if kind == "strs":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            return "must be a list of non-empty strings"
        return None
    if kind == "banks":
        return _check_banks(value)
    if kind == "gapped":
        return _check_gapped(value)
    if kind == "patterns":
        return _check_patterns(value)
    raise ValueError(f"unknown schema type {kind}")


def _check_banks(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of {name, aliases} tables"
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name", "aliases"} or "name" not in item:
            return "each bank must be {name = \"...\", aliases = [...]}"
        if _check_value(item["name"], ("str", None, None)) or _check_value(
            item.get("aliases", []), ("strs", None, None)
        ):
            return f"bank {item.get('name')!r}: name must be a string and aliases a list of strings"
    return None


def _check_gapped(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of {heads, tails, max_gap_chars} tables"
    for item in value:
        if not isinstance(item, dict) or set(item) != {"heads", "tails", "max_gap_chars"}:
            return "each pattern must have exactly heads, tails and max_gap_chars"
        problem = (
            _check_value(item["heads"], ("strs", None, None))
            or _check_value(item["tails"], ("strs", None, None))
            or _check_value(item["max_gap_chars"], ("int", 0, 30))
        )
        if problem:
            return f"pattern {item['heads']}…{item['tails']}: {problem}"
    return None


_PATTERN_KEYS = {"heads", "outcomes", "question", "supposed"}


def _check_patterns(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of {heads, outcomes, question, supposed} tables"
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) - _PATTERN_KEYS or "outcomes" not in item:
            return f"pattern {number} must have outcomes and optionally heads, question and supposed (nothing else)"
        problem = _check_value(item["outcomes"], ("strs", None, None)) or _check_value(
            item.get("heads", []), ("strs", None, None)
        )
        for flag in ("question", "supposed"):
            if problem is None and flag in item:
                problem = _check_value(item[flag], ("bool", None, None))
        if problem or not item["outcomes"]:
            return f"pattern {number}: {problem or 'outcomes must not be empty'}"
    return None


def _validate_table(src: _Source, table: str, body: Any, errors: list[PolicyError]) -> None:
    if table in ("forbidden", "intent"):
        if not isinstance(body, list):
            errors.append(src.error(f"[[{table}]] must be an array of tables", table))
            return
        keys = _FORBIDDEN_KEYS if table == "forbidden" else _INTENT_KEYS
        for index, item in enumerate(body):
            _validate_keys(src, table, item, keys, errors, index)
        if table == "intent":
            _check_intent_names(src, body, errors)
        return
    if not isinstance(body, dict):
        errors.append(src.error(f"[{table}] must be a table", table))
        return
    specs = SCHEMA[table]
    if table == "weights":
        specs = {key: _WEIGHT for key in body}
    _validate_keys(src, table, body, specs, errors, None)


def _validate_keys(src, table, body, specs, errors, index, optional: frozenset[str] = frozenset()) -> None:
    for key, value in body.items():
        spec = specs.get(key)
        if spec is None:
            errors.append(src.error(f"unknown key {key!r} in [{table}]", table, key, index))
            continue
        problem = _check_value(value, spec)
        if problem:
            errors.append(src.error(f"{table}.{key} {problem}", table, key, index))
    for key in specs:
        if key not in body and key not in optional and (table, key) not in _OPTIONAL:
            errors.append(src.error(f"missing key {key!r} in [{table}]", table, None, index))


def _check_intent_names(src: _Source, body: list, errors: list[PolicyError]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(body):
        name = item.get("name") if isinstance(item, dict) else None
        if name in seen:
            errors.append(src.error(f"intent {name!r} defined twice", "intent", "name", index))
        seen.add(name)
        if isinstance(item, dict) and isinstance(item.get("positive"), list) and not item["positive"]:
            errors.append(src.error(f"intent {name!r} needs at least one positive example", "intent", "positive", index))


@dataclass(frozen=True)
class PolicyFiles:
    """A policy's files, read and merged: their top-level tables, every problem found, the files."""

    tables: Mapping[str, Any]
    errors: tuple[PolicyError, ...]
    sources: tuple[_Source, ...]


def read_policy_files(path: Path) -> PolicyFiles:
    """Read, merge and validate the policy at ``path``; raises PolicyError only when no policy file is found."""
    sources, errors = _read_sources(path)
    merged: dict[str, Any] = {}
    origin: dict[str, _Source] = {}
    for src in sources:
        for table, body in src.data.items():
            if table not in SCHEMA:
                errors.append(src.error(f"unknown table [{table}]", table))
                continue
            if table == "examples":
                _merge_examples(src, body, merged.setdefault("examples", {}), origin, errors)
                continue
            if table in origin:
                errors.append(src.error(f"[{table}] already defined in {origin[table].path.name}", table))
                continue
            origin[table] = src
            merged[table] = body
            _validate_table(src, table, body, errors)
    for table in SCHEMA:
        if table not in merged and table not in _OPTIONAL_TABLES and not any(e for e in errors if "invalid TOML" in e.problem):
            errors.append(PolicyError(f"missing table [{table}]", str(path)))
    if not errors:
        _check_cross(merged, origin, errors)
    return PolicyFiles(merged, tuple(errors), tuple(sources))


def _merge_examples(src: _Source, body: Any, merged: dict, origin: dict, errors: list[PolicyError]) -> None:
    """Add one file's ``[examples.<intent>]`` tables; an intent's examples may live in one file only."""
    if not isinstance(body, dict) or not all(isinstance(item, dict) for item in body.values()):
        errors.append(src.error("[examples] must hold [examples.<intent name>] tables", "examples"))
        return
    for name, item in body.items():
        table = f"examples.{name}"
        if table in origin:
            errors.append(src.error(f"[{table}] already defined in {origin[table].path.name}", table))
            continue
        origin[table] = src
        merged[name] = item
        _validate_keys(src, table, item, _EXAMPLE_KEYS, errors, None, optional=frozenset(_EXAMPLE_KEYS))


def _check_cross(merged: dict[str, Any], origin: dict[str, _Source], errors: list[PolicyError]) -> None:
    intents = {item.get("name") for item in merged.get("intent", []) if isinstance(item, dict)}
    for name in merged.get("examples", {}):
        if name not in intents:
            table = f"examples.{name}"
            errors.append(origin[table].error(f"[{table}] names no [[intent]] of this policy", table))
    limits = merged["thresholds"]
    src = origin["thresholds"]
    if not limits["rate_min_cpm"] <= limits["rate_target_cpm"] <= limits["rate_max_cpm"]:
        errors.append(
            src.error("rate_target_cpm must lie between rate_min_cpm and rate_max_cpm", "thresholds", "rate_target_cpm")
        )


def check_policy(path: Path | None = None) -> list[PolicyError]:
    """Every problem of a policy (directory or file), each with ``file:line``; empty when valid."""
    try:
        files = read_policy_files(Path(path) if path is not None else default_policy_dir())
    except PolicyError as exc:
        return [exc]
    return list(files.errors)


def read_utf8(path: Path, what: str) -> str:
    """A text file beside the policy files (``what`` names it in the error: 'the background talk')."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read {what}: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{what} is not UTF-8 (byte {exc.start})", str(path)) from None
