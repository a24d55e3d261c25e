"""The emphatic flat refusal: the verb made the topic, then denied (退是退不了的, 改是改不了的,
这笔钱是没办法退的).

Saying a thing cannot be done is often plain information (这笔费用退不了，不过可以…); doubling the verb
(V是V不了) or stressing 是没办法V的 closes the matter on the customer, which the standard's 不行 stands
for. A question or a supposition and its consequence (退是退不了吗？ 要是已经放款了，改是改不了的) is
no refusal.
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.rules.judge import Judged, clauses_of
from qa_pipeline.text.match import PhraseMatch
from qa_pipeline.types import Utterance

__all__ = ["LABEL", "emphatic_refusals"]

LABEL = "不行：把话说死"

# 退是退不了 / 撤销是撤销不了: the verb (one or two characters) repeated around 是 and denied;
# 是没办法退的 / 是没法改的: the means denied, stressed by 是…的.
# 是 as ASR also writes it (退市退不了的, 退是没办法退的 heard as 退市没办法退的).
_SHI = "[是市事式试世示视适时势士氏]"
_DOUBLED = re.compile(r"([\u4e00-\u9fff]{1,2})" + _SHI + r"\1不(?:了|成|掉)")
_NO_MEANS = re.compile(_SHI + r"没(?:有)?(?:办法|法子|法)[\u4e00-\u9fff]{1,2}的")


def emphatic_refusals(utterance: Utterance, policy: Policy) -> list[Judged]:
    """The clauses of an agent utterance that refuse by doubling the verb or stressing 是没办法…的."""
    found, supposed = [], False
    for clause in clauses_of(utterance, policy):
        if clause.question or clause.hypothetical or supposed:
            supposed = clause.hypothetical  # 如果已经放款了，改是改不了的: the rule's consequence
            continue
        said = _DOUBLED.search(clause.text) or _NO_MEANS.search(clause.text)
        if said is None:
            continue
        start, end = clause.start_char + said.start(), clause.start_char + said.end()
        match = PhraseMatch(LABEL, utterance.text[start:end], start, end, 1.0)
        found.append(Judged(Hit(utterance, match), "pattern", LABEL, 1.0))
    return found
