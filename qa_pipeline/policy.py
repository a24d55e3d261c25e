"""QA policy: phrase lists, thresholds, weights and caps, loaded from TOML files.

A policy is a directory of ``*.toml`` files (the bundled default is ``qa_pipeline/lexicons/default``)
or a single TOML file; their top-level tables are merged and validated against one schema, and every
error names ``file:line``. ``userdict.txt`` beside them, if present, is the jieba user dictionary.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from qa_pipeline.errors import PolicyError
from qa_pipeline.matching import GappedPattern, MatchOptions

__all__ = [
    "Bank",
    "Caps",
    "ForbiddenPhrase",
    "Policy",
    "Thresholds",
    "check_policy",
    "default_policy_dir",
    "load_policy",
]

CHECK_NAMES = (
    "greeting",
    "closing",
    "forbidden_phrases",
    "unauthorized_promise",
    "complaint_handling",
    "identity_verification",
    "speaking_rate",
    "hangup",
    "call_duration",
    "hold",
    "overtalk",
    "dead_air",
    "answer_speed",
)


@dataclass(frozen=True)
class Thresholds:
    rate_min_cpm: float
    rate_max_cpm: float
    rate_target_cpm: float
    inbound_limit_s: float
    outbound_limit_s: float
    hold_limit_s: float
    greeting_window_s: float
    closing_last_utterances: int
    comfort_within_turns: int
    overtalk_s: float
    dead_air_s: float
    seconds_per_ring: float
    max_rings: int


@dataclass(frozen=True)
class Caps:
    """Highest score a call can reach after a critical violation."""

    agent_hangup: float
    forbidden_phrase: float


@dataclass(frozen=True)
class Bank:
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def spoken_forms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ForbiddenPhrase:
    phrase: str
    variants: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    whole_reply: bool = False

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.phrase, *self.variants)


@dataclass(frozen=True)
class Policy:
    """Everything the rule checks and the scorer need; ``policy_id`` identifies the exact files."""

    policy_id: str
    name: str
    source: str
    any_bank: bool
    thresholds: Thresholds
    matching: MatchOptions
    weights: Mapping[str, float]
    caps: Caps
    hotword_list: tuple[str, ...]
    greeting_hello: tuple[str, ...]
    greeting_service: tuple[str, ...]
    agent_id_markers: tuple[str, ...]
    bank_suffixes: tuple[str, ...]
    banks: tuple[Bank, ...]
    closing_inbound: tuple[str, ...]
    closing_outbound: tuple[str, ...]
    forbidden: tuple[ForbiddenPhrase, ...]
    promise_phrases: tuple[str, ...]
    promise_patterns: tuple[GappedPattern, ...]
    complaint_cues: tuple[str, ...]
    comfort_phrases: tuple[str, ...]
    suggestion_cues: tuple[str, ...]
    praise_cues: tuple[str, ...]
    thanks_phrases: tuple[str, ...]
    identity_triggers: tuple[str, ...]
    verification_phrases: tuple[str, ...]
    account_detail_phrases: tuple[str, ...]
    user_dict: Path | None = field(default=None, compare=False)

    def hotwords(self) -> str:
        """Key phrases for the recogniser's ``hotwords`` prompt, space separated."""
        return " ".join(self.hotword_list)

    def weight(self, check: str) -> float:
        return float(self.weights.get(check, 0.0))


