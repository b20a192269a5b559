"""Helpers for the causal checker tests: tiny histories written as
sessions, and a hand-verifier for the evidence chains."""

from __future__ import annotations

from checkers.history import History, Op


def hist(*steps) -> History:
    """``steps``: (process, "w"|"r", key, value) run one after another,
    each as an invoke immediately followed by its ok completion."""
    ops: list[Op] = []
    for p, f, key, val in steps:
        f = {"w": "write", "r": "read"}[f]
        ops.append(Op(len(ops), len(ops) * 10, p, "invoke", f, key, val if f == "write" else None))
        ops.append(Op(len(ops), len(ops) * 10, p, "ok", f, key, val))
    return History(ops=ops)


def _is_path(edges: list[dict], a: int, b: int) -> bool:
    """The edges (minus the closing wr into b) chain a to b."""
    cur = a
    for e in edges:
        if e["from"] != cur:
            return False
        cur = e["to"]
    return cur == b


def verify_chain(h: History, item: dict) -> None:
    """Check every labelled edge of a pattern/violation against the history,
    the way a person would by hand (cf/hb edges down to their "why")."""
    by_index = {o.index: o for o in h.ops}
    refs = {r["index"]: r for r in item["ops"]}

    def check(e: dict) -> None:
        a, b = refs[e["from"]], refs[e["to"]]
        ia, ib = by_index[e["from"]], by_index[e["to"]]
        if e["rel"] == "so":
            assert a["process"] == b["process"] and ia.index < ib.index, e
        elif e["rel"] == "wr":
            assert a["f"] == "write" and b["f"] == "read", e
            assert a["key"] == b["key"] and b["result"] == a["value"], e
        elif e["rel"] in ("cf", "hb"):
            assert a["f"] == "write" and b["f"] == "write" and a["key"] == b["key"], e
            assert a["index"] != b["index"], e
            via = refs[e["via"]]
            assert via["f"] == "read" and via["key"] == b["key"] and via["result"] == b["value"], e
            why = e.get("why")
            if why is not None:
                *path, last = why
                assert last == {"from": e["to"], "to": e["via"], "rel": "wr"}, e
                assert _is_path(path, e["from"], e["via"]), e
                allowed = {"so", "wr"} if e["rel"] == "cf" else {"so", "wr", "hb"}
                for x in path:
                    assert x["rel"] in allowed, e
                    check(x)
        else:
            raise AssertionError(f"unexpected relation {e['rel']!r}")

    for e in item["chain"]:
        check(e)
