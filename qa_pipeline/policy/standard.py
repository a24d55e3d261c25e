"""The service standard's policy tables beyond greeting and phrases: outbound script, holds,
first-contact responsibility (首问负责), courtesy and language metrics.

``STANDARD_SCHEMA`` joins the policy schema (``policy.files``) so every value is validated with
``file:line``; ``build_standard`` turns the merged tables into frozen option values for the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Mapping

from qa_pipeline.text.match import GappedPattern

__all__ = [
    "CommandRules",
    "CourtesyRules",
    "FirstContactRules",
    "HoldRules",
    "JargonRules",
    "OutboundScript",
    "STANDARD_SCHEMA",
    "StandardRules",
    "build_standard",
]

_STRS = ("strs", None, None)

STANDARD_SCHEMA: dict[str, dict[str, tuple[str, float | None, float | None]]] = {
    "outbound_greeting": {
        "address_titles": _STRS,
        "address_familiar": _STRS,
        "surnames": _STRS,
        "representative": _STRS,
        "representative_for_id": ("bool", None, None),
        "opening_turns": ("int", 1, 5),
        "window_s": ("float", 1.0, 120.0),
    },
    "hold": {
        "request": _STRS,
        "thanks": _STRS,
        "wait_words": _STRS,
        "call_back": _STRS,
        "question_markers": _STRS,
        "interrupt_max_s": ("float", 0.0, 30.0),
        "min_hold_s": ("float", 1.0, 600.0),
        "negotiation_turns": ("int", 1, 10),
    },
    "first_contact": {
        "cannot_answer": _STRS,
        "deflection": _STRS,
        "deflection_gapped": ("gapped", None, None),
        "commitment": _STRS,
        "recommended": _STRS,
        "within_turns": ("int", 1, 10),
    },
    "courtesy": {
        "please": _STRS,
        "please_not": _STRS,
        "hello": _STRS,
        "thanks": _STRS,
        "sorry": _STRS,
        "goodbye": _STRS,
        "min_kinds": ("int", 0, 5),
        "min_nin_share": ("float", 0.0, 1.0),
        "min_pronouns": ("int", 1, 100),
    },
    "jargon": {"terms": _STRS, "ordinary": _STRS, "max_terms": ("int", 0, 100)},
    "command": {
        "subjects": _STRS,
        "modals": _STRS,
        "softeners": _STRS,
        "not_followed_by": _STRS,
        "max_hits": ("int", 0, 100),
    },
}


@dataclass(frozen=True)
class OutboundScript:
    """Outbound greeting: address (title or name) · 您好 · bank · 工号 (客户服务代表 too, when the
    centre's standard lets the title stand for the number: ``representative_for_id``)."""

    address_titles: tuple[str, ...] = ()
    address_familiar: tuple[str, ...] = ()
    surnames: tuple[str, ...] = ()
    representative: tuple[str, ...] = ()
    representative_for_id: bool = False
    opening_turns: int = 2
    window_s: float = 20.0


@dataclass(frozen=True)
class HoldRules:
    request: tuple[str, ...] = ()
    thanks: tuple[str, ...] = ()
    wait_words: tuple[str, ...] = ()
    call_back: tuple[str, ...] = ()
    question_markers: tuple[str, ...] = ()
    interrupt_max_s: float = 4.0
    min_hold_s: float = 20.0
    negotiation_turns: int = 2


@dataclass(frozen=True)
class FirstContactRules:
    cannot_answer: tuple[str, ...] = ()
    deflection: tuple[str, ...] = ()
    deflection_gapped: tuple[GappedPattern, ...] = ()
    commitment: tuple[str, ...] = ()
    recommended: tuple[str, ...] = ()
    within_turns: int = 2


@dataclass(frozen=True)
class CourtesyRules:
    """十字礼貌用语 (by kind: each kind's spoken forms) and the 您/你 share."""

    words: Mapping[str, tuple[str, ...]] | None = None
    please_not: tuple[str, ...] = ()
    min_kinds: int = 3
    min_nin_share: float = 0.7
    min_pronouns: int = 3


@dataclass(frozen=True)
class JargonRules:
    terms: tuple[str, ...] = ()
    ordinary: tuple[str, ...] = ()
    max_terms: int = 0


@dataclass(frozen=True)
class CommandRules:
    subjects: tuple[str, ...] = ()
    modals: tuple[str, ...] = ()
    softeners: tuple[str, ...] = ()
    not_followed_by: tuple[str, ...] = ()
    max_hits: int = 0


@dataclass(frozen=True)
class StandardRules:
    outbound: OutboundScript = OutboundScript()
    hold: HoldRules = HoldRules()
    first_contact: FirstContactRules = FirstContactRules()
    courtesy: CourtesyRules = CourtesyRules()
    jargon: JargonRules = JargonRules()
    command: CommandRules = CommandRules()


def _strs(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values)


def _plain(table: Mapping[str, Any], cls: type) -> Any:
    return cls(**{k: _strs(v) if isinstance(v, list) else v for k, v in table.items()})


def build_standard(m: Mapping[str, Any]) -> StandardRules:
    """The standard's option values from merged, validated policy tables."""
    contact = dict(m["first_contact"])
    gapped = tuple(
        GappedPattern(head, tail, int(item["max_gap_chars"]))
        for item in contact.pop("deflection_gapped")
        for head in item["heads"]
        for tail in item["tails"]
    )
    courtesy = dict(m["courtesy"])
    kinds = ("please", "hello", "thanks", "sorry", "goodbye")
    words = {kind: _strs(courtesy.pop(kind)) for kind in kinds}
    return StandardRules(
        outbound=_plain(m["outbound_greeting"], OutboundScript),
        hold=_plain(m["hold"], HoldRules),
        first_contact=replace(_plain(contact, FirstContactRules), deflection_gapped=gapped),
        courtesy=CourtesyRules(words=MappingProxyType(words), **{k: _strs(v) if isinstance(v, list) else v for k, v in courtesy.items()}),
        jargon=_plain(m["jargon"], JargonRules),
        command=_plain(m["command"], CommandRules),
    )
