"""The run report: ``report.html`` in a run directory, one self-contained
file (inline CSS and SVG, a few lines of inline JS, nothing fetched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from checkers.history import History, HistoryError, load_history
from checkers.result import CheckResult
from core.store import RunDir

from .render import build_part, render

_LOG_FILES_LISTED = 200


def render_report(history: History | None, results: Sequence[CheckResult],
                  meta: dict[str, Any] | None = None, spec_text: str | None = None,
                  *, links: list[tuple[str, str]] | None = None,
                  log_base: str | None = "logs", error: str | None = None) -> str:
    """The HTML of a run's report (``history`` may be None when it is unreadable)."""
    meta = dict(meta or {})
    title = f"splitbrain: {meta.get('name') or 'run'}"
    part = build_part(meta.get("name") or "run", history, list(results), log_base=log_base,
                      error=error)
    return render(title, [part], meta, spec_text, links or [])


def _links(run: RunDir) -> list[tuple[str, str]]:
    """Relative links to the raw files, so the report works wherever the run dir is copied."""
    out = []
    for name in ("history.jsonl", "spec.yaml", "results.json", "run.json"):
        if (run.path / name).exists():
            out.append((name, name))
    if run.logs.is_dir():
        files = sorted(p for p in run.logs.rglob("*") if p.is_file())
        for p in files[:_LOG_FILES_LISTED]:
            rel = p.relative_to(run.path).as_posix()
            out.append((rel, rel))
        if len(files) > _LOG_FILES_LISTED:
            out.append((f"… {len(files) - _LOG_FILES_LISTED} more log files", "logs/"))
    return out


def read_results(run: RunDir) -> list[CheckResult]:
    """results.json, or [] when the run was never checked; ValueError naming the file if corrupt."""
    if not run.results.exists():
        return []
    try:
        _, results = run.read_results()
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{run.results}: not a results file ({type(e).__name__}: {e}); expected "
                         '{"valid": ..., "checkers": [{"checker": ..., "valid": ...}, ...]}') from None
    return results


def write_report(run_dir: Path | str) -> Path:
    """Read a run directory and write its ``report.html``; returns the path."""
    run = RunDir(Path(run_dir))
    if not run.history.exists():
        raise ValueError(f"{run.path}: not a run directory (no history.jsonl in it)")
    error = None
    try:
        history: History | None = load_history(run.history)
    except HistoryError as e:
        # A torn or corrupt history must not hide the verdicts already reached.
        history, error = None, f"could not read the history: {e}"
    results = read_results(run)
    meta = run.read_meta()
    if not meta and run.meta_path.exists():
        try:
            json.loads(run.meta_path.read_text())
        except ValueError as e:
            raise ValueError(f"{run.meta_path}: not valid JSON ({e})") from None
    spec_text = run.spec.read_text(errors="replace") if run.spec.exists() else None
    html = render_report(history, results, meta, spec_text, links=_links(run), error=error)
    tmp = run.report.with_name("report.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(run.report)
    return run.report
