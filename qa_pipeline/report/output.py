"""One call's report written out: the ``WRITERS`` table keyed by format, and ``write_report``.

Text rendering lives in ``report.writers``, the HTML page in ``report.html``; this module only
chooses between them (masking first, by default), so neither imports the other's caller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, TextIO

from rich.console import Console

from qa_pipeline.report.html import render_html
from qa_pipeline.report.writers import ReportDict, render_audit_text
from qa_pipeline.text.pii import mask_report_dict


def _write_text(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    render_audit_text(report, Console(file=out, highlight=False))


def _write_json(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    json.dump(report, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _write_html(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    name = getattr(out, "name", None)
    html_dir = Path(name).resolve().parent if isinstance(name, str) and not name.startswith("<") else None
    out.write(render_html(report, audio_path=audio_path, html_dir=html_dir))


WRITERS: dict[str, Callable[[ReportDict, TextIO, Path | None], None]] = {
    "text": _write_text,
    "json": _write_json,
    "html": _write_html,
}


def write_report(
    report: ReportDict,
    fmt: str,
    out: TextIO,
    audio_path: Path | None = None,
    *,
    mask_pii: bool = True,
) -> None:
    """Write one call's report dict to ``out`` in ``fmt`` (one of ``WRITERS``).

    ``audio_path`` lets the HTML page play the call; the text writer colours only on a terminal.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(WRITERS)}")
    writer(mask_report_dict(report) if mask_pii else report, out, audio_path)
