"""The workbench's store on a real SQLite file: passwords, lockout, sessions, the call index and
search, review decisions and the reviewed score, the append-only audit trail, assignment, labels."""

from __future__ import annotations

import sqlite3

import pytest

from qa_pipeline.errors import QAError
from qa_pipeline.eval.evaluate import EvalPair, evaluate
from qa_pipeline.review.assign import parse_share, pick_for_review
from qa_pipeline.review.labels import truth_labels
from qa_pipeline.review.rescore import reviewed_score
from qa_pipeline.rules.scoring import score_checks
from qa_pipeline.store.call_index import CallFilter, list_calls, stored_report, sync_index
from qa_pipeline.store.reviews import (add_finding, assign_calls, calibration, open_appeal, review_state,
                                       rule_appeal, set_verdict)
from qa_pipeline.store.users import (LoginPolicy, Role, User, add_user, authenticate, create_session, end_session,
                                     find_session, hash_password, verify_password)
from qa_pipeline.store.workbench_db import open_workbench
from qa_pipeline.types import CheckResult
from workbench_fakes import PHONE, fill_store

REVIEWER = User("rita", Role.REVIEWER, None)
SUPERVISOR = User("sam", Role.SUPERVISOR, None)
AGENT = User("ann", Role.AGENT, "1001")


@pytest.fixture()
def store(tmp_path, default_policy):
    db_path = tmp_path / "results.sqlite"
    rows = fill_store(db_path, tmp_path / "recordings", default_policy)
    db = open_workbench(db_path)
    sync_index(db)
    yield db, rows
    db.close()


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$16384$8$1$") and first != second and "correct" not in first
    assert verify_password("correct horse", first) and not verify_password("correct hors", first)
    assert not verify_password("x", "sha256$abc")


def test_users_need_valid_names_roles_and_passwords(store):
    db, _ = store
    add_user(db, "ann", Role.AGENT, "long-enough", "1001")
    with pytest.raises(QAError, match="exists already"):
        add_user(db, "ann", Role.AGENT, "long-enough", "1001")
    with pytest.raises(QAError, match="agent-id"):
        add_user(db, "zed", Role.AGENT, "long-enough")
    with pytest.raises(QAError, match="8 characters"):
        add_user(db, "zed", Role.REVIEWER, "short")
    with pytest.raises(QAError, match="bad user name"):
        add_user(db, "a b", Role.REVIEWER, "long-enough")
    stored = db.execute("SELECT password_hash FROM wb_users WHERE name='ann'").fetchone()[0]
    assert "long-enough" not in stored


def test_repeated_wrong_passwords_lock_the_account_for_a_while(store):
    db, _ = store
    add_user(db, "rita", Role.REVIEWER, "rita-secret")
    policy = LoginPolicy(lock_after_failures=3, lock_s=60.0)
    outcomes = [authenticate(db, "rita", "wrong", policy, now=1000.0) for _ in range(3)]
    assert [o.failures for o in outcomes] == [1, 2, 3] and outcomes[-1].locked_until == 1060.0
    locked = authenticate(db, "rita", "rita-secret", policy, now=1030.0)
    assert locked.user is None and locked.locked_until == 1060.0
    assert authenticate(db, "rita", "rita-secret", policy, now=1061.0).user == User("rita", Role.REVIEWER, None)
    assert authenticate(db, "nobody", "rita-secret", policy, now=1061.0).user is None


def test_sessions_expire_and_end(store):
    db, _ = store
    session_id, session = create_session(db, REVIEWER, LoginPolicy(session_ttl_s=10.0), now=100.0)
    assert find_session(db, session_id, now=105.0) == session
    assert find_session(db, session_id, now=111.0) is None
    stored = db.execute("SELECT id_sha256 FROM wb_sessions").fetchone()[0]
    assert stored != session_id  # only a hash of the cookie is kept
    other_id, _ = create_session(db, REVIEWER, LoginPolicy(), now=100.0)
    end_session(db, other_id)
    assert find_session(db, other_id, now=101.0) is None


