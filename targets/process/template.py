"""A per-node command line from a template: ``{node}``, ``{index}``, ``{ip}``,
``{port}``, ``{ports[NAME]}``, ``{peers}``, ``{others}``, ``{data_dir}``.

The template is split into words (``shlex``) *before* anything is substituted,
and each word is filled in on its own, so a value holding spaces or quotes stays
one argument and nothing is ever read by a shell.
"""

from __future__ import annotations

import shlex
import string
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

FIELDS = ("node", "index", "ip", "port", "ports", "peers", "others", "data_dir")


@dataclass(frozen=True)
class NodeView:
    """What a template may say about one node."""

    name: str
    index: int
    ip: str
    data_dir: str


def words(template: str | Sequence[str]) -> list[str]:
    """The template's argv words: a string is split as a shell would, a list kept."""
    return shlex.split(template) if isinstance(template, str) else [str(w) for w in template]


def bad_template(template: Any, port_names: Sequence[str] = ()) -> str | None:
    """What is wrong with a command template, or None."""
    if isinstance(template, str):
        try:
            argv = shlex.split(template)
        except ValueError as e:
            return f"a command line ({e})"
    elif isinstance(template, list) and all(isinstance(w, (str, int)) for w in template):
        argv = [str(w) for w in template]
    else:
        return "a command line (a string, or a list of words)"
    if not argv:
        return "a non-empty command line"
    for w in argv:
        try:
            parsed = list(string.Formatter().parse(w))
        except ValueError as e:
            return f"a command line whose placeholders parse ({w!r}: {e})"
        for _, field, _, _ in parsed:
            if field is None:
                continue
            base = field.split("[")[0].split(".")[0]
            if base not in FIELDS:
                return (f"placeholders from {{{'}, {'.join(FIELDS)}}} "
                        f"({{{field}}} in {w!r} is not one; write {{{{ }}}} for a literal brace)")
            if base == "ports" and field != "ports":
                name = field[len("ports["):-1]
                if not field.startswith("ports[") or name not in port_names:
                    return (f"{{ports[NAME]}} with NAME one of the ports option's names "
                            f"({', '.join(port_names) or 'none given'}); got {{{field}}}")
    return None


def render(template: str | Sequence[str], me: NodeView, nodes: Sequence[NodeView], port: int,
           ports: Mapping[str, int], peer_format: str, peer_separator: str) -> list[str]:
    """The argv for node ``me``."""
    def peer(n: NodeView) -> str:
        return peer_format.format(node=n.name, index=n.index, ip=n.ip, port=port,
                                  ports=dict(ports))

    values = {"node": me.name, "index": me.index, "ip": me.ip, "port": port,
              "ports": dict(ports), "data_dir": me.data_dir,
              "peers": peer_separator.join(peer(n) for n in nodes),
              "others": peer_separator.join(peer(n) for n in nodes if n.name != me.name)}
    return [w.format(**values) for w in words(template)]
