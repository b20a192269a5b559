"""CPU starvation: the target's processes on a node go into a cgroup of splitbrain's own whose
CPU is capped (cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us`` where the cpu controller is
mounted as v1), so the node is slow, not dead.  Healing moves each process back to the cgroup it
came from and removes splitbrain's; the CPU share the processes really got is measured from
their own CPU time over the window and recorded.  Needs the node's processes on this host: netns
nodes, and docker containers of a local engine (their processes are found by their pid
namespace); refused with the reason elsewhere (ssh)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Mapping

from core.capabilities import Pausable
from core.options import Option, a_number

from ..errors import UnsupportedFault
from .base import ProcessFault

V2_ROOT = Path("/sys/fs/cgroup")
V1_CPU = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
TICKS = os.sysconf("SC_CLK_TCK")


def _share(v: Any) -> str | None:
    return a_number(v) or (None if 0 < v <= 64 else "a fraction of one CPU in (0, 64]")


def cgroup_kind() -> tuple[str | None, str]:
    """("v2" | "v1" | None, why not) for this machine's cpu controller."""
    ctl = V2_ROOT / "cgroup.controllers"
    if ctl.exists() and "cpu" in ctl.read_text().split() and os.access(V2_ROOT, os.W_OK):
        return "v2", ""
    if (V1_CPU / "cpu.cfs_quota_us").exists() and os.access(V1_CPU, os.W_OK):
        return "v1", ""
    return None, ("no writable cpu controller: neither cgroup v2 with cpu enabled at "
                  f"{V2_ROOT} nor a v1 cpu hierarchy at {V1_CPU}")


def _group_pids(pgids: list[int], pids: list[int]) -> list[int]:
    """Every process in the daemons' process groups, and the daemons themselves."""
    out = set(pids)
    want = set(pgids)
    for e in os.scandir("/proc"):
        if e.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{e.name}/stat").read_bytes()
                if int(stat[stat.rindex(b")") + 2:].split()[2]) in want:
                    out.add(int(e.name))
    return sorted(out)


def host_pids(ref: Mapping[str, Any], pgids: list[int], pids: list[int]) -> list[int]:
    """This host's pids of the daemons (and their process groups) on the node ``ref`` names.

    A netns node's pids are the host's.  A container's are those of its own pid namespace: its
    processes are found on the host by that namespace, and matched by the pid and process group
    they have inside it (the last NSpid / NSpgid field of /proc/PID/status)."""
    if ref.get("host_pids"):
        return _group_pids(pgids, pids)
    if ref.get("kind") != "docker":
        raise UnsupportedFault(f"cpu-starve: {ref.get('name')}'s processes are not on this host "
                               f"({ref.get('kind')} node): only netns and docker nodes")
    ns = _pid_ns(_container_init(ref))
    want_pgid, want_pid = set(pgids), set(pids)
    out = []
    for e in os.scandir("/proc"):
        if not e.name.isdigit() or _pid_ns(int(e.name)) != ns:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = dict(line.split(":", 1) for line in
                          Path(f"/proc/{e.name}/status").read_text().splitlines() if ":" in line)
            inner_pid = int(fields["NSpid"].split()[-1])
            inner_pgid = int(fields["NSpgid"].split()[-1])
            if inner_pid in want_pid or inner_pgid in want_pgid:
                out.append(int(e.name))
    return sorted(out)


def _container_init(ref: Mapping[str, Any]) -> int:
    """The host pid of the container's first process, from the Docker engine."""
    try:
        import docker
        pid = int(docker.from_env(timeout=30).containers.get(ref["container"])
                  .attrs["State"]["Pid"])
    except Exception as e:  # noqa: BLE001 - the SDK raises several kinds
        raise UnsupportedFault(f"cpu-starve: cannot find container {ref.get('container')}'s "
                               f"processes: {str(e)[:160]}") from None
    if pid <= 0 or _pid_ns(pid) is None:
        raise UnsupportedFault(f"cpu-starve: container {ref.get('container')} has no process "
                               "on this host (a remote Docker engine?)")
    return pid


