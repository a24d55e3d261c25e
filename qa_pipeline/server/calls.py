"""What the live server tells people: JSON messages for the tap client and the console.

Every text leaving the server goes through ``mask_live_text`` here (card, ID and phone numbers,
and chunks of a number read in pieces, which a live feed cannot mask afterwards), so neither the console nor the tap client ever shows an unmasked customer number.
``LiveCall`` is the server's bookkeeping for one call (lag, alert count, recent messages);
``ConsoleHub`` fans messages out to console pages with bounded queues.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any, Iterable

from fastapi import WebSocket, WebSocketDisconnect

from qa_pipeline.text.pii import mask_live_text
from qa_pipeline.live.session import Alert, HangupSeen, LiveEvent, LiveSession, UtteranceFinal
from qa_pipeline.report.writers import finding_label
from qa_pipeline.types import CallReport

logger = logging.getLogger(__name__)

#: Messages kept per live call for a console page that opens mid-call.
KEEP_MESSAGES = 400
#: Messages queued per console page or tap client before it counts as too slow.
OUTBOX_SIZE = 2000


def event_message(call_id: str, event: LiveEvent) -> dict[str, Any] | None:
    """The JSON message for a session event (None for events that stay inside the server)."""
    if isinstance(event, UtteranceFinal):
        u = event.utterance
        return {
            "type": "utterance", "call_id": call_id, "utterance_id": event.utterance_id,
            "role": u.role.value, "start_s": round(u.start_s, 2), "end_s": round(u.end_s, 2),
            "text": mask_live_text(u.text),
        }
    if isinstance(event, Alert):
        finding = event.finding
        evidence = finding.evidence[0] if finding.evidence else None
        return {
            "type": "alert", "call_id": call_id, "check": event.check, "rule_id": finding.rule_id,
            "severity": finding.severity.value, "label": finding_label(finding.rule_id),
            "message": mask_live_text(finding.message),
            "start_s": None if evidence is None else round(evidence.start_s, 2),
            "end_s": None if evidence is None else round(evidence.end_s, 2),
            "text": "" if evidence is None else mask_live_text(evidence.text),
            "phrase": None if evidence is None else evidence.phrase,
            "ref_end_s": round(event.ref_end_s, 2),
        }
    if isinstance(event, HangupSeen):
        return {"type": "hangup", "call_id": call_id, "party": event.party.value,
                "time_s": round(event.time_s, 2), "method": event.method}
    return None


def finished_message(report: CallReport, row_id: int | None) -> dict[str, Any]:
    return {
        "type": "finished", "call_id": report.call_id, "agent_id": report.meta.agent_id,
        "score": round(report.score, 1), "incomplete": report.incomplete,
        "duration_s": round(report.transcript.duration_s, 1), "alerts": len(report.findings),
        "report_url": None if row_id is None else f"/v1/reports/{row_id}",
        "failed_checks": [c.name for c in report.checks if c.passed is False],
    }


def finished_message_from_row(call: Any) -> dict[str, Any]:
    """The "finished" message for a call stored earlier (a store row)."""
    report = call.report or {}
    return {
        "type": "finished", "call_id": call.call_id, "agent_id": call.agent_id, "score": call.score,
        "incomplete": bool(report.get("incomplete")), "duration_s": call.duration_s,
        "alerts": len(report.get("findings") or ()), "report_url": f"/v1/reports/{call.row_id}",
    }


async def send_loop(ws: WebSocket, outbox: "asyncio.Queue[dict[str, Any] | None]") -> None:
    """Send the outbox to the tap client until None; a client that left ends it quietly."""
    while True:
        message = await outbox.get()
        if message is None:
            return
        try:
            await ws.send_text(json.dumps(message, ensure_ascii=False))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the client left; the call is still scored


class LiveCall:
    """The server's view of one live call."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.session: LiveSession | None = None
        self.started = time.monotonic()
        self.alerts = 0
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self.drained = asyncio.Event()
        self.drained.set()
        self._waiting: dict[int, float] = {}
        self._messages: deque[dict[str, Any]] = deque(maxlen=KEEP_MESSAGES)

    def queued(self, utterance_id: int) -> None:
        self._waiting[utterance_id] = time.monotonic()
        self.drained.clear()

    def transcribed(self, utterance_id: int) -> None:
        self._waiting.pop(utterance_id, None)
        if not self._waiting:
            self.drained.set()

    def lag_s(self, now: float) -> float:
        """How long the oldest utterance of this call has been waiting for ASR."""
        return now - min(self._waiting.values()) if self._waiting else 0.0

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message for the tap client; a client that stops reading loses utterances, not the call."""
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("call %s: client is not reading; %s message dropped", self.call_id, message.get("type"))

    def remember(self, message: dict[str, Any]) -> None:
        if message["type"] == "alert":
            self.alerts += 1
        self._messages.append(message)

    def started_message(self) -> dict[str, Any]:
        meta = self.session.meta if self.session else None
        return {
            "type": "started", "call_id": self.call_id,
            "agent_id": meta.agent_id if meta else None,
            "direction": meta.direction.value if meta and meta.direction else None,
        }

    def status(self, now: float) -> dict[str, Any]:
        return {
            **self.started_message(), "type": "call",
            "audio_s": round(self.session.audio_s if self.session else 0.0, 1),
            "elapsed_s": round(now - self.started, 1), "alerts": self.alerts,
            "lag_s": round(self.lag_s(now), 1),
        }

    def history(self) -> list[dict[str, Any]]:
        return list(self._messages)


class ConsoleHub:
    """Fans server messages out to console pages; a page that cannot keep up is disconnected."""

    def __init__(self) -> None:
        self._pages: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def publish(self, message: dict[str, Any]) -> None:
        for page in list(self._pages):
            try:
                page.put_nowait(message)
            except asyncio.QueueFull:
                self._pages.discard(page)
                page.get_nowait()
                page.put_nowait(None)  # tells serve() to close; the page reconnects and resyncs

    def snapshot(self, calls: Iterable[Any], recent: Iterable[dict[str, Any]]) -> dict[str, Any]:
        now = time.monotonic()
        live = [c for c in calls if c.session is not None]
        return {
            "type": "snapshot",
            "calls": [{**c.status(now), "messages": c.history()} for c in live],
            "recent": list(recent),
        }

    async def serve(self, ws: WebSocket, calls: Iterable[Any], recent: Iterable[dict[str, Any]]) -> None:
        page: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=OUTBOX_SIZE)
        page.put_nowait(self.snapshot(calls, recent))
        self._pages.add(page)
        reader = asyncio.create_task(_drain_incoming(ws))
        try:
            while True:
                getter = asyncio.create_task(page.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    return
                message = getter.result()
                if message is None:
                    await ws.close(1013, "console fell behind; reconnect")
                    return
                await ws.send_text(json.dumps(message, ensure_ascii=False))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            self._pages.discard(page)
            reader.cancel()


async def _drain_incoming(ws: WebSocket) -> None:
    """Console pages send nothing; this notices when they leave."""
    while True:
        message = await ws.receive()
        if message.get("type") == "websocket.disconnect":
            return
