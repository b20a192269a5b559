import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

from checkers.result import CheckResult
from harness.cli import main
from harness.cli.cmd_report import make_server
from core.store import new_run

from report_histories import bad_register, hand_linear_result


def _run(root: Path):
    run = new_run(root, "cli-test")
    h = bad_register()
    run.history.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in h.ops))
    run.write_results([hand_linear_result(h), CheckResult("stats", True, "fine", 0.0, {})])
    run.write_meta(target="etcd", ops=len(h))
    return run


def test_report_command_writes_report_index_and_junit(tmp_path: Path, capsys):
    root = tmp_path / "store"
    run = _run(root)
    junit = tmp_path / "j.xml"
    rc = main(["report", "latest", "--store", str(root), "--junit", str(junit)])
    assert rc == 0
    assert run.report.exists() and (root / "index.html").exists()
    assert 'failures="1"' in junit.read_text()
    assert str(run.report) in capsys.readouterr().out


def test_report_command_bad_dir_is_one_line_error(tmp_path: Path, capsys):
    rc = main(["report", str(tmp_path / "nope"), "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "no such run directory" in err


def test_serve_binds_loopback_only(tmp_path: Path):
    root = tmp_path / "store"
    _run(root)
    from reports.index import write_index
    write_index(root)
    server = make_server(root, 0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as r:
            assert r.status == 200 and b"cli-test" in r.read()
        (root / ".state").mkdir(exist_ok=True)
        (root / ".state" / "secret.json").write_text("{}")
        for path in ("/.state/secret.json", "/%2estate/secret.json", "/cli-test/../.state/"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
                raise AssertionError(f"{path} was served")
            except urllib.error.HTTPError as e:
                assert e.code == 404
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)
