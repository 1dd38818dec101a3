"""The features' weights: how much each input feature counts in every step of ``fit``."""

import numpy as np

from ._pseudo_labeling import grow_in_torch_threads


def importance_weights(X, labels, random_state=None):
    """Each feature's importance for the given classes, as a weight of mean 1.

    A class-balanced random forest of 100 trees is fitted on the labeled rows ``X``, in
    torch's threads (the same forest whatever the threads), and each feature's
    impurity-based importance is multiplied by the number of features.
    Scaled by these weights, a feature that does not separate the labeled classes weighs
    little in the input-space distances and in the network's input: on the development
    suite the nearest rows of an unlabeled row were more often of its class (10
    neighbors, class-balanced: 0.69 to 0.77 on ``segment``), and the method gained on
    both the tables and the digit data sets (the benchmark page).

    Parameters
    ----------
    X : ndarray of shape (n_labeled, n_features)
        Labeled rows.
    labels : ndarray of shape (n_labeled,)
        Their encoded labels, at least two classes.
    random_state : int, default=None
        Seed of the forest.

    Returns
    -------
    weights : ndarray of shape (n_features,)
        Non-negative, of mean 1; all 1 when no tree could split (every feature constant).
    """
    from sklearn.ensemble import RandomForestClassifier  # imported late: heavy

    forest = RandomForestClassifier(n_estimators=100, class_weight="balanced", random_state=random_state)
    importances = grow_in_torch_threads(forest, X, labels).feature_importances_
    if not importances.any():
        return np.ones(X.shape[1])
    return importances * X.shape[1]


def weigh(X, weights):
    """``X`` times ``weights``, a new array; a clear error where the product overflows.

    A weight above 1 can carry a feature near float32's largest value beyond it.
    """
    weighted = X * weights
    if not np.isfinite(weighted).all():
        raise ValueError(
            f"Weighting the features by their importance overflowed float32 (the largest absolute value "
            f"in X is {float(np.abs(X).max()):.3g}). This usually comes from unscaled features; standardize "
            "them first, e.g. make_pipeline(StandardScaler(), DMLPLClassifier()), or set "
            "feature_weighting='none'."
        )
    return weighted
