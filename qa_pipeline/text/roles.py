"""Which of two voices is the agent: cues in what each one says, and who opens the call.

A bank agent addresses the customer formally and offers service (您, 为您, 请问, 请您, 很高兴,
稍等, 感谢您) and introduces themself as the bank's 客户服务代表; a customer talks about their
own card and account (我的卡, 我想问, 我要) and about the bank as 你们. These are generic traits
of Mandarin service talk, not any bank's script. Each voice collects cue hits over its
utterances; the voice with more agent cues and fewer customer cues is the agent.

Who speaks first counts too, by the call's direction (telephony metadata): on an inbound call the
agent answers and speaks first (the standard opens the call with the agent's greeting), worth
``INBOUND_FIRST_WEIGHT``; on an outbound call the customer usually answers with 喂, but a short 喂
is often joined to the agent's first turn on a mono mix, so the first voice says nothing there;
with the direction unknown, opening the call counts a little for the agent.

The decision comes with ``agent_probability``: the logistic of the cue difference, so three more
cues on one side make it ~95 % sure. Pure functions over text; no audio, no model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from qa_pipeline.types import Direction

#: Formal address and service offers: the agent's side of a bank call (weights in cue units).
AGENT_CUES: dict[str, float] = {
    "您好": 1.0,
    "为您": 1.5,
    "请问": 1.0,
    "请您": 1.0,
    "您的": 0.5,
    "您": 0.3,
    "很高兴": 1.5,
    "服务": 0.5,
    "稍等": 1.0,
    "感谢您": 1.0,
    "谢谢您": 1.0,
    "来电": 1.0,
    "核实": 0.5,
    "帮您": 1.0,
    "给您": 0.5,
    "客服": 1.0,
    # introducing oneself as the bank's representative (the outbound opening: 我是…客户服务代表…号)
    "客户服务代表": 3.0,
    "欢迎": 1.0,  # 欢迎致电, 欢迎您再次来电: the bank welcomes, the customer does not
    "我们这边": 1.0,  # speaking for the bank (我们这边帮您查, 我们这里管不了)
    "我们这里": 1.0,
}
#: The customer's own matters and the bank seen from outside.
CUSTOMER_CUES: dict[str, float] = {
    "我的卡": 1.5,
    "我想问": 1.5,
    "我想": 1.0,
    "我要": 1.0,
    "我的": 0.5,
    "我": 0.2,
    "你们": 1.0,
    "怎么回事": 1.0,
    "为什么": 0.5,
    "帮我": 0.5,  # asking for help (你能不能帮我重置一下); agents say 您帮我核对 too, so it weighs half
    "你能不能": 0.5,
}
#: What opening the call is worth for the agent, in cue units: direction unknown, inbound, outbound.
FIRST_SPEAKER_WEIGHT = 0.5
INBOUND_FIRST_WEIGHT = 2.0
OUTBOUND_FIRST_WEIGHT = 0.0

_PUNCT = re.compile(r"[\s，。！？、；：,.!?;:…—\-\"'“”‘’（）()]+")


@dataclass(frozen=True)
class SpokenPiece:
    """What one voice (speaker 0 or 1) said, from ``start_s`` on."""

    speaker: int
    start_s: float
    text: str


@dataclass(frozen=True)
class RoleDecision:
    """Which speaker is the agent, how sure, and the cue tally behind it (for the report)."""

    agent_speaker: int
    agent_probability: float  # that ``agent_speaker`` really is the agent, in [0.5, 1]
    agent_cues: tuple[float, float]  # agent-cue weight heard from speaker 0 and speaker 1
    customer_cues: tuple[float, float]

    def role_probability(self, speaker: int, voice_confidence: float) -> float:
        """How likely a piece labelled ``speaker`` with ``voice_confidence`` got the right role:
        right voice and right mapping, or wrong voice and wrong mapping."""
        m = self.agent_probability
        return m * voice_confidence + (1.0 - m) * (1.0 - voice_confidence)


def cue_weight(text: str, cues: dict[str, float]) -> float:
    """Summed weight of the cues in ``text``; a longer cue hides the shorter ones inside it."""
    rest = _PUNCT.sub("", text)
    total = 0.0
    for cue in sorted(cues, key=len, reverse=True):
        hits = rest.count(cue)
        if hits:
            total += hits * cues[cue]
            rest = rest.replace(cue, "|")
    return total


def first_speaker_weight(direction: Direction | None) -> float:
    """What opening the call is worth for the agent, by the call's direction."""
    if direction == Direction.INBOUND:
        return INBOUND_FIRST_WEIGHT
    if direction == Direction.OUTBOUND:
        return OUTBOUND_FIRST_WEIGHT
    return FIRST_SPEAKER_WEIGHT


def decide_roles(pieces: Iterable[SpokenPiece], direction: Direction | None = None) -> RoleDecision:
    """The agent among speakers 0 and 1, from their words and who spoke first (``direction``: the
    call's, from the metadata)."""
    pieces: Sequence[SpokenPiece] = sorted(pieces, key=lambda p: p.start_s)
    agent = [0.0, 0.0]
    customer = [0.0, 0.0]
    for piece in pieces:
        agent[piece.speaker] += cue_weight(piece.text, AGENT_CUES)
        customer[piece.speaker] += cue_weight(piece.text, CUSTOMER_CUES)
    lead = (agent[0] - customer[0]) - (agent[1] - customer[1])
    spoken = [p for p in pieces if p.text.strip()]
    if spoken:
        weight = first_speaker_weight(direction)
        lead += weight if spoken[0].speaker == 0 else -weight
    probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, abs(lead)))))
    return RoleDecision(0 if lead >= 0 else 1, probability, (agent[0], agent[1]), (customer[0], customer[1]))
