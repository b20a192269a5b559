"""Judging a run directory: the checker plan (with the always-on checkers, added
here and nowhere else), running every checker on the recorded history, writing
the verdict and reports — after a run, and again on ``splitbrain analyze``."""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from checkers import registry
from checkers.history import load_history
from checkers.result import UNKNOWN, CheckResult, exit_code, verdict_word
from core.errors import UserError
from core.options import parameters
from core.registry import Registry
from core.store import RunDir

# Judge every run, whatever its workload: op counts, crashes grouped, node-log patterns.
ALWAYS_ON = ("stats", "exceptions", "log-patterns")


def _unknown_checker(kind: str, name: Any, known: list[str]) -> Exception:
    return registry.UnknownChecker(f"no checker named {name!r} (available: "
                                   f"{', '.join(known) or 'none yet'})")


# The same entry points checkers.registry reads (group splitbrain.checkers), with the
# checkers registered at run time and ``module:function`` names, on the mechanism
# every other extension point uses.
CHECKERS = Registry("checker", registry.registered, group=registry.GROUP,
                    error=_unknown_checker, table_origin="registered")


def _linear_models() -> dict[str, Any]:
    from checkers.linear import BUILTIN
    return dict(BUILTIN)


MODELS = Registry("model", _linear_models, group="splitbrain.models")


def checker(name: str) -> "registry.Checker":
    """The checker a name stands for; a ``module:function`` name is registered with
    the checkers package on first use, so its own lookups find it too."""
    found = registry.as_checker(name, CHECKERS.get(name))
    if name not in registry.names():
        registry.register(found.name, found.fn, found.description, found.judges_client_ops)
    return found


def checker_options(name: str) -> tuple[str, ...]:
    """The options a checker takes: its function's named parameters (``progress``
    is the harness', not the user's)."""
    return tuple(p for p in parameters(checker(name).fn) if p != "progress")


def resolve_model(model: Any) -> Any:
    """A model name from a plugin becomes its class (the checker takes a class as is)."""
    if isinstance(model, str) and model in MODELS and model not in _linear_models():
        return MODELS.get(model)
    return model


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


class RunAbort(Exception):
    """A phase cannot go on; the message is for the user (one line)."""


def checker_plan(base: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """``base`` (a workload's or a spec's checkers) plus the always-on ones it lacks."""
    names = {n for n, _ in base}
    return list(base) + [(n, {}) for n in ALWAYS_ON if n not in names]


def log_patterns(target: Any) -> list[dict]:
    """A target's log patterns as the log-patterns checker takes them."""
    return [{"name": p.name, "regex": p.regex, "description": p.description,
             "invalid": p.invalid} for p in target.log_patterns]


def _log(msg: str) -> None:
    print(f"splitbrain: {msg}", file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def judged(results: list[CheckResult], errors: list[str], interrupted: str | None,
           notes: list[str] | None = None) -> list[CheckResult]:
    """A run that ended in error or was interrupted stays unknown however the checks went."""
    if errors:
        ev: dict[str, Any] = {"errors": errors}
        if notes is not None:
            ev["notes"] = notes
        return [CheckResult("run", UNKNOWN, errors[0], evidence=ev)] + results
    if interrupted:
        return [CheckResult("run", UNKNOWN, f"interrupted (Ctrl-C) during the {interrupted}; "
                            "judged what was recorded",
                            evidence={"notes": notes} if notes is not None else {})] + results
    return results


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
        # A run-wide extra (analyze --model) goes only to the checkers that take it.
        o.update(_accepted(name, extra))
        if name == "log-patterns":
            o.setdefault("log_files", _log_files(run))
            o.setdefault("patterns", log_patterns or [])
        t0 = time.monotonic()
        try:
            fn = checker(name).fn
            if "model" in o:
                o["model"] = resolve_model(o["model"])
            with checking_progress(name, progress) as bars:
                if bars is not None and "progress" in parameters(fn):
                    o["progress"] = bars
                res = fn(history, **o)
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


def _accepted(name: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if not extra:
        return {}
    try:
        takes = checker_options(name)
    except registry.UnknownChecker:
        return {}
    return {k: v for k, v in extra.items() if k in takes}


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


def analyze(run: RunDir, *, checkers: list[tuple[str, dict]] | None = None,
            extra: Mapping[str, Any] | None = None, junit: str | None = None) -> Outcome:
    """Re-run the checkers on a stored run (its spec.yaml says which), rewrite
    results.json, report.html and the verdict in run.json."""
    import yaml
    import targets
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
            patterns = log_patterns(targets.get(tname))
    if checkers is None:
        assert spec is not None
        plan_checkers = spec.all_checkers()
    else:
        # A checker the spec also names keeps the spec's options (e.g. the model).
        known = dict(spec.all_checkers()) if spec is not None else {}
        plan_checkers = checker_plan([(n, {**known.get(n, {}), **o}) for n, o in checkers])
    results = run_checkers(run, plan_checkers, patterns, extra)
    results = judged(results, meta.get("errors") or [], meta.get("interrupted"))
    verdict = finish(run, results, junit=junit)
    print(run.path, flush=True)
    return Outcome(run, verdict, results, None, run.read_meta())
