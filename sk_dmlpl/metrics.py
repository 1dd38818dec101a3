"""Scoring on semi-labeled targets."""

import copy
import inspect

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.utils import check_consistent_length


def labeled_rows(X, y):
    """Return the rows of ``X`` and ``y`` whose label is not ``-1``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Rows.
    y : array-like of shape (n_samples,)
        Labels, ``-1`` for unlabeled rows.

    Returns
    -------
    X_labeled, y_labeled : the labeled rows, ``X`` keeping its type (array or DataFrame).

    Raises
    ------
    ValueError
        When ``X`` and ``y`` differ in length, or every label is ``-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dmlpl.metrics import labeled_rows
    >>> X_labeled, y_labeled = labeled_rows(np.arange(8).reshape(4, 2), [1, -1, 0, -1])
    >>> X_labeled.tolist(), y_labeled.tolist()
    ([[0, 1], [4, 5]], [1, 0])
    """
    check_consistent_length(X, y)
    y = np.asarray(y)
    has_label = y != -1
    if not has_label.any():
        raise ValueError("y has no labeled sample to score: every entry is -1.")
    rows = X.iloc[has_label] if hasattr(X, "iloc") else np.asarray(X)[has_label]
    return rows, y[has_label]


def labeled_scorer(scoring="balanced_accuracy"):
    """Wrap a scikit-learn scorer so that it scores only the rows whose label is not ``-1``.

    ``GridSearchCV`` and ``cross_val_score`` score each validation fold on ``y`` as given;
    with semi-labeled ``y`` the ``-1`` rows would count as a class. This scorer leaves them
    out, so a search can be run on the same ``y`` that ``fit`` takes.

    Parameters
    ----------
    scoring : str or callable, default="balanced_accuracy"
        A scorer name (see :func:`sklearn.metrics.get_scorer_names`) or a scorer callable
        ``scorer(estimator, X, y)``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``; raises ``ValueError`` when every label is ``-1``
        (see :func:`labeled_rows`).

    Notes
    -----
    A validation fold of semi-labeled data often lacks a rare class. A scorer that reads
    probabilities or decision scores and whose metric takes ``labels`` (``"neg_log_loss"``,
    ``"top_k_accuracy"``) is given the estimator's ``classes_`` as ``labels``, so that it
    scores such a fold instead of failing on it. Scorers on ``predict`` (accuracy, balanced
    accuracy, F1) are left as they are: there, ``labels`` would change what the metric
    averages over.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sk_dmlpl.metrics import labeled_scorer
    >>> X = np.zeros((4, 1)); y = np.array([0, 0, 1, -1])
    >>> clf = DummyClassifier(strategy="constant", constant=0).fit(X[:3], y[:3])
    >>> labeled_scorer("accuracy")(clf, X, y)  # the -1 row is left out
    0.666...
    """
    scorer = get_scorer(scoring)

    def score_labeled_rows(estimator, X, y):
        return _with_labels(scorer, getattr(estimator, "classes_", None))(estimator, *labeled_rows(X, y))

    score_labeled_rows.__name__ = f"labeled_{scoring if isinstance(scoring, str) else 'scorer'}"
    return score_labeled_rows


def _with_labels(scorer, classes):
    """Return ``scorer`` with ``labels=classes`` added when its metric reads probabilities and takes ``labels``.

    ``scorer`` is one of scikit-learn's ``_Scorer`` objects (as :func:`sklearn.metrics.make_scorer`
    and :func:`~sklearn.metrics.get_scorer` build them), which passes its ``_kwargs`` to the metric.
    Any other callable, a scorer on ``predict``, or one given ``labels`` already, is returned as is.
    """
    score_func = getattr(scorer, "_score_func", None)
    kwargs = getattr(scorer, "_kwargs", None)
    if classes is None or score_func is None or kwargs is None or "labels" in kwargs:
        return scorer
    if getattr(scorer, "_response_method", "predict") == "predict":
        return scorer
    try:
        takes_labels = "labels" in inspect.signature(score_func).parameters
    except (TypeError, ValueError):
        return scorer
    if not takes_labels:
        return scorer
    scorer = copy.copy(scorer)
    scorer._kwargs = {**kwargs, "labels": classes}
    return scorer
