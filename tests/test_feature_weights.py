import numpy as np
import torch

from sk_dmlpl._feature_weights import importance_weights


def test_importance_weights_favour_the_feature_that_separates_the_classes():
    rng = np.random.RandomState(0)
    labels = np.repeat([0, 1, 2], [40, 6, 4])
    X = rng.normal(size=(50, 3))
    X[:, 1] += 5 * labels  # only the second feature tells the classes apart
    weights = importance_weights(X, labels, random_state=0)
    assert weights.shape == (3,) and np.isclose(weights.mean(), 1.0) and (weights >= 0).all()
    assert weights[1] > 2 * max(weights[0], weights[2])
    assert np.array_equal(weights, importance_weights(X, labels, random_state=0))  # seeded


def test_importance_weights_of_constant_features_are_all_one():
    X = np.ones((10, 4))
    assert np.array_equal(importance_weights(X, np.repeat([0, 1], 5), random_state=0), np.ones(4))


def test_importance_weights_are_the_same_whatever_torch_threads(torch_threads):
    # The forest grows in torch's threads; each tree's seed is drawn before they grow.
    rng = np.random.RandomState(1)
    labels = rng.randint(3, size=300)
    X = rng.normal(size=(300, 6)) + labels[:, None] * [1, 0, 0.5, 0, 0, 0.2]
    weights = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        weights.append(importance_weights(X, labels, random_state=0))
    assert np.array_equal(*weights)
    assert torch.get_num_threads() == 2  # set by the test, not changed by the forest
