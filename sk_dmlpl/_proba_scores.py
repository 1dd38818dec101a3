"""What a classifier gets from its ``predict_proba``: labels, log-probabilities, scores.

DMLPLClassifier's own prediction is :meth:`~DMLPLClassifier.predict_proba`, the blend of its
fitted views; these methods follow from it, with scikit-learn's conventions.
"""

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils import check_consistent_length

from ._validation import densify
from .metrics import labeled_rows


class ProbaScoresMixin:
    """``predict``, ``predict_log_proba``, ``decision_function`` and ``score`` from ``predict_proba`` and ``classes_``."""

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each row under :meth:`predict_proba`, from
            ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_log_proba(self, X):
        """Log of the class probabilities of :meth:`predict_proba`.

        A probability of exactly 0 (a view's softmax can underflow) gives the log of the
        smallest positive float64, about -708, instead of ``-inf``, so that sums and
        differences of log-probabilities stay finite.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows whose classes are scored, with the features that ``fit`` saw.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``; columns follow ``classes_``.
        """
        proba = self.predict_proba(X)
        return np.log(np.maximum(proba, np.finfo(proba.dtype).tiny))

    def decision_function(self, X):
        """Confidence scores: the log-probabilities, or their log-odds for two classes.

        DML-PL has no margin of its own: the scores are the logs of :meth:`predict_proba`,
        which rank the classes as it does. As in scikit-learn, a binary problem gives one
        score per row, the log-odds of ``classes_[1]``, positive where ``predict`` gives it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score, with the features that ``fit`` saw.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The log-odds of ``classes_[1]`` for two classes, else
            :meth:`predict_log_proba`. ``predict`` is the class of the highest score
            (or of a positive one, for two classes).
        """
        log_proba = self.predict_log_proba(X)
        if len(self.classes_) == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    def score(self, X, y, sample_weight=None):
        """Accuracy over the rows whose label is not ``-1``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for rows to leave out.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in :func:`~sklearn.metrics.accuracy_score`; the weights
            of the ``-1`` rows are left out with them. ``fit`` takes no weights (see its
            Notes).

        Returns
        -------
        score : float
            Mean accuracy on the labeled rows, weighted by ``sample_weight``.
        """
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            check_consistent_length(y, sample_weight)
            sample_weight = sample_weight[np.asarray(y) != -1]
        X, y = labeled_rows(densify(X), y)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
