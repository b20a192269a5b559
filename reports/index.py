"""``store/index.html``: every run in the store, newest first."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from checkers.result import verdict_word
from core.store import RunDir, iter_runs

from .fmt import short
from .render import env

MAX_RUNS = 5000


def _verdict(run: RunDir, meta: dict[str, Any]) -> str:
    if "verdict" in meta:
        v = meta["verdict"]
        return v if v in ("valid", "invalid", "unknown") else verdict_word(v)
    try:
        return verdict_word(json.loads(run.results.read_text()).get("valid"))
    except (OSError, ValueError, AttributeError):
        return "not checked"


def _faults(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(short(k, 30) for k in v)
    if isinstance(v, (list, tuple)):
        return ", ".join(short(x.get("name") if isinstance(x, dict) and "name" in x else x, 30)
                         for x in v)
    return short(v, 80) if v else ""


def _ops(v: Any) -> Any:
    """run.json's ops: a count, or counts by kind ({"total": n, "ok": ...})."""
    if isinstance(v, dict):
        return v.get("total", sum(x for x in v.values() if isinstance(x, int)))
    return v if isinstance(v, int) else (short(v, 20) if v is not None else "")


def run_rows(root: Path) -> list[dict[str, Any]]:
    rows = []
    for i, run in enumerate(iter_runs(root)):
        if i >= MAX_RUNS:
            break
        meta = run.read_meta()
        rel = run.path.relative_to(root).as_posix()
        report = f"{rel}/report.html" if run.report.exists() else None
        rows.append({
            "time": short(meta.get("started") or run.path.name, 40),
            "name": short(meta.get("name") or run.path.parent.name, 100),
            "target": short(meta.get("target"), 60) if meta.get("target") else "",
            "faults": _faults(meta.get("faults")),
            "verdict": _verdict(run, meta),
            "ops": _ops(meta.get("ops")),
            "href": report or (f"{rel}/history.jsonl" if run.history.exists() else f"{rel}/"),
            "dir": rel,
        })
    return rows


def render_index(root: Path) -> str:
    rows = run_rows(root)
    return env().get_template("index.html.j2").render(
        rows=rows, root=str(root), capped=len(rows) >= MAX_RUNS,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))


def write_index(store_root: str | os.PathLike) -> Path:
    root = Path(store_root)
    root.mkdir(parents=True, exist_ok=True)
    out = root / "index.html"
    tmp = root / ".index.html.tmp"
    tmp.write_text(render_index(root), encoding="utf-8")
    tmp.replace(out)
    return out