def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _cpu_ticks(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        f = Path(f"/proc/{pid}/stat").read_bytes()
        fields = f[f.rindex(b")") + 2:].split()
        return int(fields[11]) + int(fields[12])   # utime + stime
    return 0


def _cgroup_of(pid: int, kind: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if (kind == "v2" and hid == "0") or (kind == "v1" and "cpu" in ctrls.split(",")):
            return path
    return "/"


class CpuStarve(ProcessFault):
    name = "cpu-starve"
    ops = {"start-cpu-starve": "apply", "stop-cpu-starve": "heal"}
    OPTIONS = {"cpu_starve_share": Option(0.05, _share)}
    journal_kinds = ("cgroup",)
    heal_rank = 0
    window = ("start-cpu-starve", "stop-cpu-starve")
    healed_as = "CPU restored"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        # node -> (journal id, cgroup dir, {pid: original cgroup}, ticks at start, start time)
        self.starved: dict[str, tuple[int, str, dict[int, str], int, float]] = {}

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("cpu-starve")
        t = nem.need_target("cpu-starve", Pausable)
        kind, why = cgroup_kind()
        if kind is None:
            raise UnsupportedFault(f"cpu-starve: {why}")
        share = float(value.get("share")) if isinstance(value, Mapping) and "share" in value \
            else float(nem.options["cpu_starve_share"])
        sel = value.get("nodes", "one") if isinstance(value, Mapping) else value
        chosen = nem.select(sel)
        out: dict[str, Any] = {}
        for name in chosen:
            node = nem.by_name[name]
            ds = t.fault_daemons(node)
            pids = host_pids(nem.journal.data["nodes"].get(name, {}),
                             [d.pgid for d in ds if d.pgid], [d.pid for d in ds])
            root = V2_ROOT if kind == "v2" else V1_CPU
            cg = root / f"splitbrain-{nem.journal.data['test_id']}-{name}"
            origin = {p: _cgroup_of(p, kind) for p in pids}
            jid = nem.journal.record("cgroup", name, cgroup=str(cg), cgroup_kind=kind,
                                     origin={str(p): o for p, o in origin.items()})
            cg.mkdir(exist_ok=True)
            quota = max(1000, int(share * PERIOD_US))
            if kind == "v2":
                (cg / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (cg / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (cg / "cpu.cfs_quota_us").write_text(str(quota))
            moved = []
            for p in pids:
                with contextlib.suppress(OSError):
                    (cg / "cgroup.procs").write_text(str(p))
                    moved.append(p)
            self.starved[name] = (jid, str(cg), {p: origin[p] for p in moved},
                                  sum(_cpu_ticks(p) for p in moved), time.monotonic())
            out[name] = {"pids": moved, "cgroup": str(cg)}
        return {"nodes": chosen, "share": share, "cgroup_kind": kind, "moved": out}

    def heal(self, value: Any = None) -> dict[str, Any]:
        chosen = sorted(self.starved) if value is None else self.nem.select(value)
        measured = {}
        for name in chosen:
            if name not in self.starved:
                continue
            jid, cg, origin, ticks0, t0 = self.starved.pop(name)
            secs = max(time.monotonic() - t0, 1e-9)
            got = (sum(_cpu_ticks(p) for p in origin) - ticks0) / TICKS
            measured[name] = {"cpu_share": round(got / secs, 4), "window_s": round(secs, 3)}
            _release(Path(cg), origin)
            self.nem.journal.healed([jid])
        return {"nodes": chosen, "measured": measured}

    def in_force(self) -> bool:
        return bool(self.starved)

    def describe(self) -> list[str]:
        return [f"CPU-starved {n}" for n in sorted(self.starved)]

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        cg = Path(entry["cgroup"])
        _release(cg, {int(p): o for p, o in (entry.get("origin") or {}).items()})
        return f"{entry.get('node')}: cgroup {cg.name} removed, its processes moved back"


def _release(cg: Path, origin: Mapping[int, str]) -> None:
    """Every process still in ``cg`` back to where it came from (else the hierarchy's root),
    then the cgroup removed."""
    if not cg.exists():
        return
    root = cg.parent
    procs = cg / "cgroup.procs"
    for _ in range(3):
        left = [int(x) for x in procs.read_text().split()] if procs.exists() else []
        if not left:
            break
        for p in left:
            dest = root / origin.get(p, "/").lstrip("/")
            try:
                (dest / "cgroup.procs").write_text(str(p))
            except OSError:
                with contextlib.suppress(OSError):   # its old cgroup is gone: the root, then
                    (root / "cgroup.procs").write_text(str(p))
    with contextlib.suppress(OSError):
        cg.rmdir()
