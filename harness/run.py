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
import random
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from checkers import registry
from checkers.history import load_history
from checkers.result import UNKNOWN, CheckResult, exit_code, verdict_word
from harness.store import RunDir, new_run

ALWAYS_ON = ("stats", "exceptions", "log-patterns")


class RunAbort(Exception):
    """A phase cannot go on; the message is for the user (one line)."""


@dataclass
class Plan:
    """Everything a run needs, resolved and validated before anything starts."""

    name: str
    seed: int
    target_name: str
    target_options: dict[str, Any]
    provider: str
    node_count: int
    provider_options: dict[str, Any]
    workload_name: str
    workload_options: dict[str, Any]
    concurrency: int
    rate: float | None
    time_limit_s: float
    op_timeout_s: float
    nemesis: dict[str, Any] | None          # {faults, interval, jitter, ...} or None
    checkers: list[tuple[str, dict]] | None  # None: the workload's own
    health_timeout_s: float = 30.0
    recovery_timeout_s: float = 30.0
    final_time_limit_s: float = 30.0
    spec_dict: dict[str, Any] = field(default_factory=dict)   # written to spec.yaml
    generator: Any = None                    # a spec's own client generator (YAML form), or None
    nemesis_steps: list | None = None        # an explicit nemesis schedule (YAML form), or None


@dataclass
class Outcome:
    run_dir: RunDir | None
    verdict: Any
    results: list[CheckResult]
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)


def _log(msg: str) -> None:
    print(f"splitbrain: {msg}", file=sys.stderr, flush=True)


# -- generators ------------------------------------------------------------------------------
def build_generators(plan: Plan, node_names: list[str]) -> tuple[Any, Any | None]:
    """The main-phase generator (clients + nemesis, time-limited) and the final one.

    Every random stream is derived from ``plan.seed`` alone, so two runs with
    the same seed ask for the same ops in the same per-stream order.
    """
    from harness.generator import (any_of, bind, clients, nemesis_schedule, rate, time_limit)
    import workloads

    wl = workloads.get(plan.workload_name)
    root = random.Random(plan.seed)
    wl_rng = random.Random(root.getrandbits(64))
    nem_rng = random.Random(root.getrandbits(64))
    bind_seed = root.getrandbits(64)
    final_seed = root.getrandbits(64)
    final = wl.final_generator(plan.workload_options)
    if plan.generator is not None:
        from harness.generator import generator_from_spec, split_final
        custom = generator_from_spec(plan.generator, path="generator", workload={
            "main": lambda: wl.generator(plan.workload_options, wl_rng),
            "final": lambda: wl.final_generator(plan.workload_options)})
        client_gen, custom_final = split_final(custom)
        if custom_final is not None:
            final = custom_final
    else:
        client_gen = wl.generator(plan.workload_options, wl_rng)
        if plan.rate:
            client_gen = rate(plan.rate, client_gen)
    parts = [clients(client_gen)]
    if plan.nemesis_steps:
        from harness.generator import generator_from_spec, nemesis as on_nemesis
        parts.append(on_nemesis(generator_from_spec(plan.nemesis_steps, path="nemesis")))
    elif plan.nemesis and plan.nemesis.get("faults"):
        from nemesis.schedule import combined_ops, op_spacing_s, parse_duration
        n = plan.nemesis
        interval = parse_duration(n.get("interval", "10s"), "nemesis.interval")
        jitter_s = parse_duration(n["jitter"], "nemesis.jitter") if n.get("jitter") else 0.0
        ops = combined_ops(list(n["faults"]), node_names, nem_rng, n)
        parts.append(nemesis_schedule(ops, op_spacing_s(interval),
                                      jitter=min(1.0, jitter_s / op_spacing_s(interval))))
    main = time_limit(plan.time_limit_s, any_of(*parts))
    bind(main, bind_seed)
    if final is not None:
        final = time_limit(plan.final_time_limit_s, final)
        bind(final, final_seed)
    return main, final


class _NemesisFront:
    """What the runner's nemesis thread calls: the real nemesis plus a recorded
    ``heal`` op, so the end of every fault window is in the history."""

    def __init__(self, nem: Any, on_done: Callable[..., None] = lambda *a, **k: None):
        self.nem = nem
        self.on_done = on_done  # progress lines: each fault applied or healed

    def apply(self, f: str, value: Any = None) -> Any:
        try:
            res = {"healed": self.nem.heal_all()} if f == "heal" else self.nem.apply(f, value)
        except Exception as e:
            self.on_done(f, value, error=e)
            raise
        self.on_done(f, value, res)
        return res

    def active(self) -> list[str]:
        return self.nem.active()


