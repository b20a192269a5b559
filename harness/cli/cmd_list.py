"""``list``: every target, workload, checker, fault and node provider this
installation has, and where each comes from (built-in, a plugin's distribution
and version, or registered at run time).  A plugin that cannot be imported is
listed with its error instead of stopping the listing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.errors import BrokenPlugin

PLURAL = {"target": "targets", "workload": "workloads", "checker": "checkers",
          "fault": "faults", "provider": "providers"}


def _description(obj: Any) -> str:
    text = getattr(obj, "description", None)
    if not isinstance(text, str) or not text:
        text = (getattr(obj, "__doc__", None) or "").strip()
    if not text:
        # a class without its own docstring: its module says what it is
        text = (getattr(sys.modules.get(getattr(obj, "__module__", "")), "__doc__", None)
                or "").strip()
    return text.split("\n")[0].strip()


def entries(kind: str) -> list[dict[str, Any]]:
    """One row per name of ``kind``: name, origin, value, description, error."""
    from harness.registries import registry
    reg = registry(kind)
    eps = reg.entry_points()
    rows = []
    for name in reg.names():
        origin = reg.origin(name)
        ep = eps.get(name)
        row: dict[str, Any] = {"name": name, "origin": str(origin), "source": origin.source,
                               "value": ep.value if ep is not None and origin.source != "registered"
                               else origin.detail, "description": "", "error": None}
        try:
            row["description"] = _description(reg.get(name))
        except BrokenPlugin as e:
            row["error"] = str(e)
        rows.append(row)
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    singular = {v: k for k, v in PLURAL.items()}
    kinds = [singular.get(args.kind, args.kind)] if args.kind else list(PLURAL)
    table = {PLURAL[k]: entries(k) for k in kinds}
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    for title, rows in table.items():
        print(title)
        w_name = max((len(r["name"]) for r in rows), default=0)
        w_origin = max((len(r["origin"]) for r in rows), default=0)
        for r in rows:
            what = f"BROKEN: {r['error']}" if r["error"] else r["description"]
            print(f"  {r['name']:<{w_name}}  {r['origin']:<{w_origin}}  {what}".rstrip())
        print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list targets, workloads, checkers, faults and node "
                                    "providers, with where each comes from (plugins too)")
    p.add_argument("kind", nargs="?", choices=[*PLURAL, *PLURAL.values()],
                   help="only this kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)
