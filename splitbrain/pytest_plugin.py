"""splitbrain's pytest plugin (the ``pytest11`` entry point ``splitbrain``).

Fixtures:

* ``splitbrain_run`` — a function: ``splitbrain_run("spec.yaml")``,
  ``splitbrain_run({...spec mapping...})`` or ``splitbrain_run(target=MyTarget,
  workload="register", nemesis={...})`` runs and judges one test and returns a
  :class:`splitbrain.testing.Run` (``assert run.valid`` prints its one-line
  summary and report path).  Each run's store is the test's own directory
  (``--splitbrain-store DIR`` keeps them in one place, e.g. for CI artifacts).
* ``splitbrain_nodes`` — a function: ``splitbrain_nodes(3)`` provisions nodes
  (netns unless ``provider=`` says otherwise) for a test that drives a target by
  hand; they are destroyed when the test ends, pass or fail.

Marker: ``@pytest.mark.splitbrain_needs("root", "netns", "docker", "nats-server")``
skips the test, saying which need is missing (see ``splitbrain.testing.missing``).

Nodes and faults are torn down by the run itself (``harness.lifecycle``), on
failure and on Ctrl-C; the nodes fixture destroys what it made in its finalizer
and records them first, so ``splitbrain clean`` finds whatever a killed pytest left.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from splitbrain import testing

MARKER = "splitbrain_needs"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("splitbrain")
    group.addoption("--splitbrain-store", default=None, metavar="DIR",
                    help="keep every splitbrain run of the session under DIR "
                         "(default: each test's tmp_path)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*needs): skip unless this machine has every need "
                   "(root, netns, docker, ssh, fuse, or a program on PATH)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers(name=MARKER):
        reason = testing.missing(*mark.args)
        if reason:
            pytest.skip(f"splitbrain: {reason}")


def _store_for(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    explicit = request.config.getoption("--splitbrain-store")
    return Path(explicit).absolute() if explicit else tmp_path / "store"


@pytest.fixture
def splitbrain_run(request: pytest.FixtureRequest,
                   tmp_path: Path) -> Callable[..., testing.Run]:
    store = _store_for(request, tmp_path)

    def run(spec: Any = None, **parts: Any) -> testing.Run:
        parts.setdefault("store", store)
        try:
            run = testing.run(spec, **parts)
        except testing.RunError as e:
            pytest.fail(f"splitbrain: {e}", pytrace=False)
        if run.interrupted:
            # The run caught Ctrl-C to tear down first; now stop the session as pytest would.
            raise KeyboardInterrupt(f"splitbrain run interrupted during the {run.interrupted} "
                                    f"(nodes and faults torn down; {run.run_dir})")
        return run

    return run


@pytest.fixture
def splitbrain_nodes(request: pytest.FixtureRequest,
                     tmp_path: Path) -> Iterator[Callable[..., list]]:
    from harness.nodes import get_provider, new_test_id
    store = _store_for(request, tmp_path)
    providers: list[Any] = []

    def provision(count: int = 3, provider: str = "netns",
                  options: dict[str, Any] | None = None) -> list:
        p = get_provider(provider, store, new_test_id(store), dict(options or {}))
        providers.append(p)
        return p.create(count)

    try:
        yield provision
    finally:
        problems = []
        for p in reversed(providers):
            try:
                p.destroy()
            except Exception as e:  # noqa: BLE001 - destroy every provider, then report
                problems.append(f"{type(e).__name__}: {e}")
        if problems:
            pytest.fail("splitbrain: node teardown failed (run 'splitbrain clean'): "
                        + "; ".join(problems), pytrace=False)


__all__ = ["MARKER", "splitbrain_nodes", "splitbrain_run"]
