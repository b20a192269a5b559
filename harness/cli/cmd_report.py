"""``report`` and ``serve``: regenerate a run's HTML report, serve the store.

``serve`` binds to 127.0.0.1 only: the store holds histories and node logs
of databases under test, which are nobody else's business.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import urllib.parse
from pathlib import Path

from checkers.history import HistoryError
from core.store import resolve_run, store_root

from .errors import UserError

LOOPBACK = "127.0.0.1"


def cmd_report(args: argparse.Namespace) -> int:
    from reports.html import read_results, write_report
    from reports.index import write_index
    root = store_root(args.store)
    try:
        run = resolve_run(args.run_dir, root)
        path = write_report(run.path)
    except HistoryError:
        raise
    except ValueError as e:
        raise UserError(str(e)) from None
    print(f"report: {path}")
    if args.junit:
        from reports.junit import write_junit
        meta = run.read_meta()
        write_junit(args.junit, read_results(run), str(meta.get("name") or run.path.parent.name),
                    report_path=str(path))
        print(f"junit: {args.junit}")
    # Keep the store's index current when the run lives in it.
    try:
        run.path.resolve().relative_to(root.resolve())
        in_store = True
    except ValueError:
        in_store = False
    if in_store and root.is_dir():
        write_index(root)
    return 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):  # type: ignore[override]
        # .state/ holds what the controller must reclaim (node and nemesis
        # journals, possibly ssh details): never served, nor any dot path.
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(404, "not served")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))


def make_server(root: Path, port: int) -> http.server.ThreadingHTTPServer:
    """An HTTP server for ``root`` on 127.0.0.1:``port`` (0 picks a free port)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    try:
        return http.server.ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as e:
        raise UserError(f"cannot listen on {LOOPBACK}:{port}: {e.strerror or e}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from reports.index import write_index
    root = store_root(args.store)
    if not root.is_dir():
        raise UserError(f"{root}: no such store directory (run a test first, or pass --store)")
    write_index(root)
    server = make_server(root, args.port)
    host, port = server.server_address[:2]
    print(f"serving {root} at http://{host}:{port}/ (127.0.0.1 only; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="regenerate a run's HTML report",
                       description="Write RUN_DIR/report.html from the run's history, results "
                                   "and spec (and refresh the store's index.html).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, or 'latest'")
    p.add_argument("--store", help="store root (default ./store or $SPLITBRAIN_STORE)")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML file of the verdicts")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("serve", help="serve the store's reports on 127.0.0.1",
                       description="Serve the store (index.html, reports, histories, logs) "
                                   "over HTTP on 127.0.0.1 only.")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--store", help="store root (default ./store or $SPLITBRAIN_STORE)")
    p.set_defaults(func=cmd_serve)
