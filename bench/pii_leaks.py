"""Count customer-number leaks of a checkout on the PII test set of ``tests/test_pii_leaks.py``.

Usage (from the repository root): ``python bench/pii_leaks.py [--repo DIR]``. ``--repo`` measures another
checkout (e.g. the code before issue 14) with the same cases. Counted, per output:

- text: written and spoken forms (``FORMS``) whose secret part survives masking;
- chunks: numbers read in pieces across utterances (``CHUNKED``) with a piece left readable, masked
  as a report dict (what the store, exports and pages hold);
- file names: phone/card numbers in recording names kept in the store's ``source`` and ``call_id``;
- audio: the audit page embedding the recording without hiding the spoken number;
- csv: a formula cell exported verbatim.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_PROBE = r"""
import base64, csv, io, json, re, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import pii_cases as t
from qa_pipeline.text.pii import mask_report_dict
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.report.export import export_calls
from qa_pipeline.report.output import write_report

def utterance(text, start, channel=1):
    return {"role": "customer", "channel": channel, "start_s": start, "end_s": start + 1, "text": text,
            "words": [{"text": text, "start_s": start, "end_s": start + 1}]}

counts = {}
counts["text"] = sum(secret in mask_report_dict({"utterances": [utterance(text, 0.0)]})["utterances"][0]["text"]
                     for text, secret in t.FORMS)
chunk_leaks = 0
for case, secrets in zip(t.CHUNKED, t.CHUNK_SECRETS):
    masked = mask_report_dict({"utterances": [utterance(x, s, c) for x, s, c in case]})
    shown = " | ".join(u["text"] for u in masked["utterances"])
    chunk_leaks += any(secret in shown for secret in secrets)
counts["chunks"] = chunk_leaks
names = ["13812345678.wav", "/rec/13812345678_20261121093000.wav", "6222021234567890.wav", "138-1234-5678.wav"]
with tempfile.TemporaryDirectory() as tmp:
    db = Path(tmp) / "r.sqlite"
    with ResultStore(db) as store:
        for i, name in enumerate(names):
            report = t.leaky_report(Path(name).stem)
            store.record_result(CallKey(f"{i:064x}", "p", "m"), report, name)
        out = io.StringIO()
        export_calls(store, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    joined = [re.sub(r"[-. _]", "", r["source"] + "|" + r["call_id"]) for r in rows]
    counts["file names"] = sum("1381234" in j or "62220212" in j for j in joined)
    counts["csv"] = sum(r["agent_id"].startswith("=") for r in rows)
    audio = Path(tmp) / "call.wav"
    t.stereo_call(audio)
    page = io.StringIO()
    write_report(t.leaky_report("C1"), "html", page, audio_path=audio)
    counts["audio"] = int(base64.b64encode(audio.read_bytes()).decode() in page.getvalue())
print(json.dumps(counts))
"""


def measure(repo: Path) -> dict[str, int]:
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(REPO / "tests")], capture_output=True, text=True,
                          env=env, timeout=300, cwd=repo)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args()
    counts = measure(args.repo)
    sys.path.insert(0, str(REPO / "tests"))
    import pii_cases as t

    totals = {"text": len(t.FORMS), "chunks": len(t.CHUNKED), "file names": 4, "csv": 4, "audio": 1}
    for name, leaks in counts.items():
        print(f"{name:10} {leaks:3d} leaking of {totals[name]}")
    print(f"{'all':10} {sum(counts.values()):3d} leaking of {sum(totals.values())}")
    return 1 if any(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
