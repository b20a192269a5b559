"""Copying a target's node logs into the run directory, bounded in size, before
teardown removes the nodes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from core.nodes import Node, NodeError

MAX_LOG_BYTES = 64 * 1024 * 1024  # per file; the tail is what explains an ending
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _safe_name(path: str) -> str:
    return _SAFE.sub("_", Path(path).name) or "log"


def collect_logs(nodes: Iterable[Node], target: Any, dest: Path) -> list[str]:
    """Fetch every log the target (and the node) knows of into ``dest/<node>/``.

    Returns one line per problem; a node that cannot be read is noted, never fatal.
    """
    problems: list[str] = []
    for node in nodes:
        try:
            paths = target.log_files(node) if target is not None else node.log_files()
        except NodeError as e:
            problems.append(f"{node.name}: cannot list logs: {e}")
            continue
        out_dir = dest / _safe_name(node.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        for p in paths:
            try:
                data = node.get_file(p)
            except NodeError as e:
                problems.append(f"{node.name}: {p}: {e}")
                continue
            if len(data) > MAX_LOG_BYTES:
                data = b"[... truncated by splitbrain ...]\n" + data[-MAX_LOG_BYTES:]
            name = _safe_name(p)
            while name in used:
                name = "_" + name
            used.add(name)
            (out_dir / name).write_bytes(data)
    return problems
