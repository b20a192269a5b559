"""A controller to be SIGKILLed by the tests: nodes up, faults applied, then it waits.

argv: store-root provider [image] [--heal-on-interrupt].  Prints one JSON line describing what it
did, then sleeps (bounded) until killed.  Nothing here heals: that is the point.
"""

import contextlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness.nodes import get_provider  # noqa: E402
from nemesis import Nemesis  # noqa: E402
from nemesis.journal import journal_path  # noqa: E402

from nemesis_support import HERE, PeerTarget  # noqa: E402

store, kind = Path(sys.argv[1]), sys.argv[2]
if kind == "ssh":
    # ssh nodes are netns hosts running sshd; the journal must reach them over ssh.
    from harness.nodes.sshd import start_sshd
    hosts = get_provider("netns", store).create(3)
    prov = get_provider("ssh", store, options=start_sshd(hosts, store / "sshkeys"))
else:
    prov = get_provider(kind, store, options={"image": sys.argv[3]} if kind == "docker" else {})
nodes = prov.create(3)
for n in nodes:
    for script in ("peer.py", "probe.py", "procs.py"):
        n.put_file(f"{n.data_dir}/{script}", (HERE / script).read_bytes())
target = PeerTarget(nodes, wrapper=["runuser", "-u", "nobody", "--"], udp=False)
for n in nodes:
    target.start(n)
nem = Nemesis(nodes, target, journal_path(store, prov.test_id),
              {"faults": ["partition", "pause", "clock"], "seed": 4})
graceful = len(sys.argv) > 3 and sys.argv[-1] == "--heal-on-interrupt"
try:
    with nem if graceful else contextlib.nullcontext():
        applied = {
            "partition": nem.apply("start-partition", "isolate-one"),
            "pause": nem.apply("pause", ["n1"]),
            "bump": nem.apply("start-clock", {"mode": "bump", "nodes": ["n2"], "offset_s": 90}),
            "strobe": nem.apply("start-clock", {"mode": "strobe", "nodes": ["n3"],
                                                "offsets_s": [0, 40], "period_ms": 10,
                                                "duration_s": 120}),
            "loss": nem.apply("start-loss", {"probability": 0.3, "nodes": ["n2", "n3"]}),
        }
        print(json.dumps({"test_id": prov.test_id, "applied": applied,
                          "nodes": [{"name": n.name, "data_dir": n.data_dir} for n in nodes]}),
              flush=True)
        time.sleep(120)
except KeyboardInterrupt:
    print(json.dumps({"interrupted": True, "active": nem.active()}), flush=True)
