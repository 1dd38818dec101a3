from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import SplineTransformer
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sk_dmlpl import DMLPLClassifier

from .conftest import quick


def test_fit_sets_self_training_attributes(small_semi):
    X, y_semi, _ = small_semi
    clf = quick(max_iter=3).fit(X, y_semi)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 4
    assert clf.n_iter_ == 3
    assert clf.termination_condition_ == "all_labeled"
    # Given labels are kept; every unlabeled row got a pseudo-label from classes_.
    np.testing.assert_array_equal(clf.transduction_[y_semi != -1], y_semi[y_semi != -1])
    assert set(clf.transduction_) <= {0, 1, 2}
    assert (clf.labeled_iter_[y_semi != -1] == 0).all()
    assert set(clf.labeled_iter_[y_semi == -1]) <= {1, 2, 3}
    # The last round labels every remaining row.
    assert (clf.labeled_iter_ == 3).any()


def test_history_records_every_step(small_semi):
    X, y_semi, _ = small_semi
    clf = quick(max_iter=2).fit(X, y_semi)
    steps = [(record["round"], record["step"]) for record in clf.history_]
    assert steps == [
        (0, "feature weights"),
        (0, "input-space neighbors"),
        (0, "metric learning"),
        (1, "pseudo-labeling"),
        (1, "fine-tuning"),
        (2, "pseudo-labeling"),
        (2, "final views"),  # no fine-tuning after the last round: no round reads it
    ]
    assert all(record["seconds"] >= 0 for record in clf.history_)
    taken = sum(record["n_pseudo_labels"].sum() for record in clf.history_ if record["step"] == "pseudo-labeling")
    assert taken == (y_semi == -1).sum()
    assert all(np.isfinite(record["loss"]) for record in clf.history_ if "loss" in record)


def test_no_fine_tuning_once_every_row_is_labeled(small_semi):
    X, _, y = small_semi
    # One unlabeled row: round 1's share of it rounds up to the row, whatever the quota,
    # and so labels every row; no round follows it to read a fine-tuned network.
    y_one = y.copy()
    y_one[5] = -1
    clf = quick(max_iter=3).fit(X, y_one)
    steps = [record["step"] for record in clf.history_]
    assert clf.n_iter_ == 1 and clf.termination_condition_ == "all_labeled"
    assert steps == ["feature weights", "input-space neighbors", "metric learning", "pseudo-labeling", "final views"]


def test_predict_proba_transform_and_score(small_semi):
    X, y_semi, y = small_semi
    clf = quick().fit(X, y_semi)
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    embedding = clf.transform(X)
    assert embedding.shape == (90, 8) and embedding.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1, rtol=1e-5)
    assert clf.get_feature_names_out().tolist() == [f"dmlplclassifier{i}" for i in range(8)]
    # score leaves the -1 rows out.
    labeled = y_semi != -1
    assert clf.score(X, y_semi) == pytest.approx(np.mean(clf.predict(X[labeled]) == y_semi[labeled]))
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="no labeled sample to score"):
        clf.score(X, np.full(90, -1))


def test_fit_transform_matches_fit_then_transform(small_semi):
    X, y_semi, _ = small_semi
    np.testing.assert_array_equal(quick().fit_transform(X, y_semi), quick().fit(X, y_semi).transform(X))


def test_string_classes_with_object_dtype(small_semi):
    X, y_semi, _ = small_semi
    names = np.array(["cat", "dog", "emu"], dtype=object)
    y_named = np.where(y_semi == -1, -1, names[np.maximum(y_semi, 0)]).astype(object)
    clf = quick().fit(X, y_named)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    assert -1 not in set(clf.transduction_)


def test_same_seed_same_model_and_global_seed_untouched(small_semi):
    X, y_semi, _ = small_semi
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = quick(random_state=7).fit(X, y_semi)
    assert torch.equal(torch.get_rng_state(), state)
    second = quick(random_state=7).fit(X, y_semi)
    np.testing.assert_array_equal(first.transduction_, second.transduction_)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = quick(random_state=8).fit(X, y_semi)
    assert not np.array_equal(first.transform(X), other.transform(X))