# ---------------------------------------------------------------- schema
# Leaf specs: (type, low, high). Types: "str", "bool", "int", "float", "strs" (list of str),
# "banks", "gapped"; low/high bound numbers (None = unbounded).
_SCHEMA: dict[str, dict[str, tuple[str, float | None, float | None]]] = {
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
    "weights": {name: ("float", 0.0, 1000.0) for name in CHECK_NAMES},
    "caps": {"agent_hangup": ("float", 0.0, 100.0), "forbidden_phrase": ("float", 0.0, 100.0)},
    "bank": {"banks": ("banks", None, None)},
    "forbidden": {},  # array of tables, checked by _FORBIDDEN_KEYS
    "promises": {"gapped": ("gapped", None, None)},
}
# Policy field <- [table] key, for every plain phrase list.
_PHRASE_LISTS = {
    "hotword_list": ("asr", "hotwords"),
    "greeting_hello": ("greeting", "hello"),
    "greeting_service": ("greeting", "service"),
    "agent_id_markers": ("greeting", "agent_id_markers"),
    "bank_suffixes": ("bank", "generic_suffixes"),
    "closing_inbound": ("closing", "inbound"),
    "closing_outbound": ("closing", "outbound"),
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
for _table, _key in _PHRASE_LISTS.values():
    _SCHEMA.setdefault(_table, {})[_key] = ("strs", None, None)
_FORBIDDEN_KEYS = {
    "phrase": ("str", None, None),
    "variants": ("strs", None, None),
    "exceptions": ("strs", None, None),
    "whole_reply": ("bool", None, None),
}
_OPTIONAL = {("forbidden", "variants"), ("forbidden", "exceptions"), ("forbidden", "whole_reply")}
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


def default_policy_dir() -> Path:
    """The bundled default policy directory."""
    return Path(str(resources.files("qa_pipeline") / "lexicons" / "default"))


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


def _validate_table(src: _Source, table: str, body: Any, errors: list[PolicyError]) -> None:
    if table == "forbidden":
        if not isinstance(body, list):
            errors.append(src.error("[[forbidden]] must be an array of tables", table))
            return
        for index, item in enumerate(body):
            _validate_keys(src, table, item, _FORBIDDEN_KEYS, errors, index)
        return
    if not isinstance(body, dict):
        errors.append(src.error(f"[{table}] must be a table", table))
        return
    _validate_keys(src, table, body, _SCHEMA[table], errors, None)


def _validate_keys(src, table, body, specs, errors, index) -> None:
    for key, value in body.items():
        spec = specs.get(key)
        if spec is None:
            errors.append(src.error(f"unknown key {key!r} in [{table}]", table, key, index))
            continue
        problem = _check_value(value, spec)
        if problem:
            errors.append(src.error(f"{table}.{key} {problem}", table, key, index))
    for key in specs:
        if key not in body and (table, key) not in _OPTIONAL:
            errors.append(src.error(f"missing key {key!r} in [{table}]", table, None, index))


def _merge(path: Path) -> tuple[dict[str, Any], list[PolicyError], list[_Source]]:
    sources, errors = _read_sources(path)
    merged: dict[str, Any] = {}
    origin: dict[str, _Source] = {}
    for src in sources:
        for table, body in src.data.items():
            if table not in _SCHEMA:
                errors.append(src.error(f"unknown table [{table}]", table))
                continue
            if table in origin:
                errors.append(src.error(f"[{table}] already defined in {origin[table].path.name}", table))
                continue
            origin[table] = src
            merged[table] = body
            _validate_table(src, table, body, errors)
    for table in _SCHEMA:
        if table not in merged and not any(e for e in errors if "invalid TOML" in e.problem):
            errors.append(PolicyError(f"missing table [{table}]", str(path)))
    if not errors:
        _check_cross(merged, origin, errors)
    return merged, errors, sources


def _check_cross(merged: dict[str, Any], origin: dict[str, _Source], errors: list[PolicyError]) -> None:
    limits = merged["thresholds"]
    src = origin["thresholds"]
    if not limits["rate_min_cpm"] <= limits["rate_target_cpm"] <= limits["rate_max_cpm"]:
        errors.append(
            src.error("rate_target_cpm must lie between rate_min_cpm and rate_max_cpm", "thresholds", "rate_target_cpm")
        )
    if sum(merged["weights"].values()) <= 0:
        errors.append(origin["weights"].error("at least one weight must be positive", "weights"))


def check_policy(path: Path | None = None) -> list[PolicyError]:
    """Every problem of a policy (directory or file), each with ``file:line``; empty when valid."""
    try:
        _, errors, _ = _merge(Path(path) if path is not None else default_policy_dir())
    except PolicyError as exc:
        return [exc]
    return errors


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy; None loads the bundled default. Raises the first PolicyError."""
    root = Path(path) if path is not None else default_policy_dir()
    merged, errors, sources = _merge(root)
    if errors:
        raise errors[0]
    digest = hashlib.sha256()
    for src in sorted(sources, key=lambda s: s.path.name):
        digest.update(src.path.name.encode() + b"\0" + src.path.read_bytes())
    user_dict = (root if root.is_dir() else root.parent) / "userdict.txt"
    if user_dict.is_file():
        digest.update(b"userdict.txt\0" + user_dict.read_bytes())
    return _build(merged, digest.hexdigest()[:12], str(root), user_dict if user_dict.is_file() else None)


def _strs(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values)


def _build(m: dict[str, Any], policy_id: str, source: str, user_dict: Path | None) -> Policy:
    gapped = tuple(
        GappedPattern(head, tail, int(item["max_gap_chars"]))
        for item in m["promises"]["gapped"]
        for head in item["heads"]
        for tail in item["tails"]
    )
    thresholds = {k: (int(v) if _SCHEMA["thresholds"][k][0] == "int" else float(v)) for k, v in m["thresholds"].items()}
    return Policy(
        policy_id=policy_id,
        name=m["policy"]["name"],
        source=source,
        any_bank=m["policy"]["any_bank"],
        thresholds=Thresholds(**thresholds),
        matching=MatchOptions(
            short_max_chars=m["matching"]["short_max_chars"],
            min_similarity=float(m["matching"]["min_similarity"]),
            sound_min_similarity=float(m["matching"]["sound_min_similarity"]),
        ),
        weights=MappingProxyType({k: float(v) for k, v in m["weights"].items()}),
        caps=Caps(**{k: float(v) for k, v in m["caps"].items()}),
        banks=tuple(Bank(b["name"].strip(), _strs(b.get("aliases", []))) for b in m["bank"]["banks"]),
        forbidden=tuple(
            ForbiddenPhrase(
                f["phrase"].strip(),
                _strs(f.get("variants", [])),
                _strs(f.get("exceptions", [])),
                bool(f.get("whole_reply", False)),
            )
            for f in m["forbidden"]
        ),
        promise_patterns=gapped,
        **{name: _strs(m[table][key]) for name, (table, key) in _PHRASE_LISTS.items()},
        user_dict=user_dict,
    )
