"""``check``, ``validate`` and ``convert``: working with recorded histories."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from checkers import registry
from checkers.history import HistoryError, History, load_history, save_history, validate
from checkers.history.edn import loads_value
from checkers.history.values import JsonKey
from checkers.result import CheckResult, exit_code, merge_verdicts, verdict_word

from .errors import UserError


def parse_value(text: str) -> Any:
    """A value given on the command line: JSON first, then EDN (``nil``, ``:x``, ``[1 2]``).

    A JSON map's keys are all strings, so they are marked as such (JsonKey): a
    model keyed by integers matches ``"1"`` to the key 1 when the history leaves
    no doubt (docs/history.md).  EDN map keys keep their own type."""
    try:
        v = json.loads(text)
    except ValueError:
        pass
    else:
        return {JsonKey(k): x for k, x in v.items()} if isinstance(v, dict) else v
    try:
        return loads_value(text)
    except HistoryError as e:
        raise UserError(f"cannot read value {text!r} as JSON or EDN: {e}") from None


def load_valid(path: str, independent: bool | None = None) -> History:
    """Load and validate; the first breach becomes the error (with a count of the rest)."""
    h = load_history(path, independent=independent)
    for w in h.warnings:
        print(f"splitbrain: warning: {w}", file=sys.stderr)
    breaches = validate(h, limit=50)
    if breaches:
        b = breaches[0]
        more = f" (and {len(breaches) - 1}{'+' if len(breaches) == 50 else ''} more breaches;"\
               f" see 'splitbrain validate {path}')" if len(breaches) > 1 else ""
        raise HistoryError(b.message + more, file=path, line=b.line)
    return h


def _independent(args: argparse.Namespace) -> bool | None:
    return {"auto": None, "yes": True, "no": False}[args.independent]


def cmd_check(args: argparse.Namespace) -> int:
    checker = args.checker or ("linearizable" if args.model else None)
    if checker is None:
        raise UserError("say what to check: --model MODEL (linearizability) or --checker NAME")
    try:
        registry.get(checker)  # an unknown name is a user error before any loading
    except (registry.UnknownChecker, registry.PluginError) as e:
        raise UserError(str(e)) from None
    options: dict[str, Any] = {}
    if args.model:
        options["model"] = args.model
    if args.init is not None:
        options["init"] = parse_value(args.init)
    for name in ("cas_fail_observes", "level", "time_limit", "memory_limit", "workers",
                 "algorithm", "max_staleness_s",
                 "consistency_models", "anomalies", "sequential_keys", "linearizable_keys",
                 "wfr_keys", "group_size", "negative_balances"):
        v = getattr(args, name, None)
        if v is not None and v is not False:
            options[name] = v
    options.update(_txn_options(args))
    verdicts = []
    results: list[tuple[str, CheckResult | None]] = []
    for path, res in _judged(args, checker, options):
        if isinstance(res, Exception):
            if args.debug:
                raise res
            verdicts.append("unknown")
            if args.json:
                print(json.dumps({"file": path, "valid": "unknown", "error": str(res)}),
                      flush=True)
            else:
                print(f"splitbrain: error: {res}", file=sys.stderr)
            results.append((path, None))
            continue
        verdicts.append(res.valid)
        results.append((path, res))
        if args.json:
            out = {"file": path, **res.to_json()}
            print(json.dumps(out, default=str), flush=True)
        else:
            print(f"{path}: {verdict_word(res.valid)} — {res.summary} ({res.elapsed_s:.3f} s)",
                  flush=True)
    if getattr(args, "report", None):
        from reports.standalone import write_check_report  # lands with the reports issue
        write_check_report(args.report, [(p, r) for p, r in results if r is not None])
    if any(r is None for _, r in results) and merge_verdicts(verdicts) is not False:
        return 2
    return exit_code(merge_verdicts(verdicts))


def _judged(args: argparse.Namespace, checker: str, options: dict[str, Any]):
    """(path, CheckResult or the error) per history, in the order given.  Several
    histories go to the checker in one call when it can judge many at once (its
    cost per call then counts once); otherwise each is checked, with its progress
    bars, as it is loaded."""
    from reports.console import checking_progress
    if len(args.histories) > 1 and registry.get(checker).many is not None:
        loaded: list[tuple[str, Any]] = []
        for path in args.histories:
            try:
                loaded.append((path, load_valid(path, _independent(args))))
            except (HistoryError, UserError, ValueError) as e:
                loaded.append((path, e))
        judged = iter(registry.run_many(
            checker, [h for _, h in loaded if not isinstance(h, Exception)], **options))
        for path, h in loaded:
            yield path, (h if isinstance(h, Exception) else next(judged))
        return
    for path in args.histories:
        try:
            h = load_valid(path, _independent(args))
            with checking_progress(checker, not args.json) as bars:
                res: Any = registry.run(checker, h, **options, progress=bars)
        except (HistoryError, UserError, ValueError) as e:
            res = e
        yield path, res


def _txn_options(args: argparse.Namespace) -> dict[str, Any]:
    """Check the transactional options before any history is loaded."""
    out: dict[str, Any] = {}
    if args.consistency_models or args.anomalies:
        from checkers.txn.models import canonical, check_anomaly_names
        try:
            for m in (args.consistency_models or "").split(","):
                if m.strip():
                    canonical(m.strip())
            check_anomaly_names(a.strip() for a in (args.anomalies or "").split(",") if a.strip())
        except ValueError as e:
            raise UserError(str(e)) from None
    if args.transaction_order is not None:
        text = args.transaction_order
        if not text.lstrip().startswith("{"):
            try:
                with open(text, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise UserError(f"--transaction-order: {text}: {e.strerror}") from None
        try:
            order = json.loads(text)
            if not isinstance(order, dict):
                raise ValueError
            out["transaction_order"] = {int(k): int(v) for k, v in order.items()}
        except (ValueError, TypeError):
            raise UserError("--transaction-order: expected a JSON object mapping op indexes to "
                            'positions, e.g. {"3": 0, "7": 1} (inline or a file)') from None
    if args.group_size is not None and args.group_size < 1:
        raise UserError("--group-size must be at least 1")
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    worst = 0
    for path in args.histories:
        h = load_history(path, independent=_independent(args))
        for w in h.warnings:
            print(f"splitbrain: warning: {w}", file=sys.stderr)
        breaches = validate(h, limit=args.max)
        if any(o.f == "txn" for o in h.ops):   # micro-op lists: [f, key, value]
            from checkers.history import Breach
            from checkers.txn.ops import txn_breaches
            breaches += [Breach(p, h.line_of(p), m) for p, m in txn_breaches(h, args.max)]
            breaches.sort(key=lambda b: b.position)
            breaches = breaches[:args.max]
        for b in breaches:
            print(b.render(path))
        if breaches:
            worst = 2
        else:
            client = sum(1 for o in h.ops if o.process != "nemesis")
            print(f"{path}: ok — {len(h)} ops ({client} client, {len(h) - client} nemesis)")
    return worst


def cmd_convert(args: argparse.Namespace) -> int:
    h = load_valid(args.input, _independent(args))
    save_history(h, args.output, fmt=args.to)
    print(f"{args.output}: wrote {len(h)} ops")
    return 0


def _add_independent(p: argparse.ArgumentParser) -> None:
    p.add_argument("--independent", choices=("auto", "yes", "no"), default="auto",
                   help="EDN only: read Jepsen 'independent' values [key value] as key/value "
                        "(default: auto-detect)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check one or more recorded histories",
                       description="Check histories (JSON Lines or Jepsen EDN). Exit 0 when all "
                                   "are valid, 1 when any is invalid, 2 when any is unknown or "
                                   "could not be checked.")
    p.add_argument("histories", nargs="+", metavar="HISTORY")
    p.add_argument("--model", help="model for the linearizability checker (e.g. cas-register)")
    p.add_argument("--checker", help="checker name (default: linearizable when --model is given)")
    p.add_argument("--init", help="initial model value, JSON or EDN (default nil)")
    p.add_argument("--cas-fail-observes", action="store_true",
                   help="a failed CAS also observes that the register did not hold its 'from' value")
    p.add_argument("--algorithm", choices=("auto", "unique-values", "wgl"),
                   help="linearizability: the near-linear check for unique written values, the "
                        "search, or the first where it applies (default auto)")
    p.add_argument("--max-staleness", dest="max_staleness_s", type=float, metavar="SECONDS",
                   help="linearizability: judge bounded staleness (reads at most this stale) "
                        "instead")
    p.add_argument("--level", choices=("CC", "CM", "CCv"), help="causal checker: level to judge")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="per-check time budget")
    p.add_argument("--memory-limit", type=float, metavar="MIB", help="per-check memory budget")
    p.add_argument("--workers", type=int, help="processes for per-key checking")
    t = p.add_argument_group("transactional checkers (list-append, rw-register, bank, long-fork)")
    t.add_argument("--consistency-models", metavar="M1,M2",
                   help="models the history must satisfy (default strict-serializable), e.g. "
                        "serializable,snapshot-isolation")
    t.add_argument("--anomalies", metavar="A1,A2",
                   help="anomalies that make the history invalid, e.g. G0,G1c (added to those "
                        "the models rule out)")
    t.add_argument("--sequential-keys", action="store_true",
                   help="rw-register: each process sees every key move forward")
    t.add_argument("--linearizable-keys", action="store_true",
                   help="rw-register: every key is linearizable (real-time version order)")
    t.add_argument("--wfr-keys", action="store_true",
                   help="rw-register: within a transaction, writes follow reads")
    t.add_argument("--transaction-order", metavar="JSON",
                   help="rw-register: known transaction order, a JSON object (or file) mapping "
                        "op index to position")
    t.add_argument("--group-size", type=int, metavar="N",
                   help="long-fork: keys written in one group (default 2)")
    t.add_argument("--negative-balances", action="store_true",
                   help="bank: negative balances are allowed")
    p.add_argument("--json", action="store_true", help="print one JSON object per history")
    p.add_argument("--report", metavar="OUT.html", help="also write an HTML report")
    _add_independent(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("validate", help="check that histories are well formed",
                       description="Report every breach of Jepsen's history semantics with its "
                                   "line. Exit 0 when well formed, 2 otherwise.")
    p.add_argument("histories", nargs="+", metavar="HISTORY")
    p.add_argument("--max", type=int, default=1000, help="report at most this many breaches")
    _add_independent(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("convert", help="convert between JSON Lines and Jepsen EDN",
                       description="Convert a history; formats follow the file extensions "
                                   "(.jsonl, .edn) unless --to is given.")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--to", choices=("jsonl", "edn"))
    _add_independent(p)
    p.set_defaults(func=cmd_convert)
