"""The live monitoring server: ingest WebSockets, one shared ASR worker, the supervisor console.

``create_app`` builds a FastAPI app; nothing starts on import. The server owns the sockets,
admission control (``max_calls``), the store and the console hub; the clips of every live call
go to the one shared ``live_worker.AsrWorker`` (bounded queue, agent clips first, guesses).
Each call's logic lives in a ``LiveSession``, which knows nothing of the network.

Back-pressure instead of memory growth: when ASR falls behind, the queue fills, the ingest
handlers stop reading their sockets (TCP pushes back on the sender), and the console shows
each call's lag. Closed utterances are never dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from qa_pipeline.asr.factory import decoding_id
from qa_pipeline.config import PipelineOptions
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.judge import prepare_models
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.errors import StreamProtocolError
from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.server.asr_worker import AsrWorker
from qa_pipeline.server.routes import add_routes, bearer_token, check_token
from qa_pipeline.server.auth import Workbench
from qa_pipeline.server.live_audio import LiveAudioOptions, LiveRecordings
from qa_pipeline.server.review_routes import add_review_routes
from qa_pipeline.server.security import FailedAttempts, SecurityHeaders, token_problem
from qa_pipeline.server.workbench_pages import add_workbench_pages
from qa_pipeline.server.calls import ConsoleHub, LiveCall, event_message, finished_message, finished_message_from_row, send_loop
from qa_pipeline.asr.recognizer import ClipText, Recognizer
from qa_pipeline.live.protocol import (
    CLOSE_FULL,
    CLOSE_INTERNAL,
    CLOSE_INVALID,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    StreamStart,
    parse_party,
)
from qa_pipeline.live.session import LiveEvent, LiveOptions, LiveSession, UtteranceClosed, UtteranceLikely, UtterancePart
from qa_pipeline.report.html import render_html

logger = logging.getLogger(__name__)

_CALL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``qa serve`` decides once at start-up."""

    ingest_token: str
    console_token: str
    db_path: Path = Path("results.sqlite")
    max_calls: int = 4
    max_message_bytes: int = 256 * 1024
    # Clips waiting for ASR across all calls; when full, ingest stops reading its sockets.
    max_queued_clips: int = 64
    start_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    status_every_s: float = 1.0
    options: PipelineOptions = field(default_factory=PipelineOptions)
    live: LiveOptions = field(default_factory=LiveOptions)
    # Batching and priorities of the ASR worker (the recognizer itself comes from asr.factory.build_recognizer).
    asr: LiveAsrOptions = field(default_factory=LiveAsrOptions)
    # Live calls' recordings kept beside the store for the review workbench.
    live_audio: LiveAudioOptions = field(default_factory=LiveAudioOptions)

    def __post_init__(self) -> None:
        for name, token in (("the ingest token", self.ingest_token), ("the console token", self.console_token)):
            if problem := token_problem(name, token):
                raise ValueError(problem)
        if self.ingest_token == self.console_token:
            raise ValueError("the ingest and console tokens must differ")
        if self.max_calls < 1 or self.max_queued_clips < 1:
            raise ValueError("max_calls and max_queued_clips must be >= 1")


