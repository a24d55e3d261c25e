"""Rule checks, one small class per family, registered by name.

``run_checks(context, policy)`` runs them all (or the ``names`` asked for) in a fixed order and
returns their results; every check is a pure function of the call, so the live path can re-run
them on a partial transcript (``CallContext(final=False)``).
"""

from __future__ import annotations

from typing import Iterable

from qa_pipeline.policy.policy import CHECK_NAMES, Policy
from qa_pipeline.rules import hangup, phrases, script, service, timing  # noqa: F401  (registration)
from qa_pipeline.rules.base import CallContext, registered
from qa_pipeline.types import CheckResult

__all__ = ["CHECK_NAMES", "CallContext", "check_names", "run_checks"]


def check_names() -> tuple[str, ...]:
    """All check names, in report order."""
    known = registered()
    return tuple(n for n in CHECK_NAMES if n in known) + tuple(sorted(set(known) - set(CHECK_NAMES)))


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
