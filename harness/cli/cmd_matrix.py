"""``test-all MATRIX.yaml``: run targets × nemeses from one file and print a
summary table of verdicts.

A matrix file (docs/targets.md, "Matrix")::

    name: smoke
    base:                       # spec fields shared by every cell
      nodes: {provider: netns, count: 3}
      workload: {name: register}
      time_limit: 20s
    targets:                    # each a spec `target` value; `with:` overrides base
      - etcd
      - {name: zookeeper, reads: sync, with: {health_timeout: 60s}}
      - {name: redis, expect: [valid, invalid]}   # verdicts this target may end with
      - {name: zookeeper, reads: plain, label: zk-plain}   # label: the name in the table
    nemeses:                    # each a spec `nemesis` value, or none; `label:` names it
      - {faults: [partition], interval: 5s}
      - {faults: [clock], label: clock}

Every cell is validated before the first one starts.  A cell whose fault the
target declares unsupported is not run: it is listed as ``refused`` with the
target's reason (that is a property of the target, not a failure).  Cells run
one after another through the normal run lifecycle (``harness.lifecycle``), each to
its own run directory.

``expect`` (on a target or a nemesis entry; the target's wins) lists the
verdicts a cell may end with — a target known to lose writes under a fault
may be expected ``invalid``.  Without it a cell is expected ``valid``.  Exit
code: 1 if any cell ended invalid without that being expected, or with a
verdict outside its ``expect``; else 2 if any ended unknown or could not run;
else 0.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

MATRIX_FIELDS = ("name", "base", "targets", "nemeses", "store")
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Cell:
    index: int
    target: str
    target_value: Any            # what goes into the spec's `target` field
    overrides: dict[str, Any]
    nemesis_label: str
    nemesis_value: Any           # what goes into the spec's `nemesis` field
    refused: str | None = None   # the target's reason, when it cannot take a fault
    expect: tuple[str, ...] = ("valid",)
    target_name: str = ""        # the target itself (``target`` may be a label)
    spec: Any = None
    result: dict[str, Any] = field(default_factory=dict)


VERDICT_WORDS = ("valid", "invalid", "unknown")


def _expect(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    words = [value] if isinstance(value, str) else value
    if not isinstance(words, list) or not words or \
            any(w not in VERDICT_WORDS for w in words):
        raise UserError(f"{where}: expected one of {', '.join(VERDICT_WORDS)} or a list of "
                        f"them, got {value!r}")
    return tuple(words)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _faults(value: Any) -> list[str]:
    if value is None or value == "none":
        return []
    if isinstance(value, str):
        return [f.strip() for f in value.split(",") if f.strip()]
    if isinstance(value, dict) and isinstance(value.get("faults"), list):
        return [f for f in value["faults"] if isinstance(f, str)]
    return []


def _label(value: Any) -> str:
    fs = _faults(value)
    return "+".join(fs) if fs else "none"


def _cell_name(matrix: str, target: str, label: str) -> str:
    name = _NAME_BAD.sub("-", f"{matrix}-{target}-{label}").strip("-._") or "cell"
    return name[:64]


def load_matrix(path: str | Path) -> tuple[str, list[Cell], Any]:
    """Parse and validate a matrix file; UserError naming file and field when bad."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise UserError(f"{p}: no such matrix file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: cannot read the matrix: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{p}{where}: YAML syntax error: "
                        f"{getattr(e, 'problem', None) or str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{p}: expected a mapping with {', '.join(MATRIX_FIELDS)}")
    for k in doc:
        if k not in MATRIX_FIELDS:
            raise UserError(f"{p}: {k}: unknown field; expected one of {', '.join(MATRIX_FIELDS)}")
    name = doc.get("name") or p.stem
    if not isinstance(name, str) or not name:
        raise UserError(f"{p}: name: expected a non-empty string, got {name!r}")
    base = doc.get("base") or {}
    if not isinstance(base, dict):
        raise UserError(f"{p}: base: expected a mapping of spec fields, got {type(base).__name__}")
    for k in ("target", "nemesis", "name"):
        if k in base:
            raise UserError(f"{p}: base.{k}: set per cell by the matrix; remove it from base")
    tlist, nlist = doc.get("targets"), doc.get("nemeses")
    if not isinstance(tlist, list) or not tlist:
        raise UserError(f"{p}: targets: expected a non-empty list of targets "
                        "(a name, or {name: ..., <options>, with: {<spec fields>}})")
    if not isinstance(nlist, list) or not nlist:
        raise UserError(f"{p}: nemeses: expected a non-empty list (a nemesis mapping, "
                        "'partition,kill', or none)")
    import targets as targets_pkg
    cells: list[Cell] = []
    for i, t in enumerate(tlist):
        overrides: dict[str, Any] = {}
        t_expect = None
        t_label = None
        if isinstance(t, str):
            tname, tval, topts = t, t, {}
        elif isinstance(t, dict) and isinstance(t.get("name"), str):
            t = dict(t)
            overrides = t.pop("with", None) or {}
            t_expect = _expect(t.pop("expect", None), f"{p}: targets[{i}].expect")
            t_label = t.pop("label", None)
            if t_label is not None and (not isinstance(t_label, str) or not t_label):
                raise UserError(f"{p}: targets[{i}].label: expected a string, got {t_label!r}")
            if not isinstance(overrides, dict):
                raise UserError(f"{p}: targets[{i}].with: expected a mapping of spec fields")
            for k in ("target", "nemesis", "name"):
                if k in overrides:
                    raise UserError(f"{p}: targets[{i}].with.{k}: set per cell by the matrix")
            tname, tval = t["name"], t
            topts = {k: v for k, v in t.items() if k != "name"}
        else:
            raise UserError(f"{p}: targets[{i}]: expected a target name or a mapping with "
                            f"name:, got {t!r}")
        try:
            target = targets_pkg.get(tname)(topts)
        except (targets_pkg.UnknownTarget, targets_pkg.OptionError) as e:
            raise UserError(f"{p}: targets[{i}]: {e}") from None
        for j, n in enumerate(nlist):
            nval = n
            label = None
            n_expect = None
            if isinstance(n, dict):
                nval = dict(n)
                label = nval.pop("label", None)
                n_expect = _expect(nval.pop("expect", None), f"{p}: nemeses[{j}].expect")
                if label is not None and not isinstance(label, str):
                    raise UserError(f"{p}: nemeses[{j}].label: expected a string, got {label!r}")
            label = label or _label(nval)
            cell = Cell(len(cells), t_label or tname, tval, overrides, label, nval,
                        expect=t_expect or n_expect or ("valid",), target_name=tname)
            for f in _faults(nval):
                ok, why = target.supports(f)
                if not ok:
                    cell.refused = f"{f}: {why}"
                    break
            cells.append(cell)
    from harness import spec as spec_mod
    for c in cells:
        if c.refused:
            continue
        d = _merge(base, c.overrides)
        d.update({"name": _cell_name(name, c.target, c.nemesis_label), "target": c.target_value,
                  "nemesis": c.nemesis_value})
        c.spec = spec_mod.spec_from_dict(d, source=f"{p} (cell {c.target} x {c.nemesis_label})")
    return name, cells, doc.get("store")


