"""LabeledOnly: an imbalanced-learn sampler on the labeled rows, the unlabeled rows passed through."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from imblearn.utils.estimator_checks import parametrize_with_checks
from scipy import sparse
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.sampling import LabeledOnly

EXPECTED_FAILURES = {
    "check_samplers_multiclass_ova": (
        "one-hot y is refused: a row of a one-hot target cannot be marked unlabeled, so there is "
        "no labeled subset to hand the sampler."
    ),
}


@parametrize_with_checks(
    [LabeledOnly(RandomUnderSampler(random_state=0)), LabeledOnly(SMOTE(random_state=0))],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_imblearn_compatible_sampler(estimator, check):
    # imbalanced-learn's sampler checks and scikit-learn's estimator checks, on fully labeled data.
    check(estimator)


@pytest.fixture
def imbalanced_semi():
    """Three classes of 40, 12 and 8 labeled rows, and 60 unlabeled rows."""
    rng = np.random.RandomState(0)
    y_true = np.repeat([0, 1, 2], [70, 30, 20])
    X = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0]], dtype=float)[y_true] + rng.normal(size=(120, 3))
    y = np.full(120, -1)
    labeled = np.r_[0:40, 70:82, 100:108]
    y[labeled] = y_true[labeled]
    return X, y


def test_undersamples_the_labeled_rows_and_keeps_every_unlabeled_row(imbalanced_semi):
    X, y = imbalanced_semi
    X_res, y_res = LabeledOnly(RandomUnderSampler(random_state=0)).fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 8, 1: 8, 2: 8, -1: 60}
    # The unlabeled rows come last, unchanged and in order.
    np.testing.assert_array_equal(X_res[y_res == -1], X[y == -1])
    assert (y_res[-60:] == -1).all()
    # Every labeled row out is a labeled row in, with its label.
    rows = {tuple(row): label for row, label in zip(X[y != -1], y[y != -1])}
    assert all(rows[tuple(row)] == label for row, label in zip(X_res[:24], y_res[:24]))


def test_the_bare_sampler_takes_minus_one_for_a_class(imbalanced_semi):
    # What LabeledOnly is for: alone, the under-sampler drops 52 of the 60 unlabeled rows.
    X, y = imbalanced_semi
    _, y_res = RandomUnderSampler(random_state=0).fit_resample(X, y)
    assert Counter(y_res.tolist())[-1] == 8


def test_smote_grows_the_labeled_classes_and_invents_no_unlabeled_row(imbalanced_semi):
    X, y = imbalanced_semi
    X_res, y_res = LabeledOnly(SMOTE(k_neighbors=3, random_state=0)).fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 40, 1: 40, 2: 40, -1: 60}
    np.testing.assert_array_equal(X_res[y_res == -1], X[y == -1])


def test_dataframe_and_series_keep_their_types(imbalanced_semi):
    X, y = imbalanced_semi
    X_df = pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(1000, 1120))
    y_series = pd.Series(y, name="target", index=X_df.index)
    sampler = LabeledOnly(RandomUnderSampler(random_state=0))
    X_res, y_res = sampler.fit_resample(X_df, y_series)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == ["a", "b", "c"]
    assert isinstance(y_res, pd.Series) and y_res.name == "target"
    assert len(X_res) == len(y_res) == 84
    np.testing.assert_array_equal(X_res.to_numpy()[-60:], X[y == -1])
    assert list(sampler.feature_names_in_) == ["a", "b", "c"]
    assert list(sampler.get_feature_names_out()) == ["a", "b", "c"]


def test_sparse_input_stays_sparse(imbalanced_semi):
    X, y = imbalanced_semi
    X_res, y_res = LabeledOnly(RandomUnderSampler(random_state=0)).fit_resample(sparse.csr_matrix(X), y)
    assert sparse.issparse(X_res) and X_res.format == "csr" and X_res.shape == (84, 3) and (y_res[-60:] == -1).all()
    np.testing.assert_array_equal(X_res[-60:].toarray(), X[y == -1])


def test_nested_params_and_a_fresh_clone_per_fit(imbalanced_semi):
    X, y = imbalanced_semi
    inner = RandomUnderSampler(random_state=0)
    sampler = LabeledOnly(inner)
    assert sampler.get_params()["sampler__random_state"] == 0
    sampler.set_params(sampler__sampling_strategy={0: 20})
    assert inner.sampling_strategy == {0: 20}
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 20, 1: 12, 2: 8, -1: 60}
    assert sampler.sampler_ is not inner and not hasattr(inner, "sampling_strategy_")
    assert clone(sampler).get_params()["sampler__sampling_strategy"] == {0: 20}


def test_refuses_a_target_without_labels_and_a_non_sampler(imbalanced_semi):
    X, _ = imbalanced_semi
    with pytest.raises(ValueError, match="no labeled row"):
        LabeledOnly(RandomUnderSampler()).fit_resample(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="sampler"):
        LabeledOnly(StandardScaler()).fit_resample(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize("inner", [RandomUnderSampler(random_state=0), SMOTE(k_neighbors=3, random_state=0)])
def test_in_an_imblearn_pipeline_before_dmlpl(imbalanced_semi, inner):
    X, y = imbalanced_semi
    clf = DMLPLClassifier(
        hidden_units=(32,), embedding_dim=8, max_epochs=5, fine_tune_epochs=1, max_iter=1, random_state=0
    )
    model = make_pipeline(StandardScaler(), LabeledOnly(inner), clf).fit(X, y)
    n_labeled = 24 if isinstance(inner, RandomUnderSampler) else 120
    fitted = model[-1]
    # The estimator got the resampled labeled rows and all 60 unlabeled rows.
    assert len(fitted.transduction_) == n_labeled + 60
    assert list(fitted.classes_) == [0, 1, 2]
    # The sampler acts in fit only: predict sees every row.
    assert model.predict(X).shape == (120,)
    assert model.predict_proba(X).shape == (120, 3)
