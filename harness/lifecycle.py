"""The run lifecycle: one spec in, one judged run directory out.

provision nodes → install/configure/start the target → wait until healthy
(bounded) → main phase (client workers + the nemesis schedule, recorded) →
heal every fault (recorded) → recovery window (bounded wait for health) →
final phase (e.g. final reads) → collect node logs → tear down → check
(workload checkers + always-on stats / exceptions / log-patterns) →
results.json, report.html, run.json → verdict table, run directory last.

Ctrl-C at any point sets a stop flag: the phase in progress ends early, and
every later phase that undoes something (heal, log collection, teardown)
and that judges what was recorded (check, report) still runs.  A second
Ctrl-C is ignored with a note; teardown is bounded anyway.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

from checkers.history import load_history
from core.store import RunDir, new_run
from harness.checking import (Outcome, RunAbort, _log, finish, judged, log_patterns,
                              run_checkers)
from harness.plan import Plan, build_generators, plan_checkers


class _NemesisFront:
    """What the runner's nemesis thread calls: the real nemesis plus a recorded
    ``heal`` op, so the end of every fault window is in the history."""

    def __init__(self, nem: Any, on_done: Callable[..., None] = lambda *a, **k: None):
        self.nem = nem
        self.on_done = on_done  # progress lines: each fault applied or healed

    def apply(self, f: str, value: Any = None) -> Any:
        try:
            if f == "heal":
                healed, measured = self.nem.heal_all_measured()
                res = {"healed": healed, **({"measured": measured} if measured else {})}
            else:
                res = self.nem.apply(f, value)
        except Exception as e:
            self.on_done(f, value, error=e)
            raise
        self.on_done(f, value, res)
        return res

    def active(self) -> list[str]:
        return self.nem.active()


# -- the lifecycle ---------------------------------------------------------------------------
class _Interrupts:
    """SIGINT → stop flag (only in the main thread; elsewhere nothing is installed)."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self._old: Any = None
        self.count = 0

    def _handler(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            _log("interrupted — stopping: healing faults, tearing down, then checking what was "
                 "recorded (Ctrl-C again does not skip cleanup)")
        else:
            _log("still cleaning up; please wait")
        self.stop.set()

    def __enter__(self) -> "_Interrupts":
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def validate_plan(plan: Plan) -> tuple[Any, Any]:
    """Build the target and check workload and nemesis against it; RunAbort listing
    every problem.  Nothing is started here."""
    import targets
    import workloads
    problems: list[str] = []
    target = None
    try:
        target = targets.get(plan.target_name)(plan.target_options)
    except (targets.UnknownTarget, targets.OptionError) as e:
        problems.append(f"target: {e}")
    try:
        wl = workloads.get(plan.workload_name)
        plan.workload_options = wl.validate_options(plan.workload_options)
    except (workloads.UnknownWorkload, workloads.OptionError) as e:
        problems.append(f"workload: {e}")
        wl = None
    if target is not None and wl is not None:
        try:
            target.check_workload(plan.workload_name)
        except targets.OptionError as e:
            problems.append(f"workload: {e}")
    if plan.nemesis:
        from nemesis.schedule import coverage_warning, validate_nemesis_spec
        from harness.nodes import PROVIDERS
        provider = PROVIDERS.get(plan.provider) if plan.provider in PROVIDERS else None
        problems += validate_nemesis_spec(plan.nemesis, target, plan.node_count, provider)
        if not problems and (warning := coverage_warning(plan.nemesis, plan.time_limit_s)):
            _log(f"warning: {warning}")
    if problems:
        raise RunAbort("; ".join(problems))
    return target, wl


def execute(plan: Plan, store_root: Path, *, live: bool = True,
            stop: threading.Event | None = None, junit: str | None = None) -> Outcome:
    """Run a validated plan end to end.  Never raises for run-time trouble: it is
    reported in the outcome (and as an ``unknown`` ``run`` result)."""
    stop = stop or threading.Event()
    target, _wl = validate_plan(plan)          # RunAbort before anything exists
    from harness.nodes import get_provider, new_test_id
    from core.nodes import NodeError
    from targets.logs import collect_logs

    run = new_run(store_root, plan.name)
    _write_spec(run, plan)
    test_id = new_test_id(store_root)
    faults = list((plan.nemesis or {}).get("faults") or [])
    run.write_meta(target=plan.target_name, workload=plan.workload_name, faults=faults,
                   seed=plan.seed, provider=plan.provider, nodes=plan.node_count,
                   test_id=test_id, concurrency=plan.concurrency, time_limit_s=plan.time_limit_s)
    errors: list[str] = []
    notes: list[str] = []
    interrupted_at: str | None = None
    provider = nodes = nem = runner = writer = None
    summary: dict[str, Any] = {}

    from reports.progress_log import ProgressLog
    progress = ProgressLog(enabled=not (live and sys.stdout.isatty()))  # no live panel: log lines

    def phase(name: str) -> None:
        run.write_meta(phase=name)
        progress.phase(name)

    with _Interrupts(stop):
        try:
            phase("provision")
            try:
                popts = dict(plan.provider_options)
                if plan.provider == "docker":
                    popts.update(_docker_needs(faults, target, popts))
                provider = get_provider(plan.provider, store_root, test_id, popts)
                nodes = provider.create(plan.node_count)
            except NodeError as e:
                raise RunAbort(f"cannot provision {plan.node_count} {plan.provider} node(s): {e}")
            run.write_meta(node_names=[n.name for n in nodes],
                           node_ips={n.name: n.ip for n in nodes})
            if stop.is_set():
                raise RunAbort("interrupted during provisioning")

            from nemesis.dispatch import Nemesis
            from nemesis.journal import journal_path
            nem = Nemesis(nodes, target, journal_path(store_root, test_id),
                          {**(plan.nemesis or {}), "seed": plan.seed, "faults": faults,
                           "test_id": test_id})
            target.env_hook = nem.daemon_env

            phase("setup")
            try:
                notes.extend(nem.prepare())      # e.g. lazyfs under the target's data dirs
                target.setup(nodes)
            except (NodeError, Exception) as e:  # noqa: BLE001 - one line for the user
                raise RunAbort(f"cannot start {plan.target_name}: {e}")
            ok, why = target.wait_healthy(plan.health_timeout_s, stop.is_set)
            if not ok:
                if stop.is_set():
                    raise RunAbort("interrupted while waiting for the target to become healthy")
                raise RunAbort(f"{plan.target_name} did not become healthy within "
                               f"{plan.health_timeout_s:g} s ({why}); see the node logs in "
                               f"{run.logs}")

            notes.extend(nem.settled())

            phase("main")
            from checkers.history import HistoryWriter
            from harness.workers import Runner
            main_gen, final_gen = build_generators(plan, [n.name for n in nodes])
            writer = HistoryWriter(run.history)
            node_list = list(nodes)

            def client_factory(process: int, worker: int) -> Any:
                # Worker w talks to node w mod n for its whole life: a fresh process
                # after an info stays on the same node.
                return target.client(node_list[worker % len(node_list)], plan.workload_name,
                                     plan.workload_options)

            runner = Runner(main_gen, client_factory, _NemesisFront(nem, progress.fault), writer,
                            plan.concurrency, plan.op_timeout_s,
                            max_duration_s=plan.time_limit_s + plan.op_timeout_s * 3 + 60)
            progress.follow(runner.stats)
            panel = _live_panel(runner, plan, target, node_list) if live else None
            with panel if panel is not None else contextlib.nullcontext():
                s = runner.run(stop)
            summary["main"] = s.to_json()
            if s.interrupted:
                interrupted_at = "main phase"

            phase("heal")
            _quiesce(runner)
            from core.generator import nemesis as on_nemesis, once
            if not stop.is_set():
                runner.run(stop, generator=on_nemesis(once({"f": "heal", "value": None})))
            healed = nem.heal_all()          # idempotent; covers a stopped heal op too
            if healed:
                notes.append("healed: " + "; ".join(healed))

            if final_gen is not None and not stop.is_set():
                phase("recovery")
                ok, why = target.wait_healthy(plan.recovery_timeout_s, stop.is_set)
                if not ok and not stop.is_set():
                    notes.append(f"target not healthy {plan.recovery_timeout_s:g} s after "
                                 f"healing ({why}); final phase runs anyway")
                if not stop.is_set():
                    phase("final")
                    s2 = runner.run(stop, generator=final_gen)
                    summary["final"] = s2.to_json()
                    if s2.interrupted:
                        interrupted_at = interrupted_at or "final phase"
            if stop.is_set() and interrupted_at is None:
                interrupted_at = "after the main phase"
        except RunAbort as e:
            errors.append(str(e))
        except Exception as e:  # noqa: BLE001 - anything else still tears down and reports
            errors.append(f"internal error: {type(e).__name__}: {e}")
            run.path.joinpath("error.txt").write_text(traceback.format_exc())
        finally:
            phase("teardown")
            if stop.is_set() and interrupted_at is None:
                interrupted_at = "setup"
            if runner is not None:
                _quiesce(runner)
                with contextlib.suppress(Exception):
                    runner.close()
            if nem is not None:
                try:
                    for line in nem.heal_all():
                        if "FAILED" in line:
                            errors.append(f"heal: {line}")
                except Exception as e:  # noqa: BLE001
                    errors.append(f"heal failed: {e}")
            if nodes:
                with contextlib.suppress(Exception):
                    target.stop_all()
                try:
                    problems = collect_logs(nodes, target, run.logs)
                    notes.extend(problems)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"log collection failed: {e}")
            if nem is not None:
                for line in nem.teardown():
                    (errors if "FAILED" in line else notes).append(line)
            if provider is not None:
                try:
                    provider.destroy()
                except Exception as e:  # noqa: BLE001
                    errors.append(f"teardown failed: {e} (run 'splitbrain clean')")
            if writer is not None:
                writer.close()
            if not run.history.exists():
                run.history.touch()

    # Nothing is left to undo: from here a Ctrl-C interrupts the checking itself
    # (run_checkers marks the rest unknown) and the verdict is still written.
    phase("check")
    ops = _count_ops(run)
    run.write_meta(ops=ops, summary=summary, notes=notes, errors=errors,
                   interrupted=interrupted_at)
    results = run_checkers(run, plan_checkers(plan), log_patterns(target), progress=live)
    results = judged(results, errors, interrupted_at, notes)
    phase("done")
    verdict = finish(run, results, junit=junit)
    for e in errors:
        _log(f"error: {e}")
    print(run.path, flush=True)
    return Outcome(run, verdict, results, errors[0] if errors else None, run.read_meta())


