import numpy as np
import pytest
from sklearn.datasets import load_digits

from sk_dmlpl.datasets import make_long_tailed


def test_long_tail_follows_the_protocol():
    X, y = load_digits(return_X_y=True)
    data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
    counts = np.sort(data.class_counts)[::-1]
    n_max = counts[0]
    expected = [max(3, int(np.ceil(n_max * 50 ** (-k / 9)))) for k in range(10)]
    np.testing.assert_array_equal(counts, expected)
    # Training labels: each class keeps round(10%) of its rows, at least 2.
    for label in range(10):
        n_rows = np.sum(data.y_train_true == label)
        assert np.sum(data.y_train == label) == max(2, round(0.1 * n_rows))
    # Unlabeled rows are marked -1 and keep their true label in y_train_true.
    unlabeled = data.y_train == -1
    assert unlabeled.sum() == len(data.y_train) - sum(max(2, round(0.1 * c)) for c in data.class_counts)
    np.testing.assert_array_equal(data.y_train[~unlabeled], data.y_train_true[~unlabeled])
    # The test set is balanced and disjoint from the training rows.
    assert len(set(np.bincount(data.y_test))) == 1
    assert not set(data.train_indices) & set(data.test_indices)
    np.testing.assert_array_equal(data.X_test, X[data.test_indices])
    np.testing.assert_array_equal(data.y_train_true, y[data.train_indices])


def test_head_class_is_drawn_per_seed_and_seed_reproduces():
    X, y = load_digits(return_X_y=True)
    heads = {int(np.argmax(make_long_tailed(X, y, random_state=seed).class_counts)) for seed in range(6)}
    assert len(heads) > 1
    a, b = make_long_tailed(X, y, random_state=3), make_long_tailed(X, y, random_state=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_string_labels_become_object_with_minus_one():
    X, y = load_digits(return_X_y=True)
    names = np.array(list("abcdefghij"))[y]
    data = make_long_tailed(X, names, random_state=0)
    assert data.y_train.dtype == object
    assert -1 in set(data.y_train)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"imbalance_ratio": 0.5}, "imbalance_ratio"),
        ({"labeled_fraction": 0}, "labeled_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
    ],
)
def test_bad_arguments_are_named(params, match):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match=match):
        make_long_tailed(X, y, **params)


def test_too_small_classes_are_refused():
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array([0] * 3 + [1] * 3)
    with pytest.raises(ValueError, match="enough rows"):
        make_long_tailed(X, y)
