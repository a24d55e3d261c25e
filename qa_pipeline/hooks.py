"""One hook signature for progress, timing and debug observation (cf. pyannote's hook).

A hook is called as ``hook(step, completed, total)``: ``step`` names the stage
("decode", "vad", "asr", ...), ``completed``/``total`` count its units of work.
Library code never prints; entry points pass a hook that draws a progress bar.
"""

from __future__ import annotations

from typing import Callable, Optional

Hook = Callable[[str, int, int], None]


def call_hook(hook: Optional[Hook], step: str, completed: int, total: int) -> None:
    if hook is not None:
        hook(step, completed, total)
