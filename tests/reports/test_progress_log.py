"""Progress lines for CI logs, driven by a fake clock and real stats callables."""

import io
import time

from reports.progress_log import ProgressLog


def test_disabled_prints_nothing():
    out = io.StringIO()
    p = ProgressLog(False, out=out)
    p.phase("main")
    p.fault("start-partition", "halves", {"topology": "halves", "grudge": {"n1": ["n2"]}})
    assert out.getvalue() == ""


def test_phase_and_fault_lines():
    out = io.StringIO()
    t = [100.0]
    p = ProgressLog(True, out=out, clock=lambda: t[0])
    for name in ("provision", "setup", "main"):
        t[0] += 2.5
        p.phase(name)
    p.fault("start-partition", "halves",
            {"topology": "halves", "grudge": {"n1": ["n3"], "n3": ["n1"]}})
    p.fault("kill", "one", {"nodes": ["n2"]})
    p.fault("stop-partition", None, {"healed": True})
    p.fault("pause", "one", error=RuntimeError("no such process"))
    p.fault("heal", None, {"healed": ["restarted: n2"]})
    p.fault("heal", None, {"healed": []})
    lines = out.getvalue().splitlines()
    assert lines[0] == "splitbrain: [    2.5 s] starting nodes"
    assert "nodes up" in lines[1] and "target healthy; main phase" in lines[2]
    assert lines[3].endswith("fault applied: start-partition halves n1✕n3; n3✕n1")
    assert lines[4].endswith("fault applied: kill n2")
    assert lines[5].endswith("healed: stop-partition healed true")
    assert "FAILED: pause one: RuntimeError: no such process" in lines[6]
    assert lines[7].endswith("healed: everything (restarted: n2)")
    assert lines[8].endswith("healed: everything (nothing was in force)")


def test_op_counts_every_interval_until_the_run_stops():
    out = io.StringIO()
    n = [0]

    def stats():
        n[0] += 100
        return {"ok": n[0], "fail": 3, "info": 1, "outstanding": 2, "ops_per_s": 250.0,
                "active_faults": ["killed n2"]}
    p = ProgressLog(True, out=out, every_s=0.05)
    p.phase("main")
    p.follow(stats)
    deadline = time.monotonic() + 5
    while out.getvalue().count("ops:") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    p.phase("check")  # stops the ticker
    text = out.getvalue()
    assert "main: ops: 104 done (100 ok, 3 fail, 1 info), 2 in flight, 250/s; " \
           "faults in force: killed n2" in text
    settled = out.getvalue().count("ops:")
    time.sleep(0.2)
    assert out.getvalue().count("ops:") == settled
