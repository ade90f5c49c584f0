"""``python -m engine``: the command line (``engine.cli``)."""

import sys

from engine import cli

if __name__ == "__main__":  # a spawn worker process imports this module as __mp_main__: it must not run the CLI
    sys.exit(cli.main())