def test_fits_in_threads_give_the_models_fitted_one_after_another(small_semi):
    # torch's random generator is one per process: fits running at once in threads (as
    # under joblib's threading backend) must not draw from each other's stream.
    X, y_semi, _ = small_semi
    seeds = [0, 1, 2, 3]
    alone = [quick(random_state=seed).fit(X, y_semi).predict_proba(X) for seed in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda seed: quick(random_state=seed).fit(X, y_semi).predict_proba(X), seeds))
    for seed, expected, got in zip(seeds, alone, threaded):
        np.testing.assert_array_equal(got, expected, err_msg=f"random_state={seed}")


def test_verbose_prints_a_line_per_round(small_semi, capsys):
    X, y_semi, _ = small_semi
    quick(max_iter=3, verbose=1).fit(X, y_semi)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round")]
    assert len(lines) == 3
    assert lines[0].startswith("round 1/3:") and "pseudo-labels" in lines[0]


def test_caller_arrays_are_not_modified(small_semi):
    X, y_semi, _ = small_semi
    X = X.astype(np.float32)  # the dtype fit works in, so no copy protects it
    X_before, y_before = X.copy(), y_semi.copy()
    clf = quick().fit(X, y_semi)
    for method in (clf.predict, clf.predict_proba, clf.transform):
        method(X)
    clf.score(X, y_semi)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y_semi, y_before)


def test_no_unlabeled_rows_fits_as_supervised_with_a_warning(small_semi):
    X, _, y = small_semi
    with pytest.warns(UserWarning, match="no unlabeled samples"):
        clf = quick().fit(X, y)
    assert clf.n_iter_ == 0 and clf.termination_condition_ == "all_labeled"
    assert clf.score(X, y) > 0.9


def test_single_labeled_row_in_a_class_warns(small_semi):
    X, y_semi, _ = small_semi
    y_semi = y_semi.copy()
    y_semi[(y_semi == 2)] = -1
    y_semi[60] = 2
    with pytest.warns(UserWarning, match=r"\[2\] have a single labeled sample"):
        quick().fit(X, y_semi)


@pytest.mark.parametrize(
    "make_bad, error, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), y), ValueError, "infinity"),
        (lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X, np.full_like(y, -1)), ValueError, "no labeled sample"),
        (lambda X, y: (X, np.where(y == -1, -1, 0)), ValueError, "single class"),
        (lambda X, y: (X, y.astype(str)), ValueError, "string dtype"),
        (lambda X, y: (X, np.where(y == -1, -1, y + 0.5)), ValueError, "Unknown label type"),
        (lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array"),
    ],
    ids=["nan", "inf", "y-length", "no-label", "one-class", "string-y", "float-y", "1d-X"],
)
def test_bad_training_input_is_refused_clearly(small_semi, make_bad, error, match):
    X, y_semi, _ = small_semi
    X_bad, y_bad = make_bad(X, y_semi)
    with pytest.raises(error, match=match):
        quick().fit(X_bad, y_bad)


