import numpy as np
import pytest
import torch

from sk_dmlpl import DMLPLClassifier, _pseudo_labeling
from sk_dmlpl._neighbors import input_neighbors, nearest_neighbors
from sk_dmlpl._pseudo_labeling import (
    MIN_ROWS_PER_THREAD,
    BoostingView,
    CenterView,
    ClassView,
    ForestView,
    HeadView,
    InputView,
    NeighborVoteView,
    Rows,
    blend_proba,
    center_probabilities,
    class_centers,
    class_shift,
    correct_prior,
    fit_views,
    neighbor_probabilities,
    per_class_sample,
    prior_weights,
    select_pseudo_labels,
)
from sk_dmlpl._view_weights import group_weights_to_view_weights, learn_group_weights, with_boosting

from .conftest import quick


def test_per_class_quota_takes_the_same_share_of_each_class():
    # 8 rows for class 0 (all very confident), 2 for class 1 (less so).
    proba = np.array([[0.99, 0.01]] * 8 + [[0.3, 0.7], [0.4, 0.6]])
    proba[:8, 0] -= np.arange(8) * 0.01
    proba[:8, 1] = 1 - proba[:8, 0]
    selected, labels, reliability = select_pseudo_labels(proba, fraction=0.5, quota="per_class")
    assert sorted(selected.tolist()) == [0, 1, 2, 3, 8]  # top half of class 0, top half of class 1
    np.testing.assert_array_equal(labels[np.argsort(selected)], [0, 0, 0, 0, 1])
    np.testing.assert_allclose(reliability, proba[selected].max(axis=1))


def test_global_quota_takes_the_most_reliable_rows_whatever_their_class():
    proba = np.array([[0.99, 0.01]] * 8 + [[0.3, 0.7], [0.4, 0.6]])
    selected, labels, _ = select_pseudo_labels(proba, fraction=0.5, quota="global")
    assert set(labels) == {0}
    assert len(selected) == 5


def test_mixed_quota_ranks_rows_by_their_class_rank_and_their_overall_rank():
    # Class 0: 8 confident rows; class 1: 2 rows, less sure. Overall the class-1 rows rank
    # 9th and 10th, in their class 1st and 2nd.
    proba = np.array([[0.99, 0.01]] * 8 + [[0.3, 0.7], [0.4, 0.6]])
    proba[:8, 0] -= np.arange(8) * 0.01
    proba[:8, 1] = 1 - proba[:8, 0]
    selected, labels, reliability = select_pseudo_labels(proba, fraction=0.5, quota="mixed")
    # Shares (class, overall), mean: row 0 (0, 0) 0; row 1 (1/8, 1/10) 0.11; row 2
    # (2/8, 2/10) 0.225; row 3 (3/8, 3/10) 0.34; row 8 (0, 8/10) 0.4; row 4 (4/8, 4/10) 0.45.
    assert selected.tolist() == [0, 1, 2, 3, 8]  # 5 rows, as "global" takes, in order
    np.testing.assert_array_equal(labels, [0, 0, 0, 0, 1])
    np.testing.assert_allclose(reliability, proba[selected].max(axis=1))
    # "global" takes row 4 where "mixed" takes row 8, the best of class 1.
    global_selected, _, _ = select_pseudo_labels(proba, fraction=0.5, quota="global")
    assert sorted(global_selected.tolist()) == [0, 1, 2, 3, 4]


def test_fraction_one_takes_every_row():
    proba = np.random.default_rng(0).dirichlet(np.ones(4), size=50)
    for quota in ("per_class", "global", "mixed"):
        selected, labels, _ = select_pseudo_labels(proba, 1.0, quota)
        assert sorted(selected.tolist()) == list(range(50))
        np.testing.assert_array_equal(labels[np.argsort(selected)], proba.argmax(axis=1))


