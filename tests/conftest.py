import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed


@pytest.fixture(scope="session")
def digits_long_tailed():
    """The protocol's default setting on digits: imbalance ratio 50, 10% labeled, standardised."""
    X, y = load_digits(return_X_y=True)
    data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
    scaler = StandardScaler().fit(data.X_train)
    data.X_train = scaler.transform(data.X_train)
    data.X_test = scaler.transform(data.X_test)
    return data


@pytest.fixture
def torch_threads():
    """Restore torch's thread count after a test that sets it."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_semi():
    """A quick semi-labeled problem: 3 blobs, 90 rows, a third labeled."""
    rng = np.random.RandomState(0)
    centers = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 0]], dtype=float)
    y = np.repeat([0, 1, 2], 30)
    X = centers[y] + rng.normal(size=(90, 4))
    y_semi = y.copy()
    y_semi[rng.rand(90) > 0.33] = -1
    y_semi[[0, 30, 60, 1, 31, 61]] = y[[0, 30, 60, 1, 31, 61]]
    return X, y_semi, y


def quick(**params):
    """A small, fast estimator for behaviour tests."""
    defaults = {"hidden_units": (32,), "embedding_dim": 8, "max_epochs": 20, "fine_tune_epochs": 3, "max_iter": 2}
    defaults["random_state"] = 0
    return DMLPLClassifier(**{**defaults, **params})