# -- checking --------------------------------------------------------------------------------
def checker_plan(workload_name: str, workload_options: Mapping[str, Any],
                 explicit: list[tuple[str, dict]] | None) -> list[tuple[str, dict]]:
    import workloads
    base = list(explicit) if explicit is not None else \
        workloads.get(workload_name).checkers(workload_options)
    names = {n for n, _ in base}
    return base + [(n, {}) for n in ALWAYS_ON if n not in names]


def run_checkers(run: RunDir, plan_checkers: list[tuple[str, dict]],
                 log_patterns: list[dict] | None, extra: Mapping[str, Any] | None = None,
                 progress: bool = True) -> list[CheckResult]:
    """Load the recorded history and run every checker; a checker that raises is
    ``unknown`` with the error, never valid.  With ``progress``, bars on a terminal."""
    from reports.console import checking_progress
    from checkers.history import validate
    try:
        history = load_history(run.history)
    except Exception as e:  # noqa: BLE001 - a torn/absent history is reported, not raised
        return [CheckResult("history", UNKNOWN, f"cannot load {run.history}: {e}")]
    breaches = validate(history, limit=5)
    results: list[CheckResult] = []
    if breaches:
        results.append(CheckResult("history", UNKNOWN,
                                   f"history is not well formed: {breaches[0].message}",
                                   evidence={"breaches": [b.message for b in breaches]}))
    for pos, (name, opts) in enumerate(plan_checkers):
        o = dict(opts)
        o.update(extra or {})
        if name == "log-patterns":
            o.setdefault("log_files", _log_files(run))
            o.setdefault("patterns", log_patterns or [])
        t0 = time.monotonic()
        try:
            with checking_progress(name, progress) as bars:
                if bars is not None:
                    o["progress"] = bars
                res = registry.run(name, history, **o)
        except registry.UnknownChecker as e:
            res = CheckResult(name, UNKNOWN, str(e))
        except KeyboardInterrupt:
            _log("checking interrupted; the remaining checkers are unknown")
            results += [CheckResult(n, UNKNOWN, "checking interrupted (Ctrl-C)")
                        for n, _ in plan_checkers[pos:]]
            return results
        except Exception as e:  # noqa: BLE001 - unknown, with the error, never valid
            res = CheckResult(name, UNKNOWN, f"checker raised {type(e).__name__}: {e}",
                              evidence={"traceback": traceback.format_exc()[-4000:]})
        if not res.elapsed_s:
            res.elapsed_s = time.monotonic() - t0
        results.append(res)
    return results


def _log_files(run: RunDir) -> dict[str, list[str]]:
    """{node: [collected log paths]} under the run's logs/ directory."""
    out: dict[str, list[str]] = {}
    if run.logs.is_dir():
        for d in sorted(run.logs.iterdir()):
            if d.is_dir():
                files = sorted(str(f) for f in d.iterdir() if f.is_file())
                if files:
                    out[d.name] = files
    return out


def finish(run: RunDir, results: list[CheckResult], *, quiet: bool = False,
           junit: str | None = None) -> Any:
    """results.json, report.html, run.json verdict (and a JUnit file when asked);
    prints the table.  Returns the verdict."""
    doc = run.write_results(results)
    verdict = doc["valid"]
    run.write_meta(verdict=verdict_word(verdict), finished=_now())
    report = None
    try:
        from reports.html import write_report
        report = write_report(run.path)
    except Exception as e:  # noqa: BLE001 - a report failure must not lose the verdict
        _log(f"warning: could not write the HTML report: {type(e).__name__}: {e}")
    if junit:
        try:
            from reports.junit import write_junit
            write_junit(junit, results, run.read_meta().get("name") or run.path.parent.name,
                        report_path=str(report) if report else None)
        except Exception as e:  # noqa: BLE001
            _log(f"warning: could not write {junit}: {type(e).__name__}: {e}")
    try:
        from reports.index import write_index
        write_index(run.path.parent.parent)
    except Exception:  # noqa: BLE001 - the index is a convenience
        pass
    if not quiet:
        try:
            from reports.console import print_verdicts
            print_verdicts(results, report)
        except Exception:  # noqa: BLE001 - fall back to plain lines
            for r in results:
                print(f"{r.checker:14} {verdict_word(r.valid):8} {r.summary}")
            print(f"overall: {verdict_word(verdict).upper()}")
    return verdict


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


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
        problems += validate_nemesis_spec(plan.nemesis, target, plan.node_count)
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
    from harness.nodes.base import NodeError
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
                if plan.provider == "docker" and "image" not in popts:
                    # one small image per target, built once from its Debian packages
                    popts.setdefault("packages", list(target.packages))
                provider = get_provider(plan.provider, store_root, test_id, popts)
                nodes = provider.create(plan.node_count)
            except NodeError as e:
                raise RunAbort(f"cannot provision {plan.node_count} {plan.provider} node(s): {e}")
            run.write_meta(node_names=[n.name for n in nodes],
                           node_ips={n.name: n.ip for n in nodes})
            if stop.is_set():
                raise RunAbort("interrupted during provisioning")

            from nemesis.core import Nemesis
            from nemesis.journal import journal_path
            nem = Nemesis(nodes, target, journal_path(store_root, test_id),
                          {**(plan.nemesis or {}), "seed": plan.seed, "faults": faults,
                           "test_id": test_id})
            target.env_hook = nem.clock_env

            phase("setup")
            try:
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

            phase("main")
            from checkers.history import HistoryWriter
            from harness.runner import Runner
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
            from harness.generator import nemesis as on_nemesis, once
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
    checks = checker_plan(plan.workload_name, plan.workload_options, plan.checkers)
    patterns = [{"name": p.name, "regex": p.regex, "description": p.description}
                for p in target.log_patterns]
    results = run_checkers(run, checks, patterns, _checker_extras(plan), progress=live)
    if errors:
        results.insert(0, CheckResult("run", UNKNOWN, errors[0],
                                      evidence={"errors": errors, "notes": notes}))
    elif interrupted_at:
        results.insert(0, CheckResult("run", UNKNOWN,
                                      f"interrupted (Ctrl-C) during the {interrupted_at}; "
                                      "judged what was recorded",
                                      evidence={"notes": notes}))
    phase("done")
    verdict = finish(run, results, junit=junit)
    for e in errors:
        _log(f"error: {e}")
    print(run.path, flush=True)
    return Outcome(run, verdict, results, errors[0] if errors else None, run.read_meta())


