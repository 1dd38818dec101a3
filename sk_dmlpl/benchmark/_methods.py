"""The benchmarked methods: DML-PL, its ablations, the peers and the oracle."""

from collections import namedtuple

import numpy as np
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

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
