"""The benchmarked methods: DML-PL, its ablations, the peers and the oracles."""

from collections import namedtuple

import numpy as np
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from .._classifier import DMLPLClassifier

QUICK_PARAMS = {"hidden_units": (32,), "embedding_dim": 8, "max_epochs": 3, "fine_tune_epochs": 1, "max_iter": 2}
"""DMLPLClassifier settings of the hidden ``--quick`` flag (for tests and smoke runs)."""

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


def _logreg(**params):
    """The logistic regression that the peers share."""
    return LogisticRegression(max_iter=2000, **params)


def _logreg_balanced_strong():
    """The balanced logistic regression at its strong setting (DESIGN.md): more iterations to converge."""
    return LogisticRegression(class_weight="balanced", max_iter=3000)


def _balanced_forest(seed):
    """imbalanced-learn's balanced random forest at its strong setting.

    300 trees, each on a class-balanced draw of the rows, every class undersampled
    (``sampling_strategy="all"``) with replacement, and no second bootstrap on top.
    """
    return BalancedRandomForestClassifier(
        n_estimators=300, sampling_strategy="all", replacement=True, bootstrap=False, random_state=seed
    )


def _dmlpl(**fixed):
    """A factory of DMLPLClassifier with some parameters ``fixed`` (an ablation)."""

    def make(seed, y_fit, dmlpl_params):
        # fixed wins over dmlpl_params, so "no fine-tuning" stays so under --quick.
        return DMLPLClassifier(**{**dmlpl_params, **fixed, "random_state": seed})

    return make


def _smote(seed, y_fit):
    """SMOTE with as many neighbors as the smallest class allows: min(5, smallest class - 1)."""
    k_neighbors = max(1, min(5, np.bincount(y_fit).min() - 1))
    return SMOTE(k_neighbors=k_neighbors, random_state=seed)


def _smote_logreg(seed, y_fit, dmlpl_params):
    """SMOTE, then LogisticRegression."""
    return Pipeline([("smote", _smote(seed, y_fit)), ("logreg", _logreg())])


def _smote_knn(seed, y_fit, dmlpl_params):
    """SMOTE, then 3-nearest-neighbors."""
    return Pipeline([("smote", _smote(seed, y_fit)), ("knn", KNeighborsClassifier(n_neighbors=3))])


METHODS = {
    "dmlpl": Method(_dmlpl(), "semi"),
    "dmlpl-labeled-only": Method(_dmlpl(), "labeled"),
    "dmlpl-global-quota": Method(_dmlpl(quota="global"), "semi"),
    "dmlpl-per-class-quota": Method(_dmlpl(quota="per_class"), "semi"),
    "dmlpl-no-finetune": Method(_dmlpl(fine_tune_epochs=0), "semi"),
    "dmlpl-no-forest": Method(_dmlpl(forest_view_weight=0.0), "semi"),
    "dmlpl-undersampled-forest": Method(_dmlpl(forest_balancing="undersample"), "semi"),
    "dmlpl-no-input-view": Method(_dmlpl(input_view_weight=0.0), "semi"),
    "dmlpl-no-boosting-view": Method(_dmlpl(boosting_view_weight=0.0), "semi"),
    "dmlpl-no-prior-correction": Method(_dmlpl(prior_correction=0.0), "semi"),
    "dmlpl-no-feature-weights": Method(_dmlpl(feature_weighting="none"), "semi"),
    "dmlpl-linear-input-view": Method(_dmlpl(input_view_knots=None), "semi"),
    "self-training": Method(lambda seed, y_fit, dmlpl_params: SelfTrainingClassifier(_logreg()), "semi"),
    "self-training-balanced": Method(
        lambda seed, y_fit, dmlpl_params: SelfTrainingClassifier(_logreg_balanced_strong()), "semi"
    ),
    "self-training-rf": Method(
        lambda seed, y_fit, dmlpl_params: SelfTrainingClassifier(_balanced_forest(seed)), "semi"
    ),
    "label-spreading": Method(lambda seed, y_fit, dmlpl_params: LabelSpreading(kernel="knn"), "semi"),
    "logreg-balanced": Method(lambda seed, y_fit, dmlpl_params: _logreg(class_weight="balanced"), "labeled"),
    "svc-balanced": Method(lambda seed, y_fit, dmlpl_params: SVC(class_weight="balanced"), "labeled"),
    "hgb-balanced": Method(
        lambda seed, y_fit, dmlpl_params: HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
        "labeled",
    ),
    "smote-logreg": Method(_smote_logreg, "labeled"),
    "smote-knn": Method(_smote_knn, "labeled"),
    "balanced-rf": Method(lambda seed, y_fit, dmlpl_params: _balanced_forest(seed), "labeled"),
    "easy-ensemble": Method(lambda seed, y_fit, dmlpl_params: EasyEnsembleClassifier(random_state=seed), "labeled"),
    "oracle-logreg": Method(lambda seed, y_fit, dmlpl_params: _logreg_balanced_strong(), "oracle"),
    "oracle-rf": Method(lambda seed, y_fit, dmlpl_params: _balanced_forest(seed), "oracle"),
}
"""The benchmarked methods, by name: DML-PL, its ablations, the peers and the two oracles.

The peers run at their usual strong settings (DESIGN.md), some beside a plainer
version: ``self-training`` wraps the unweighted LogisticRegression, and
``self-training-balanced`` the balanced one with ``max_iter=3000``; ``balanced-rf`` is
imbalanced-learn's ``BalancedRandomForestClassifier`` with 300 trees,
``sampling_strategy="all"``, ``replacement=True`` and ``bootstrap=False``, and
``self-training-rf`` wraps that forest. ``oracle-logreg`` (the balanced
LogisticRegression) and ``oracle-rf`` (that forest) see every training row's true label;
the summary's ``oracle`` is the one of the two with the higher mean balanced accuracy
(see :func:`~sk_dmlpl.benchmark.summarise`).
"""

ORACLES = tuple(name for name, method in METHODS.items() if method.rows == "oracle")
"""The methods trained on every true label; the summary's ``oracle`` is the better of them."""


def is_peer(method):
    """Whether ``method`` is a peer: neither a DML-PL variant nor an oracle.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import is_peer
    >>> is_peer("smote-logreg"), is_peer("dmlpl-no-finetune"), is_peer("oracle"), is_peer("oracle-rf")
    (True, False, False, False)
    """
    return not method.startswith(("dmlpl", "oracle"))
