"""Issue 14: a damaged store is one StoreError naming the file (never a traceback); the batch lock."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from qa_pipeline.errors import StoreError
from qa_pipeline.store.results import CallKey, ResultStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from fuzz_inputs import _corrupt_index, _make_store  # noqa: E402  (the fuzz bench's store damage)


@pytest.fixture
def good_store(tmp_path: Path) -> Path:
    path = tmp_path / "good.sqlite"
    _make_store(path)
    return path


def test_a_corrupted_index_is_found_on_opening(good_store: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "index.sqlite"
    shutil.copy(good_store, damaged)
    _corrupt_index(damaged)
    with pytest.raises(StoreError, match="integrity check failed") as info:
        ResultStore(damaged)
    assert info.value.source == str(damaged)


@pytest.mark.parametrize("bad", ["{", "null", "[]", '"text"'])
def test_a_row_that_is_not_a_report_is_one_error_naming_the_row(good_store: Path, bad: str) -> None:
    with sqlite3.connect(good_store) as conn:
        conn.execute("UPDATE calls SET report_json=? WHERE id=3", (bad,))
    with ResultStore(good_store) as store:
        with pytest.raises(StoreError, match="row 3 holds a report that is not a JSON object"):
            list(store.iter_calls())
        assert len(store.done_keys()) == 30  # what does not read the reports still works


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_file_that_is_not_a_store_is_one_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError) as info:
        ResultStore(path)
    assert info.value.one_line().startswith(f"{path}: cannot open results store")


def test_a_second_batch_lock_waits_for_the_first(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    order: list[str] = []
    waited = threading.Event()
    with ResultStore(db) as first, ResultStore(db) as second:
        def other() -> None:
            with second.batch_lock(on_wait=waited.set):
                order.append("second")

        with first.batch_lock():
            thread = threading.Thread(target=other)
            thread.start()
            assert waited.wait(10)
            time.sleep(0.1)
            order.append("first")
        thread.join(10)
    assert order == ["first", "second"]


def test_an_unrelated_call_key_does_not_parse_reports(good_store: Path) -> None:
    with sqlite3.connect(good_store) as conn:
        conn.execute("UPDATE calls SET report_json='{' WHERE id=1")
    with ResultStore(good_store) as store:
        wanted = CallKey(f"{5:064x}", "p", "m")
        assert [c.key for c in store.iter_calls(keys=[wanted])] == [wanted]
