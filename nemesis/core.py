"""The Nemesis: applies one fault operation at a time, journals it, heals everything.

``apply(f, value)`` is called by the harness' nemesis process for each
nemesis op of the history; what it returns is exactly what was applied
(the grudge, measured offsets, pids) and becomes the completion's value.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.nodes.base import Node, NodeError

from . import clock as _clock
from . import grudge as _grudge
from . import iptables as _ipt
from . import latency as _latency
from .errors import NemesisError, UnsupportedFault
from .journal import Journal, _signal_group, heal_journal
from .reach import Unreachable
from .select import select_nodes
from .target import NemesisTarget

KINDS = ("partition", "clock", "kill", "pause", "loss", "latency")
# Names a spec may list under nemesis.faults: the kinds, the partition
# topologies, the clock modes and "packet-loss" (the targets' name for loss).
FAULTS: tuple[str, ...] = KINDS + tuple(_grudge.TOPOLOGIES) + (
    "clock-bump", "clock-strobe", "packet-loss")

OPS = ("start-partition", "stop-partition", "start-clock", "stop-clock", "kill", "start",
       "pause", "resume", "start-loss", "stop-loss", "start-latency", "stop-latency")

DEFAULTS: dict[str, Any] = {
    "one_way": False,
    "bump_s": 90.0,
    "strobe_offsets_s": [0.0, 90.0],
    "strobe_period_ms": 10.0,
    "strobe_duration_s": 10.0,
    "loss_probability": 0.2,
    "latency_ms": 100.0,
    "latency_jitter_ms": 0.0,
    "latency_dev": "eth0",
    "restart_killed_on_heal": True,
    "libfaketime": _clock.LIBFAKETIME,
}


class Nemesis:
    """Faults on ``nodes`` of ``target``, journaled at ``journal_path``.

    ``options``: ``seed`` (random choices: victims, shuffles), ``faults`` (the
    kinds in use; ``clock_env`` is empty unless clock is among them), and the
    defaults in :data:`DEFAULTS`.
    """

    def __init__(self, nodes: Sequence[Node], target: NemesisTarget | None,
                 journal_path: Path | str, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        self.options = {**DEFAULTS, **{k: v for k, v in opts.items() if k in DEFAULTS}}
        self.nodes = list(nodes)
        self.by_name = {n.name: n for n in self.nodes}
        if len(self.by_name) != len(self.nodes):
            raise NemesisError("node names must be unique")
        self.target = target
        self.rng = opts.get("rng") or random.Random(opts.get("seed"))
        self.faults = list(opts.get("faults") or [])
        self.journal = Journal(Path(journal_path), self.nodes, test_id=opts.get("test_id"))
        self._lock = threading.RLock()
        self._grudge: dict[str, list[str]] = {}
        self._topology: str | None = None
        self._one_way = False
        self._loss: dict[str, Any] | None = None   # {"probability", "drops": {node: [nodes]}}
        self._chain_entries: dict[tuple[str, str], int] = {}  # (node, chain) -> journal id
        self._paused: dict[str, tuple[int, list[int], list[int]]] = {}  # node -> (jid, pids, pgids)
        self._killed: set[str] = set()
        self._clock: dict[str, tuple[int, float]] = {}      # node -> (jid, offset requested)
        self._strobes: dict[str, tuple[int, _clock.Strobe]] = {}
        self._latency: dict[str, tuple[int, float, float]] = {}
        self._handlers: dict[str, Callable[[Any], Any]] = {
            "start-partition": self._start_partition, "stop-partition": self._stop_partition,
            "start-clock": self._start_clock, "stop-clock": self._stop_clock,
            "kill": self._kill, "start": self._start, "pause": self._pause,
            "resume": self._resume, "start-loss": self._start_loss, "stop-loss": self._stop_loss,
            "start-latency": self._start_latency, "stop-latency": self._stop_latency,
        }

    # -- public ------------------------------------------------------------------------------

    def apply(self, f: str, value: Any = None) -> Any:
        """Perform one nemesis op; returns what was applied (the completion's value)."""
        handler = self._handlers.get(f)
        if handler is None:
            raise NemesisError(f"unknown nemesis op {f!r}; expected one of {', '.join(OPS)}")
        with self._lock:
            try:
                return handler(value)
            except NemesisError:
                raise
            except (ValueError, NodeError) as e:
                raise NemesisError(f"{f}: {e}") from None

    def clock_env(self, node: Node) -> dict[str, str]:
        """The libfaketime environment for daemons on ``node`` (empty when clock faults are off).

        Empty unless ``clock`` is among ``options["faults"]`` (or no fault list
        was given), because libfaketime breaks some servers outright.
        """
        if self.faults and not any(f.startswith("clock") for f in self.faults):
            return {}
        return _clock.clock_env(node, self.options["libfaketime"])

    def active(self) -> list[str]:
        """Faults in force now, one short line each (for the live console).

        Lock-free on purpose: the console polls it while ``apply`` may be in
        the middle of a slow op; each field is read once, as a snapshot.
        """
        out = []
        grudge, topology, one_way, loss = self._grudge, self._topology, self._one_way, self._loss
        if grudge:
            cut = sum(len(v) for v in grudge.values())
            out.append(f"partition {topology or 'grudge'}"
                       f"{' one-way' if one_way else ''} ({cut} directed links cut)")
        if loss:
            out.append(f"loss {loss['probability']:.0%} among {','.join(loss['nodes'])}")
        for n, (_, off) in sorted(list(self._clock.items())):
            out.append(f"clock {n} {off:+g}s")
        for n, (_, s) in sorted(list(self._strobes.items()), key=lambda kv: kv[0]):
            if s.running():
                out.append(f"clock strobe {n} {s.a:+g}s/{s.b:+g}s every {s.period_s * 1000:g}ms")
        for n in sorted(list(self._paused)):
            out.append(f"paused {n}")
        for n in sorted(list(self._killed)):
            out.append(f"killed {n}")
        for n, (_, d, _j) in sorted(list(self._latency.items())):
            out.append(f"latency {n} +{d:g}ms")
        return out

    def heal_all(self) -> list[str]:
        """Undo every fault; each failure is reported and the rest still healed."""
        with self._lock:
            done: list[str] = []
            steps: list[tuple[str, Callable[[], Any]]] = []
            if self._paused:
                steps.append(("resume", lambda: self._resume(None)))
            if self._strobes or self._clock:
                steps.append(("clock reset", lambda: self._stop_clock(None)))
            if self._grudge or any(c == _ipt.PARTITION_CHAIN for _, c in self._chain_entries):
                steps.append(("partition healed", lambda: self._stop_partition(None)))
            if self._loss or any(c == _ipt.LOSS_CHAIN for _, c in self._chain_entries):
                steps.append(("loss healed", lambda: self._stop_loss(None)))
            if self._latency:
                steps.append(("latency removed", lambda: self._stop_latency(None)))
            if self._killed and self.options["restart_killed_on_heal"] and self.target is not None:
                steps.append(("restarted", lambda: self._start(None)))
            for what, step in steps:
                try:
                    res = step()
                    nodes = res.get("nodes") if isinstance(res, dict) else None
                    done.append(f"{what}" + (f": {', '.join(nodes)}" if nodes else "")
                                + _clock.measured_offsets(res))
                except Exception as e:  # noqa: BLE001 - heal the rest, report this one
                    done.append(f"{what} FAILED: {e}")
            if not self.journal.close():
                # Anything the live state lost track of is healed from the journal.
                done.extend(heal_journal(self.journal.path, force=True))
            return done

    def close(self) -> list[str]:
        return self.heal_all()

    def __enter__(self) -> "Nemesis":
        return self

    def __exit__(self, *exc: object) -> None:
        # Normal end, exception or Ctrl-C (KeyboardInterrupt): heal all the same.
        self.heal_all()

    def reapply(self, node: Node | str) -> list[str]:
        """Re-install this node's share of the active partition and loss (after a restart).

        A container restart recreates the network namespace and loses its
        rules; call this before the restarted node serves traffic.
        """
        name = node if isinstance(node, str) else node.name
        n = self.by_name[name]
        with self._lock:
            done = []
            if self._grudge:
                self._set_chain(n, _ipt.PARTITION_CHAIN, self._grudge.get(name, []))
                done.append(_ipt.PARTITION_CHAIN)
            if self._loss:
                self._set_chain(n, _ipt.LOSS_CHAIN, self._loss["drops"].get(name, []),
                                self._loss["probability"])
                done.append(_ipt.LOSS_CHAIN)
            return done

    # -- helpers ------------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def _primaries(self) -> list[str]:
        if self.target is None:
            return []
        return [p.name for p in self.target.primaries(self.nodes)]

    def _select(self, spec: Any) -> list[str]:
        return select_nodes(spec, self._names(), self.rng, self._primaries)

    def _require(self, fault: str) -> None:
        if self.target is None:
            return
        ok, why = self.target.supports(fault)
        if not ok:
            raise UnsupportedFault(f"{fault}: not supported by this target: {why}")

    def _parallel(self, fn: Callable[[Node], Any], nodes: Sequence[Node]) -> dict[str, Any]:
        """Run fn on each node at once so a partition lands everywhere within one round trip."""
        if not nodes:
            return {}
        with ThreadPoolExecutor(max_workers=min(16, len(nodes))) as ex:
            futs = {n.name: ex.submit(fn, n) for n in nodes}
        errors = {}
        out = {}
        for name, fut in futs.items():
            try:
                out[name] = fut.result()
            except Exception as e:  # noqa: BLE001 - collected and raised together below
                errors[name] = e
        if len(errors) == 1:
            raise next(iter(errors.values()))
        if errors:
            kinds = {type(e) for e in errors.values()}
            cls = kinds.pop() if len(kinds) == 1 and issubclass(next(iter(kinds)), NemesisError) \
                else NemesisError
            raise cls("; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
        return out

    def _set_chain(self, node: Node, chain: str, drop_names: Sequence[str],
                   probability: float | None = None) -> None:
        key = (node.name, chain)
        if key not in self._chain_entries:
            self._chain_entries[key] = self.journal.record("iptables", node.name, chain=chain)
        ips = [self.by_name[m].ip for m in drop_names]
        node.check(["sh", "-c", _ipt.set_drops_script(chain, ips, probability)], timeout=30)

    def _clear_chain(self, node: Node, chain: str) -> None:
        node.check(["sh", "-c", _ipt.remove_chain_script(chain)], timeout=30)
        jid = self._chain_entries.pop((node.name, chain), None)
        if jid is not None:
            self.journal.healed([jid])

    # -- partitions ---------------------------------------------------------------------------

    def _start_partition(self, value: Any) -> dict[str, Any]:
        self._require("partition")
        one_way = bool(self.options["one_way"])
        if isinstance(value, str) or value is None:
            topology, explicit = value or "random-halves", None
        elif isinstance(value, Mapping):
            topology = value.get("topology")
            explicit = value.get("grudge")
            one_way = bool(value.get("one_way", one_way))
            if explicit is None and topology is None:
                raise ValueError("value needs a topology or a grudge")
        else:
            raise ValueError(f"value must be a topology name or a mapping, got {value!r}")
        names = self._names()
        if explicit is not None:
            g = _grudge.validate_grudge(explicit, names)
            topology = topology or "grudge"
        else:
            g = _grudge.make_grudge(topology, names, self.rng, self._primaries()
                                    if topology == "isolate-primary" else ())
            if one_way:
                order = names[:]
                self.rng.shuffle(order)
                g = _grudge.one_way(g, order)
        g = {n: list(g.get(n, [])) for n in names}
        self._grudge, self._topology, self._one_way = g, topology, one_way

        def apply(node: Node) -> None:
            if g[node.name]:
                self._set_chain(node, _ipt.PARTITION_CHAIN, g[node.name])
            elif (node.name, _ipt.PARTITION_CHAIN) in self._chain_entries:
                self._clear_chain(node, _ipt.PARTITION_CHAIN)
        # Journal entries are recorded here, in order, before any thread touches a node.
        for n in self.nodes:
            if g[n.name] and (n.name, _ipt.PARTITION_CHAIN) not in self._chain_entries:
                self._chain_entries[(n.name, _ipt.PARTITION_CHAIN)] = self.journal.record(
                    "iptables", n.name, chain=_ipt.PARTITION_CHAIN)
        self._parallel(apply, self.nodes)
        return {"topology": topology, "one_way": one_way, "grudge": g,
                "sees": _grudge.components_seen(g)}

    def _stop_partition(self, value: Any) -> dict[str, Any]:
        nodes = [self.by_name[n] for n, c in list(self._chain_entries) if c == _ipt.PARTITION_CHAIN]
        self._parallel(lambda node: self._clear_chain(node, _ipt.PARTITION_CHAIN), nodes)
        healed = {"healed": self._topology, "nodes": [n.name for n in nodes]}
        self._grudge, self._topology, self._one_way = {}, None, False
        return healed

    # -- packet loss --------------------------------------------------------------------------

    def _start_loss(self, value: Any) -> dict[str, Any]:
        ok, why = (True, "")
        if self.target is not None:
            for name in ("loss", "packet-loss"):
                ok, why = self.target.supports(name)
                if not ok:
                    raise UnsupportedFault(f"loss: not supported by this target: {why}")
        p = self.options["loss_probability"]
        sel: Any = "all"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p = value
        elif isinstance(value, Mapping):
            p = value.get("probability", p)
            sel = value.get("nodes", sel)
        elif value is not None:
            raise ValueError(f"value must be a probability or a mapping, got {value!r}")
        p = float(p)
        if not 0.0 < p <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {p}")
        chosen = self._select(sel)
        if len(chosen) < 2:
            raise ValueError("loss needs at least two nodes to drop traffic between")
        drops = {n: [m for m in chosen if m != n] for n in chosen}
        if self._loss:
            for n in set(self._loss["drops"]) - set(drops):
                self._clear_chain(self.by_name[n], _ipt.LOSS_CHAIN)
        self._loss = {"probability": p, "nodes": chosen, "drops": drops}
        for n in chosen:
            if (n, _ipt.LOSS_CHAIN) not in self._chain_entries:
                self._chain_entries[(n, _ipt.LOSS_CHAIN)] = self.journal.record(
                    "iptables", n, chain=_ipt.LOSS_CHAIN)
        self._parallel(lambda node: self._set_chain(node, _ipt.LOSS_CHAIN, drops[node.name], p),
                       [self.by_name[n] for n in chosen])
        return {"probability": p, "nodes": chosen, "drops": drops}

    def _stop_loss(self, value: Any) -> dict[str, Any]:
        nodes = [self.by_name[n] for n, c in list(self._chain_entries) if c == _ipt.LOSS_CHAIN]
        self._parallel(lambda node: self._clear_chain(node, _ipt.LOSS_CHAIN), nodes)
        self._loss = None
        return {"nodes": [n.name for n in nodes]}

    # -- latency ------------------------------------------------------------------------------

    def _start_latency(self, value: Any) -> dict[str, Any]:
        self._require("latency")
        v = value if isinstance(value, Mapping) else {}
        delay = float(v.get("delay_ms", value if isinstance(value, (int, float)) else
                            self.options["latency_ms"]))
        jitter = float(v.get("jitter_ms", self.options["latency_jitter_ms"]))
        dev = str(v.get("dev", self.options["latency_dev"]))
        ok, why = _latency.host_netem()
        if ok is False:
            raise UnsupportedFault(_latency.unsupported_message(why))
        chosen = self._select(v.get("nodes", "all"))
        for n in chosen:
            if n not in self._latency:
                self._latency[n] = (self.journal.record("latency", n, dev=dev), delay, jitter)

        def apply(node: Node) -> None:
            try:
                _latency.apply_latency(node, dev, delay, jitter)
            except UnsupportedFault:
                jid = self._latency.pop(node.name)[0]
                self.journal.healed([jid])
                raise
        self._parallel(apply, [self.by_name[n] for n in chosen])
        return {"nodes": chosen, "delay_ms": delay, "jitter_ms": jitter, "dev": dev}

    def _stop_latency(self, value: Any) -> dict[str, Any]:
        names = sorted(self._latency)
        dev = str(self.options["latency_dev"])
        self._parallel(lambda node: _latency.remove_latency(node, dev),
                       [self.by_name[n] for n in names])
        self.journal.healed([self._latency.pop(n)[0] for n in names])
        return {"nodes": names}

    # -- clocks -------------------------------------------------------------------------------

    def _clock_value(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {"mode": "bump"}
        if isinstance(value, str):
            return {"mode": value}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"mode": "bump", "offset_s": float(value)}
        if isinstance(value, Mapping):
            return dict(value)
        raise ValueError(f"value must be a mode (bump, strobe, reset) or a mapping, got {value!r}")

    def _start_clock(self, value: Any) -> dict[str, Any]:
        v = self._clock_value(value)
        mode = v.get("mode", "bump")
        if mode == "reset":
            return self._stop_clock(v)
        if mode not in ("bump", "strobe"):
            raise ValueError(f"unknown clock mode {mode!r}; expected bump, strobe or reset")
        self._require("clock")
        self._require(f"clock-{mode}")
        chosen = [self.by_name[n] for n in self._select(v.get("nodes", "one"))]
        lib = self.options["libfaketime"]
        if mode == "bump":
            offsets = v.get("offsets_s")  # per node, else one offset for all chosen
            off = float(v.get("offset_s", self.options["bump_s"]))
            want = {n.name: float(offsets[n.name]) if isinstance(offsets, Mapping)
                    and n.name in offsets else off for n in chosen}
            for n in chosen:
                self._stop_strobe(n.name)
                if n.name not in self._clock:
                    self._clock[n.name] = (self.journal.record(
                        "clock", n.name, path=_clock.offset_path(n)), want[n.name])
                else:
                    self._clock[n.name] = (self._clock[n.name][0], want[n.name])
            measured = self._parallel(
                lambda node: _clock.apply_offset(node, want[node.name], lib), chosen)
            return {"mode": "bump", "nodes": [n.name for n in chosen], "requested_s": want,
                    "offsets_s": measured}
        self._parallel(lambda node: _clock.ensure_library(node, lib), chosen)
        a, b = (float(x) for x in v.get("offsets_s", self.options["strobe_offsets_s"]))
        period = float(v.get("period_ms", self.options["strobe_period_ms"])) / 1000.0
        duration = float(v.get("duration_s", self.options["strobe_duration_s"]))
        for n in chosen:
            self._stop_strobe(n.name)
            if n.name in self._clock:  # the strobe owns the offset file from now on
                self.journal.healed([self._clock.pop(n.name)[0]])
            s = _clock.Strobe(n, a, b, period, duration)
            jid = self.journal.record("strobe", n.name, path=_clock.offset_path(n),
                                      stop=s.stop_path, pidfile=s.pid_path)
            self._strobes[n.name] = (jid, s)
            s.start()
        samples = self._parallel(lambda node: self._sample(node, lib, 6, period), chosen)
        return {"mode": "strobe", "nodes": [n.name for n in chosen], "offsets_s": [a, b],
                "period_ms": period * 1000, "duration_s": duration, "observed_s": samples}

    def _sample(self, node: Node, lib: str, count: int, period: float) -> list[float]:
        out = []
        for _ in range(count):
            out.append(_clock.measure_offset(node, lib))
            time.sleep(min(0.05, period * 1.5))
        return out

    def _stop_strobe(self, name: str) -> int | None:
        entry = self._strobes.pop(name, None)
        if entry is None:
            return None
        jid, s = entry
        s.stop()
        self.journal.healed([jid])
        return s.flips

    def _stop_clock(self, value: Any) -> dict[str, Any]:
        names = sorted(set(self._clock) | set(self._strobes))
        flips = {}
        for n in list(self._strobes):
            flips[n] = self._stop_strobe(n)
        nodes = [self.by_name[n] for n in names]
        lib = self.options["libfaketime"]
        measured = self._parallel(lambda node: _clock.apply_offset(node, None, lib), nodes)
        self.journal.healed([self._clock.pop(n)[0] for n in names if n in self._clock])
        res: dict[str, Any] = {"mode": "reset", "nodes": names, "offsets_s": measured}
        if flips:
            res["strobe_flips"] = flips
        return res

    # -- processes ----------------------------------------------------------------------------

    def _need_target(self, what: str) -> NemesisTarget:
        if self.target is None:
            raise NemesisError(f"{what}: no target to act on")
        return self.target

    def _kill(self, value: Any) -> dict[str, Any]:
        self._require("kill")
        t = self._need_target("kill")
        chosen = self._select(value)
        pids: dict[str, list[int]] = {}
        left: dict[str, list[int]] = {}
        for name in chosen:
            node = self.by_name[name]
            pids[name] = [d.pid for d in t.fault_daemons(node)]
            t.kill(node)
            left[name] = [d.pid for d in t.fault_daemons(node)]
            self._killed.add(name)
            if name in self._paused:  # SIGKILL ends a stopped process too
                self.journal.healed([self._paused.pop(name)[0]])
        res: dict[str, Any] = {"nodes": chosen, "pids": pids}
        if any(left.values()):
            res["still_running"] = left
        return res

    def _start(self, value: Any) -> dict[str, Any]:
        t = self._need_target("start")
        chosen = sorted(self._killed) if value is None else self._select(value)
        pids, reapplied = {}, {}
        for name in chosen:
            node = self.by_name[name]
            # Rules first, so the daemon never serves a moment unpartitioned;
            # and again after, in case starting recreated the node's namespace.
            self.reapply(node)
            t.start(node)
            reapplied[name] = self.reapply(node)
            pids[name] = [d.pid for d in t.daemons(node)]
            self._killed.discard(name)
        return {"nodes": chosen, "pids": pids, "reapplied": reapplied}

    def _pause(self, value: Any) -> dict[str, Any]:
        self._require("pause")
        t = self._need_target("pause")
        chosen = self._select(value)
        out_pids, out_groups = {}, {}
        for name in chosen:
            node = self.by_name[name]
            daemons = t.fault_daemons(node)
            pids = [d.pid for d in daemons]
            pgids = [d.pgid for d in daemons if d.pgid]
            if name in self._paused:
                jid = self._paused[name][0]
                self.journal.update(jid, pids=pids, pgids=pgids)
            else:
                jid = self.journal.record("pause", name, pids=pids, pgids=pgids)
            self._paused[name] = (jid, pids, pgids)
            for d in daemons:
                node.signal(d, signal.SIGSTOP, group=True)
            out_pids[name], out_groups[name] = pids, pgids
        return {"nodes": chosen, "pids": out_pids, "pgids": out_groups}

    def _resume(self, value: Any) -> dict[str, Any]:
        t = self._need_target("resume")
        chosen = sorted(self._paused) if value is None else self._select(value)
        out = {}
        for name in chosen:
            node = self.by_name[name]
            entry = self._paused.get(name)
            daemons = t.fault_daemons(node)
            for d in daemons:
                node.signal(d, signal.SIGCONT, group=True)
            ref = self.journal.data["nodes"].get(name, {})
            pgids = sorted({d.pgid for d in daemons if d.pgid} | set(entry[2] if entry else []))
            pids = sorted({d.pid for d in daemons} | set(entry[1] if entry else []))
            try:
                # Also the groups recorded at pause time, and again until no
                # wrapper has re-stopped itself (see journal.continue_host_groups).
                _signal_group(ref, pids, pgids, signal.SIGCONT)
            except Unreachable:
                pass
            if entry is not None:
                self.journal.healed([entry[0]])
                del self._paused[name]
            out[name] = [d.pid for d in daemons]
        return {"nodes": chosen, "pids": out}
