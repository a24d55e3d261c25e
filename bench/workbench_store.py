"""Workbench list and search speed on a 10,000-call store.

Fills a fresh results store with synthetic scored calls (20-40 utterances each, random check
verdicts, agents, queues, days; some customers read out phone numbers), indexes it, then times
the call list and the transcript search, in the store and through a real ``qa serve`` on loopback
(HTML page as a browser gets it). Prints medians in milliseconds.

    python bench/workbench_store.py [--calls 10000] [--repeats 15] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from qa_pipeline.store.call_index import CallFilter, list_calls, sync_index  # noqa: E402
from qa_pipeline.store.results import CallKey, ResultStore  # noqa: E402
from qa_pipeline.store.users import Role, User  # noqa: E402
from qa_pipeline.store.workbench_db import open_workbench  # noqa: E402
from qa_pipeline.types import CallMeta, Direction  # noqa: E402
from workbench_server import WorkbenchServer, add_people, login  # noqa: E402

CHECKS = ("greeting", "closing", "forbidden_phrases", "unauthorized_promise", "speaking_rate", "hangup", "hold")
AGENT_LINES = ("请问还有什么可以帮您", "我这边帮您查询一下", "请您稍等", "您的申请已经提交", "这个业务需要到网点办理",
               "我们会尽快核实处理", "请您核对一下预留信息", "账单已经发送到您的邮箱", "额度调整需要审核")
CUSTOMER_LINES = ("我想查一下账单", "为什么扣了年费", "我的卡被锁了", "转账一直没到账", "利息怎么算的",
                  "我要投诉", "能不能分期还款", "积分什么时候过期")


def _report(rng: random.Random, index: int) -> tuple[dict, CallMeta]:
    utterances, t = [], 0.0
    for _ in range(rng.randint(20, 40)):
        role = rng.choice(("agent", "customer"))
        text = rng.choice(AGENT_LINES if role == "agent" else CUSTOMER_LINES)
        if role == "customer" and rng.random() < 0.05:
            text += f"，电话是139{rng.randint(10_000_000, 99_999_999)}"
        utterances.append({"role": role, "channel": 0 if role == "agent" else 1, "start_s": t,
                           "end_s": t + 3.0, "text": f"{text}（{index % 997}）", "words": []})
        t += 4.0
    checks = {name: {"passed": rng.random() > 0.15} for name in CHECKS}
    findings = [{"rule_id": f"{n}.hit", "severity": "major", "message": n, "evidence": []}
                for n, c in checks.items() if not c["passed"]]
    agent = f"{rng.randint(1, 200):04d}"
    meta = CallMeta(f"B{index:06d}", agent, Direction.INBOUND, None, f"2026-11-{rng.randint(1, 28):02d}T09:00:00+08:00")
    score = 100.0 - 12.0 * len(findings)
    return ({"call_id": meta.call_id, "agent_id": agent, "direction": "inbound", "duration_s": t,
             "utterances": utterances, "checks": checks, "findings": findings, "score": score}, meta)


def fill(db: Path, calls: int) -> float:
    rng = random.Random(12)
    started = time.perf_counter()
    with ResultStore(db) as store:
        for i in range(calls):
            report, meta = _report(rng, i)
            store.record_result(CallKey(f"{i:064x}", "bench-policy", "bench-model"), report, f"/none/{i}.wav", meta)
    return time.perf_counter() - started


def _median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def store_times(db: Path, repeats: int) -> dict[str, float]:
    connection = open_workbench(db)
    viewer = User("bench", Role.REVIEWER, None)
    cases = {
        "list, newest first": CallFilter(),
        "list, failed closing, by score": CallFilter(failed_check="closing", sort="score"),
        "list, one agent, page 3": CallFilter(agent_id="0042", page=3, page_size=20),
        "search 3+ chars (FTS5)": CallFilter(query="转账一直没到账"),
        "search 2 chars (scan)": CallFilter(query="年费"),
        "search + failed + date range": CallFilter(query="核实处理", failed_check="any", date_from="2026-11-05", date_to="2026-11-20"),
    }
    out = {name: _median_ms(lambda f=f: (sync_index(connection), list_calls(connection, f, viewer)), repeats)
           for name, f in cases.items()}
    connection.close()
    return out


def http_times(db: Path, tmp: Path, repeats: int) -> dict[str, float]:
    add_people(db, {"rita": (Role.REVIEWER, None)})
    server = WorkbenchServer(db, tmp / "server.log")
    try:
        client = login(server.url, "rita")
        cases = {"GET /calls": {}, "GET /calls?failed=any&sort=score": {"failed": "any", "sort": "score"},
                 "GET /calls?q=转账一直没到账": {"q": "转账一直没到账"}, "GET /calls?q=年费": {"q": "年费"}}
        out = {}
        for name, params in cases.items():
            assert client.get("/calls", params=params).status_code == 200
            out[name] = _median_ms(lambda p=params: client.get("/calls", params=p), repeats)
        client.close()
        return out
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="build the store in this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        db = tmp / "bench.sqlite"
        db.unlink(missing_ok=True)
        print(f"filling {args.calls} calls: {fill(db, args.calls):.1f} s")
        connection = open_workbench(db)
        started = time.perf_counter()
        indexed = sync_index(connection)
        connection.close()
        print(f"first index of {indexed} calls (once, on the first list): {time.perf_counter() - started:.1f} s")
        print(f"median of {args.repeats} runs, in the store:")
        for name, ms in store_times(db, args.repeats).items():
            print(f"  {name:<34} {ms:7.1f} ms")
        print("median through qa serve on loopback (login session, HTML page of 50 rows):")
        for name, ms in http_times(db, tmp, args.repeats).items():
            print(f"  {name:<34} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
