"""The cluster drill's checks fail when they should (scripts/cluster_drill.py).

The drill itself needs the local cluster (`make cluster-up && make cluster-drill`); these
tests feed its checks what a bad run would show: a 500, an answer that is not the API's
JSON error, a write missing on a node, row counts that differ, a node that came back by a
whole snapshot instead of an incremental transfer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bench._http import ConnectionLost, Response

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("cluster_drill", ROOT / "scripts/cluster_drill.py")
drill = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("cluster_drill", drill)  # its dataclasses look their module up
_spec.loader.exec_module(drill)

UUID = "89d62737-f1d1-11f1-b1fc-963c47de7649"
# node1.err after a restart (MariaDB 10.11, Galera 4, rsync): only the missed writesets came,
# though the log speaks of "SST" too.
IST_LOG = f"""\
[Note] WSREP: State transfer required:
\tGroup state: {UUID}:544
\tLocal state: {UUID}:542
[Note] WSREP: Prepared IST receiver for 543-544, listening at: tcp://127.0.0.1:4577
WSREP_SST: [INFO] rsync IST completed on joiner (20261207 00:03:59.186)
[Note] WSREP: SST received: {UUID}:542
[Note] WSREP: SST succeeded for position {UUID}:542
[Note] WSREP: Installed new state from SST: {UUID}:542
[Note] WSREP: Receiving IST: 2 writesets, seqnos 543-544
[Note] WSREP: IST received: {UUID}:544
"""
# A node that lost its data: a whole snapshot, then the writesets since.
SST_LOG = f"""\
[Note] WSREP: State transfer required:
\tGroup state: {UUID}:542
\tLocal state: 00000000-0000-0000-0000-000000000000:-1
WSREP_SST: [INFO] rsync SST completed on joiner (20261207 00:03:37.833)
[Note] WSREP: Installed new state from SST: {UUID}:540
[Note] WSREP: IST received: {UUID}:542
"""


def test_a_rejoin_by_ist_passes():
    by_ist, detail = drill.state_transfer(IST_LOG)
    assert by_ist, detail


def test_a_rejoin_by_a_whole_snapshot_fails():
    by_ist, detail = drill.state_transfer(SST_LOG)
    assert not by_ist
    assert "local state -1" in detail


def test_a_newer_snapshot_over_a_known_position_fails():
    log = IST_LOG.replace(f"Installed new state from SST: {UUID}:542", f"… SST: {UUID}:543")
    log = log.replace("rsync IST completed", "x") + f"Installed new state from SST: {UUID}:543\n"
    assert drill.state_transfer(log)[0] is False


def test_no_state_transfer_logged_fails():
    assert (
        drill.state_transfer("[Note] WSREP: Synchronized with group, ready for connections")[0]
        is False
    )


class FakeClient:
    """Answers from a list, in order; an exception in the list is raised."""

    def __init__(self, answers):
        self.answers = list(answers)

    async def request(self, method, path, **kwargs):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self):
        pass


def error(status: int, code: str) -> Response:
    body = {"error": {"code": code, "message": "…", "details": {}}}
    return Response(status, json.dumps(body).encode())


def record_of(*answers) -> drill.Record:
    record, client = drill.Record(), FakeClient(answers)

    async def send() -> None:
        for _answer in answers:
            await record.call("book", client, "POST", "/x", ack=[("appointment", "id")])

    # In a thread of its own: the browser tests leave an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, send()).result()
    return record


def checks_of(record: drill.Record) -> dict[str, bool]:
    plan = type("Plan", (), {"check_in_open": False})()
    return {check.name: check.passed for check in drill.load_checks(plan, record)}


NO_500 = "no answer with status 500"
CLEAR = "every answer a 2xx, or a 409/503 JSON error with the unified body"


def test_successes_and_clear_refusals_pass_and_record_the_ids():
    record = record_of(
        Response(201, b'{"id": 7}'), error(409, "no_capacity"), error(503, "unavailable")
    )
    assert record.acknowledged == {"appointment": {7}}
    checks = checks_of(record)
    assert checks[NO_500] and checks[CLEAR]


def test_a_500_fails():
    checks = checks_of(record_of(Response(201, b'{"id": 7}'), error(500, "server_error")))
    assert not checks[NO_500]
    assert not checks[CLEAR]


@pytest.mark.parametrize(
    "answer",
    [
        Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Response(503, b"<html>Service Unavailable</html>"),  # not the JSON error
        error(400, "validation_error"),  # not a refusal the load should meet
        ConnectionLost(),
    ],
)
def test_an_unclear_answer_fails(answer):
    checks = checks_of(record_of(Response(201, b'{"id": 7}'), answer))
    assert checks[NO_500]
    assert not checks[CLEAR]


def test_a_load_answered_mostly_503_fails():
    """A 503 is a fair answer during the faults, but a run of them is not a pass."""
    few = [Response(201, b'{"id": %d}' % n) for n in range(40)] + [error(503, "unavailable")]
    many = [Response(201, b'{"id": 7}')] + [error(503, "unavailable")] * 10
    name = f"at most {drill.MAX_UNAVAILABLE:.0%} of the answers a 503"
    assert checks_of(record_of(*few))[name]
    assert not checks_of(record_of(*many))[name]


def test_a_load_without_acknowledged_writes_fails():
    checks = checks_of(record_of(error(409, "no_capacity")))
    assert not checks["the load wrote: each write operation acknowledged"]


def args_with_nodes(count: int = 3):
    return type("Args", (), {"node_urls": [f"mysql://n{n}" for n in range(count)]})()


def test_a_write_missing_on_one_node_fails(monkeypatch):
    record = record_of(Response(201, b'{"id": 7}'), Response(201, b'{"id": 8}'))
    held = {"mysql://n0": {7, 8}, "mysql://n1": {7}, "mysql://n2": {7, 8}}
    monkeypatch.setattr(
        drill, "query", lambda url, sql, params: [(pk,) for pk in params if pk in held[url]]
    )
    passed = [check.passed for check in drill.acknowledged_checks(args_with_nodes(), record)]
    assert passed == [True, False, True]


def test_row_counts_that_differ_fail(monkeypatch):
    counts = {"mysql://n0": {"a": 1, "b": 2}, "mysql://n1": {"a": 1, "b": 3}}
    monkeypatch.setattr(drill, "row_counts", lambda url: counts.get(url, counts["mysql://n0"]))
    monkeypatch.setattr(drill.time, "sleep", lambda seconds: None)
    check = drill.row_count_check(args_with_nodes())
    assert not check.passed
    assert "b: 2/3/2" in check.detail


def test_identical_row_counts_pass(monkeypatch):
    monkeypatch.setattr(drill, "row_counts", lambda url: {"a": 1, "b": 2})
    assert drill.row_count_check(args_with_nodes()).passed