def test_bad_prediction_input_is_refused_clearly(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(NotFittedError):
        quick().predict(X)
    clf = quick().fit(X, y_semi)
    with pytest.raises(ValueError, match="X has 3 features, but DMLPLClassifier is expecting 4"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.transform(np.full((2, 4), np.nan))


@pytest.mark.parametrize(
    "params",
    [
        {"max_iter": 0},
        {"quota": "equal"},
        {"metric_loss": "arcface"},
        {"temperature": 0},
        {"dropout": 1.0},
        {"module": 3},
        {"logit_adjustment": -0.5},
        {"prior_correction": "half"},
        {"prior_correction": 1.5},
        {"input_view_knots": 1},
    ],
)
def test_invalid_parameters_are_named(small_semi, params):
    X, y_semi, _ = small_semi
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of DMLPLClassifier"):
        quick(**params).fit(X, y_semi)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(ValueError, match="torch.cuda.is_available\\(\\) is False"):
        quick(device="cuda").fit(X, y_semi)
    assert quick(device="auto").fit(X, y_semi).net_.device == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fits_and_predicts_on_cuda(small_semi):
    X, y_semi, y = small_semi
    clf = quick(device="auto").fit(X, y_semi)
    assert next(clf.net_.module_.parameters()).is_cuda
    assert clf.score(X, y) > 0.9


class TinyEncoder(nn.Module):
    def __init__(self, n_features, embedding_dim, width=16):
        super().__init__()
        self.width = width
        self.layers = nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, embedding_dim))

    def forward(self, x):
        return self.layers(x)


def test_custom_module_class_with_nested_params(small_semi):
    X, y_semi, y = small_semi
    clf = quick(module=TinyEncoder, embedding_dim=6).set_params(module__width=24)
    assert clf.module_params == {"width": 24}
    clf.fit(X, y_semi)
    assert clf.net_.module_.encoder.width == 24
    assert clf.transform(X).shape == (90, 6)
    assert clf.score(X, y) > 0.8  # chance is 1/3


def test_custom_module_instance_is_copied_not_trained(small_semi):
    X, y_semi, _ = small_semi
    encoder = TinyEncoder(4, 5)
    before = [p.detach().clone() for p in encoder.parameters()]
    clf = quick(module=encoder).fit(X, y_semi)
    assert clf.transform(X).shape == (90, 5)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters()))


class WrongShape(nn.Module):
    def __init__(self, n_features, embedding_dim):
        super().__init__()
        self.linear = nn.Linear(n_features, embedding_dim)

    def forward(self, x):
        return self.linear(x).unsqueeze(1)


