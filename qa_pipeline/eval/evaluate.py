"""``qa eval`` metrics: how often each check agrees with a QA manager's labels.

Pure functions over (truth dict from ``NAME.truth.json``, report dict from ``CallReport.to_dict()``):
nothing here loads audio or a model. Every check states its agreement definition (``DEFINITIONS``),
and the text output prints it beside the figure so a reviewer knows exactly what was counted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table

from qa_pipeline.errors import MetaError
from qa_pipeline.eval.metrics import (
    HIT_TOLERANCE_S,
    HOLD_EDGE_TOLERANCE_S,
    LONG_HOLD_S,
    CharErrors,
    HitCounts,
    only_long_holds,
    char_errors,
    hit_counts,
    holds_match,
    is_agent_speech,
    long_hold_counts,
    pair_count,
    spans_meet,
)

AGREEMENT_BAR = 0.95
HANGUP_PARTIES = ("agent", "customer", "unknown")

DEFINITIONS: dict[str, str] = {
    "greeting": "present, compliant and the set of missing elements all equal the label",
    "closing": "closing present equals the label",
    "forbidden_phrases": (
        f"call agrees when predicted and labelled hits pair one-to-one; a pair = agent speech and times "
        f"overlapping within ±{HIT_TOLERANCE_S:g} s (precision/recall over hits)"
    ),
    "unauthorized_promise": "as forbidden_phrases",
    "complaint": "complaint detected equals the label",
    "comfort_after_complaint": "comforted equals the label (true/false, or null when no complaint)",
    "speaking_rate": "verdict (ok/too_fast/too_slow) equals the label; MAE of agent chars/min beside",
    "hangup": (
        "hangup_by (agent/customer/unknown) equals the label; a mono call whose hang-up is not decidable "
        "(a tone in the mix, no metadata) is counted apart, in neither agreed nor calls"
    ),
    "long_holds": (
        f"holds > {LONG_HOLD_S:g} s pair one-to-one with labelled long holds, both edges within "
        f"±{HOLD_EDGE_TOLERANCE_S:g} s"
    ),
    "duration_violation": "call_duration failed (passed is false) equals the labelled violation",
    "identity_verification": "required and verified equal the label (labelled calls only)",
}


@dataclass(frozen=True)
class EvalPair:
    """One labelled call: its truth file contents and the product's report dict."""

    name: str
    truth: Mapping[str, Any]
    report: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What one check said about one call, against the label."""

    call: str
    expected: Any
    predicted: Any
    agreed: bool
    #: False when the product could not decide from what the recording offers (hang-up on a mono
    #: mix without metadata): the call is left out of agreed and total and counted apart.
    decidable: bool = True


@dataclass(frozen=True)
class CheckAgreement:
    name: str
    definition: str
    outcomes: tuple[Outcome, ...]
    hits: HitCounts | None = None
    extra: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def agreed(self) -> int:
        return sum(o.agreed for o in self.outcomes if o.decidable)

    @property
    def total(self) -> int:
        """Calls the check could decide (those not decidable are counted by ``not_decidable``)."""
        return sum(o.decidable for o in self.outcomes)

    @property
    def not_decidable(self) -> tuple[str, ...]:
        return tuple(o.call for o in self.outcomes if not o.decidable)

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.total if self.total else None

    @property
    def disagreements(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.decidable and not o.agreed)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "definition": self.definition,
            "agreed": self.agreed,
            "calls": self.total,
            "agreement": _round(self.agreement),
            "disagreements": [
                {"call": o.call, "expected": o.expected, "predicted": o.predicted} for o in self.disagreements
            ],
        }
        if self.not_decidable:
            out["not_decidable"] = list(self.not_decidable)
        if self.hits is not None:
            out.update(
                matched=self.hits.matched,
                predicted=self.hits.predicted,
                expected=self.hits.expected,
                precision=_round(self.hits.precision),
                recall=_round(self.hits.recall),
            )
        out.update({k: _round(v) for k, v in self.extra.items()})
        return out


@dataclass(frozen=True)
class EvalResult:
    calls: tuple[str, ...]
    checks: tuple[CheckAgreement, ...]
    hangup_confusion: Mapping[str, Mapping[str, int]]
    cer_by_role: Mapping[str, CharErrors]
    bar: float = AGREEMENT_BAR

    def check(self, name: str) -> CheckAgreement | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def meets_bar(self) -> bool:
        """Every check with labelled calls agrees on at least ``bar`` of them."""
        return all(c.agreement is None or c.agreement >= self.bar for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": list(self.calls),
            "bar": self.bar,
            "meets_bar": self.meets_bar,
            "checks": {c.name: c.to_dict() for c in self.checks},
            "hangup_confusion": {k: dict(v) for k, v in self.hangup_confusion.items()},
            "cer_by_role": {
                role: {"edits": e.edits, "reference_chars": e.reference_chars, "cer": _round(e.cer)}
                for role, e in self.cer_by_role.items()
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ------------------------------------------------------------------ per-check outcomes


def _check(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return (report.get("checks") or {}).get(name) or {}


def _outcome(call: str, expected: Any, predicted: Any) -> Outcome:
    return Outcome(call, expected, predicted, expected == predicted)


def greeting_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    label = expected.get("greeting") or {}
    check = _check(report, "greeting")

    def view(d: Mapping[str, Any]) -> dict[str, Any]:
        missing = d.get("missing")
        return {
            "present": d.get("present"),
            "compliant": d.get("compliant"),
            "missing": sorted(map(str, missing)) if missing is not None else None,
        }

    return _outcome(call, view(label), view(check))


def closing_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    return _outcome(call, (expected.get("closing") or {}).get("present"), _check(report, "closing").get("present"))


def _phrase_outcome(
    call: str, label: Sequence[Mapping[str, Any]], check_name: str, report: Mapping[str, Any]
) -> tuple[Outcome, HitCounts]:
    hits = list(_check(report, check_name).get("hits") or [])
    counts = hit_counts(hits, label, report.get("utterances") or [])
    agreed = counts.matched == counts.predicted == counts.expected
    return Outcome(call, _brief_hits(label), _brief_hits(hits), agreed), counts


def _brief_hits(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{i.get('phrase', '?')}@{float(i['start_s']):.1f}" for i in items]


def _brief_spans(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{float(h['start_s']):.1f}-{float(h['end_s']):.1f}" for h in items]


def complaint_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    return _outcome(call, expected.get("complaint"), _check(report, "complaint_handling").get("complaint"))


def comfort_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    check = _check(report, "complaint_handling")
    predicted = check.get("comforted") if check.get("complaint") else None
    return _outcome(call, expected.get("comfort_after_complaint"), predicted)


def rate_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    return _outcome(call, expected.get("rate_verdict"), _check(report, "speaking_rate").get("verdict"))


def rate_error_cpm(expected: Mapping[str, Any], report: Mapping[str, Any]) -> float | None:
    truth, predicted = expected.get("agent_rate_cpm"), _check(report, "speaking_rate").get("agent_cpm")
    if truth is None or predicted is None:
        return None
    return abs(float(predicted) - float(truth))


NOT_DECIDABLE = "not decidable"


def hangup_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    """The hang-up party against the label; on a mono mix with a tone and no metadata the product
    says it cannot decide (``decidable`` False in the check), and the call is counted apart."""
    check = _check(report, "hangup")
    label = expected.get("hangup_by") or "unknown"
    if check.get("decidable") is False:
        return Outcome(call, label, NOT_DECIDABLE, False, decidable=False)
    return _outcome(call, label, check.get("hangup_by") or "unknown")


def hold_outcome(
    call: str, expected: Mapping[str, Any], report: Mapping[str, Any]
) -> tuple[Outcome, HitCounts]:
    label = list(expected.get("long_holds") or [])
    predicted = list(_check(report, "hold").get("holds") or [])
    counts = long_hold_counts(predicted, label)
    agreed = counts.matched == counts.predicted == counts.expected
    return Outcome(call, _brief_spans(label), _brief_spans(only_long_holds(predicted)), agreed), counts


def duration_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome:
    return _outcome(call, expected.get("duration_violation"), _check(report, "call_duration").get("passed") is False)


def identity_outcome(call: str, expected: Mapping[str, Any], report: Mapping[str, Any]) -> Outcome | None:
    """None when the call has no identity-verification label."""
    label = expected.get("identity_verification")
    if label is None:
        return None
    check = _check(report, "identity_verification")
    if isinstance(label, Mapping):
        keys = [k for k in ("required", "verified") if k in label]
        return _outcome(call, {k: label[k] for k in keys}, {k: check.get(k) for k in keys})
    return _outcome(call, bool(label), check.get("verified"))


def role_char_errors(truth: Mapping[str, Any], report: Mapping[str, Any], role: str) -> CharErrors:
    """CER of one role: the role's labelled turns against its predicted utterances, each joined in time order."""
    def joined(items: Iterable[Mapping[str, Any]]) -> str:
        chosen = sorted((i for i in items if i.get("role") == role), key=lambda i: float(i["start_s"]))
        return "".join(str(i.get("text") or "") for i in chosen)

    return char_errors(joined(truth.get("turns") or []), joined(report.get("utterances") or []))


