"""Data sets for long-tailed semi-supervised learning."""

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_X_y

UNLABELED_DISTRIBUTIONS = ("consistent", "uniform", "reversed")
"""The class distributions of the unlabeled rows that :func:`make_long_tailed` can draw."""


def make_long_tailed(
    X,
    y,
    imbalance_ratio=50,
    labeled_fraction=0.1,
    test_fraction=0.3,
    random_state=None,
    unlabeled_distribution="consistent",
):
    """Split a data set into a long-tailed, partly labeled training set and a balanced test set.

    The protocol of long-tailed semi-supervised learning (as CIFAR-10-LT in the DARP and
    CReST papers): every class first gives the same number of rows to the test set; the
    class at rank ``k`` of ``K`` (the order drawn at random) then keeps
    ``ceil(n_max * imbalance_ratio ** (-k / (K - 1)))`` training rows (at least 3), where
    ``n_max`` is the smallest number of rows any class has left. A share
    ``labeled_fraction`` of each class keeps its label (at least 2 rows); the others are
    marked ``-1`` and so follow the same long tail.

    ``unlabeled_distribution`` changes the unlabeled rows only, as the class-imbalanced
    semi-supervised literature tests it (DASO, ACR, SimPro): the labeled rows and the
    test rows are the same rows in all three. ``"consistent"``: the unlabeled rows follow
    the long tail (the rows above). ``"uniform"``: the same total number of unlabeled rows
    spread as evenly as possible over the classes, capped by what each class has left
    (its rows neither in the test set nor labeled; a capped class's share goes to the
    others). ``"reversed"``: the class at rank ``k`` gets the unlabeled count of rank
    ``K - 1 - k``, capped likewise, so that the labeled head is the unlabeled tail. The
    extra unlabeled rows come from the same shuffled rows of their class, after those the
    consistent draw takes, so no further random draw is made. (Every class has at least
    ``n_max`` rows outside the test set, so with the long tail above neither cap binds;
    they keep the definition whole.)

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
    unlabeled_distribution : {"consistent", "uniform", "reversed"}, default="consistent"
        Class distribution of the unlabeled rows; see above.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``y_train`` (``-1`` for unlabeled rows), ``y_train_true`` (every
        training row's true label), ``X_test``, ``y_test``, ``class_counts`` (training
        rows per class, in ``np.unique(y)`` order), ``long_tail_counts`` (the training
        rows per class of the consistent draw, the long tail that the labeled rows follow
        and whose order ranks the classes: ``class_counts`` itself when
        ``unlabeled_distribution="consistent"``), ``labeled_counts`` (labeled rows per
        class), and ``train_indices`` and ``test_indices`` (the rows of ``X`` drawn).

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
    >>> import numpy as np
    >>> reversed_ = make_long_tailed(X, y, random_state=0, unlabeled_distribution="reversed")
    >>> head, tail = np.argmax(data.long_tail_counts), np.argmin(data.long_tail_counts)
    >>> int(reversed_.labeled_counts[head]), int(reversed_.class_counts[head]), int(reversed_.class_counts[tail])
    (12, 13, 112)
    """
    X, y = check_X_y(X, y, dtype=None)
    if imbalance_ratio < 1:
        raise ValueError(f"imbalance_ratio must be at least 1, got {imbalance_ratio}.")
    if not 0 < labeled_fraction <= 1:
        raise ValueError(f"labeled_fraction must be in (0, 1], got {labeled_fraction}.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    if unlabeled_distribution not in UNLABELED_DISTRIBUTIONS:
        raise ValueError(
            f"unlabeled_distribution must be one of {UNLABELED_DISTRIBUTIONS}, got {unlabeled_distribution!r}."
        )
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
    ranks = rng.permutation(n_classes)  # ranks[k]: the class at rank k, 0 the head
    n_rows = np.zeros(n_classes, dtype=int)
    n_labeled = np.zeros(n_classes, dtype=int)
    for rank, class_index in enumerate(ranks):
        n_rows[class_index] = max(3, int(np.ceil(n_max * imbalance_ratio ** (-rank / (n_classes - 1)))))
        n_labeled[class_index] = min(n_rows[class_index], max(2, round(labeled_fraction * n_rows[class_index])))
    left = np.array([len(pool) for pool in pools]) - n_labeled
    n_unlabeled = _unlabeled_counts(n_rows - n_labeled, left, ranks, unlabeled_distribution)
    # Each class's labeled rows, then its unlabeled ones, from its shuffled pool, in rank order.
    train_rows = np.concatenate([pools[c][: n_labeled[c] + n_unlabeled[c]] for c in ranks])
    labeled_rows = np.concatenate([pools[c][: n_labeled[c]] for c in ranks])
    test_rows = np.concatenate(test_rows)
    y_train = y[train_rows].astype(object if y.dtype.kind in "OUS" else y.dtype)
    y_train[~np.isin(train_rows, labeled_rows)] = -1
    return Bunch(
        X_train=X[train_rows],
        y_train=y_train,
        y_train_true=y[train_rows],
        X_test=X[test_rows],
        y_test=y[test_rows],
        class_counts=n_labeled + n_unlabeled,
        long_tail_counts=n_rows,
        labeled_counts=n_labeled,
        train_indices=train_rows,
        test_indices=test_rows,
    )


def _unlabeled_counts(consistent, left, ranks, distribution):
    """Unlabeled rows per class under ``distribution``; see :func:`make_long_tailed`.

    Parameters
    ----------
    consistent : ndarray of shape (n_classes,)
        Unlabeled rows per class of the consistent draw.
    left : ndarray of shape (n_classes,)
        Rows each class has left, neither in the test set nor labeled: the cap.
    ranks : ndarray of shape (n_classes,)
        The class at each rank, the head first.
    distribution : str
        One of :data:`UNLABELED_DISTRIBUTIONS`.

    Returns
    -------
    counts : ndarray of shape (n_classes,)
        Unlabeled rows per class.
    """
    if distribution == "consistent":
        return consistent
    if distribution == "reversed":
        counts = np.zeros_like(consistent)
        counts[ranks] = consistent[ranks[::-1]]
        return np.minimum(counts, left)
    # uniform: fill every class up to one level, capped, until the consistent total is
    # spread; the rows an even split leaves over go one each to the classes from the head.
    total, counts = consistent.sum(), np.zeros_like(consistent)
    while counts.sum() < total and (counts < left).any():
        open_ = np.flatnonzero(counts < left)
        share = max(1, (total - counts.sum()) // len(open_))
        open_ = ranks[np.isin(ranks, open_)]  # in rank order, for the rows left over
        for class_index in open_:
            counts[class_index] += min(share, left[class_index] - counts[class_index], total - counts.sum())
    return counts
