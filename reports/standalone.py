"""``splitbrain check HISTORY... --report out.html``: a report for histories
checked on their own (no run directory, no spec, no node logs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from checkers.history import HistoryError, load_history
from checkers.result import CheckResult

from .render import build_part, render


def _rel(target: Path, out_dir: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_uri()


def write_check_report(out_path: str | os.PathLike,
                       checked: Sequence[tuple[str | os.PathLike, CheckResult]]) -> Path:
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts, links = [], []
    n = 0
    for hist_path, result in checked:
        hp = Path(hist_path)
        error = None
        try:
            history = load_history(hp)
        except (OSError, HistoryError) as e:
            history, error = None, f"could not re-read the history: {e}"
        part = build_part(str(hist_path), history, [result], log_base=None, first_section=n,
                          error=error)
        n += len(part["sections"])
        parts.append(part)
        links.append((str(hist_path), _rel(hp, out.parent)))
    title = "splitbrain check" if len(parts) != 1 else f"splitbrain check: {parts[0]['title']}"
    html = render(title, parts, {}, None, links)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