# ------------------------------------------------------------------ evaluate and format

_SIMPLE_CHECKS: dict[str, Callable[[str, Mapping[str, Any], Mapping[str, Any]], Outcome]] = {
    "greeting": greeting_outcome,
    "closing": closing_outcome,
    "complaint": complaint_outcome,
    "comfort_after_complaint": comfort_outcome,
    "speaking_rate": rate_outcome,
    "hangup": hangup_outcome,
    "duration_violation": duration_outcome,
}
_PHRASE_CHECKS = {"forbidden_phrases": "forbidden", "unauthorized_promise": "unauthorized_promise"}
CHECK_ORDER = (
    "greeting", "closing", "forbidden_phrases", "unauthorized_promise", "complaint", "comfort_after_complaint",
    "speaking_rate", "hangup", "long_holds", "duration_violation", "identity_verification",
)


def evaluate(pairs: Iterable[EvalPair], bar: float = AGREEMENT_BAR) -> EvalResult:
    """Agreement of every check with the labels over ``pairs``, hang-up confusion and CER per role."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("evaluate needs at least one labelled call")
    outcomes: dict[str, list[Outcome]] = {name: [] for name in CHECK_ORDER}
    hits: dict[str, HitCounts] = {name: HitCounts() for name in (*_PHRASE_CHECKS, "long_holds")}
    rate_errors: list[float] = []
    confusion = {t: {p: 0 for p in HANGUP_PARTIES} for t in HANGUP_PARTIES}
    cer = {role: CharErrors() for role in ("agent", "customer")}
    for pair in pairs:
        expected = pair.truth.get("expected")
        if not isinstance(expected, Mapping):
            raise MetaError("labels have no 'expected' object", pair.name)
        for name, outcome_of in _SIMPLE_CHECKS.items():
            outcomes[name].append(outcome_of(pair.name, expected, pair.report))
        for name, label_key in _PHRASE_CHECKS.items():
            outcome, counts = _phrase_outcome(pair.name, expected.get(label_key) or [], name, pair.report)
            outcomes[name].append(outcome)
            hits[name] += counts
        outcome, counts = hold_outcome(pair.name, expected, pair.report)
        outcomes["long_holds"].append(outcome)
        hits["long_holds"] += counts
        identity = identity_outcome(pair.name, expected, pair.report)
        if identity is not None:
            outcomes["identity_verification"].append(identity)
        error = rate_error_cpm(expected, pair.report)
        if error is not None:
            rate_errors.append(error)
        hangup = outcomes["hangup"][-1]
        row = confusion.setdefault(str(hangup.expected), {p: 0 for p in HANGUP_PARTIES})
        row[str(hangup.predicted)] = row.get(str(hangup.predicted), 0) + 1
        for role in cer:
            cer[role] += role_char_errors(pair.truth, pair.report, role)
    checks = tuple(
        CheckAgreement(
            name=name,
            definition=DEFINITIONS[name],
            outcomes=tuple(outcomes[name]),
            hits=hits.get(name),
            extra={"rate_mae_cpm": sum(rate_errors) / len(rate_errors) if rate_errors else None}
            if name == "speaking_rate" else {},
        )
        for name in CHECK_ORDER
        if outcomes[name]
    )
    return EvalResult(tuple(p.name for p in pairs), checks, confusion, cer, bar)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def format_eval_text(result: EvalResult, width: int = 120) -> str:
    """The calibration summary as plain text: per-check agreement with its definition, then details."""
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(f"Evaluated {len(result.calls)} labelled calls; bar: every check ≥ {result.bar * 100:.0f}%"
                  " agreement.", soft_wrap=True)
    table = Table(show_lines=False)
    for column in ("", "check", "agreement", "calls", "P / R", "definition"):
        table.add_column(column, overflow="fold")
    for check in result.checks:
        below = check.agreement is not None and check.agreement < result.bar
        if check.hits is not None:
            pr = f"{_percent(check.hits.precision)} / {_percent(check.hits.recall)}"
        elif check.extra.get("rate_mae_cpm") is not None:
            pr = f"MAE {check.extra['rate_mae_cpm']:.1f} cpm"
        else:
            pr = ""
        calls = f"{check.agreed}/{check.total}"
        if check.not_decidable:
            calls += f" (+{len(check.not_decidable)} not decidable)"
        table.add_row("✘" if below else "✔", check.name, _percent(check.agreement), calls, pr, check.definition)
    console.print(table)
    console.print(_confusion_table(result.hangup_confusion))
    console.print("CER per role (match form, summed over calls): " + ", ".join(
        f"{role} {_percent(e.cer)} ({e.edits}/{e.reference_chars})" for role, e in result.cer_by_role.items()
    ), soft_wrap=True)
    for check in result.checks:
        if check.not_decidable:
            console.print(f"{check.name}: not decidable on {len(check.not_decidable)} call(s), left out of its "
                          f"agreement: {', '.join(check.not_decidable)}", soft_wrap=True)
    disagreements = [(c.name, o) for c in result.checks for o in c.disagreements]
    if disagreements:
        console.print("\nDisagreements (expected → predicted):")
        for name, o in disagreements:
            console.print(f"  {o.call}  {name}: {o.expected} → {o.predicted}", soft_wrap=True)
    console.print("\nRESULT: " + ("every check meets the bar" if result.meets_bar else "below the bar"))
    return console.file.getvalue()


def _confusion_table(confusion: Mapping[str, Mapping[str, int]]) -> Table:
    predicted = list(dict.fromkeys(p for row in confusion.values() for p in row))
    table = Table(title="hang-up confusion", title_justify="left")
    table.add_column("label \\ predicted")
    for party in predicted:
        table.add_column(party, justify="right")
    for label, row in confusion.items():
        table.add_row(label, *(str(row.get(p, 0)) for p in predicted))
    return table


__all__ = [
    "AGREEMENT_BAR", "CharErrors", "CheckAgreement", "DEFINITIONS", "EvalPair", "EvalResult", "HitCounts",
    "Outcome", "char_errors", "evaluate", "format_eval_text", "hit_counts", "holds_match", "is_agent_speech",
    "long_hold_counts", "pair_count", "spans_meet",
]
