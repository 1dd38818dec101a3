"""Resampling semi-labeled data: an imbalanced-learn sampler applied to the labeled rows only."""

from typing import ClassVar

import numpy as np
from imblearn.base import BaseSampler
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_array, column_or_1d
from sklearn.utils._param_validation import HasMethods
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data

from ._doc_link import DOC_LINK_TEMPLATE

__all__ = ["LabeledOnly"]


class LabeledOnly(BaseSampler):
    """Resample the labeled rows with an imbalanced-learn sampler; pass the unlabeled rows through.

    An imbalanced-learn sampler given semi-labeled ``y`` takes ``-1`` for one more class:
    :class:`~imblearn.under_sampling.RandomUnderSampler` throws away unlabeled rows to
    balance them against the labeled classes, and :class:`~imblearn.over_sampling.SMOTE`
    grows the labeled classes to the size of the unlabeled "class" and interpolates new
    ``-1`` rows. ``LabeledOnly(sampler)`` hands ``sampler`` the labeled rows
    (``y != -1``) alone and appends the unlabeled rows, unchanged, after its output, so
    that a sampler can stand before :class:`~sk_dmlpl.DMLPLClassifier` in an
    :class:`imblearn.pipeline.Pipeline`. As with every sampler, it acts during ``fit``
    only: ``predict`` and ``transform`` go past it.

    Parameters
    ----------
    sampler : imbalanced-learn sampler
        Any object with ``fit_resample(X, y)``, such as ``RandomUnderSampler()`` or
        ``SMOTE()``. It is cloned by each ``fit_resample``; set its parameters through
        ``set_params(sampler__<name>=...)``. Its own constraints apply to the labeled
        rows: ``SMOTE(k_neighbors=5)`` needs six labeled rows in every class it grows.

    Attributes
    ----------
    sampler_ : imbalanced-learn sampler
        The clone of ``sampler`` fitted on the labeled rows.

    sampling_strategy_ : dict
        ``sampler_.sampling_strategy_``: the number of rows to draw or make for each
        labeled class. Defined when the sampler has one, as imbalanced-learn's do.

    n_features_in_ : int
        Number of features seen by ``fit_resample``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen by ``fit_resample``; defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    sk_dmlpl.metrics.labeled_rows : The labeled rows of ``X`` and ``y``.
    imblearn.FunctionSampler : A sampler from any function of ``X`` and ``y``.

    Notes
    -----
    The output holds the resampled labeled rows first, in the order ``sampler`` returns
    them, then the unlabeled rows in their input order. Each output has the type of its
    input, as with imbalanced-learn's samplers: a DataFrame (with a new index), a Series,
    a list, a sparse matrix of the same format or an array. ``y`` is one column of labels:
    the one-hot targets that imbalanced-learn's samplers also take cannot mark a row
    unlabeled.

    Examples
    --------
    >>> from collections import Counter
    >>> import numpy as np
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> from sk_dmlpl.sampling import LabeledOnly
    >>> X = np.arange(20).reshape(10, 2)
    >>> y = np.array([0, 0, 0, 0, 1, 1, -1, -1, -1, -1])
    >>> _, y_alone = RandomUnderSampler(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_alone.tolist()).items())  # -1 counted as a class: unlabeled rows lost
    [(-1, 2), (0, 2), (1, 2)]
    >>> X_res, y_res = LabeledOnly(RandomUnderSampler(random_state=0)).fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [(-1, 4), (0, 2), (1, 2)]
    >>> X_res[-4:].tolist()  # the unlabeled rows, unchanged, last
    [[12, 13], [14, 15], [16, 17], [18, 19]]

    In a pipeline, before the estimator:

    >>> from imblearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_dmlpl import DMLPLClassifier
    >>> model = make_pipeline(
    ...     StandardScaler(), LabeledOnly(RandomUnderSampler(random_state=0)), DMLPLClassifier(random_state=0)
    ... )
    >>> model.set_params(labeledonly__sampler__sampling_strategy="not minority").steps[1][1]
    LabeledOnly(sampler=RandomUnderSampler(random_state=0, sampling_strategy='not minority'))
    """

    _sampling_type = "bypass"
    # The "?" of the HTML representation links to this page of the API reference (_doc_link.py).
    _doc_link_module = "sk_dmlpl"
    _doc_link_template = DOC_LINK_TEMPLATE

    _parameter_constraints: ClassVar[dict] = {"sampler": [HasMethods(["fit_resample"])]}

    def __init__(self, sampler):
        # BaseSampler's __init__ is not called: it would add a sampling_strategy, which
        # belongs to the wrapped sampler.
        self.sampler = sampler

    def fit(self, X, y, **params):
        """Fit the sampler on the labeled rows; use :meth:`fit_resample` to resample.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
            The rows, labeled and unlabeled alike.
        y : array-like of shape (n_samples,)
            Their labels, ``-1`` where a row has none.
        **params : dict
            Passed on to :meth:`fit_resample`, which passes them to the sampler.

        Returns
        -------
        self : LabeledOnly
            This sampler.
        """
        self.fit_resample(X, y, **params)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, **params):
        """Resample the labeled rows; append the unlabeled ones unchanged.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
            Rows.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled rows.
        **params : dict
            Passed to the sampler's ``fit_resample``.

        Returns
        -------
        X_resampled : {ndarray, DataFrame, sparse matrix} of shape (n_samples_new, n_features)
            The resampled labeled rows, then the unlabeled rows.
        y_resampled : ndarray or Series of shape (n_samples_new,)
            Their labels: the sampler's, then ``-1``.

        Raises
        ------
        ValueError
            When every label is ``-1``.
        """
        return self._fit_resample(X, y, **params)

    def _fit_resample(self, X, y, **params):
        validate_data(self, X, skip_check_array=True)
        X_in, y_in = X, y
        if not hasattr(X, "iloc"):
            X = check_array(X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False)
        y = column_or_1d(y)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} labels.")
        labeled = y != -1
        if not labeled.any():
            raise ValueError("y has no labeled row to resample: every entry is -1.")
        self.sampler_ = clone(self.sampler)
        X_labeled, y_labeled = self.sampler_.fit_resample(_safe_indexing(X, labeled), y[labeled], **params)
        if hasattr(self.sampler_, "sampling_strategy_"):
            self.sampling_strategy_ = self.sampler_.sampling_strategy_
        X_out = _stack(X_labeled, _safe_indexing(X, ~labeled))
        y_out = np.concatenate([np.asarray(y_labeled).ravel(), y[~labeled]])
        return _like(X_in, X_out), _like(y_in, y_out)


def _stack(top, bottom):
    """Stack two row blocks of one kind: DataFrames, sparse matrices or arrays."""
    if hasattr(top, "iloc"):
        import pandas as pd

        return pd.concat([top, bottom], ignore_index=True)
    if sparse.issparse(top) or sparse.issparse(bottom):
        return sparse.vstack([top, bottom], format=getattr(top, "format", "csr"))
    return np.concatenate([top, bottom])


def _like(original, values):
    """Give ``values`` the container type of the input ``original``, as imbalanced-learn's samplers do."""
    if isinstance(original, list):
        return values.tolist()
    if hasattr(original, "iloc") and not hasattr(values, "iloc"):
        import pandas as pd

        if isinstance(original, pd.Series):
            return pd.Series(values, name=original.name)
        if isinstance(original, pd.DataFrame) and original.shape[1] == 1:
            return pd.DataFrame({original.columns[0]: values})
    return values
