"""``qa serve`` and ``qa tap``: command functions the lead registers in ``cli.py``.

    app.command("serve")(live_cli.serve)
    app.command("tap")(live_cli.tap)

Heavy imports (uvicorn, FastAPI, the model) happen inside the functions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from qa_pipeline.config import LiveAsrOptions, LiveOptions
from qa_pipeline.errors import QAError
from qa_pipeline.server.security import token_problem
from qa_pipeline.cli.common import DEVICE_HELP, configure_logging, fail, guarded, pipeline_options, require_file


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    db: Path = typer.Option(Path("results.sqlite"), "--db", help="Results store (shared with qa batch)."),
    max_calls: int = typer.Option(4, "--max-calls", min=1, help="Live calls admitted at once; more are refused."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="Policy directory (default: the bundled bank policy)."),
    model: Optional[Path] = typer.Option(None, "--model", help="A CTranslate2 Whisper model directory."),
    beam_size: int = typer.Option(LiveAsrOptions().beam_size, "--beam-size", min=1, help="Beam size for agent speech."),
    customer_beam_size: int = typer.Option(
        LiveAsrOptions().customer_beam_size, "--customer-beam-size", min=1,
        help="Beam size for customer speech (no phrase alerts come from it; 1 = greedy, fastest)."),
    parts_after: float = typer.Option(
        LiveOptions().part_min_s or 0.0, "--parts-after", min=0.0,
        help="Send a long utterance to ASR in parts, cut at pauses, once it holds this many seconds of "
             "speech not yet sent (earlier alerts on long turns; 0: whole utterances only)."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
    keep_live_audio_days: float = typer.Option(
        90.0, "--keep-live-audio-days", min=0.0,
        help="Keep live calls' recordings beside the store (NAME.audio/) this many days, so the review "
             "workbench plays their evidence; 0 keeps none."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="PEM certificate (chain): serve HTTPS/WSS."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
    max_connections: int = typer.Option(
        100, "--max-connections", min=2, help="Open connections at once (HTTP and WebSocket); more get 503."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Live monitoring server: ingest WebSocket, supervisor console at /, alerts as calls happen.

    Tokens come from QA_INGEST_TOKEN and QA_CONSOLE_TOKEN (at least 16 characters); unset ones are
    generated and printed once.
    """
    configure_logging(verbose)
    from qa_pipeline.asr.factory import build_recognizer
    from qa_pipeline.rules.run import load_checked_policy
    from qa_pipeline.server.app import ServerConfig, create_app
    from qa_pipeline.server.listen import bind_socket, check_tls, run_server
    from qa_pipeline.server.live_audio import LiveAudioOptions
    from qa_pipeline.store.results import ResultStore

    ingest_token, console_token = _Token("QA_INGEST_TOKEN"), _Token("QA_CONSOLE_TOKEN")
    if ingest_token.value == console_token.value:
        raise fail(QAError("QA_INGEST_TOKEN and QA_CONSOLE_TOKEN must differ", "qa serve"))
    listen = _listen_options(host, port, tls_cert, tls_key, max_connections)
    guarded(lambda: check_tls(listen))
    sock = guarded(lambda: bind_socket(listen))  # a port in use is one line now, before the model loads
    options = pipeline_options(model=model, device=device)
    config = ServerConfig(
        ingest_token=ingest_token.value, console_token=console_token.value, db_path=db,
        max_calls=max_calls, options=options, asr=LiveAsrOptions(beam_size=beam_size, customer_beam_size=customer_beam_size),
        live=LiveOptions(part_min_s=parts_after or None), live_audio=LiveAudioOptions(keep_live_audio_days),
    )
    recognizer = build_recognizer(options.asr, config.asr)
    loaded_policy = guarded(lambda: load_checked_policy(policy))
    guarded(lambda: ResultStore(db).close())  # a damaged store is one line here, not a start-up traceback
    guarded(recognizer.load)  # a missing or corrupt model is one line here, not a start-up traceback
    app = create_app(config, recognizer, loaded_policy)
    for token in (ingest_token, console_token):
        if token.generated:
            typer.echo(f"{token.name}={token.value}  (generated; set it in the environment to keep it)", err=True)
    typer.echo(console_hint(listen.base_url), err=True)
    logging.getLogger("uvicorn.access").addFilter(_HideTokens())  # --verbose logs requests, never tokens
    listen = replace(listen, ws_max_message_bytes=config.max_message_bytes + 1024)
    if not guarded(lambda: run_server(app, listen, sock, "info" if verbose else "warning")):
        raise fail(QAError("the server did not start (see the lines above)", "qa serve"))


def console_hint(base_url: str) -> str:
    """Where supervisors open the console; never a token (start-up lines end up in logs)."""
    return (f"console: {base_url}/  (log in to the workbench as a supervisor, or open it once with the "
            f"console token QA_CONSOLE_TOKEN as the token parameter)  workbench: {base_url}/login")


def _listen_options(host: str, port: int, tls_cert: Path | None, tls_key: Path | None, max_connections: int):
    from qa_pipeline.server.listen import ListenOptions

    if (tls_cert is None) != (tls_key is None):
        raise fail(QAError("--tls-cert and --tls-key go together", "qa serve"))
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise fail(QAError("TLS file not found", str(path)))
    return ListenOptions(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, max_connections=max_connections)


def tap(
    call: Path = typer.Argument(..., help="Call recording to stream as a live call."),
    server: str = typer.Option("http://127.0.0.1:8000", "--server", help="Server URL (http(s):// or ws(s)://)."),
    token: Optional[str] = typer.Option(None, "--token", envvar="QA_INGEST_TOKEN", help="Ingest token."),
    speed: float = typer.Option(1.0, "--speed", min=0.01, help="Pacing: 1.0 = real time, 10 = ten times faster."),
    meta: Optional[Path] = typer.Option(None, "--meta", help="Telephony metadata (default: NAME.meta.json)."),
    call_id: Optional[str] = typer.Option(None, "--call-id", help="Call id (default: meta call_id or file name)."),
) -> None:
    """Stream a recording to `qa serve` as a live call and print alerts as they arrive."""
    configure_logging(False)
    from qa_pipeline.pipeline import find_meta
    from qa_pipeline.cli.tap import format_message, load_recording, tap_call
    from qa_pipeline.types import CallMeta

    require_file(call)
    if not token:
        raise fail(QAError("no ingest token: pass --token or set QA_INGEST_TOKEN"))
    call_meta = guarded(lambda: CallMeta.load(meta) if meta else find_meta(call)) or CallMeta()
    recording = guarded(lambda: load_recording(call))
    name = call_id or call_meta.call_id or call.stem

    def show(message: dict, _arrived_s: float) -> None:
        line = format_message(message)
        if line:
            typer.echo(line)

    guarded(lambda: asyncio.run(tap_call(server, token, recording, call_meta, name, speed, on_message=show)))


class _HideTokens(logging.Filter):
    """Replace the value of a ``token=`` query parameter in uvicorn's access log lines."""

    _TOKEN_RE = re.compile(r"(token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN_RE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


class _Token:
    """A token from the environment, or a fresh random one (printed once at start-up).

    A weak token from the environment is refused: one line, exit 2.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        given = os.environ.get(name, "").strip()
        self.generated = not given
        self.value = given or secrets.token_urlsafe(24)
        if problem := token_problem(name, self.value):
            raise fail(QAError(f"{problem}; generate one with: python -c "
                               "'import secrets; print(secrets.token_urlsafe(24))'", "qa serve"))
