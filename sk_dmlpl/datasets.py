"""Data sets for long-tailed semi-supervised learning."""

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_X_y


def make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, test_fraction=0.3, random_state=None):
    """Split a data set into a long-tailed, partly labeled training set and a balanced test set.

    The protocol of long-tailed semi-supervised learning (as CIFAR-10-LT in the DARP and
    CReST papers): every class first gives the same number of rows to the test set; the
    class at rank ``k`` of ``K`` (the order drawn at random) then keeps
    ``ceil(n_max * imbalance_ratio ** (-k / (K - 1)))`` training rows (at least 3), where
    ``n_max`` is the smallest number of rows any class has left. A share
    ``labeled_fraction`` of each class keeps its label (at least 2 rows); the others are
    marked ``-1`` and so follow the same long tail.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows.
    y : array-like of shape (n_samples,)
        Class labels, every class with at least 4 rows.
    imbalance_ratio : float, default=50
        Training rows of the largest class over those of the smallest (``gamma``).
    labeled_fraction : float, default=0.1
        Share of each class's training rows that keep their label (``beta``).
    test_fraction : float, default=0.3
        Share of the smallest class held out; every class gives that many test rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the class order and the draws.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``y_train`` (``-1`` for unlabeled rows), ``y_train_true`` (every
        training row's true label), ``X_test``, ``y_test``, ``class_counts`` (training
        rows per class, in ``np.unique(y)`` order), and ``train_indices`` and
        ``test_indices`` (the rows of ``X`` drawn).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_dmlpl.datasets import make_long_tailed
    >>> X, y = load_digits(return_X_y=True)
    >>> data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
    >>> int(data.class_counts.max()), int(data.class_counts.min())
    (122, 3)
    >>> bool((data.y_train == -1).any())
    True
    """
    X, y = check_X_y(X, y, dtype=None)
    if imbalance_ratio < 1:
        raise ValueError(f"imbalance_ratio must be at least 1, got {imbalance_ratio}.")
    if not 0 < labeled_fraction <= 1:
        raise ValueError(f"labeled_fraction must be in (0, 1], got {labeled_fraction}.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    rng = check_random_state(random_state)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("make_long_tailed needs at least 2 classes.")
    n_test = int(test_fraction * counts.min())
    pools, test_rows = [], []
    for label in classes:
        rows = rng.permutation(np.flatnonzero(y == label))
        test_rows.append(rows[:n_test])
        pools.append(rows[n_test:])
    n_max = min(len(pool) for pool in pools)
    if n_max < 3 or n_test < 1:
        raise ValueError("Every class needs enough rows for at least 1 test and 3 training rows.")
    n_classes = len(classes)
    train_rows, labeled_rows = [], []
    class_counts = np.zeros(n_classes, dtype=int)
    for rank, class_index in enumerate(rng.permutation(n_classes)):
        n_rows = max(3, int(np.ceil(n_max * imbalance_ratio ** (-rank / (n_classes - 1)))))
        rows = pools[class_index][:n_rows]
        n_labeled = min(n_rows, max(2, int(round(labeled_fraction * n_rows))))
        train_rows.append(rows)
        labeled_rows.append(rows[:n_labeled])
        class_counts[class_index] = n_rows
    train_rows = np.concatenate(train_rows)
    test_rows = np.concatenate(test_rows)
    y_train = y[train_rows].astype(object if y.dtype.kind in "OUS" else y.dtype)
    y_train[~np.isin(train_rows, np.concatenate(labeled_rows))] = -1
    return Bunch(
        X_train=X[train_rows],
        y_train=y_train,
        y_train_true=y[train_rows],
        X_test=X[test_rows],
        y_test=y[test_rows],
        class_counts=class_counts,
        train_indices=train_rows,
        test_indices=test_rows,
    )