def test_module_with_wrong_output_shape_is_refused(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(ValueError, match=r"shape \(batch, width\).*\(2, 1, 8\)"):
        quick(module=WrongShape).fit(X, y_semi)
    with pytest.raises(ValueError, match="could not embed a batch of shape \\(2, 4\\)"):
        quick(module=nn.Linear(7, 3)).fit(X, y_semi)


@pytest.mark.parametrize(
    "params",
    [
        {"metric_loss": "multisimilarity"},
        {"metric_loss": "triplet"},
        {"quota": "global"},
        {"fine_tune_epochs": 0},
        {"dropout": 0.2},
        {"input_view_weight": 0.0},
        {"input_view_weight": 1.0, "forest_view_weight": 0.0},
        {"forest_view_weight": 0.0},
        {"forest_view_weight": 1.0, "input_view_weight": 0.0},
    ],
)
def test_variants_fit(small_semi, params):
    X, y_semi, y = small_semi
    assert quick(**params).fit(X, y_semi).score(X, y) > 0.85


def test_callable_metric_loss(small_semi):
    from pytorch_metric_learning.losses import ContrastiveLoss

    X, y_semi, y = small_semi
    assert quick(metric_loss=ContrastiveLoss()).fit(X, y_semi).score(X, y) > 0.85


def test_clone_keeps_params():
    clf = quick(module_params={"dropout": 0.1}, n_input_neighbors=7, n_vote_neighbors=3)
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    assert cloned.module_params is not clf.module_params


def test_beats_labeled_only_logistic_regression_on_long_tailed_digits(digits_long_tailed):
    data = digits_long_tailed
    clf = DMLPLClassifier(random_state=0).fit(data.X_train, data.y_train)
    ours = balanced_accuracy_score(data.y_test, clf.predict(data.X_test))
    labeled = data.y_train != -1
    baseline = LogisticRegression(class_weight="balanced", max_iter=5000).fit(data.X_train[labeled], data.y_train[labeled])
    theirs = balanced_accuracy_score(data.y_test, baseline.predict(data.X_test))
    assert ours > theirs, (ours, theirs)
    unlabeled = ~labeled
    pseudo = balanced_accuracy_score(data.y_train_true[unlabeled], clf.transduction_[unlabeled].astype(int))
    assert pseudo > 0.6


def test_module_params_may_not_repeat_estimator_params(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(ValueError, match=r"Set \['dropout'\] as parameters of DMLPLClassifier"):
        quick(module_params={"dropout": 0.3}).fit(X, y_semi)


@pytest.mark.parametrize("knots", [None, 4])
def test_input_view_weight_blends_the_input_view_into_predict_proba(small_semi, knots):
    X, y_semi, _ = small_semi
    without = quick(input_view_weight=0.0).fit(X, y_semi)
    assert "input" not in without.views_
    blended = quick(input_view_weight=0.5, forest_view_weight=0.0).fit(X, y_semi)
    assert blended.views_["input"].model_.classes_.tolist() == [0, 1, 2]
    assert blended.view_weights_ == {"centers": 0.25, "head": 0.25, "input": 0.5}
    # With the weight at 1 (and no logit adjustment) the prediction is the input view alone,
    # on the weighted features.
    only_input = quick(input_view_weight=1.0, forest_view_weight=0.0, logit_adjustment=0.0, input_view_knots=knots)
    only_input.fit(X, y_semi)
    features = X.astype(np.float32) * only_input.feature_weights_
    if knots:  # each weighted feature's splines, knots over its range in the rows the view saw
        splines = SplineTransformer(n_knots=knots, degree=3).fit(only_input.views_["input"].feature_range_)
        features = splines.transform(features)
    np.testing.assert_allclose(only_input.predict_proba(X), only_input.views_["input"].model_.predict_proba(features))


def test_logit_adjustment_divides_predict_proba_by_the_class_prior(small_semi):
    X, y_semi, _ = small_semi
    # Classes of 30, 16 and 10 rows: all of class 0, the first 10 rows of class 1, and the labeled rows.
    keep = (np.arange(90) < 40) | (y_semi != -1)
    X, y_semi = X[keep], y_semi[keep]
    clf = quick(logit_adjustment=0.0).fit(X, y_semi)
    np.testing.assert_allclose(clf.class_prior_, np.bincount(clf.transduction_) / len(clf.transduction_))
    plain = clf.predict_proba(X)
    # The adjustment acts at predict time only: no refit, and a fit with it gives the same model.
    adjusted = clf.set_params(logit_adjustment=1.0).predict_proba(X)
    expected = plain / clf.class_prior_
    np.testing.assert_allclose(adjusted, expected / expected.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(adjusted.sum(axis=1), 1.0)
    rarest = clf.class_prior_.argmin()
    assert (adjusted[:, rarest] >= plain[:, rarest] - 1e-12).all()
    refitted = quick(logit_adjustment=1.0).fit(X, y_semi)
    np.testing.assert_array_equal(refitted.transduction_, clf.transduction_)
    np.testing.assert_allclose(refitted.predict_proba(X), adjusted)


def test_fine_tune_head_given_keeps_pseudo_labels_out_of_the_head(small_semi, monkeypatch):
    from sk_dmlpl import _network

    X, y_semi, _ = small_semi
    seen = []
    original = _network.PairDataset

    def recording(*args):
        dataset = original(*args)
        seen.append(dataset.targets[:, 1].numpy().copy())
        return dataset

    monkeypatch.setattr(_network, "PairDataset", recording)
    quick(fine_tune_head="given", max_iter=3).fit(X, y_semi)
    # Metric learning, then a fine-tuning after rounds 1 and 2: the head only ever sees the given labels.
    assert len(seen) == 3
    for head_labels in seen:
        np.testing.assert_array_equal(head_labels, np.where(y_semi == -1, -1, y_semi))
    seen.clear()
    clf = quick(fine_tune_head="all", max_iter=3).fit(X, y_semi)
    # The fine-tuning after round 2 teaches the head every label but round 3's.
    assert (clf.labeled_iter_ == 3).any()
    np.testing.assert_array_equal(seen[-1] >= 0, clf.labeled_iter_ < 3)
    assert clf.score(X, y_semi) > 0.8


def test_untrained_head_is_left_out_of_predictions(small_semi):
    X, y_semi, y = small_semi
    clf = quick(head_weight=0.0, input_view_weight=0.0, forest_view_weight=0.0, logit_adjustment=0.0).fit(X, y_semi)
    by_center = clf.predict_proba(X)
    # Only the sub-center view remains: predict_proba is its softmax, whatever the head says.
    from sk_dmlpl._pseudo_labeling import center_probabilities

    centers = clf.views_["centers"]
    expected = center_probabilities(clf.transform(X).astype(np.float64), centers.centers_, centers.center_labels_, 0.1)
    np.testing.assert_allclose(by_center, expected)
    assert clf.score(X, y) > 0.8


def test_a_fitted_model_predicts_with_what_it_was_fitted_with(small_semi):
    X, y_semi, _ = small_semi
    clf = quick().fit(X, y_semi)
    proba = clf.predict_proba(X)
    # The views' temperature and weights are frozen at fit time ...
    clf.set_params(temperature=0.5, head_weight=0.0, input_view_weight=1.0, forest_view_weight=0.0, n_subclusters=1)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # ... logit_adjustment alone is read at predict time, as documented.
    clf.set_params(logit_adjustment=0.0)
    assert not np.array_equal(clf.predict_proba(X), proba)


def test_the_two_neighbor_counts_act_apart(small_semi, monkeypatch):
    import sk_dmlpl._neighbors
    import sk_dmlpl._pseudo_labeling

    X, y_semi, _ = small_semi
    asked = []
    for module in (sk_dmlpl._neighbors, sk_dmlpl._pseudo_labeling):
        original = module.nearest_neighbors
        monkeypatch.setattr(
            module,
            "nearest_neighbors",
            lambda *args, _original=original, _where=module.__name__, **kwargs: (
                asked.append((_where, kwargs["n_neighbors"])) or _original(*args, **kwargs)
            ),
        )
    quick(n_input_neighbors=7, n_vote_neighbors=3, max_iter=1).fit(X, y_semi)
    assert asked == [("sk_dmlpl._neighbors", 7), ("sk_dmlpl._pseudo_labeling", 3)]


def test_learned_view_weights_come_from_held_out_labels(small_semi, tmp_path):
    X, y_semi, y = small_semi
    clf = quick(view_weighting="learned").fit(X, y_semi)
    record = next(record for record in clf.history_ if record["step"] == "view weights")
    assert record["group_weights"] == clf.view_group_weights_
    assert set(clf.view_group_weights_) == {"embedding", "input", "forest"}
    assert sum(clf.view_group_weights_.values()) == pytest.approx(1)
    assert set(clf.views_) == {"centers", "head", "input", "forest"}
    assert sum(clf.view_weights_.values()) == pytest.approx(1)
    assert clf.score(X, y) > 0.85
    # The forest is kept as arrays, so the safe format holds it.
    clf.save(tmp_path / "model.pt")
    np.testing.assert_array_equal(DMLPLClassifier.load(tmp_path / "model.pt").predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(("balancing", "sizes"), [("both", [50, 50]), ("undersample", [100]), ("class_weight", [100])])
def test_forest_balancing_sets_the_forest_views_trees(small_semi, balancing, sizes):
    X, y_semi, _ = small_semi
    clf = quick(forest_balancing=balancing).fit(X, y_semi)
    assert clf.views_["forest"].balancing == balancing
    assert list(clf.views_["forest"].forest_sizes_) == sizes


def test_input_view_knots_change_predict_and_leave_the_rounds_as_they_are(small_semi):
    X, y_semi, _ = small_semi
    linear = quick(random_state=0, input_view_knots=None).fit(X, y_semi)
    splines = quick(random_state=0, input_view_knots=3).fit(X, y_semi)
    # The rounds' input view stays linear: the same pseudo-labels, the same network.
    np.testing.assert_array_equal(splines.transduction_, linear.transduction_)
    np.testing.assert_array_equal(splines.transform(X), linear.transform(X))
    assert linear.views_["input"].n_knots is None and linear.views_["input"].feature_range_ is None
    assert splines.views_["input"].n_knots == 3
    assert splines.views_["input"].feature_range_.shape == (2, X.shape[1])
    assert not np.array_equal(splines.predict_proba(X), linear.predict_proba(X))


def test_forest_balancing_must_be_one_of_its_options(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(InvalidParameterError, match="forest_balancing"):
        quick(forest_balancing="oversample").fit(X, y_semi)


def test_fixed_view_weights_are_the_parameters(small_semi):
    X, y_semi, _ = small_semi
    clf = quick(input_view_weight=0.2, forest_view_weight=0.5).fit(X, y_semi)
    assert clf.view_group_weights_ == pytest.approx({"embedding": 0.3, "input": 0.2, "forest": 0.5})
    assert clf.view_weights_ == pytest.approx({"centers": 0.15, "head": 0.15, "input": 0.2, "forest": 0.5})
    assert not any(record["step"] == "view weights" for record in clf.history_)
    assert "forest" not in quick(forest_view_weight=0.0).fit(X, y_semi).views_
    with pytest.raises(ValueError, match="input_view_weight \\+ forest_view_weight must not exceed 1"):
        quick(input_view_weight=0.6, forest_view_weight=0.5).fit(X, y_semi)


def test_boosting_view_joins_the_later_rounds_only_out_of_the_input_views_and_the_embeddings_shares(small_semi, monkeypatch):
    from sk_dmlpl import _classifier

    X, y_semi, _ = small_semi
    blended = []  # the weights of each round's blend, in order
    original = _classifier.blend_proba
    monkeypatch.setattr(_classifier, "blend_proba", lambda views, weights, *args: blended.append(weights) or original(views, weights, *args))
    clf = quick(max_iter=3, boosting_view_weight=0.1).fit(X, y_semi)
    first, *later = blended[: clf.n_iter_]
    assert "boosting" not in first and len(later) == 2
    for weights in later:
        assert weights["boosting"] == pytest.approx(0.1)
        embedding = weights["centers"] + weights["neighbors"] + weights["head"]
        assert embedding == pytest.approx(first["centers"] + first["neighbors"] + first["head"] - 0.05)
        assert weights["input"] == pytest.approx(first["input"] - 0.05) and weights["forest"] == first["forest"]
    assert "boosting" not in clf.views_ and "boosting" not in clf.view_weights_
    # 0 turns it off: the rounds blend the views of the first.
    blended.clear()
    quick(max_iter=3, boosting_view_weight=0.0).fit(X, y_semi)
    assert all("boosting" not in weights for weights in blended)


def test_verbose_1_prints_a_line_per_training_step_and_round(small_semi, capsys):
    X, y_semi, _ = small_semi
    clf = quick(max_iter=3, verbose=1).fit(X, y_semi)
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split(":")[0] for line in lines]
    assert steps == [
        "metric learning",
        "round 1/3",
        "fine-tuning (round 1/3)",
        "round 2/3",
        "fine-tuning (round 2/3)",
        "round 3/3",
    ]
    training = [record for record in clf.history_ if "loss" in record]
    assert len(training) == 3
    for line, record, epochs in zip([lines[0], lines[2], lines[4]], training, [20, 3, 3]):
        # The epochs, the step's final loss and its seconds, as history_ records them.
        assert line.endswith(f": {epochs} epochs, loss {record['loss']:.4f}, {record['seconds']:.1f} s")
    assert not any("epoch " in line for line in lines)  # per-epoch lines are verbose=2's


def test_verbose_2_prints_a_line_per_epoch_instead_of_a_progress_bar(small_semi, capsys):
    X, y_semi, _ = small_semi
    clf = quick(max_epochs=4, fine_tune_epochs=2, max_iter=2, verbose=2).fit(X, y_semi)
    printed = capsys.readouterr()
    epochs = [line for line in printed.out.splitlines() if line.startswith("  epoch ")]
    assert [line.split(":")[0].strip() for line in epochs] == [
        "epoch 1/4",
        "epoch 2/4",
        "epoch 3/4",
        "epoch 4/4",
        "epoch 1/2",
        "epoch 2/2",
    ]
    losses = [float(line.split("loss ")[1].split(",")[0]) for line in epochs]
    assert losses == pytest.approx(list(clf.net_.history[:, "train_loss"]), abs=5e-5)
    assert all(line.endswith(" s in all)") for line in epochs)
    # The step lines of verbose=1 are still there, after their epochs.
    out = printed.out.splitlines()
    assert out[4].startswith("metric learning: 4 epochs") and out[-2].startswith("fine-tuning (round 1/2): 2 epochs")
    assert "\r" not in printed.out + printed.err and "it/s" not in printed.err  # no progress bar


def test_predict_log_proba_and_decision_function_follow_predict_proba(small_semi):
    X, y_semi, _ = small_semi
    clf = quick().fit(X, y_semi)
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-12)
    decision = clf.decision_function(X)
    assert decision.shape == (90, 3)
    np.testing.assert_array_equal(decision, log_proba)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[decision.argmax(axis=1)])


def test_predict_log_proba_is_finite_at_a_zero_probability(small_semi, monkeypatch):
    X, y_semi, _ = small_semi
    clf = quick().fit(X, y_semi)
    zeros = np.tile([1.0, 0.0, 0.0], (90, 1))
    monkeypatch.setattr(clf, "predict_proba", lambda X: zeros)
    log_proba = clf.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    assert log_proba[0, 0] == 0 and log_proba[0, 1] == pytest.approx(np.log(np.finfo(float).tiny))


def test_binary_decision_function_is_one_log_odds_per_row(small_semi):
    X, y_semi, _ = small_semi
    two = y_semi != 2
    X, y_semi = X[two], np.where(y_semi[two] == 1, 7, y_semi[two])  # classes 0 and 7
    clf = quick().fit(X, y_semi)
    decision = clf.decision_function(X)
    assert decision.shape == (len(X),)
    log_proba = clf.predict_log_proba(X)
    np.testing.assert_allclose(decision, log_proba[:, 1] - log_proba[:, 0])
    # scikit-learn's convention: a positive score is classes_[1].
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(decision > 0).astype(int)])
    assert (decision > 0).any() and (decision < 0).any()


