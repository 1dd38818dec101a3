import numpy as np
import pytest
from sklearn.datasets import load_digits

from sk_dmlpl.datasets import _unlabeled_counts, make_long_tailed


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


@pytest.mark.parametrize("ratio", [10, 50, 100])
def test_consistent_is_the_default_and_its_counts_are_the_long_tail(ratio):
    X, y = load_digits(return_X_y=True)
    default = make_long_tailed(X, y, imbalance_ratio=ratio, random_state=1)
    consistent = make_long_tailed(X, y, imbalance_ratio=ratio, random_state=1, unlabeled_distribution="consistent")
    assert default.keys() == consistent.keys()
    for key in default:
        np.testing.assert_array_equal(default[key], consistent[key])
    np.testing.assert_array_equal(default.class_counts, default.long_tail_counts)
    np.testing.assert_array_equal(default.labeled_counts, np.bincount(default.y_train[default.y_train != -1].astype(int)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unlabeled_distributions_keep_the_labeled_and_test_rows(seed):
    X, y = load_digits(return_X_y=True)
    drawn = {
        distribution: make_long_tailed(X, y, random_state=seed, unlabeled_distribution=distribution)
        for distribution in ("consistent", "uniform", "reversed")
    }
    consistent = drawn["consistent"]
    labeled = consistent.y_train != -1
    n_unlabeled = consistent.class_counts - consistent.labeled_counts
    order = np.argsort(-consistent.long_tail_counts, kind="stable")  # head first
    for distribution, data in drawn.items():
        # The same labeled rows, with the same labels, and the same test rows.
        is_labeled = data.y_train != -1
        np.testing.assert_array_equal(data.train_indices[is_labeled], consistent.train_indices[labeled])
        np.testing.assert_array_equal(data.y_train[is_labeled], consistent.y_train[labeled])
        np.testing.assert_array_equal(data.test_indices, consistent.test_indices)
        np.testing.assert_array_equal(data.long_tail_counts, consistent.long_tail_counts)
        np.testing.assert_array_equal(data.labeled_counts, consistent.labeled_counts)
        # The unlabeled rows: disjoint from the test rows, counted by class_counts, as many in all.
        assert not set(data.train_indices) & set(data.test_indices)
        assert len(set(data.train_indices)) == len(data.train_indices)
        unlabeled_by_class = np.bincount(data.y_train_true[~is_labeled], minlength=10)
        np.testing.assert_array_equal(unlabeled_by_class, data.class_counts - data.labeled_counts)
        assert unlabeled_by_class.sum() == n_unlabeled.sum(), distribution
    uniform = drawn["uniform"].class_counts - consistent.labeled_counts
    assert uniform.max() - uniform.min() <= 1
    # The rows an even split leaves over go to the classes nearest the head.
    assert list(uniform[order]) == sorted(uniform[order], reverse=True)
    reversed_ = drawn["reversed"].class_counts - consistent.labeled_counts
    np.testing.assert_array_equal(reversed_[order], n_unlabeled[order][::-1])
    # The consistent unlabeled rows of each class are among the others' draws of that class.
    for distribution in ("uniform", "reversed"):
        data = drawn[distribution]
        for label in range(10):
            ours = set(consistent.train_indices[~labeled & (consistent.y_train_true == label)])
            theirs = set(data.train_indices[(data.y_train == -1) & (data.y_train_true == label)])
            assert ours <= theirs or theirs <= ours


def test_unlabeled_counts_are_capped_by_what_each_class_has_left():
    consistent = np.array([40, 10, 4, 1])  # classes 0..3, class 0 the head
    ranks = np.array([0, 1, 2, 3])
    left = np.array([100, 100, 6, 3])
    # uniform: 55 rows, 13 or 14 each, but classes 2 and 3 hold only 6 and 3: the rest go to 0 and 1.
    np.testing.assert_array_equal(_unlabeled_counts(consistent, left, ranks, "uniform"), [23, 23, 6, 3])
    # reversed: the tail gets the head's 40, capped at 3.
    np.testing.assert_array_equal(_unlabeled_counts(consistent, left, ranks, "reversed"), [1, 4, 6, 3])
    # The ranks, not the class indices, set the order.
    np.testing.assert_array_equal(
        _unlabeled_counts(np.array([1, 40]), np.array([50, 50]), np.array([1, 0]), "reversed"), [40, 1]
    )
    np.testing.assert_array_equal(_unlabeled_counts(consistent, left, ranks, "consistent"), consistent)


def test_unknown_unlabeled_distribution_is_named():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="unlabeled_distribution must be one of"):
        make_long_tailed(X, y, unlabeled_distribution="balanced")
