"""The transactional workloads' final phase: read-only transactions over every key
the main phase wrote, each retried until it ends ok; bank's final reads likewise."""

from __future__ import annotations

import random

import pytest

import workloads
from core.generator import clients, limit, simulate, time_limit


def _main_then_final(name: str, n_ops: int, outcome=None, **options):
    wl = workloads.get(name)
    main = wl.generator(options, random.Random(7))
    ran = simulate(clients(limit(n_ops, main)), concurrency=3, seed=1)
    final = wl.final_generator(options, main=lambda: main)
    return ran, simulate(time_limit(30, final), concurrency=3, seed=2, outcome=outcome)


@pytest.mark.parametrize("name", ["list-append", "rw-register"])
def test_final_reads_cover_every_key_written(name: str) -> None:
    ran, final = _main_then_final(name, 400, final_read_keys=3)
    written = {k for o in ran for f, k, _ in o["value"] if f != "r"}
    read = [k for o in final for f, k, v in o["value"] if f == "r" and v is None]
    assert all(f == "r" for o in final for f, _, _ in o["value"])
    assert written <= set(read) and len(read) == len(set(read)) == max(written) + 1
    assert max(len(o["value"]) for o in final) == 3


def test_a_failed_final_read_is_retried_until_ok() -> None:
    tries: dict = {}

    def outcome(op) -> str:
        k = op["value"][0][1]
        tries[k] = tries.get(k, 0) + 1
        return "ok" if k != 0 or tries[k] > 2 else "fail"

    _, final = _main_then_final("list-append", 50, outcome)
    firsts = [o for o in final if o["value"][0][1] == 0]
    assert len(firsts) == 3
    assert firsts[1]["time"] - firsts[0]["time"] >= 500_000_000   # retried after a pause


def test_failing_final_reads_stop_at_the_time_limit() -> None:
    _, final = _main_then_final("list-append", 50, lambda op: "fail")
    assert final and max(o["time"] for o in final) < 30 * 1_000_000_000


def test_bank_final_read_retried_per_process() -> None:
    wl = workloads.get("bank")
    seen: dict = {}

    def outcome(op) -> str:
        seen[len(seen)] = op
        return "fail" if len(seen) <= 3 else "ok"

    out = simulate(time_limit(30, wl.final_generator({})), concurrency=3, seed=1,
                   outcome=outcome)
    assert len(out) == 6 and {o["f"] for o in out} == {"read"}
