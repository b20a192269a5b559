"""Console output with rich: the live panel during a run, progress bars while
checking, and the verdict table at the end."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn,
                           TimeElapsedColumn)
from rich.table import Table
from rich.text import Text

from checkers.result import CheckResult, merge_verdicts, verdict_word

_STYLE = {"valid": "bold green", "invalid": "bold red", "unknown": "bold yellow"}


def verdict_table(results: Sequence[CheckResult]) -> Table:
    t = Table(title="Verdicts", title_justify="left", expand=False)
    t.add_column("checker", style="bold")
    t.add_column("verdict")
    t.add_column("reason", overflow="fold")
    t.add_column("time", justify="right")
    for r in results:
        w = verdict_word(r.valid)
        # Text(...) rather than markup strings: a summary quoting a history
        # value like "[red]" must print literally.
        t.add_row(Text(r.checker), Text(w, style=_STYLE[w]), Text(r.summary),
                  Text(f"{r.elapsed_s:.2f} s"))
    return t


def print_verdicts(results: Sequence[CheckResult], report_path: str | Path | None,
                   console: Console | None = None) -> None:
    """The end-of-run summary: one row per checker, the overall verdict, the report path."""
    c = console or Console()
    if results:
        c.print(verdict_table(results))
    else:
        c.print(Text("no checker results", style="yellow"))
    w = verdict_word(merge_verdicts(r.valid for r in results))
    line = Text("overall: ")
    line.append(w.upper(), style=_STYLE[w])
    c.print(line)
    if report_path:
        c.print(Text(f"report: {report_path}"))


def _panel(stats: dict[str, Any]) -> Panel:
    elapsed = float(stats.get("elapsed_s") or 0.0)
    limit = stats.get("time_limit_s")
    head = Table.grid(padding=(0, 2))
    head.add_row(
        Text(f"elapsed {elapsed:6.1f} s" + (f" / {float(limit):.0f} s" if limit else "")),
        Text(f"{float(stats.get('ops_per_s') or 0):8.1f} ops/s"),
        Text(f"ok {int(stats.get('ok') or 0)}", style="green"),
        Text(f"fail {int(stats.get('fail') or 0)}", style="red"),
        Text(f"info {int(stats.get('info') or 0)}", style="yellow"),
        Text(f"in flight {int(stats['outstanding'])}" if stats.get("outstanding") is not None
             else ""))
    parts: list[Any] = [head]
    if limit:
        bar = Progress(BarColumn(bar_width=None), expand=True)
        bar.add_task("", total=float(limit), completed=min(elapsed, float(limit)))
        parts.append(bar)
    raw = stats.get("active_faults") or []
    faults = [raw] if isinstance(raw, str) else [str(f) for f in raw]
    parts.append(Text("faults: ", style="bold").append(
        ", ".join(faults) if faults else "none", style="magenta" if faults else "dim"))
    nodes = stats.get("nodes") or {}
    if nodes:
        line = Text("nodes:  ", style="bold")
        for name, up in nodes.items():
            line.append(f"{'●' if up else '✕'} {name}  ", style="green" if up else "bold red")
        parts.append(line)
    return Panel(Group(*parts), title="splitbrain run", border_style="blue")


class LivePanel:
    """A rich Live panel refreshed from ``stats_fn()`` a few times a second.

    ``stats_fn`` returns a dict with ``elapsed_s, time_limit_s, ops_per_s, ok,
    fail, info, active_faults, nodes``; missing keys show as zero/none.  An
    exception from ``stats_fn`` is shown in the panel instead of killing the
    refresh thread, so the run is never disturbed by its display.
    """

    def __init__(self, stats_fn: Callable[[], dict], time_limit_s: float | None = None, *,
                 console: Console | None = None, refresh_per_second: float = 4):
        self.stats_fn = stats_fn
        self.time_limit_s = time_limit_s
        self.console = console or Console()
        self._lock = threading.Lock()  # before Live: it renders once on construction
        self._live = Live(get_renderable=self.render, console=self.console,
                          refresh_per_second=refresh_per_second, transient=False)

    def render(self) -> Panel:
        with self._lock:
            try:
                stats = dict(self.stats_fn() or {})
            except Exception as e:  # noqa: BLE001 - the display must never break a run
                return Panel(Text(f"stats unavailable: {type(e).__name__}: {e}"),
                             title="splitbrain run", border_style="red")
        stats.setdefault("time_limit_s", self.time_limit_s)
        return _panel(stats)

    def refresh(self) -> None:
        self._live.refresh()

    def __enter__(self) -> "LivePanel":
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.__exit__(*exc)


class _Count(MofNCompleteColumn):
    """done/total, or nothing for work of unknown size (one key's search)."""

    def render(self, task: Any) -> Text:
        return Text("") if task.total is None else super().render(task)


class CheckProgress:
    """Progress bars while checking: one overall bar and one per key being
    checked (finished keys' bars are removed, so thousands of keys stay readable).

    Thread-safe; use as a context manager::

        with CheckProgress(total_keys=len(keys)) as p:
            p.start_key("x", total=ops)
            p.advance("x", 100)
            p.finish_key("x", verdict)
    """

    def __init__(self, total_keys: int | None = None, *, console: Console | None = None,
                 description: str = "checking", max_key_bars: int = 8,
                 transient: bool = False):
        self.console = console or Console()
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 _Count(), TimeElapsedColumn(),
                                 console=self.console, transient=transient)
        self._overall = self.progress.add_task(description, total=total_keys)
        self._keys: dict[Any, TaskID] = {}
        self._max = max_key_bars
        self._lock = threading.Lock()
        self.verdicts: dict[Any, Any] = {}

    def begin(self, total_keys: int) -> None:
        """The checker found this many keys (see checkers.progress.Progress)."""
        with self._lock:
            self.progress.update(self._overall, total=total_keys)

    def start_key(self, key: Any, total: int | None = None) -> None:
        with self._lock:
            # a key handed out again (its pool worker was lost) keeps its one bar
            if key not in self._keys and len(self._keys) < self._max:
                label = Text(f"  key {key!s}"[:40])
                self._keys[key] = self.progress.add_task(label.plain, total=total)

    def advance(self, key: Any, n: float = 1) -> None:
        with self._lock:
            tid = self._keys.get(key)
            if tid is not None:
                self.progress.advance(tid, n)

    def finish_key(self, key: Any, verdict: Any = True) -> None:
        with self._lock:
            tid = self._keys.pop(key, None)
            if tid is not None:
                self.progress.remove_task(tid)
            self.verdicts[key] = verdict
            self.progress.advance(self._overall, 1)

    def track(self, keys: Iterable[Any]) -> Iterable[Any]:
        """Iterate keys, marking each started and then finished (valid unless told)."""
        for k in keys:
            self.start_key(k)
            yield k
            if k not in self.verdicts:
                self.finish_key(k)

    def __enter__(self) -> "CheckProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)


def checking_progress(checker: str, enabled: bool = True
                      ) -> contextlib.AbstractContextManager[CheckProgress | None]:
    """Progress bars on stderr while ``checker`` runs — an overall bar, and one per
    key for partitioned checks — when stderr is a terminal; gone when it ends."""
    if not enabled or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return CheckProgress(console=Console(stderr=True), description=f"checking {checker}",
                         transient=True)
