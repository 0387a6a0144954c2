"""``python -m screens.cli``: the command line (tests and benchmarks run it this way)."""

from screens.cli.main import run

if __name__ == "__main__":
    run()
