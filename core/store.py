"""The store of runs.

Layout (the root is ``./store`` unless ``--store`` or ``SPLITBRAIN_STORE``
says otherwise)::

    store/
      latest -> <test-name>/<YYYYMMDDTHHMMSS>      (symlink to the newest run)
      index.html                                   (written by reports/)
      <test-name>/<YYYYMMDDTHHMMSS>/
        run.json        metadata: name, target, faults, seed, started, finished, ops, verdict
        spec.yaml       the spec as run (with the seed filled in)
        history.jsonl   streamed as ops complete
        results.json    {"valid": ..., "checkers": [CheckResult.to_json(), ...]}
        report.html
        logs/<node>/<file>

What a crashed controller must reclaim (node state files, nemesis journals)
is not in the store: it is machine-wide (core.machine_state).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from checkers.result import CheckResult, merge_verdicts

STORE_ENV = "SPLITBRAIN_STORE"
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def store_root(explicit: str | os.PathLike | None = None) -> Path:
    return Path(explicit or os.environ.get(STORE_ENV) or "store").absolute()


def state_dir(root: Path, kind: str) -> Path:
    """Where ``kind`` records of machine-wide resources live: one place per machine
    (core.machine_state), whatever the store — ``root`` is not used."""
    from .machine_state import state_dir as machine_state_dir
    return machine_state_dir(kind)


def check_test_name(name: str) -> str:
    if not _NAME_OK.match(name):
        raise ValueError(f"test name {name!r} must be 1-100 characters of letters, digits, '.', '_'"
                         " or '-', starting with a letter or digit")
    return name


@dataclass
class RunDir:
    path: Path

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def spec(self) -> Path:
        return self.path / "spec.yaml"

    @property
    def results(self) -> Path:
        return self.path / "results.json"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def meta_path(self) -> Path:
        return self.path / "run.json"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def read_meta(self) -> dict[str, Any]:
        try:
            return json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {}

    def write_meta(self, **updates: Any) -> dict[str, Any]:
        meta = self.read_meta()
        meta.update(updates)
        _atomic_write(self.meta_path, json.dumps(meta, indent=2, default=str).encode())
        return meta

    def write_results(self, results: list[CheckResult]) -> dict[str, Any]:
        doc = {"valid": merge_verdicts(r.valid for r in results),
               "checkers": [r.to_json() for r in results]}
        _atomic_write(self.results, json.dumps(doc, indent=2, default=str).encode())
        return doc

    def read_results(self) -> tuple[Any, list[CheckResult]]:
        doc = json.loads(self.results.read_text())
        return doc.get("valid"), [CheckResult.from_json(c) for c in doc.get("checkers", [])]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def new_run(root: Path, test_name: str, *, now: float | None = None) -> RunDir:
    """Create ``<root>/<test-name>/<timestamp>/`` and point ``latest`` at it."""
    check_test_name(test_name)
    ts = datetime.fromtimestamp(now or time.time(), tz=timezone.utc)
    base = root / test_name
    base.mkdir(parents=True, exist_ok=True)
    stamp = ts.strftime("%Y%m%dT%H%M%S")
    path = base / stamp
    n = 1
    while True:  # two runs in one second get distinct directories
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = base / f"{stamp}-{n}"
    (path / "logs").mkdir()
    latest = root / "latest"
    tmp = root / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(path.relative_to(root))
    os.replace(tmp, latest)
    run = RunDir(path)
    run.write_meta(name=test_name, started=ts.isoformat(), dir=str(path))
    return run


def iter_runs(root: Path) -> Iterator[RunDir]:
    """Every run in the store, newest first."""
    runs = []
    if not root.is_dir():
        return iter(())
    for test_dir in root.iterdir():
        if test_dir.name.startswith(".") or not test_dir.is_dir() or test_dir.is_symlink():
            continue
        for run in test_dir.iterdir():
            if run.is_dir() and (run / "run.json").exists():
                runs.append(run)
    runs.sort(key=lambda p: (p.name, p.parent.name), reverse=True)
    return (RunDir(p) for p in runs)


def resolve_run(arg: str | os.PathLike, root: Path | None = None) -> RunDir:
    """A run directory from a path, or ``latest``; ValueError naming what is missing."""
    p = Path(arg)
    if not p.exists() and root is not None and (root / p).exists():
        p = root / p
    p = p.resolve()
    if not p.is_dir():
        raise ValueError(f"{arg}: no such run directory")
    if not (p / "history.jsonl").exists():
        raise ValueError(f"{arg}: not a run directory (no history.jsonl in it)")
    return RunDir(p)