def _docker_needs(faults: list[str], target: Any, popts: dict[str, Any]) -> dict[str, Any]:
    """The docker provider's image packages and container rights for this target and faults."""
    from nemesis.faults import kind_of
    used = [k for k in map(kind_of, faults) if k is not None]
    out: dict[str, Any] = {"fuse": True} if any(k.needs_fuse for k in used) else {}
    if "image" not in popts:
        # one small image per target (and disk faults), built once from its Debian packages
        pkgs = list(popts.get("packages") or target.packages)
        out["packages"] = pkgs + [p for k in used for p in k.node_packages if p not in pkgs]
    return out


def _quiesce(runner: Any, within: float = 30.0) -> None:
    """Wait (bounded) for every runner thread, so that no nemesis thread is still
    applying a fault after heal_all — it would leave that fault behind."""
    alive = runner.join(within)
    if alive:
        print(f"splitbrain: warning: threads still running after {within:.0f} s: "
              f"{', '.join(alive)}", file=sys.stderr)


def _count_ops(run: RunDir) -> dict[str, int]:
    out = {"total": 0, "ok": 0, "fail": 0, "info": 0, "nemesis": 0}
    try:
        h = load_history(run.history)
    except Exception:  # noqa: BLE001
        return out
    for o in h.ops:
        out["total"] += 1
        if o.process == "nemesis":
            if o.type == "invoke":
                out["nemesis"] += 1
        elif o.type in ("ok", "fail", "info"):
            out[o.type] += 1
    return out


def _write_spec(run: RunDir, plan: Plan) -> None:
    import yaml
    d = dict(plan.spec_dict)
    d["seed"] = plan.seed
    run.spec.write_text(yaml.safe_dump(d, sort_keys=False, default_flow_style=False))


def _live_panel(runner: Any, plan: Plan, target: Any, nodes: list) -> Any:
    if not sys.stdout.isatty():
        return None
    try:
        from reports.console import LivePanel
    except ImportError:
        return None

    def stats() -> dict:
        s = runner.stats()
        s["time_limit_s"] = plan.time_limit_s
        s["nodes"] = {n.name: bool(target.daemons(n)) for n in nodes}
        return s
    return LivePanel(stats, plan.time_limit_s)


