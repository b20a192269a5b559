"""``nodes up|down|list`` and ``clean``: nodes by hand, and reclaiming after a crash."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from core.store import state_dir, store_root

from .errors import UserError


def _parse_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for kv in args.option or []:
        if "=" not in kv:
            raise UserError(f"--option {kv!r}: expected KEY=VALUE")
        k, v = kv.split("=", 1)
        try:
            opts[k] = json.loads(v)
        except ValueError:
            opts[k] = v
    if args.subnet:
        opts["subnet"] = args.subnet
    if args.hosts:
        opts["hosts"] = [h for h in args.hosts.split(",") if h]
    for name in ("user", "port", "key_file", "known_hosts", "image"):
        if getattr(args, name, None) is not None:
            opts[name] = getattr(args, name)
    if args.sudo:
        opts["sudo"] = True
    if args.insecure_accept_host_keys:
        opts["insecure_accept_host_keys"] = True
    if args.packages:
        opts["packages"] = [p for p in args.packages.split(",") if p]
    if args.provider == "docker":
        # An image build takes about a minute; say what is happening.
        opts["log"] = lambda s: print(f"splitbrain: {s}", file=sys.stderr, flush=True)
    return opts


def cmd_up(args: argparse.Namespace) -> int:
    from harness.nodes import NodeError, get_provider
    root = store_root(args.store)
    try:
        prov = get_provider(args.provider, root, args.test_id, _parse_options(args))
        t0 = time.monotonic()
        nodes = prov.create(args.nodes)
    except NodeError as e:
        raise UserError(str(e)) from None
    took = time.monotonic() - t0
    test_id = getattr(prov, "test_id", "?")
    print(f"{len(nodes)} {args.provider} nodes up in {took:.2f}s, test id {test_id}")
    for n in nodes:
        how = ""
        if args.provider == "netns":
            how = f"ip netns exec {n.ns} bash"  # type: ignore[attr-defined]
        elif args.provider == "docker":
            how = f"docker exec -it {n.container_name} bash"  # type: ignore[attr-defined]
        print(f"  {n.name:<4} {n.ip:<15} data {n.data_dir}   {how}")
    print(f"tear down with: splitbrain nodes down {test_id}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from harness.nodes import NodeError, reclaim_all
    from harness.nodes.state import all_states
    root = store_root(args.store)
    states = all_states(root)
    test_id = args.test_id
    if not states and test_id is None:
        print("no nodes recorded in", state_dir(root, "nodes"))
        return 0
    if test_id is None:
        if len(states) > 1:
            ids = ", ".join(p.stem for p, _ in states)
            raise UserError(f"several tests have nodes ({ids}): say which, or use 'splitbrain clean'")
        test_id = states[0][0].stem
    elif not any(p.stem == test_id for p, _ in states):
        raise UserError(f"no nodes recorded for test id {test_id!r} in {state_dir(root, 'nodes')}")
    try:
        for line in reclaim_all(root, test_id):
            print("removed", line)
    except NodeError as e:
        raise UserError(str(e)) from None
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness.nodes.state import all_states
    root = store_root(args.store)
    for path, st in all_states(root):
        nodes = st.get("nodes") or []
        age = time.time() - float(st.get("created") or time.time())
        print(f"{path.stem}  {st.get('provider', '?'):<6} {len(nodes)} nodes  "
              f"{' '.join(n.get('ip', '?') for n in nodes)}  ({age:.0f}s old, controller pid "
              f"{st.get('controller_pid')})")
    return 0


def heal_faults(root, force: bool = False) -> list[str]:
    """Heal faults a crashed controller left, when the nemesis journal exists."""
    try:
        from nemesis.journal import heal_all
    except ImportError as e:
        if getattr(e, "name", None) in ("nemesis.journal", "nemesis"):
            return []
        raise
    import inspect
    if "force" in inspect.signature(heal_all).parameters:
        return list(heal_all(root, force=force))
    return list(heal_all(root))


def cmd_clean(args: argparse.Namespace) -> int:
    from harness.nodes import NodeError, reclaim_all
    root = store_root(args.store)
    for line in heal_faults(root, args.force):
        print("healed", line)
    failures = 0
    try:
        removed = reclaim_all(root, force=args.force)
    except NodeError as e:
        print(f"splitbrain: error: {e}", file=sys.stderr)
        failures += 1
        removed = []
    for line in removed:
        print(line if ": skipped," in line else f"removed {line}")
    if not removed and not failures:
        print("nothing to clean")
    return 2 if failures else 0


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $SPLITBRAIN_STORE or ./store)")


def register(sub: argparse._SubParsersAction) -> None:
    nodes = sub.add_parser("nodes", help="bring test nodes up or down by hand")
    nsub = nodes.add_subparsers(dest="nodes_command", metavar="ACTION")
    nsub.required = True

    up = nsub.add_parser("up", help="create nodes and leave them running")
    up.add_argument("--provider", default="netns", choices=["netns", "docker", "ssh"])
    up.add_argument("--nodes", type=int, default=5, help="how many nodes (default 5)")
    up.add_argument("--test-id", help="test id to name resources after (default: random)")
    up.add_argument("--subnet", help="private subnet to allocate from (netns/docker)")
    up.add_argument("--image", help="docker: image to run instead of the built node image")
    up.add_argument("--packages", help="docker: comma-separated apt packages for the node image")
    up.add_argument("--hosts", help="ssh: comma-separated host[:port] list")
    up.add_argument("--user", help="ssh: user name")
    up.add_argument("--port", type=int, help="ssh: port (default 22)")
    up.add_argument("--key-file", dest="key_file", help="ssh: private key file")
    up.add_argument("--known-hosts", dest="known_hosts", help="ssh: known_hosts file")
    up.add_argument("--sudo", action="store_true", help="ssh: run commands through sudo")
    up.add_argument("--insecure-accept-host-keys", action="store_true",
                    help="ssh: accept unknown host keys (throw-away clusters only)")
    up.add_argument("--option", "-o", action="append", metavar="KEY=VALUE",
                    help="provider option (value read as JSON when it parses)")
    _store_arg(up)
    up.set_defaults(func=cmd_up)

    down = nsub.add_parser("down", help="destroy the nodes of a test id")
    down.add_argument("test_id", nargs="?", help="test id (default: the only one recorded)")
    _store_arg(down)
    down.set_defaults(func=cmd_down)

    ls = nsub.add_parser("list", help="list nodes recorded in the store")
    _store_arg(ls)
    ls.set_defaults(func=cmd_list)

    clean = sub.add_parser("clean", help="heal leftover faults and destroy every recorded node")
    clean.add_argument("--force", action="store_true",
                       help="also reclaim nodes of controllers that are still running")
    _store_arg(clean)
    clean.set_defaults(func=cmd_clean)
