"""nats-server's HTTP monitoring endpoint (``/jsz``): who leads, is a stream ready.

Read from the controller over plain HTTP so that health and primaries need no
NATS connection (and no event loop) of their own.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class MonitorError(Exception):
    """The monitoring endpoint did not answer, or answered something unreadable."""


def jsz(ip: str, port: int, timeout: float, *, streams: bool = False) -> dict[str, Any]:
    query = "?accounts=true&streams=true" if streams else ""
    url = f"http://{ip}:{port}/jsz{query}"
    try:
        # No proxy: the controller's proxy variables must not capture node traffic.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (OSError, urllib.error.URLError, ValueError) as e:
        raise MonitorError(f"{url}: {e}") from None


def meta_leader(doc: dict[str, Any]) -> str:
    """The JetStream meta group's leader as this server sees it ('' when none)."""
    return str((doc.get("meta_cluster") or {}).get("leader") or "")


@dataclass(frozen=True)
class StreamView:
    leader: str
    replicas: int          # replicas other than the leader that this server lists
    current: int           # of those, how many are current (caught up and active)


def stream_view(doc: dict[str, Any], stream: str) -> StreamView | None:
    """The stream's raft group as one server sees it, or None when it does not know the stream."""
    for account in doc.get("account_details") or []:
        for st in account.get("stream_detail") or []:
            if st.get("name") != stream:
                continue
            cluster = st.get("cluster") or {}
            reps = cluster.get("replicas") or []
            return StreamView(str(cluster.get("leader") or ""), len(reps),
                              sum(1 for r in reps if r.get("current")))
    return None
