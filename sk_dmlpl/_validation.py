"""Checks of the estimator's input: semi-labeled training data, rows to predict, sparse X."""

import inspect
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
    # float64 (or float32) first, so that what the float32 cast loses can be measured.
    X, y = validate_data(estimator, densify(X), y, dtype=[np.float64, np.float32], ensure_min_samples=2)
    warn_if_unscaled(X)
    X = to_float32(X)
    check_batch_size(estimator, len(X))
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
    _check_labels(y[has_label])
    if has_label.all():
        warnings.warn("y contains no unlabeled samples", UserWarning)
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


def _check_labels(labels):
    """Check the labels of the labeled rows: class labels, and not the string ``"-1"``.

    A ``y`` of ``True``, ``False`` and ``-1`` has an object dtype, which scikit-learn's
    label checks take for an unknown target type: its labels are checked as a bool array.
    """
    if labels.dtype != object:
        check_classification_targets(labels)
        return
    as_string = np.array([isinstance(label, (str, bytes)) and label in ("-1", b"-1") for label in labels])
    if as_string.any():
        raise ValueError(
            f"y holds the string {labels[as_string][0]!r} in {np.count_nonzero(as_string)} rows. Unlabeled rows "
            "are marked with the integer -1, not a string, which would be taken for a class; "
            "replace it: y[y == '-1'] = -1 (y of dtype object)."
        )
    if all(isinstance(label, (bool, np.bool_)) for label in labels):
        labels = labels.astype(bool)
    check_classification_targets(labels)


# Beyond these, unscaled features cost accuracy (measured on 3 blobs of std 1 scaled by a
# factor: 0.91 at 100 and 0.88 at 0.1, 0.70 at 300 and 0.69 at 0.03, against 0.93 for a
# logistic regression): the input view's logistic regression and BatchNorm's epsilon
# assume features of about unit scale.
MAX_UNSCALED_STD = 100.0
MAX_UNSCALED_MEAN = 100.0
MIN_UNSCALED_STD = 0.1


def warn_if_unscaled(X):
    """Warn when ``X``'s features are far from standardized: what the model assumes."""
    std, mean = X.std(axis=0, dtype=np.float64), X.mean(axis=0, dtype=np.float64)
    if std.max() > MAX_UNSCALED_STD or np.abs(mean).max() > MAX_UNSCALED_MEAN or std.max() < MIN_UNSCALED_STD:
        warnings.warn(
            f"X looks unscaled: its features' standard deviations range from {std.min():.3g} to "
            f"{std.max():.3g} and their means reach {np.abs(mean).max():.3g} in absolute value. The "
            "network and the input view's logistic regression expect standardized features, and lose "
            "accuracy, or find no structure at all, far from them; standardize first, e.g. "
            "make_pipeline(StandardScaler(), DMLPLClassifier()).",
            UserWarning,
        )


def to_float32(X):
    """Cast validated float rows to float32, the network's dtype, or explain what the cast loses.

    Raises a ``ValueError`` when a value is beyond float32's range, and warns when the cast
    makes distinct rows equal: float32 keeps about 7 significant digits, so features far
    from zero beside their spread (an unscaled offset, say) lose what tells rows apart.
    """
    if X.dtype == np.float32:
        return X
    with np.errstate(over="ignore"):  # refused below, with the reason
        X32 = X.astype(np.float32)
    if np.isinf(X32).any():
        raise ValueError(
            "Input X contains infinity or a value too large for dtype('float32'): the largest "
            f"absolute value is {np.abs(X).max():.3g}, beyond float32's {np.finfo(np.float32).max:.3g}. "
            "Scale the features first, e.g. make_pipeline(StandardScaler(), DMLPLClassifier())."
        )
    n_merged = _rows_merged_by(X32, X)
    if n_merged:
        warnings.warn(
            f"Casting X to float32, the network's dtype, made {n_merged} of its {len(X)} rows equal to "
            "another row they differ from: float32 keeps about 7 significant digits, and features far "
            f"from zero beside their spread (here up to {np.abs(X).max():.3g}) lose what tells rows "
            "apart, such as an unscaled offset. Center and scale the features first, e.g. "
            "make_pipeline(StandardScaler(), DMLPLClassifier()).",
            DataConversionWarning,
        )
    return X32


def _rows_merged_by(X32, X):
    """How many rows the float32 cast ``X32`` makes equal to an earlier row of ``X`` they differ from."""
    if np.array_equal(X32, X):  # the cast is exact
        return 0
    rows = np.ascontiguousarray(X32).view(np.dtype((np.void, X32.dtype.itemsize * X32.shape[1])))[:, 0]
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    if len(first) == len(X):
        return 0
    return int(np.count_nonzero((X != X[first[inverse.ravel()]]).any(axis=1)))


def check_batch_size(estimator, n_samples):
    """Warn when ``batch_size``, set to another value than the default, exceeds the rows.

    Training clips the batch to the rows, as :class:`~sklearn.neural_network.MLPClassifier`
    does, and as it does with its default ``batch_size="auto"``, the default is clipped
    without a warning.
    """
    batch_size = estimator.batch_size
    default = inspect.signature(type(estimator)).parameters["batch_size"].default
    if batch_size > n_samples and batch_size != default:
        warnings.warn(
            f"batch_size={batch_size} is larger than the {n_samples} rows of X; training clips it "
            f"to {n_samples}, as MLPClassifier does.",
            UserWarning,
        )


def warn_if_collapsed(estimator, X, labels):
    """Warn when the fitted ``estimator`` predicts its own labeled rows no better than chance.

    That is a collapse: every row mapped to about one point, or every class scored alike,
    as happens when the features' scale is far from 1 or far from zero beside their spread
    (float32 and BatchNorm's epsilon then lose what tells rows apart), whatever the cause.
    ``X`` holds the training rows and ``labels`` their encoded given labels, -1 for none.
    """
    given = np.flatnonzero(labels >= 0)
    given = given[:: max(1, len(given) // 5000)]  # enough rows to tell a collapse
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        predicted = estimator.predict(X[given])
    truth = estimator.classes_[labels[given]]
    n_classes = len(estimator.classes_)
    recall = np.mean([np.mean(predicted[truth == label] == label) for label in np.unique(truth)])
    if recall <= 1 / n_classes + 0.1:
        spread = X.std(axis=0)
        warnings.warn(
            f"The fitted model predicts its own labeled rows no better than chance (balanced accuracy "
            f"{recall:.2f} over {n_classes} classes): it found no structure in X. This usually comes from "
            f"features on a scale far from 1 (their standard deviations here range from {spread.min():.3g} "
            f"to {spread.max():.3g}) or far from zero beside their spread (the largest absolute value is "
            f"{np.abs(X).max():.3g}); standardize them first, e.g. make_pipeline(StandardScaler(), "
            "DMLPLClassifier()).",
            UserWarning,
        )


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
