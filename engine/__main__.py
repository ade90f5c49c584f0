"""``python -m engine``: the command line (``engine.cli``)."""

import os
import sys

from engine.cli import main

if __name__ == "__main__":  # a spawn worker process imports this module as __mp_main__: it must not run the CLI
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