def _quiesce(runner: Any, within: float = 30.0) -> None:
    """Wait (bounded) for every runner thread, so that no nemesis thread is still
    applying a fault after heal_all — it would leave that fault behind."""
    alive = runner.join(within)
    if alive:
        print(f"splitbrain: warning: threads still running after {within:.0f} s: "
              f"{', '.join(alive)}", file=sys.stderr)


def _checker_extras(plan: Plan) -> dict[str, Any]:
    return {}


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


# -- analyze ---------------------------------------------------------------------------------
def analyze(run: RunDir, *, checkers: list[tuple[str, dict]] | None = None,
            extra: Mapping[str, Any] | None = None, junit: str | None = None) -> Outcome:
    """Re-run the checkers on a stored run (its spec.yaml says which), rewrite
    results.json, report.html and the verdict in run.json."""
    import yaml
    import targets
    from harness.cli.errors import UserError
    from harness.spec import spec_from_dict
    meta = run.read_meta()
    spec = None
    if run.spec.exists():
        try:
            spec = spec_from_dict(yaml.safe_load(run.spec.read_text()), str(run.spec))
        except yaml.YAMLError as e:
            raise RunAbort(f"{run.spec}: not valid YAML: {e}") from None
        except UserError as e:
            raise RunAbort(str(e)) from None
    if spec is None and checkers is None:
        raise RunAbort(f"{run.path}: no spec.yaml to say which checkers apply; pass --checker")
    patterns: list[dict] = []
    tname = spec.target if spec is not None else meta.get("target")
    if tname:
        with contextlib.suppress(Exception):
            patterns = [{"name": p.name, "regex": p.regex, "description": p.description}
                        for p in targets.get(tname).log_patterns]
    if checkers is None:
        assert spec is not None
        plan_checkers = checker_plan(spec.workload, spec.workload_options, spec.all_checkers())
    else:
        # A checker the spec also names keeps the spec's options (e.g. the model).
        known = dict(spec.all_checkers()) if spec is not None else {}
        plan_checkers = [(n, {**known.get(n, {}), **o}) for n, o in checkers]
        plan_checkers += [(n, {}) for n in ALWAYS_ON if n not in {c for c, _ in checkers}]
    results = run_checkers(run, plan_checkers, patterns, extra)
    # A run that ended in error stays unknown however the re-check goes.
    errs = meta.get("errors") or []
    if errs:
        results.insert(0, CheckResult("run", UNKNOWN, errs[0], evidence={"errors": errs}))
    elif meta.get("interrupted"):
        results.insert(0, CheckResult("run", UNKNOWN,
                                      f"interrupted (Ctrl-C) during the {meta['interrupted']}; "
                                      "judged what was recorded"))
    verdict = finish(run, results, junit=junit)
    print(run.path, flush=True)
    return Outcome(run, verdict, results, None, run.read_meta())


def _checker_list(v: Any) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for c in v or []:
        if isinstance(c, str):
            out.append((c, {}))
        elif isinstance(c, dict) and "name" in c:
            out.append((c["name"], {k: x for k, x in c.items() if k != "name"}))
        elif isinstance(c, dict) and len(c) == 1:
            (k, x), = c.items()
            out.append((k, dict(x or {})))
    return out
