"""Checks of the estimator's input: semi-labeled training data, rows to predict, sparse X."""

import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.utils.validation import validate_data

# Sparse X is densified up to this many cells (40 MB as float32); a larger one is refused
# rather than silently allocating memory its caller did not expect.
MAX_DENSIFIED_CELLS = 10_000_000


def validate_training_data(estimator, X, y):
    """Check the training ``X`` and semi-labeled ``y`` of ``estimator`` (``-1`` unlabeled).

    Sets ``n_features_in_`` (and ``feature_names_in_``) on ``estimator``, as
    :func:`~sklearn.utils.validation.validate_data` does.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        The rows.
    classes : ndarray of shape (n_classes,)
        The sorted class labels of the labeled rows.
    labels : ndarray of shape (n_samples,)
        The encoded labels, ``-1`` for unlabeled rows.
    """
    X, y = validate_data(estimator, densify(X), y, dtype=np.float32, ensure_min_samples=2)
    if y.dtype.kind in "US":
        raise ValueError(
            "y has a string dtype, where -1 cannot mark unlabeled rows; "
            "pass string classes with dtype=object and -1 for unlabeled rows."
        )
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("y contains NaN; mark unlabeled rows with -1.")
    has_label = y != -1
    if not has_label.any():
        raise ValueError("y has no labeled sample: every entry is -1.")
    if has_label.all():
        warnings.warn("y contains no unlabeled samples", UserWarning)
    check_classification_targets(y[has_label])
    classes, encoded = np.unique(y[has_label], return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"The labeled rows hold a single class ({classes[0]!r}); "
            "DMLPLClassifier needs at least 2 classes."
        )
    counts = np.bincount(encoded)
    if (counts == 1).any():
        single = classes[counts == 1].tolist()
        warnings.warn(
            f"Classes {single} have a single labeled sample; their metric is learned from "
            "augmented copies of that one row.",
            UserWarning,
        )
    labels = np.full(len(y), -1)
    labels[has_label] = encoded
    return X, classes, labels


def validate_prediction_data(estimator, X):
    """Check that ``estimator`` is fitted and ``X`` has its features; return float32 rows."""
    check_is_fitted(estimator)  # first: it raises NotFittedError before anything fitted is read
    return validate_data(estimator, densify(X), dtype=np.float32, reset=False)


def densify(X):
    """Return a sparse ``X`` as a dense array, with a warning; refuse one too large for that."""
    if not sparse.issparse(X):
        return X
    n_cells = int(np.prod(X.shape))
    if n_cells > MAX_DENSIFIED_CELLS:
        raise TypeError(
            f"X is a sparse matrix of shape {X.shape}; DMLPLClassifier needs dense rows and densifies "
            f"sparse input of at most {MAX_DENSIFIED_CELLS:,} cells, but this one has {n_cells:,}. Reduce "
            "it first (sklearn.decomposition.TruncatedSVD, for example) or pass a dense array."
        )
    warnings.warn(
        f"X is a sparse matrix of shape {X.shape}; DMLPLClassifier needs dense rows and densified it.",
        DataConversionWarning,
    )
    return X.toarray()
