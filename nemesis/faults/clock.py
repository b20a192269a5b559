"""Clock skew through libfaketime: a bump (one offset) or a strobe (flipping
between two offsets); the real clock is never touched (see ``nemesis.faketime``)."""

from __future__ import annotations

import contextlib
import os
import random
import time
from typing import Any, Mapping, Sequence

from core.nodes import Node
from core.options import Option, a_number

from .. import faketime as _ft
from ..reach import run_on
from .base import Fault


def _remove_files(ref: Mapping[str, Any], paths: list[str]) -> None:
    if ref.get("host_files"):
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(p)
        return
    run_on(ref, ["rm", "-f", *paths], timeout=20)


class ClockSkew(Fault):
    name = "clock"
    spec_names = ("clock-bump", "clock-strobe")
    ops = {"start-clock": "apply", "stop-clock": "heal"}
    OPTIONS = {
        "bump_s": Option(90.0, a_number),
        "strobe_offsets_s": Option([0.0, 90.0]),
        "strobe_period_ms": Option(10.0, a_number),
        "strobe_duration_s": Option(10.0, a_number),
        "libfaketime": Option(_ft.LIBFAKETIME),
    }
    journal_kinds = ("strobe", "clock")   # a strobe is stopped before its file goes
    heal_rank = 1
    window = ("start-clock", "stop-clock")
    healed_as = "clock reset"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.offsets: dict[str, tuple[int, float]] = {}        # node -> (jid, offset requested)
        self.strobes: dict[str, tuple[int, _ft.Strobe]] = {}

    @staticmethod
    def _value(value: Any) -> dict[str, Any]:
        if value is None:
            return {"mode": "bump"}
        if isinstance(value, str):
            return {"mode": value}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"mode": "bump", "offset_s": float(value)}
        if isinstance(value, Mapping):
            return dict(value)
        raise ValueError(f"value must be a mode (bump, strobe, reset) or a mapping, got {value!r}")

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        v = self._value(value)
        mode = v.get("mode", "bump")
        if mode == "reset":
            return self.heal(v)
        if mode not in ("bump", "strobe"):
            raise ValueError(f"unknown clock mode {mode!r}; expected bump, strobe or reset")
        nem.require("clock")
        nem.require(f"clock-{mode}")
        chosen = [nem.by_name[n] for n in nem.select(v.get("nodes", "one"))]
        lib = nem.options["libfaketime"]
        if mode == "bump":
            offsets = v.get("offsets_s")  # per node, else one offset for all chosen
            off = float(v.get("offset_s", nem.options["bump_s"]))
            want = {n.name: float(offsets[n.name]) if isinstance(offsets, Mapping)
                    and n.name in offsets else off for n in chosen}
            for n in chosen:
                self._stop_strobe(n.name)
                if n.name not in self.offsets:
                    self.offsets[n.name] = (nem.journal.record(
                        "clock", n.name, path=_ft.offset_path(n)), want[n.name])
                else:
                    self.offsets[n.name] = (self.offsets[n.name][0], want[n.name])
            measured = nem.parallel(
                lambda node: _ft.apply_offset(node, want[node.name], lib), chosen)
            return {"mode": "bump", "nodes": [n.name for n in chosen], "requested_s": want,
                    "offsets_s": measured}
        nem.parallel(lambda node: _ft.ensure_library(node, lib), chosen)
        a, b = (float(x) for x in v.get("offsets_s", nem.options["strobe_offsets_s"]))
        period = float(v.get("period_ms", nem.options["strobe_period_ms"])) / 1000.0
        duration = float(v.get("duration_s", nem.options["strobe_duration_s"]))
        for n in chosen:
            self._stop_strobe(n.name)
            if n.name in self.offsets:  # the strobe owns the offset file from now on
                nem.journal.healed([self.offsets.pop(n.name)[0]])
            s = _ft.Strobe(n, a, b, period, duration)
            jid = nem.journal.record("strobe", n.name, path=_ft.offset_path(n),
                                     stop=s.stop_path, pidfile=s.pid_path)
            self.strobes[n.name] = (jid, s)
            s.start()
        samples = nem.parallel(lambda node: self._sample(node, lib, 6, period), chosen)
        return {"mode": "strobe", "nodes": [n.name for n in chosen], "offsets_s": [a, b],
                "period_ms": period * 1000, "duration_s": duration, "observed_s": samples}

    def _sample(self, node: Node, lib: str, count: int, period: float) -> list[float]:
        out = []
        for _ in range(count):
            out.append(_ft.measure_offset(node, lib))
            time.sleep(min(0.05, period * 1.5))
        return out

    def _stop_strobe(self, name: str) -> int | None:
        entry = self.strobes.pop(name, None)
        if entry is None:
            return None
        jid, s = entry
        s.stop()
        self.nem.journal.healed([jid])
        return s.flips

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        names = sorted(set(self.offsets) | set(self.strobes))
        flips = {}
        for n in list(self.strobes):
            flips[n] = self._stop_strobe(n)
        nodes = [nem.by_name[n] for n in names]
        lib = nem.options["libfaketime"]
        measured = nem.parallel(lambda node: _ft.apply_offset(node, None, lib), nodes)
        nem.journal.healed([self.offsets.pop(n)[0] for n in names if n in self.offsets])
        res: dict[str, Any] = {"mode": "reset", "nodes": names, "offsets_s": measured}
        if flips:
            res["strobe_flips"] = flips
        return res

    def in_force(self) -> bool:
        return bool(self.strobes or self.offsets)

    def describe(self) -> list[str]:
        out = [f"clock {n} {off:+g}s" for n, (_, off) in sorted(list(self.offsets.items()))]
        for n, (_, s) in sorted(list(self.strobes.items()), key=lambda kv: kv[0]):
            if s.running():
                out.append(f"clock strobe {n} {s.a:+g}s/{s.b:+g}s every {s.period_s * 1000:g}ms")
        return out

    def daemon_env(self, node: Node) -> dict[str, str]:
        return _ft.clock_env(node, self.nem.options["libfaketime"])

    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        d = {k: o.default for k, o in cls.OPTIONS.items()}
        mode = {"clock-bump": "bump", "clock-strobe": "strobe"}.get(spec_name) or \
            rng.choice(["bump", "strobe"])
        who = rng.choice(list(options.get("clock_targets") or ["one", "minority"]))
        if mode == "bump":
            bumps = list(options.get("bumps_s") or [options.get("bump_s", d["bump_s"])])
            off = rng.choice(bumps) * rng.choice([-1, 1])
            start = {"mode": "bump", "nodes": who, "offset_s": off}
        else:
            start = {"mode": "strobe", "nodes": who,
                     "offsets_s": list(options.get("strobe_offsets_s", d["strobe_offsets_s"])),
                     "period_ms": options.get("strobe_period_ms", d["strobe_period_ms"]),
                     "duration_s": options.get("strobe_duration_s", d["strobe_duration_s"])}
        return {"f": "start-clock", "value": start}, {"f": "stop-clock", "value": None}

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        node, path = entry.get("node"), entry["path"]
        if entry.get("kind") == "strobe":
            # The strobe loop runs on the node and outlives its controller; stop it
            # before removing the file it keeps rewriting.
            run_on(ref, ["sh", "-c", _ft.stop_strobe_script(entry["stop"], entry["pidfile"],
                                                            path)], timeout=20)
            _remove_files(ref, [path, path + ".tmp"])
            return f"{node}: stopped clock strobe and removed {path}"
        _remove_files(ref, [path, path + ".tmp"])
        return f"{node}: removed clock offset file {path}"

    @classmethod
    def heal_unreachable(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        if ref.get("host_files"):
            _remove_files(ref, [entry["path"], entry["path"] + ".tmp"])
