"""``python -m tokenstack ARGS``: the bundled ``tokenstack`` binary, as if it were on PATH."""

from tokenstack._server import main

if __name__ == "__main__":
    main()
