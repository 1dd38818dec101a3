"""One run of the benchmark: fit one method on one split and score it on the test set."""

import time
import warnings

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

from ._methods import METHODS

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


def run_one(method, data, seed, dmlpl_params=None):
    """Fit one method on one split and score it.

    Parameters
    ----------
    method : str
        A key of ``METHODS``.
    data : :class:`~sklearn.utils.Bunch`
        A split from :func:`split`.
    seed : int
        Seed of the method.
    dmlpl_params : dict, default=None
        Extra DMLPLClassifier parameters (ignored by the other methods).

    Returns
    -------
    record : dict
        The metrics named in ``METRICS`` (``pseudo_label_balanced_accuracy`` is NaN for
        methods that do not pseudo-label the unlabeled training rows) and
        ``recall_rank_<k>``, the test recall of the class with the ``k``-th most training
        rows in the long tail (0 the head): ``data.long_tail_counts``, the rows the class
        would have with consistent unlabeled rows, where the split has them. For the plots,
        ``class_at_rank_<k>`` and ``rows_at_rank_<k>`` name that class (its encoded label)
        and give its training rows (labeled and unlabeled, ``data.class_counts``).

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
    # Ranked by the long tail that the labeled rows follow: the training rows' counts unless
    # the unlabeled rows were drawn from another distribution (a split without it: class_counts).
    order = np.argsort(-data.get("long_tail_counts", data.class_counts), kind="stable")
    by_rank = recall[order]
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
    record.update({f"class_at_rank_{rank}": int(label) for rank, label in enumerate(order)})
    record.update({f"rows_at_rank_{rank}": int(data.class_counts[label]) for rank, label in enumerate(order)})
    return record