def _ops(meta: dict[str, Any]) -> str:
    o = meta.get("ops") or {}
    return f"{o.get('ok', 0)}/{o.get('fail', 0)}/{o.get('info', 0)}"


def run_cell(cell: Cell, store: Path, args: argparse.Namespace, stop: threading.Event) -> None:
    from checkers.result import verdict_word
    from harness.lifecycle import RunAbort, execute

    from harness.plan import plan_from_spec
    plan = plan_from_spec(cell.spec)
    if args.time_limit is not None:
        plan.time_limit_s = args.time_limit
        plan.spec_dict["time_limit"] = args.time_limit
    t0 = time.monotonic()
    try:
        out = execute(plan, store, live=False, stop=stop)
    except RunAbort as e:
        cell.result = {"verdict": "error", "reason": str(e), "elapsed_s": time.monotonic() - t0}
        return
    meta = out.meta or {}
    failing = [r for r in out.results if r.valid is not True]
    reason = failing[0].summary if failing else (out.results[0].summary if out.results else "")
    cell.result = {"verdict": verdict_word(out.verdict), "run_dir": str(out.run_dir.path)
                   if out.run_dir else None, "ops": meta.get("ops") or {},
                   "reason": (f"{failing[0].checker}: {reason}" if failing else reason),
                   "elapsed_s": time.monotonic() - t0, "error": out.error,
                   "interrupted": meta.get("interrupted")}


