"""The always-on checkers: ``stats`` (ok/fail/info per f), ``exceptions``
(info ops grouped by error) and ``log-patterns`` (target-declared patterns
such as ``panic:`` found in node logs).  Also the op-pairing helpers the
set and counter checkers share."""

from __future__ import annotations

import re
import time
from typing import Any, Iterable, Mapping

from .history import T_FAIL, T_INFO, T_OK, History
from .registry import Checker
from .result import UNKNOWN, CheckResult

TYPE_NAME = {T_OK: "ok", T_FAIL: "fail", T_INFO: "info"}


class Pairs:
    """Client ops as (invoke position, completion position or -1, status),
    with the Op objects at hand — what the Python checkers iterate."""

    def __init__(self, history: History):
        self.history = history
        col = history.columnar()
        self.col = col
        ops = col.operations()
        self.invoke = ops.invoke.tolist()
        self.complete = ops.complete.tolist()
        self.status = ops.status.tolist()
        self.f = [col.f_names[c] for c in ops.f.tolist()]

    def __len__(self) -> int:
        return len(self.invoke)

    def opref(self, row: int) -> dict[str, Any]:
        ops = self.history.ops
        inv = ops[self.invoke[row]]
        c = self.complete[row]
        comp = ops[c] if c >= 0 else None
        return {"index": inv.index, "complete_index": comp.index if comp is not None else None,
                "process": inv.process, "f": inv.f, "key": inv.key, "value": inv.value,
                "result": comp.value if comp is not None else None,
                "type": TYPE_NAME.get(self.status[row], "info"),
                "invoke_time": inv.time, "complete_time": comp.time if comp is not None else None}


# --------------------------------------------------------------------------- stats