def test_the_index_filters_sorts_pages_and_searches_masked_text(store):
    db, rows = store
    everyone = list_calls(db, CallFilter(), REVIEWER)
    assert everyone.total == 3
    by_score = list_calls(db, CallFilter(sort="score", descending=False), REVIEWER)
    assert [c.score for c in by_score.calls] == sorted(c.score for c in everyone.calls)
    assert {c.call_id for c in list_calls(db, CallFilter(failed_check="any"), REVIEWER).calls} == {"WB-A-0001", "WB-C-0003"}
    assert list_calls(db, CallFilter(failed_check="closing", agent_id="2002"), REVIEWER).calls[0].call_id == "WB-C-0003"
    assert list_calls(db, CallFilter(queue="loans"), REVIEWER).calls[0].call_id == "WB-B-0002"
    assert list_calls(db, CallFilter(score_min=90), REVIEWER).total == 1
    assert list_calls(db, CallFilter(date_from="2026-11-21", date_to="2026-11-21"), REVIEWER).calls[0].call_id == "WB-B-0002"
    assert list_calls(db, CallFilter(direction="outbound"), REVIEWER).total == 0
    paged = list_calls(db, CallFilter(page=2, page_size=2, sort="id", descending=False), REVIEWER)
    assert paged.total == 3 and paged.pages == 2 and [c.row_id for c in paged.calls] == [rows["call_c"]]
    assert {c.call_id for c in list_calls(db, CallFilter(), AGENT).calls} == {"WB-A-0001", "WB-B-0002"}
    found = list_calls(db, CallFilter(query="积分已经"), REVIEWER)  # FTS5 trigram
    assert [c.call_id for c in found.calls] == ["WB-A-0001"] and "积分已经" in found.calls[0].snippet
    assert [c.call_id for c in list_calls(db, CallFilter(query="年费"), REVIEWER).calls] == ["WB-C-0003"]  # 2 chars
    assert list_calls(db, CallFilter(query="还款日", agent_id="2002"), REVIEWER).total == 0
    assert PHONE not in " ".join(r[0] for r in db.execute("SELECT body FROM wb_text"))
    with pytest.raises(ValueError):
        CallFilter(sort="name; DROP TABLE calls")


def test_a_new_scoring_of_the_same_audio_replaces_the_old_in_the_list(store, tmp_path, default_policy):
    db, rows = store
    from qa_pipeline.store.results import CallKey, ResultStore

    with ResultStore(tmp_path / "results.sqlite") as results:
        old = results.get_call(rows["call_b"])
        report = dict(old.report, score=42.0)
        results.record_result(CallKey(old.key.audio_sha256, "policy-2", old.key.model_id), report, old.source)
    sync_index(db)
    listed = list_calls(db, CallFilter(), REVIEWER)
    assert listed.total == 3 and sorted(c.score for c in listed.calls if c.call_id == "WB-B-0002") == [42.0]


def test_overturning_every_hit_lifts_the_cap_and_a_missed_finding_lowers_the_score(store, default_policy):
    db, rows = store
    a = rows["call_a"]
    report, _ = stored_report(db, a)
    hits = [i for i, f in enumerate(report["findings"]) if f["rule_id"].startswith("forbidden_phrases")]
    set_verdict(db, REVIEWER, a, hits[0], "forbidden_phrases.hit", "overturned", "customer's words")
    state = review_state(db, a)
    assert reviewed_score(report, state.verdicts, state.added, default_policy).score == report["score"]  # one hit left
    set_verdict(db, REVIEWER, a, hits[1], "forbidden_phrases.hit", "overturned", "customer's words")
    state = review_state(db, a)
    card = reviewed_score(report, state.verdicts, state.added, default_policy)
    expected = score_checks([CheckResult(n, True if n == "forbidden_phrases" else c["passed"],
                                         {k: v for k, v in c.items() if k != "passed"})
                             for n, c in report["checks"].items()], default_policy)
    assert card.score == expected.score > report["score"] and "forbidden_phrase" not in card.caps
    with pytest.raises(QAError, match="reason"):
        set_verdict(db, REVIEWER, a, 0, "closing.missing", "overturned", "  ")
    b = rows["call_b"]
    report_b, _ = stored_report(db, b)
    add_finding(db, REVIEWER, b, "greeting", 2.0, "工号没有报")
    state_b = review_state(db, b)
    assert reviewed_score(report_b, state_b.verdicts, state_b.added, default_policy).score < report_b["score"]


