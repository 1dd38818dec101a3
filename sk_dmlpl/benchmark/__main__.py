"""``python -m sk_dmlpl.benchmark``: run the benchmark from the command line."""

from ._cli import main

if __name__ == "__main__":
    main()