def check_stats(history: History, **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    p = Pairs(history)
    by_f: dict[str, dict[str, int]] = {}
    for f, st in zip(p.f, p.status):
        d = by_f.setdefault(f, {"ok": 0, "fail": 0, "info": 0})
        d[TYPE_NAME.get(st, "info")] += 1
    never = sorted(f for f, d in by_f.items() if d["ok"] == 0)
    total = len(p)
    if total == 0:
        valid: Any = UNKNOWN
        summary = "no client operations in the history"
    elif never:
        valid = False
        summary = f"{', '.join(never)} never succeeded ({total} client ops)"
    else:
        valid = True
        oks = sum(d["ok"] for d in by_f.values())
        summary = (f"{total} client ops: {oks} ok, "
                   f"{sum(d['fail'] for d in by_f.values())} fail, "
                   f"{sum(d['info'] for d in by_f.values())} info; every f succeeded")
    return CheckResult("stats", valid, summary, time.perf_counter() - t0,
                       {"by_f": by_f, "never_succeeded": never})


# --------------------------------------------------------------------------- exceptions

_NUM = re.compile(r"\d+")


def error_class(err: Any) -> str:
    """Errors that differ only in numbers (ports, addresses, durations) group together."""
    if err is None:
        return "(no error given)"
    s = err if isinstance(err, str) else str(err)
    s = s.strip().splitlines()[0] if s.strip() else "(empty error)"
    return _NUM.sub("N", s)[:300]


def check_exceptions(history: History, **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    p = Pairs(history)
    ops = history.ops
    groups: dict[str, dict[str, Any]] = {}
    n = 0
    for row, st in enumerate(p.status):
        if st != T_INFO:
            continue
        n += 1
        c = p.complete[row]
        err = ops[c].error if c >= 0 else "no completion recorded (the run ended first)"
        key = error_class(err)
        g = groups.get(key)
        if g is None:
            groups[key] = {"error": key, "count": 1, "example": p.opref(row)}
        else:
            g["count"] += 1
    out = sorted(groups.values(), key=lambda g: (-g["count"], g["error"]))
    if n == 0:
        summary = "no indeterminate (info) client ops"
    else:
        top = out[0]
        summary = (f"{n} info op{'s' if n != 1 else ''} in {len(out)} group"
                   f"{'s' if len(out) != 1 else ''}; most: {top['error']!r} ×{top['count']}")
    return CheckResult("exceptions", True, summary, time.perf_counter() - t0, {"groups": out})


# --------------------------------------------------------------------------- log-patterns

MAX_MATCHES = 200


def _patterns(patterns: Iterable[Any]) -> list[tuple[str, re.Pattern[str], bool]]:
    """(name, regex, whether a match makes the run invalid) per pattern."""
    out = []
    for p in patterns or ():
        invalid: Any = True
        if isinstance(p, str):
            name, rx = p, p
        elif isinstance(p, Mapping):
            rx = p.get("regex") or p.get("pattern")
            name = p.get("name") or rx
            invalid = p.get("invalid", True)
        else:  # targets.base.LogPattern and alike
            rx = getattr(p, "regex", None)
            name = getattr(p, "name", None) or rx
            invalid = getattr(p, "invalid", True)
        if not isinstance(rx, str) or not rx:
            raise ValueError(f"log pattern {p!r} has no regex")
        if not isinstance(invalid, bool):
            raise ValueError(f"log pattern {name!r}: invalid must be true or false, "
                             f"got {invalid!r}")
        try:
            out.append((name, re.compile(rx), invalid))
        except re.error as e:
            raise ValueError(f"log pattern {rx!r} is not a valid regex: {e}") from None
    return out


def scan_logs(log_files: Mapping[str, Iterable[str]], patterns: Iterable[Any],
              max_matches: int = MAX_MATCHES) -> tuple[list[dict], list[str], int]:
    """Matches (``{node, file, line, pattern, text}``, and ``event: true`` for a pattern that
    only counts), unreadable files, lines scanned.  Matches past ``max_matches`` are counted
    as None (failures) or ``{"pattern": name, "event": True}`` (events: still counted by
    name)."""
    pats = _patterns(patterns)
    matches: list[dict] = []
    missing: list[str] = []
    lines = 0
    for node, files in log_files.items():
        for path in files:
            try:
                fh = open(path, "rb")
            except OSError as e:
                missing.append(f"{node}:{path}: {e.strerror or e}")
                continue
            with fh:
                for ln, raw in enumerate(fh, 1):
                    lines += 1
                    text = raw.decode("utf-8", "replace").rstrip("\n")
                    for name, rx, invalid in pats:
                        if rx.search(text):
                            m: dict[str, Any] | None = None
                            if len(matches) < max_matches:
                                m = {"node": node, "file": path, "line": ln,
                                     "pattern": name, "text": text[:500]}
                            elif not invalid:
                                m = {"pattern": name}
                            if m is not None and not invalid:
                                m["event"] = True
                            matches.append(m)  # None: a failure counted, not kept
    return matches, missing, lines


def files_under(logs_dir: str) -> dict[str, list[str]]:
    """``{node: [paths]}`` for a run's logs directory laid out ``<dir>/<node>/...``
    (files directly in ``<dir>`` count under the node ``"-"``)."""
    import os
    out: dict[str, list[str]] = {}
    if not os.path.isdir(logs_dir):
        return out
    for root, _dirs, files in os.walk(logs_dir):
        rel = os.path.relpath(root, logs_dir)
        node = "-" if rel == "." else rel.split(os.sep)[0]
        for fn in sorted(files):
            out.setdefault(node, []).append(os.path.join(root, fn))
    return out


def check_log_patterns(history: History, log_matches: list | None = None,
                       log_files: Mapping[str, Iterable[str]] | None = None,
                       patterns: Iterable[Any] | None = None, logs_dir: str | None = None,
                       **_ignored: Any) -> CheckResult:
    """Invalid when a pattern is found (events, patterns with ``invalid: false``, are only
    counted: ``evidence["events"]``).  ``log_matches`` are matches the run
    already collected; otherwise ``log_files: {node: [paths]}`` (or every file
    under ``logs_dir/<node>/``) are scanned for ``patterns`` (regex strings,
    ``{name, regex}`` maps or LogPatterns)."""
    t0 = time.perf_counter()
    if log_matches is None and not log_files and logs_dir:
        log_files = files_under(logs_dir)
        if not log_files:
            return CheckResult("log-patterns", UNKNOWN, f"no node logs found under {logs_dir}",
                               time.perf_counter() - t0, {"matches": []})
    missing: list[str] = []
    scanned = None
    if log_matches is not None:
        matches = list(log_matches)
    elif log_files:
        try:
            matches, missing, scanned = scan_logs(log_files, patterns or ())
        except ValueError as e:
            return CheckResult("log-patterns", UNKNOWN, str(e), time.perf_counter() - t0,
                               {"matches": []})
    else:
        return CheckResult("log-patterns", UNKNOWN, "no node logs were given to scan",
                           time.perf_counter() - t0, {"matches": []})
    events: dict[str, int] = {}
    for m in matches:
        if m is not None and m.get("event"):
            events[m["pattern"]] = events.get(m["pattern"], 0) + 1
    matches = [m for m in matches if m is None or "node" in m]   # events past the cap: counted
    failures = [m for m in matches if m is None or not m.get("event")]
    total = len(failures)
    kept = [m for m in matches if m is not None]
    ev: dict[str, Any] = {"matches": kept}
    if len(matches) != len(kept):
        ev["matches_total"] = len(matches)
    if events:
        ev["events"] = events
    if missing:
        ev["unreadable"] = missing
    if scanned is not None:
        ev["lines_scanned"] = scanned
    counted = "; events: " + ", ".join(f"{k} ×{v}" for k, v in events.items()) if events else ""
    if total:
        first = next((m for m in kept if not m.get("event")), None)
        where = (f"; first: {first['pattern']!r} in {first['node']}:{first['file']}:"
                 f"{first['line']}" if first else "")
        summary = f"{total} log line{'s' if total != 1 else ''} matched{where}{counted}"
        valid: Any = False
    elif missing and not scanned:
        summary = f"no node log could be read ({len(missing)} unreadable)"
        valid = UNKNOWN
    else:
        summary = "no log pattern matched" + (f" ({len(missing)} file(s) unreadable)"
                                              if missing else "") + counted
        valid = True
    return CheckResult("log-patterns", valid, summary, time.perf_counter() - t0, ev)


STATS = Checker("stats", check_stats, "ok/fail/info per f; invalid when some f never succeeded")
EXCEPTIONS = Checker("exceptions", check_exceptions, "info ops grouped by error, one example each")
LOG_PATTERNS = Checker("log-patterns", check_log_patterns,
         "target-declared patterns (e.g. 'panic:') in node logs; invalid when found",
         judges_client_ops=False)