def test_centers_and_center_probabilities():
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(30, 5)).astype(np.float32)
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    labels = np.repeat([0, 1, 2], 10)
    labels[-9:] = 1  # class 2 keeps a single row: a single center
    centers, center_labels = class_centers(embedding, labels, 3, n_subclusters=3, random_state=rng)
    assert np.bincount(center_labels).tolist() == [3, 3, 1]
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1, rtol=1e-5)
    proba = center_probabilities(embedding, centers, center_labels, temperature=0.1)
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    # A row that is a class's only center is closest to that class.
    assert proba[-10].argmax() == 2


def test_neighbor_vote_follows_the_nearest_labeled_rows():
    labeled = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    labeled /= np.linalg.norm(labeled, axis=1, keepdims=True)
    query = np.array([[1.0, 0.05], [0.05, 1.0]], dtype=np.float32)
    proba = neighbor_probabilities(query, labeled, np.array([0, 0, 1]), 2, n_neighbors=2, temperature=0.1, random_state=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert proba.argmax(axis=1).tolist() == [0, 1]
    # The second query's two nearest rows are of either class: weight exp(-d^2 / 2T) each.
    weights = np.exp(-np.sum((labeled[[2, 1]] - query[1]) ** 2, axis=1) / (2 * 0.1))
    np.testing.assert_allclose(proba[1], weights[::-1] / weights.sum(), rtol=1e-5)


def test_exact_neighbors_leave_out_the_row_itself():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    distances, indices = nearest_neighbors(X, n_neighbors=2)
    assert indices.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    np.testing.assert_allclose(distances[0], [1, 3])


def test_pynndescent_above_the_threshold_agrees_with_exact_search(monkeypatch):
    import sk_dmlpl._neighbors as neighbors

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    _exact_distances, exact = nearest_neighbors(X, n_neighbors=5)
    monkeypatch.setattr(neighbors, "EXACT_SEARCH_MAX_ROWS", 10)
    threads = torch.get_num_threads()
    _approx_distances, approx = nearest_neighbors(X, n_neighbors=5, random_state=0)
    assert torch.get_num_threads() == threads  # numba's OpenMP start-up would change it
    recall = np.mean([len(set(a) & set(e)) / 5 for a, e in zip(approx, exact)])
    assert recall > 0.95
    _query_distances, query = nearest_neighbors(X, X[:10] + 1e-3, n_neighbors=3, random_state=0)
    assert query.shape == (10, 3) and (query[:, 0] == np.arange(10)).all()


def test_input_neighbors_above_the_threshold_are_the_nearest_of_a_sample(monkeypatch):
    import sk_dmlpl._neighbors as neighbors

    X = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    assert np.array_equal(input_neighbors(X, 5, random_state=0), nearest_neighbors(X, n_neighbors=5)[1])
    monkeypatch.setattr(neighbors, "EXACT_SEARCH_MAX_ROWS", 40)

    found = input_neighbors(X, 5, random_state=0)

    sample = np.unique(found)
    assert found.shape == (300, 5) and len(sample) <= 40
    assert not (found == np.arange(300)[:, None]).any()
    # Exactly the 5 nearest sampled rows other than the row itself, nearest first.
    distances = np.linalg.norm(X[:, None] - X[None, sample], axis=2)
    distances[sample[None, :] == np.arange(300)[:, None]] = np.inf
    assert np.array_equal(found, sample[np.argsort(distances, axis=1, kind="stable")[:, :5]])
    assert np.array_equal(found, input_neighbors(X, 5, random_state=0))  # seeded


def test_per_class_sample_caps_large_classes_keeps_small_ones_and_skips_unlabeled():
    labels = np.array([0] * 50 + [1] * 3 + [-1] * 20 + [2] * 10)
    rows = per_class_sample(labels, max_rows=10, random_state=np.random.default_rng(0))
    assert np.array_equal(np.bincount(labels[rows]), [10, 3, 10])
    assert (labels[rows] >= 0).all() and np.array_equal(rows, np.unique(rows))
    again = per_class_sample(labels, max_rows=10, random_state=np.random.default_rng(0))
    assert np.array_equal(rows, again)


def test_per_class_sample_draws_nothing_when_no_class_is_over_the_cap():
    labels = np.array([0, 1, -1, 1, 0])
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert np.array_equal(per_class_sample(labels, max_rows=2, random_state=rng), [0, 1, 3, 4])
    assert rng.bit_generator.state == state


# -- the class views --


def test_views_follow_one_calling_convention():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    X = rng.normal(size=(60, 5)) + 3 * labels[:, None]
    embedding = X / np.linalg.norm(X, axis=1, keepdims=True)
    rows = Rows(X, embedding.astype(np.float32), np.eye(3)[labels] * 5)
    semi = labels.copy()
    semi[::3] = -1
    views = fit_views(
        {"centers": CenterView(2), "neighbors": NeighborVoteView(3), "head": HeadView(), "input": InputView()},
        rows,
        semi,
        3,
        np.random.default_rng(0),
    )
    for name, view in views.items():
        proba = view.predict_proba(rows.take(np.arange(10)))
        assert proba.shape == (10, 3), name
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6, err_msg=name)
    blended = blend_proba(views, group_weights_to_view_weights(views, {"embedding": 0.5, "input": 0.5}), rows)
    np.testing.assert_allclose(blended.sum(axis=1), 1)
    assert (blended.argmax(axis=1) == labels).mean() > 0.9