def test_appeals_rulings_and_the_audit_trail_is_append_only(store):
    db, rows = store
    a = rows["call_a"]
    set_verdict(db, REVIEWER, a, 0, "closing.missing", "confirmed", "")
    appeal = open_appeal(db, AGENT, a, 0, "I said goodbye")
    rule_appeal(db, SUPERVISOR, appeal, "rejected", "no closing heard")
    with pytest.raises(QAError, match="not open"):
        rule_appeal(db, SUPERVISOR, appeal, "upheld", "changed my mind")
    state = review_state(db, a)
    assert [(e.actor, e.action) for e in state.audit] == [("rita", "confirm"), ("ann", "appeal"), ("sam", "appeal_rejected")]
    assert state.appeals[0].status == "rejected" and state.audit[0].before == '{"verdict": "automatic"}'
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE wb_audit SET actor='mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM wb_audit")


def test_assignment_takes_failed_calls_and_a_sample_of_passed_ones(store):
    db, rows = store
    assert parse_share("5%") == 0.05 and parse_share("0.5") == 0.5
    with pytest.raises(ValueError):
        parse_share("150%")
    day_a = pick_for_review(db, "2026-11-20", 0.05, failed=True, seed=1)
    assert day_a == [(rows["call_a"], "failed")]
    day_b = pick_for_review(db, "2026-11-21", 0.05, failed=True, seed=1)
    assert day_b == [(rows["call_b"], "sample")]  # at least one passed call when sampling
    assert pick_for_review(db, "2026-11-21", 0.0, failed=True) == []
    assert assign_calls(db, SUPERVISOR, day_a + day_b, "rita") == 2
    assert assign_calls(db, SUPERVISOR, day_a, "rita") == 0
    assert {c.row_id for c in list_calls(db, CallFilter(assigned_to="rita"), REVIEWER).calls} == {rows["call_a"], rows["call_b"]}


def test_calibration_and_exported_labels_follow_the_reviewers(store):
    db, rows = store
    a = rows["call_a"]
    report, _ = stored_report(db, a)
    for i, finding in enumerate(report["findings"]):
        verdict = "overturned" if finding["rule_id"].startswith("forbidden") else "confirmed"
        set_verdict(db, REVIEWER, a, i, finding["rule_id"], verdict, "heard it")
    add_finding(db, REVIEWER, a, "unauthorized_promise", 21.0, "保证")
    rates = {r.check_name: r for r in calibration(db)}
    assert rates["forbidden_phrases"].overturn_rate == 1.0 and rates["closing"].overturn_rate == 0.0
    assert rates["unauthorized_promise"].missed == 1
    state = review_state(db, a)
    labels = truth_labels(report, state.verdicts, state.added)
    expected = labels["expected"]
    assert expected["forbidden"] == [] and expected["closing"] == {"present": False}
    assert expected["unauthorized_promise"] == [{"phrase": "保证", "start_s": 21.0, "end_s": 22.0}]
    result = evaluate([EvalPair("WB-A-0001", labels, report)])
    assert result.check("forbidden_phrases").agreement == 0.0  # the automatic hits disagree with the reviewer
    assert result.check("closing").agreement == 1.0
