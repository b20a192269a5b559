"""A controller to be SIGKILLed: two netns nodes, n1's peer CPU-starved, n2's peer under
stop-and-go (stopped 900 ms of every 1000), then it waits.  argv: store-root.  Prints one JSON
line (test id, n1's cgroup, the nodes) once both faults are on.  Nothing here heals."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness.nodes import get_provider  # noqa: E402
from nemesis import Nemesis  # noqa: E402
from nemesis.journal import journal_path  # noqa: E402

from nemesis_support import HERE, PeerTarget  # noqa: E402

store = Path(sys.argv[1])
prov = get_provider("netns", store)
nodes = prov.create(2)
for n in nodes:
    for script in ("peer.py", "procs.py"):
        n.put_file(f"{n.data_dir}/{script}", (HERE / script).read_bytes())
target = PeerTarget(nodes, wrapper=["runuser", "-u", "nobody", "--"], udp=False)
for n in nodes:
    target.start(n)
nem = Nemesis(nodes, target, journal_path(store, prov.test_id),
              {"faults": ["cpu-starve", "stop-and-go"], "seed": 4,
               "stop_go_stopped_ms": 900, "stop_go_period_ms": 1000})
starved = nem.apply("start-cpu-starve", {"nodes": ["n1"], "share": 0.05})
nem.apply("start-stop-and-go", ["n2"])
print(json.dumps({"test_id": prov.test_id, "cgroup": starved["moved"]["n1"]["cgroup"],
                  "pids": starved["moved"]["n1"]["pids"],
                  "nodes": [{"name": n.name, "data_dir": n.data_dir} for n in nodes]}), flush=True)
time.sleep(120)
