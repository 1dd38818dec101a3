"""One row per setting of a benchmark summary: DML-PL, the best peer, the oracle and the goal.

The goal is the one that :func:`sk_dmlpl.benchmark.goal_overview` checks. The script
reads a ``summary.csv`` that ``python -m sk_dmlpl.benchmark`` wrote and writes
``overview.csv`` beside it, the table that the benchmark page shows for the development
suite::

    python benchmarks/dev_suite_overview.py docs/results/dev_suite/summary.csv
"""

import argparse
import csv
from pathlib import Path

from sk_dmlpl.benchmark import goal_overview, read_summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", help="a summary.csv written by python -m sk_dmlpl.benchmark")
    args = parser.parse_args(argv)
    rows = goal_overview(read_summary(args.summary))
    out = Path(args.summary).with_name("overview.csv")
    with open(out, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{sum(row['met'] == 'yes' for row in rows)} of {len(rows)} settings meet the goal; wrote {out}")


if __name__ == "__main__":
    main()
