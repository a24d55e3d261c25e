"""Running the registered checks: names in report order, live groups, policy weights, scoring a call.

``run_checks(context, policy)`` runs them all (or the ``names`` asked for) in report order and
returns their results; every check is a pure function of the call, so the live path re-runs them
on a partial transcript (``CallContext(final=False)``). ``score_transcript`` is the one function
batch (``pipeline.audit_call``) and live (``live.session``) use to turn a transcript into a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.files import check_policy
from qa_pipeline.policy.policy import Policy, load_policy
from qa_pipeline.rules import script, phrases, service, first_contact, timing, hangup, language, speakers  # noqa: F401  (registration, in report order)
from qa_pipeline.rules.base import CallContext, CheckSpec, LiveWhen, registered, weight_of
from qa_pipeline.rules.scoring import score_checks
from qa_pipeline.types import CallMeta, CallReport, CheckResult, Transcript

__all__ = [
    "CallContext",
    "check_names",
    "check_spec",
    "check_specs",
    "live_checks",
    "load_checked_policy",
    "policy_problems",
    "run_checks",
    "score_transcript",
]


def check_names() -> tuple[str, ...]:
    """All check names, in report order (the order the checks registered)."""
    return tuple(registered())


def check_specs() -> tuple[CheckSpec, ...]:
    return tuple(check.spec for check in registered().values())


def check_spec(name: str) -> CheckSpec | None:
    """The spec of a check, or of the check a finding's rule id (``hold.too_long``) belongs to."""
    known = registered()
    check = known.get(name) or known.get(name.split(".", 1)[0])
    return None if check is None else check.spec


def live_checks(when: LiveWhen) -> tuple[str, ...]:
    """The checks that can fire live at ``when`` (per utterance, on the clock)."""
    return tuple(spec.name for spec in check_specs() if spec.live == when)


def run_checks(
    context: CallContext, policy: Policy, names: Iterable[str] | None = None
) -> tuple[CheckResult, ...]:
    """Run the named checks (all when None) on one call; ValueError for an unknown name."""
    known = registered()
    wanted = check_names() if names is None else tuple(names)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(check_names())}")
    return tuple(known[name].run(context, policy) for name in wanted)


def policy_problems(policy: Policy) -> list[PolicyError]:
    """What a policy gets wrong about the checks: weights of unknown checks, no positive weight."""
    known = registered()
    problems = [
        PolicyError(f"[weights] names no check {name!r}; known: {', '.join(known)}", policy.weight_origin(name))
        for name in policy.weights
        if name not in known
    ]
    if not any(weight_of(spec.name, policy) > 0 for spec in check_specs()):
        problems.append(PolicyError("at least one weight must be positive", policy.weight_origin(None)))
    return problems


def load_checked_policy(path: Path | None = None) -> Policy:
    """``load_policy`` plus the checks' view of it; raises the first PolicyError (``file:line``)."""
    policy = load_policy(path)
    problems = policy_problems(policy)
    if problems:
        raise problems[0]
    return policy


def check_policy_dir(path: Path | None = None) -> list[PolicyError]:
    """Every problem of a policy, from its files and from the checks' view of it."""
    problems = check_policy(path)
    if problems:
        return problems
    try:
        policy = load_policy(path)
    except PolicyError as error:  # a file beside the TOML (labelled sentences, background talk) is bad
        return [error]
    return policy_problems(policy)


def score_transcript(
    transcript: Transcript,
    meta: CallMeta,
    policy: Policy,
    model_id: str = "",
    final: bool = True,
    incomplete: bool = False,
) -> CallReport:
    """Run every check on a transcript and score it (batch and live share this)."""
    checks = run_checks(CallContext(transcript, meta, final=final), policy)
    explanation = score_checks(checks, policy)
    return CallReport(
        transcript=transcript,
        meta=meta,
        checks=checks,
        score=explanation.score,
        policy_id=policy.policy_id,
        model_id=model_id,
        incomplete=incomplete,
        explanation=explanation,
    )