def _print_table(name: str, cells: list[Cell], console: Any = None) -> None:
    rows = []
    for c in cells:
        exp = "/".join(c.expect)
        if c.refused:
            rows.append((c.target, c.nemesis_label, "refused", "-", "-", c.refused, ""))
            continue
        r = c.result
        if not r:
            rows.append((c.target, c.nemesis_label, "not run", exp + " ✗", "-",
                         "interrupted before it ran", ""))
            continue
        rows.append((c.target, c.nemesis_label, r["verdict"],
                     exp + (" ✓" if cell_ok(c) else " ✗"),
                     _ops({"ops": r.get("ops")}) if r.get("ops") else "-",
                     r.get("reason") or "", r.get("run_dir") or ""))
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich ships with the project
        for row in rows:
            print("  ".join(str(x) for x in row))
        return  # (plain rows already hold each path whole)
    colour = {"valid": "green", "invalid": "bold red", "unknown": "yellow", "error": "yellow",
              "refused": "dim", "not run": "dim"}
    table = Table(title=f"matrix {name}", show_lines=True)
    for col in ("#", "target", "nemesis", "verdict", "expected", "ok/fail/info", "reason"):
        table.add_column(col, overflow="fold")
    for i, row in enumerate(rows, 1):
        table.add_row(str(i), row[0], row[1], f"[{colour.get(row[2], '')}]{row[2]}[/]", row[3],
                      row[4], row[5][:240])
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, 180))   # logs and CI: room for run dirs
    console.print(table)
    # Run directories below the table, one a line and never wrapped by us: a table
    # cell folds a long path across lines, and then it cannot be copied.
    runs = [(i, row) for i, row in enumerate(rows, 1) if row[6]]
    if runs:
        console.print("run directories:", highlight=False)
        for i, row in runs:
            console.print(f"  {i:>2}  {row[6]}", soft_wrap=True, highlight=False, markup=False)


def cell_ok(c: Cell) -> bool | None:
    """True when a run cell ended as expected, False when not, None for refused cells."""
    if c.refused:
        return None
    return c.result.get("verdict") in c.expect


def exit_code_for(cells: list[Cell]) -> int:
    ran = [c for c in cells if not c.refused]
    if any(not cell_ok(c) and c.result.get("verdict") in ("valid", "invalid") for c in ran):
        return 1
    if any(not cell_ok(c) for c in ran):      # unknown, error, or not run
        return 2
    return 0


def cmd_test_all(args: argparse.Namespace) -> int:
    from core.store import store_root
    name, cells, spec_store = load_matrix(args.matrix)
    if args.target:
        cells = [c for c in cells if c.target in args.target or c.target_name in args.target]
        if not cells:
            raise UserError(f"{args.matrix}: no cell has target {', '.join(args.target)}")
    if args.list:
        for c in cells:
            state = f"refused ({c.refused})" if c.refused else "runs"
            print(f"{c.index:3}  {c.target:12} {c.nemesis_label:24} {state}")
        return 0
    store = store_root(args.store or spec_store)
    stop = threading.Event()
    try:
        for c in cells:
            if c.refused:
                print(f"[matrix] {c.target} x {c.nemesis_label}: refused — {c.refused}", flush=True)
                continue
            if stop.is_set():
                break
            print(f"[matrix] {c.target} x {c.nemesis_label}: running", flush=True)
            run_cell(c, store, args, stop)
            # Ctrl-C inside a cell ends that cell (healed, judged); the rest are skipped.
            if c.result.get("interrupted") or stop.is_set():
                stop.set()
    except KeyboardInterrupt:
        print("[matrix] interrupted between cells; the remaining cells are not run", flush=True)
    _print_table(name, cells)
    if args.summary:
        doc = {"matrix": name, "cells": [
            {"target": c.target, "nemesis": c.nemesis_label, "refused": c.refused,
             "expect": list(c.expect), "as_expected": cell_ok(c), **c.result}
            for c in cells]}
        Path(args.summary).write_text(json.dumps(doc, indent=2, default=str))
    return exit_code_for(cells)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test-all", help="run a matrix of targets x nemeses and print a table "
                                        "of verdicts",
                       description="Run every target x nemesis cell of MATRIX.yaml through the "
                                   "normal run lifecycle, one after another.")
    p.add_argument("matrix", metavar="MATRIX.yaml")
    p.add_argument("--target", action="append", help="only cells of this target (repeatable)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="override every cell's main-phase time limit")
    p.add_argument("--list", action="store_true", help="list the cells and exit")
    p.add_argument("--summary", metavar="FILE.json", help="also write the table as JSON")
    p.add_argument("--store", help="store directory (default ./store or $SPLITBRAIN_STORE)")
    p.set_defaults(func=cmd_test_all)
