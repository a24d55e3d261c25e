"""``qa user add``, ``qa review assign|export`` and the calibration in ``qa report``, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qa_pipeline.store.call_index import stored_report
from qa_pipeline.store.reviews import set_verdict
from qa_pipeline.store.users import Role, User, authenticate, LoginPolicy
from qa_pipeline.store.workbench_db import open_workbench
from workbench_fakes import fill_store

REPO = Path(__file__).resolve().parents[1]


def qa(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa_pipeline.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_user_add_reads_one_password_line_and_refuses_bad_input(tmp_path):
    db = tmp_path / "r.sqlite"
    done = qa("user", "add", "ann", "--role", "agent", "--agent-id", "1001", "--db", str(db), stdin="ann-secret-1\nignored\n")
    assert done.returncode == 0, done.stderr
    assert "ann-secret-1" not in done.stdout + done.stderr
    connection = open_workbench(db)
    assert authenticate(connection, "ann", "ann-secret-1", LoginPolicy()).user == User("ann", Role.AGENT, "1001")
    connection.close()
    again = qa("user", "add", "ann", "--role", "agent", "--agent-id", "1001", "--db", str(db), stdin="ann-secret-1\n")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists already" in again.stderr
    bad_role = qa("user", "add", "zed", "--role", "boss", "--db", str(db), stdin="zed-secret-1\n")
    assert bad_role.returncode == 2 and "unknown role" in bad_role.stderr
    short = qa("user", "add", "zed", "--role", "reviewer", "--db", str(db), stdin="short\n")
    assert short.returncode == 2 and "8 characters" in short.stderr


def test_assign_export_and_report_calibration(tmp_path, default_policy):
    db = tmp_path / "r.sqlite"
    rows = fill_store(db, tmp_path / "recordings", default_policy)
    assert qa("user", "add", "rita", "--role", "reviewer", "--db", str(db), stdin="rita-secret\n").returncode == 0
    nobody = qa("review", "assign", "--date", "2026-11-20", "--failed", "--reviewer", "nobody", "--db", str(db))
    assert nobody.returncode == 2 and "not a reviewer" in nobody.stderr
    bad = qa("review", "assign", "--date", "2026-11-20", "--sample", "five", "--reviewer", "rita", "--db", str(db))
    assert bad.returncode == 2 and "bad option" in bad.stderr
    assigned = qa("review", "assign", "--date", "2026-11-20", "--sample", "5%", "--failed", "--reviewer", "rita", "--db", str(db))
    assert assigned.returncode == 0 and "assigned 1 calls to rita (1 failed, 0 sampled)" in assigned.stderr

    connection = open_workbench(db)
    report, _ = stored_report(connection, rows["call_a"])
    for i, finding in enumerate(report["findings"]):
        verdict = "overturned" if finding["rule_id"].startswith("forbidden") else "confirmed"
        set_verdict(connection, User("rita", Role.REVIEWER, None), rows["call_a"], i, finding["rule_id"], verdict, "heard")
    connection.close()

    out = tmp_path / "labels"
    exported = qa("review", "export", str(out), "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    assert "wrote 1 labels" in exported.stderr
    labels = json.loads((out / "WB-A-0001.truth.json").read_text(encoding="utf-8"))
    assert labels["call_id"] == "WB-A-0001" and labels["expected"]["forbidden"] == []
    assert (out / "WB-A-0001.wav").resolve() == (tmp_path / "recordings" / "call_a.wav").resolve()
    assert json.loads((out / "WB-A-0001.meta.json").read_text())["agent_id"] == "1001"

    page = tmp_path / "daily.html"
    reported = qa("report", "--db", str(db), "--out", str(page))
    assert reported.returncode == 0, reported.stderr
    assert "forbidden_phrases" in reported.stderr and "100%" in reported.stderr
    html = page.read_text(encoding="utf-8")
    assert 'id="calibration"' in html and html.index('id="calibration"') < html.index("</body>")