class _Refused(Exception):
    """Close the ingest stream with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class LiveServer:
    """The state behind the app: live calls, the ASR queue and worker, the store, the console hub."""

    def __init__(self, config: ServerConfig, recognizer: Recognizer, policy: Policy,
                 store_factory: Callable[[Path], Any] | None = None) -> None:
        self.config = config
        self.recognizer = recognizer
        self.policy = policy
        self.calls: dict[str, LiveCall] = {}
        self.hub = ConsoleHub()
        self.failed_attempts = FailedAttempts()
        self.ready = False
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)
        self._store_factory = store_factory or _open_store
        self._store: Any = None
        self.asr = AsrWorker(recognizer, config.asr, config.max_queued_clips, self._accept)
        self._store_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-store")
        self._tasks: list[asyncio.Task[None]] = []
        self.recordings = LiveRecordings(config.db_path, config.live_audio)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(self._store_pool, self._store_factory, self.config.db_path)
        self.recent.extend(await loop.run_in_executor(self._store_pool, self._load_recent))
        await loop.run_in_executor(self._store_pool, self.recordings.sweep)
        await self.asr.start()
        self._tasks = [asyncio.create_task(self._status_loop())]
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.asr.stop()
        if self._store is not None:
            await asyncio.get_running_loop().run_in_executor(self._store_pool, self._store.close)
        self._store_pool.shutdown(wait=True)

    @property
    def accepting(self) -> bool:
        return self.ready and len(self.calls) < self.config.max_calls

    # -- ingest ---------------------------------------------------------------------------

    async def ingest(self, ws: WebSocket, call_id: str) -> None:
        await ws.accept()
        given = bearer_token(ws.headers.get("authorization"))
        refusal = check_token(self, ws, given, self.config.ingest_token, "unauthorized: missing or wrong ingest token")
        try:
            if refusal is not None:
                await ws.close(CLOSE_POLICY, refusal.reason)
                return
            self._admit(call_id)
        except _Refused as refused:
            await ws.close(refused.code, refused.reason)
            return
        except WebSocketDisconnect:
            return  # the client left before hearing why
        self.calls[call_id] = call = LiveCall(call_id)  # reserved before the first await
        try:
            await self._run_call(ws, call)
        finally:
            self.calls.pop(call_id, None)
            self.recordings.discard(call_id)
            await self.asr.drop_call(call_id)

    def _admit(self, call_id: str) -> None:
        if not _CALL_ID_RE.match(call_id):
            raise _Refused(CLOSE_POLICY, "bad call id: use 1-80 letters, digits, '.', '_' or '-'")
        if not self.ready:
            raise _Refused(CLOSE_FULL, "server is starting: the model is not loaded yet, try again later")
        if call_id in self.calls:
            raise _Refused(CLOSE_POLICY, f"call {call_id} is already streaming")
        if len(self.calls) >= self.config.max_calls:
            raise _Refused(CLOSE_FULL, f"server full: {len(self.calls)} of {self.config.max_calls} calls in progress, try again later")

    async def _run_call(self, ws: WebSocket, call: LiveCall) -> None:
        sender = asyncio.create_task(send_loop(ws, call.outbox))
        incomplete, refused = True, None
        try:
            await self._start_session(ws, call)
            incomplete = not await self._receive_loop(ws, call)
        except _Refused as error:
            refused = error
        except StreamProtocolError as error:
            refused = _Refused(CLOSE_INVALID, error.one_line())
        except WebSocketDisconnect:
            pass
        if refused is not None:
            logger.info("call %s: closing: %s", call.call_id, refused.reason)
        if call.session is not None and call.session.audio_s > 0:
            try:
                await self._finish_call(call, incomplete)
            except Exception:  # one call's failure is reported to its client, the server goes on
                logger.exception("call %s: scoring or storing failed", call.call_id)
                refused = _Refused(CLOSE_INTERNAL, "server error while scoring the call; see the server log")
        await call.outbox.put(None)
        await asyncio.wait([sender], timeout=5.0)
        code, reason = (refused.code, refused.reason) if refused else (CLOSE_NORMAL, "call scored")
        try:
            await ws.close(code, _close_reason(reason))
        except (RuntimeError, WebSocketDisconnect):
            pass  # the client is gone already (or the server is shutting down)

    async def _start_session(self, ws: WebSocket, call: LiveCall) -> None:
        try:
            message = await asyncio.wait_for(ws.receive(), self.config.start_timeout_s)
        except asyncio.TimeoutError:
            raise _Refused(CLOSE_POLICY, f"no start message within {self.config.start_timeout_s:.0f} s") from None
        _raise_if_disconnect(message)
        start = StreamStart.from_message(call.call_id, self._json(message, call.call_id))
        call.session = LiveSession(start, self.policy, self.config.options, self.recognizer.model_id, self.config.live)
        self.recordings.start(call.call_id, start.format)
        self.hub.publish(call.started_message())
        call.send({"type": "accepted", "call_id": call.call_id})

    async def _receive_loop(self, ws: WebSocket, call: LiveCall) -> bool:
        """Returns True when the client ended the call with {"type": "end"}."""
        session = call.session
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), self.config.idle_timeout_s)
            except asyncio.TimeoutError:
                raise _Refused(CLOSE_POLICY, f"no data for {self.config.idle_timeout_s:.0f} s") from None
            _raise_if_disconnect(message)
            data = message.get("bytes")
            if data is not None:
                self._check_size(len(data))
                self.recordings.write(call.call_id, data)
                await self._dispatch(call, session.push_audio(data))
                continue
            control = self._json(message, call.call_id)
            kind = control.get("type")
            if kind == "end":
                return True
            if kind == "hangup":
                await self._dispatch(call, session.hangup(parse_party(control, call.call_id)))
            elif kind == "start":
                raise _Refused(CLOSE_POLICY, "start sent twice")
            else:
                raise _Refused(CLOSE_UNSUPPORTED, f"unknown message type {kind!r}")

    def _json(self, message: dict[str, Any], call_id: str) -> dict[str, Any]:
        text = message.get("text")
        if text is None:
            raise _Refused(CLOSE_POLICY, "expected a JSON text message")
        self._check_size(len(text.encode("utf-8")))
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise _Refused(CLOSE_INVALID, f"malformed JSON: {exc.msg} at char {exc.pos}") from None
        except RecursionError:
            raise _Refused(CLOSE_INVALID, "malformed JSON: nested too deeply") from None
        except ValueError as exc:
            raise _Refused(CLOSE_INVALID, f"malformed JSON: {exc}") from None
        if not isinstance(value, dict):
            raise _Refused(CLOSE_INVALID, "a control message must be a JSON object")
        return value

    def _check_size(self, size: int) -> None:
        if size > self.config.max_message_bytes:
            raise _Refused(CLOSE_TOO_BIG, f"message of {size} bytes exceeds {self.config.max_message_bytes}")

    async def _dispatch(self, call: LiveCall, events: list[LiveEvent]) -> None:
        for event in events:
            if isinstance(event, UtteranceLikely):
                await self.asr.guess(call, event)
            elif isinstance(event, (UtteranceClosed, UtterancePart)):
                await self.asr.clip(call, event)
            else:
                self._publish(call, event)

    def _accept(self, call: LiveCall, utterance_id: int, text: ClipText) -> None:
        for event in call.session.accept_text(utterance_id, text):
            self._publish(call, event)

    def _publish(self, call: LiveCall, event: LiveEvent) -> None:
        message = event_message(call.call_id, event)
        if message is None:
            return
        call.remember(message)
        call.send(message)
        self.hub.publish(message)

    async def _finish_call(self, call: LiveCall, incomplete: bool) -> None:
        await self._dispatch(call, call.session.finish())
        await call.drained.wait()
        report = call.session.final_report(incomplete=incomplete)
        loop = asyncio.get_running_loop()
        row_id = await loop.run_in_executor(self._store_pool, self._record, call.session, report)
        await loop.run_in_executor(self._store_pool, self.recordings.keep, call.call_id, call.session.audio_sha256)
        summary = finished_message(report, row_id)
        self.recent.appendleft(summary)
        self.hub.publish(summary)
        call.send({**summary, "type": "scored"})

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_every_s)
            now = time.monotonic()
            self.hub.publish({"type": "status", "calls": [c.status(now) for c in self.calls.values() if c.session and not c.session.finished]})

    # -- store ------------------------------------------------------------------------------

    def _record(self, session: LiveSession, report: Any) -> int | None:
        model_key = decoding_id(self.recognizer.model_id, self.config.options.asr, self.config.asr)
        key = CallKey(session.audio_sha256, self.policy.policy_id, model_key)
        self._store.record_result(key, report.to_dict(), f"live:{session.call_id}", session.meta)
        rows = list(self._store.iter_calls(latest_only=False, keys=[key]))
        return rows[-1].row_id if rows else None

    def _load_recent(self) -> list[dict[str, Any]]:
        calls = [c for c in self._store.iter_calls() if c.report is not None]
        return [finished_message_from_row(c) for c in reversed(calls[-20:])]

    def report_dict(self, row_id: int) -> dict[str, Any] | None:
        if not 0 < row_id < 2**63:
            return None  # beyond SQLite's integers: no such row
        call = self._store.get_call(row_id)
        return None if call is None or call.report is None else dict(call.report)

    async def report_html(self, row_id: int) -> str | None:
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(self._store_pool, self.report_dict, row_id)
        return None if report is None else render_html(report)


def _open_store(path: Path) -> Any:
    return ResultStore(path)


def _close_reason(reason: str) -> str:
    """A WebSocket close reason fits in 123 bytes of UTF-8."""
    return reason.encode("utf-8")[:123].decode("utf-8", errors="ignore")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _raise_if_disconnect(message: dict[str, Any]) -> None:
    if message.get("type") == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))


# -- the app ------------------------------------------------------------------------------------


def create_app(config: ServerConfig, recognizer: Recognizer, policy: Policy,
               store_factory: Callable[[Path], Any] | None = None) -> FastAPI:
    """The FastAPI app; the model loads and the store opens when the app starts (lifespan)."""
    server = LiveServer(config, recognizer, policy, store_factory)
    workbench = Workbench(config.db_path, policy)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        indexing = asyncio.create_task(asyncio.to_thread(workbench.sync))  # the review workbench's call index
        judging = asyncio.create_task(asyncio.to_thread(prepare_models, policy))  # not on the first call's time
        try:
            yield
        finally:
            await asyncio.gather(indexing, judging, return_exceptions=True)
            await server.stop()

    app = FastAPI(title="qa_pipeline live", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.add_middleware(SecurityHeaders)
    add_routes(app, server, workbench)
    add_workbench_pages(app, workbench)
    add_review_routes(app, workbench)
    return app
