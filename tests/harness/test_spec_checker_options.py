"""A spec's checker options reach a checker the workload already runs."""

from harness.spec import spec_from_dict


def test_spec_options_refine_the_workloads_checker():
    s = spec_from_dict({"target": "etcd", "nodes": 3, "workload": "register",
                        "checkers": [{"name": "linearizable", "max_staleness_s": 2}]}, "x.yaml")
    opts = dict(s.all_checkers())
    assert opts["linearizable"]["max_staleness_s"] == 2
    assert opts["linearizable"].get("model")  # the workload's own options stay
    assert [n for n, _ in s.all_checkers()].count("linearizable") == 1