class NearestInputRowView(ClassView):
    """A toy view: the class of the nearest labeled row in input space, with certainty."""

    group = "input"  # it shares the input view's weight

    def fit(self, rows, labels, n_classes, random_state):
        self.X_, self.labels_ = rows.X, labels
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        nearest = ((rows.X[:, None, :] - self.X_[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        return np.eye(self.n_classes_)[self.labels_[nearest]]


class WithNearestInputRow(DMLPLClassifier):
    def _views(self, at_predict, later_round=False):
        return {**super()._views(at_predict, later_round), "nearest": NearestInputRowView()}


def test_a_new_view_is_one_class_and_one_entry(small_semi):
    X, y_semi, y = small_semi
    clf = WithNearestInputRow(**quick().get_params()).fit(X, y_semi)
    assert set(clf.views_) == {"centers", "head", "input", "forest", "nearest"}
    # The input space's share is split between the two input-space views.
    assert clf.view_weights_["nearest"] == clf.view_weights_["input"] == pytest.approx(clf.input_view_weight / 2)
    assert clf.score(X, y) > 0.85


def _forests(balancing, n_estimators, seed):
    """The forests a ForestView of ``balancing`` fits, built here from the libraries."""
    from imblearn.ensemble import BalancedRandomForestClassifier
    from sklearn.ensemble import RandomForestClassifier

    def undersampled(n, random_state):
        return BalancedRandomForestClassifier(
            n_estimators=n, sampling_strategy="all", replacement=True, bootstrap=False, random_state=random_state, n_jobs=1
        )

    def weighted(n, random_state):
        return RandomForestClassifier(n_estimators=n, class_weight="balanced", random_state=random_state, n_jobs=1)

    if balancing == "undersample":
        return [undersampled(n_estimators, seed)]
    if balancing == "class_weight":
        return [weighted(n_estimators, seed)]
    return [undersampled(n_estimators // 2, seed), weighted(n_estimators - n_estimators // 2, seed + 1)]


@pytest.mark.parametrize("balancing", ["undersample", "class_weight", "both"])
def test_forest_view_predicts_as_the_libraries_forests(balancing):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.7)
    view = ForestView(n_estimators=20, balancing=balancing).fit(Rows(X, None, None), labels, 4, np.random.default_rng(1))
    seed = int(np.random.default_rng(1).integers(np.iinfo(np.int32).max))  # the view's one draw
    forests = [forest.fit(X, labels) for forest in _forests(balancing, 20, seed)]
    query = Rows(rng.normal(size=(300, 6)).astype(np.float32), None, None)
    fitted = view.predict_proba(query)
    expected = sum(forest.predict_proba(query.X) for forest in forests) / len(forests)
    np.testing.assert_array_equal(fitted, expected)
    assert list(view.forest_sizes_) == [len(forest.estimators_) for forest in forests]
    # A loaded view has the trees' arrays only, and walks them to the same probabilities.
    del view._forests
    np.testing.assert_array_equal(view.predict_proba(query), fitted)


def test_forest_view_grows_in_torchs_threads_to_the_same_trees(torch_threads, monkeypatch):
    # The trees grow in torch.get_num_threads() threads, each from a seed drawn before,
    # so the forest is the same whatever the threads; each forest predicts in one thread.
    from joblib import parallel

    asked = []
    original = parallel.Parallel.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        asked.append(self._effective_n_jobs())  # what the Parallel will run on

    monkeypatch.setattr(parallel.Parallel, "__init__", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    rows = Rows(X, None, None)
    fitted = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        asked.clear()
        view = ForestView(n_estimators=10).fit(rows, labels, 3, np.random.default_rng(1))
        assert 2 <= len(asked) and set(asked) == {threads}  # the two forests' fits
        assert [forest.n_jobs for forest in view._forests] == [1, 1]
        fitted.append((view.value_, view.threshold_, view.predict_proba(rows)))
    for first, second in zip(*fitted):
        np.testing.assert_array_equal(first, second)


def test_forest_view_predicts_blocks_of_rows_in_threads_to_the_same_bits(torch_threads, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    view = ForestView(n_estimators=10).fit(Rows(X, None, None), labels, 3, np.random.default_rng(1))
    query = Rows(rng.normal(size=(2 * MIN_ROWS_PER_THREAD + 5, 5)).astype(np.float32), None, None)
    blocks = []
    original = ForestView._forests_proba
    monkeypatch.setattr(ForestView, "_forests_proba", lambda self, X: blocks.append(len(X)) or original(self, X))
    probas = []
    for threads in (1, 2, 3):
        torch.set_num_threads(threads)
        blocks.clear()
        probas.append(view.predict_proba(query))
        # At most one block a thread, and none under MIN_ROWS_PER_THREAD rows.
        assert len(blocks) == min(threads, 2) and sum(blocks) == len(query.X)
    for proba in probas[1:]:
        np.testing.assert_array_equal(proba, probas[0])
    del view._forests  # a loaded view walks the trees: the same probabilities
    np.testing.assert_array_equal(view.predict_proba(query), probas[0])


def test_boosting_view_predicts_as_the_librarys_boosted_trees():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.7)  # classes 0-3 of 5: class 4 unseen
    view = BoostingView().fit(Rows(X, None, None), labels, 5, np.random.default_rng(1))
    seed = int(np.random.default_rng(1).integers(np.iinfo(np.int32).max))  # the view's one draw
    boosted = HistGradientBoostingClassifier(class_weight="balanced", random_state=seed).fit(X, labels)
    query = Rows(rng.normal(size=(50, 6)).astype(np.float32), None, None)
    proba = view.predict_proba(query)
    np.testing.assert_array_equal(proba[:, :4], boosted.predict_proba(query.X))
    assert (proba[:, 4] == 0).all()


def test_boosting_view_fits_and_predicts_in_torchs_threads(torch_threads, monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info

    def openmp_threads():
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}

    seen = []
    for method in ("fit", "predict_proba"):
        original = getattr(HistGradientBoostingClassifier, method)
        monkeypatch.setattr(
            HistGradientBoostingClassifier,
            method,
            lambda self, *args, _original=original, **kwargs: seen.append(openmp_threads()) or _original(self, *args, **kwargs),
        )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    rows = Rows(X, None, None)
    for threads in (1, 2):  # one of them is not the pool's own count (the cores or OMP_NUM_THREADS)
        torch.set_num_threads(threads)
        seen.clear()
        BoostingView().fit(rows, (X[:, 0] > 0).astype(int), 2, rng).predict_proba(rows)
        assert seen == [{threads}, {threads}]


def test_with_boosting_takes_the_boosting_views_weight_half_out_of_the_input_views_and_half_out_of_the_embeddings():
    weights = with_boosting({"embedding": 0.35, "input": 0.15, "forest": 0.5}, 0.075)
    assert weights == pytest.approx({"embedding": 0.3125, "input": 0.1125, "forest": 0.5, "boosting": 0.075})
    # Each gives at most its whole share: the blend's weights still sum to 1.
    weights = with_boosting({"embedding": 0.5, "input": 0.0, "forest": 0.5}, 0.1)
    assert weights == pytest.approx({"embedding": 0.45, "input": 0.0, "forest": 0.5, "boosting": 0.05})


def test_input_view_fits_with_one_blas_thread_and_gives_the_threads_back(monkeypatch):
    from sklearn import linear_model
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    original = linear_model.LogisticRegression.fit

    def spy(self, *args, **kwargs):
        seen.extend(blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(linear_model.LogisticRegression, "fit", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    InputView().fit(Rows(X, None, None), (X[:, 0] > 0).astype(int), 2, rng)
    assert seen and set(seen) == {1}
    assert blas_threads() == before


def test_input_views_splines_read_a_feature_whose_effect_is_not_monotone():
    # The class is 1 far from 0 on either side: no straight line in x0 separates it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    labels = (np.abs(X[:, 0]) > 1).astype(int)
    rows = Rows(X, None, None)
    linear = InputView().fit(rows, labels, 2, rng)
    splines = InputView(n_knots=4).fit(rows, labels, 2, rng)
    assert linear.feature_range_ is None
    np.testing.assert_array_equal(splines.feature_range_, [X.min(axis=0), X.max(axis=0)])
    assert (linear.predict_proba(rows).argmax(axis=1) == labels).mean() < 0.75
    assert (splines.predict_proba(rows).argmax(axis=1) == labels).mean() > 0.9


def test_input_views_splines_hold_beyond_the_fitted_range_and_a_constant_feature():
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=(60, 2)), np.zeros(60)]  # the last feature never varies
    view = InputView(n_knots=3).fit(Rows(X, None, None), (X[:, 0] > 0).astype(int), 2, rng)
    far = np.array([[50.0, -50.0, 7.0], [-50.0, 50.0, -7.0]])
    proba = view.predict_proba(Rows(far, None, None))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert proba[0, 1] > 0.5 > proba[1, 1]  # as at the edges of the range


def test_input_views_splines_predict_in_slices_as_at_once(monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    view = InputView(n_knots=4).fit(Rows(X, None, None), (X[:, 0] > 0).astype(int), 2, rng)
    at_once = view.predict_proba(Rows(X, None, None))
    monkeypatch.setattr(_pseudo_labeling, "SPLINE_BATCH_ROWS", 7)  # 8 slices, the last of 1 row
    # Equal up to the last bits, which BLAS's blocking of another number of rows moves.
    np.testing.assert_allclose(view.predict_proba(Rows(X, None, None)), at_once, rtol=1e-12, atol=1e-15)


def test_the_two_balancings_differ_where_the_classes_are_imbalanced():
    # 180 rows of one class and 20 of another, overlapping: the undersampled trees see
    # 20 rows of each, the weighted ones all 200, so their probabilities differ. (That
    # "both" averages the two is pinned by the test above.)
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(180, int), np.ones(20, int)]
    X = (rng.normal(size=(200, 3)) + labels[:, None]).astype(np.float32)
    rows = Rows(X, None, None)
    probas = [
        ForestView(n_estimators=20, balancing=balancing).fit(rows, labels, 2, np.random.default_rng(1)).predict_proba(rows)
        for balancing in ("undersample", "class_weight")
    ]
    assert np.abs(probas[0] - probas[1]).max() > 0.1


def test_learn_group_weights_picks_the_blend_that_scores_best():
    labels = np.array([0, 0, 1, 1, 2, 2])
    right = np.eye(3)[labels]
    wrong = np.eye(3)[(labels + 1) % 3]
    # "good" is right everywhere, "bad" wrong everywhere: all the weight goes to "good".
    assert learn_group_weights({"bad": wrong, "good": right}, labels) == {"bad": 0.0, "good": 1.0}
    # Each right on half the classes, confidently; together they are right everywhere.
    first = np.where(labels[:, None] < 2, right, 0.4 * wrong + 0.6 / 3)
    second = np.where(labels[:, None] >= 1, right, 0.4 * wrong + 0.6 / 3)
    weights = learn_group_weights({"first": first, "second": second}, labels)
    blend = weights["first"] * first + weights["second"] * second
    assert (blend.argmax(axis=1) == labels).all() and 0 < weights["first"] < 1
    assert sum(weights.values()) == pytest.approx(1)


def test_group_weights_are_split_among_a_groups_views():
    views = {"centers": CenterView(), "neighbors": NeighborVoteView(), "head": HeadView(), "input": InputView()}
    weights = group_weights_to_view_weights(views, {"embedding": 0.6, "input": 0.4, "forest": 0.0})
    assert weights == pytest.approx({"centers": 0.2, "neighbors": 0.2, "head": 0.2, "input": 0.4})
    views["forest"] = ForestView()
    weights = group_weights_to_view_weights(views, {"embedding": 0.3, "input": 0.2, "forest": 0.5})
    assert weights == pytest.approx({"centers": 0.1, "neighbors": 0.1, "head": 0.1, "input": 0.2, "forest": 0.5})


# Class 0 wins 1 of the 4 rows, class 1 the other 3.
WON_A_QUARTER = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])


def test_prior_weights_are_the_won_share_over_the_given_share_taken_part_way():
    # Class 0 holds half the given labels but wins a quarter of the rows.
    proba = WON_A_QUARTER
    given = np.array([0.5, 0.5])
    np.testing.assert_allclose(prior_weights(proba, given, 1.0)[0], [0.5, 1.5])
    np.testing.assert_allclose(prior_weights(proba, given, 0.5)[0], [0.75, 1.25])
    np.testing.assert_array_equal(prior_weights(proba, given, 0.0)[0], [1.0, 1.0])
    # A class that wins as many rows as its share of the given labels keeps its weight.
    np.testing.assert_allclose(prior_weights(proba, np.array([0.25, 0.75]), 1.0)[0], [1.0, 1.0])


def test_auto_prior_strength_is_the_distance_between_won_and_given_shares():
    proba = WON_A_QUARTER
    # Given 1/2, 1/2: the distance is 1/4, so the step goes a quarter of the way.
    weights, strength = prior_weights(proba, np.array([0.5, 0.5]), "auto")
    assert strength == pytest.approx(0.25)
    np.testing.assert_allclose(weights, [1 + 0.25 * (0.5 - 1), 1 + 0.25 * (1.5 - 1)])
    # Won shares equal to the given ones: no step at all.
    weights, strength = prior_weights(proba, np.array([0.25, 0.75]), "auto")
    assert strength == pytest.approx(0.0)
    np.testing.assert_allclose(weights, [1.0, 1.0])
    assert class_shift(np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.5, 0.5])) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("given", "distance", "first_round_strength"),
    [
        ([0.3, 0.7], 0.05, 0.05),  # below RAMP_FROM (0.25): the distance, as in later rounds
        ([0.6, 0.4], 0.35, 0.35 + 0.65 * 0.5),  # half way up the ramp
        ([0.75, 0.25], 0.5, 1.0),  # beyond RAMP_FROM + RAMP_WIDTH (0.45): the full step
    ],
)
def test_auto_prior_strength_ramps_up_to_the_full_step_in_the_first_round(given, distance, first_round_strength):
    proba, given = WON_A_QUARTER, np.array(given)
    assert prior_weights(proba, given, "auto")[1] == pytest.approx(distance)
    weights, strength = prior_weights(proba, given, "auto", first_round=True)
    assert strength == pytest.approx(first_round_strength)
    np.testing.assert_allclose(weights, 1 + first_round_strength * (np.array([0.25, 0.75]) / given - 1))
    # A fixed strength is the same in every round.
    assert prior_weights(proba, given, 0.5, first_round=True)[1] == 0.5


