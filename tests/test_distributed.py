"""DMLPLClassifier in a grid search spread over a dask cluster (joblib's "dask" backend).

A local cluster on the loopback interface stands in for a real one: the estimator, the
data and the scorer travel to the workers by (cloud)pickle, each worker fits in its own
process, and the search must find what the same search finds in this process.
"""

import logging
import os

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_dmlpl.metrics import labeled_scorer

from .conftest import quick

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


def _search():
    return GridSearchCV(
        quick(max_epochs=6, fine_tune_epochs=1, max_iter=1),
        {"n_vote_neighbors": [3, 6]},
        scoring=labeled_scorer("balanced_accuracy"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )


@pytest.fixture(scope="module")
def cluster_client():
    # Worker processes (not threads): the realistic case, and torch's global RNG, which
    # fit seeds inside torch.random.fork_rng, is then private to each fit.
    # Starting them sets OMP_NUM_THREADS=1 and others in this process's environment, which
    # later subprocesses would inherit: put the environment back afterwards.
    environment = dict(os.environ)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        yield client
    os.environ.clear()
    os.environ.update(environment)


def test_grid_search_on_dask_matches_the_default_backend(small_semi, cluster_client):
    X, y_semi, _ = small_semi
    # Dask's nanny starts workers with OMP_NUM_THREADS=1; torch's float sums depend, in the
    # last bits, on its thread count, and a few hundred Adam steps carry such bits into the
    # weights. Fit here with one thread too, as the workers do.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = _search().fit(X, y_semi)
    finally:
        torch.set_num_threads(threads)
    torch.set_num_threads(1)  # for the refit, which runs in this process
    try:
        with distributed.get_task_stream(cluster_client) as tasks, joblib.parallel_backend("dask"):
            remote = _search().fit(X, y_semi)
    finally:
        torch.set_num_threads(threads)

    # The 4 fits (2 candidates x 2 folds) ran as tasks on the cluster's workers.
    workers = {task["worker"] for task in tasks.data}
    assert len(tasks.data) >= 4 and workers <= set(cluster_client.scheduler_info()["workers"])

    assert remote.best_params_ == local.best_params_
    for key in ("split0_test_score", "split1_test_score", "mean_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    # The refit on the whole data (in this process, under the dask backend's context)
    # gives the same model.
    np.testing.assert_array_equal(remote.best_estimator_.transduction_, local.best_estimator_.transduction_)
    np.testing.assert_allclose(remote.predict_proba(X), local.predict_proba(X), rtol=0, atol=1e-6)