def test_score_takes_sample_weight_on_the_labeled_rows(small_semi):
    X, y_semi, y = small_semi
    clf = quick().fit(X, y_semi)
    weights = np.random.RandomState(0).rand(90)
    labeled = y_semi != -1
    expected = np.average(clf.predict(X[labeled]) == y_semi[labeled], weights=weights[labeled])
    assert clf.score(X, y_semi, sample_weight=weights) == pytest.approx(expected)
    # The -1 rows' weights leave with them: changing them changes nothing.
    assert clf.score(X, y_semi, sample_weight=np.where(labeled, weights, 1e6)) == pytest.approx(expected)
    # Weight only on the rows predicted right: a perfect score.
    right = (clf.predict(X) == y).astype(float)
    assert clf.score(X, y, sample_weight=right) == 1.0
    assert clf.score(X, y, sample_weight=np.ones(90)) == clf.score(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.score(X, y, sample_weight=np.ones(89))


def test_fit_refuses_sample_weight_with_a_type_error(small_semi):
    X, y_semi, _ = small_semi
    with pytest.raises(TypeError, match="sample_weight"):
        quick().fit(X, y_semi, sample_weight=np.ones(90))


def test_feature_weights_weigh_a_loud_useless_feature_down(small_semi):
    X, y_semi, y = small_semi
    X = np.column_stack([X, 100 * np.random.RandomState(1).normal(size=len(X))])  # a loud, useless feature
    weighted = quick(max_iter=1).fit(X, y_semi)
    plain = quick(max_iter=1, feature_weighting="none").fit(X, y_semi)
    weights = weighted.feature_weights_
    assert weights.shape == (5,) and weights.dtype == np.float32
    assert np.isclose(weights.mean(), 1.0, atol=1e-6) and weights[4] < weights[:3].min()
    assert np.array_equal(plain.feature_weights_, np.ones(5, dtype=np.float32))
    # The loud feature dominates the plain fit's distances, not the weighted one's.
    assert balanced_accuracy_score(y[y_semi == -1], weighted.transduction_[y_semi == -1]) >= 0.9


def test_without_feature_weights_the_later_steps_draw_the_same_numbers(small_semi, monkeypatch):
    # Importances that come out all 1: "importance" and "none" then give the same model, to
    # the bit, only if "none" leaves every later step's random draws as they are.
    X, y_semi, _ = small_semi
    monkeypatch.setattr(
        "sk_dmlpl._classifier.importance_weights", lambda X, labels, random_state=None: np.ones(X.shape[1])
    )
    weighted = quick(max_iter=2).fit(X, y_semi)
    plain = quick(max_iter=2, feature_weighting="none").fit(X, y_semi)
    assert np.array_equal(weighted.transduction_, plain.transduction_)
    assert np.array_equal(weighted.predict_proba(X), plain.predict_proba(X))


def test_without_fine_tuning_the_later_steps_draw_the_same_numbers(small_semi, monkeypatch):
    # Fine-tuning that draws what it draws but trains nothing: the same model, to the bit, as
    # no fine-tuning, only if skipping it leaves every later step's random draws as they are.
    from sk_dmlpl import _classifier

    X, y_semi, _ = small_semi
    original = _classifier.train_net

    def first_stage_only(*args, budget_lr=False, **kwargs):
        return original(*args, budget_lr=budget_lr, **kwargs) if budget_lr else {"loss": 0.0, "lr": 0.0}

    monkeypatch.setattr(_classifier, "train_net", first_stage_only)
    idle = quick(max_iter=3, fine_tune_epochs=2).fit(X, y_semi)
    assert [step["step"] for step in idle.history_].count("fine-tuning") == 2
    monkeypatch.setattr(_classifier, "train_net", original)
    skipped = quick(max_iter=3, fine_tune_epochs=0).fit(X, y_semi)
    assert np.array_equal(idle.transduction_, skipped.transduction_)
    assert np.array_equal(idle.predict_proba(X), skipped.predict_proba(X))


def test_predict_and_transform_see_the_weighted_features(small_semi):
    X, y_semi, _ = small_semi
    clf = quick(max_iter=1).fit(X, y_semi)
    assert not np.allclose(clf.feature_weights_, 1)
    X32 = X.astype(np.float32)
    assert np.array_equal(clf.transform(X), clf.net_.embed(X32 * clf.feature_weights_)[0])
    # Weights all 1 on the features already weighted: the same probabilities, to the bit.
    weighted_X = X32 * clf.feature_weights_
    weights = clf.feature_weights_
    clf.feature_weights_ = np.ones_like(weights)
    unweighted_view = clf.predict_proba(weighted_X)
    clf.feature_weights_ = weights
    assert np.array_equal(clf.predict_proba(X), unweighted_view)


def test_feature_weighting_leaves_the_callers_array_alone(small_semi):
    X, y_semi, _ = small_semi
    X = X.astype(np.float32)  # float32 is not copied by the validation
    before = X.copy()
    quick(max_iter=1).fit(X, y_semi)
    assert np.array_equal(X, before)
