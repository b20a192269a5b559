"""A long-running libc process for the clock tests: prints "<realtime> <monotonic>" in a loop.

Run under libfaketime's preload with only the realtime clock faked, so the
monotonic column lets the test line each reading up with the host's real time.
select() sleeps because libfaketime rejects Python's clock_nanosleep(TIMER_ABSTIME).
"""

import select
import sys
import time

for _ in range(int(sys.argv[1])):
    print(f"{time.time():.6f} {time.monotonic():.6f}", flush=True)
    select.select([], [], [], 0.01)
