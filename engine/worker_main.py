"""A spawned worker process's ``__main__``: the first code the worker runs, before anything is imported.

It lowers the process's scheduling priority by ``WORKER_NICENESS`` (Unix ``nice``), so that the worker's whole life,
its start included, comes after the server's own work. A worker's start is seconds of CPU (its interpreter imports
torch and the engine while it unpickles its target), and lowered only once the target began, those seconds competed
with every open page as an equal: with eight sessions training, each new worker's start was when the pages' progress
went stalest (``benchmarks/bench_load.py``). ``engine.jobs.spawning.start_clean`` names this module as the child's
main (spawn's ``init_main_from_name``), which spawn runs before it unpickles the process object.

It lives at the engine's top, not in ``engine.jobs``, because importing a package runs its ``__init__``, and the jobs
package's imports torch.
"""

import os

WORKER_NICENESS = 10  # how much lower a worker's scheduling priority is than its server's (Unix nice increment)

if __name__ == "__mp_main__" and hasattr(os, "nice"):  # a spawned child (no such call on Windows)
    os.nice(WORKER_NICENESS)