def test_correct_prior_renormalises_and_leaves_probabilities_alone_when_off():
    proba = WON_A_QUARTER
    corrected, weights, strength = correct_prior(proba, np.array([0.5, 0.5]), 1.0)
    np.testing.assert_allclose(corrected.sum(axis=1), 1.0)
    np.testing.assert_allclose(corrected, proba * weights / (proba * weights).sum(axis=1, keepdims=True))
    assert strength == 1.0
    unchanged, _, _ = correct_prior(proba, np.array([0.5, 0.5]), 0)
    assert unchanged is proba


def _reversed_blobs():
    """Three blobs: class 0 has most given labels, but few unlabeled rows (as 'reversed')."""
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0, 0, 0], [2.5, 2.5, 0, 0], [0, 2.5, 2.5, 0]])
    given = np.repeat([0, 1, 2], [20, 2, 2])
    unlabeled = np.repeat([0, 1, 2], [4, 60, 60])
    y = np.concatenate([given, unlabeled])
    X = centers[y] + rng.normal(size=(len(y), 4))
    return X, np.concatenate([given, np.full(len(unlabeled), -1)]), y


def test_prior_correction_moves_pseudo_labels_towards_the_unlabeled_rows_classes():
    X, y_semi, y = _reversed_blobs()
    unlabeled = y_semi == -1
    corrected = quick(max_iter=2).fit(X, y_semi)
    plain = quick(max_iter=2, prior_correction=0.0).fit(X, y_semi)

    # Off, the weights are all 1; on, the head of the given labels weighs less than 1.
    assert all((record["prior_weights"] == 1).all() for record in plain.history_ if "prior_weights" in record)
    first = next(record for record in corrected.history_ if "prior_weights" in record)
    assert first["prior_weights"][0] < 1 < first["prior_weights"][1:].min()
    # "auto" (the default) took a step as long as the won shares are far from the given ones.
    assert 0 < first["prior_strength"] <= 1
    # Fewer unlabeled rows go wrongly to class 0, which holds 4 of the 124.
    wrong_zero = [((model.transduction_ == 0) & (y != 0))[unlabeled].sum() for model in (corrected, plain)]
    assert wrong_zero[0] < wrong_zero[1]


def test_auto_prior_correction_lengthens_only_the_first_rounds_step(monkeypatch):
    X, y_semi, _ = _reversed_blobs()

    def strengths(model):
        return [record["prior_strength"] for record in model.history_ if "prior_strength" in record]

    default = strengths(quick(max_iter=2).fit(X, y_semi))
    ramp_from, ramp_width = _pseudo_labeling.RAMP_FROM, _pseudo_labeling.RAMP_WIDTH
    # The first round's views are the same however the step is taken: with the ramp out
    # of reach, its strength is the distance itself.
    monkeypatch.setattr(_pseudo_labeling, "RAMP_FROM", 2.0)
    distance = strengths(quick(max_iter=2).fit(X, y_semi))[0]
    assert 0 < distance < 1
    ramp = min(1.0, max(0.0, (distance - ramp_from) / ramp_width))
    assert default[0] == pytest.approx(distance + (1 - distance) * ramp)
