"""DMLPLClassifier inside scikit-learn's model selection tools, on semi-labeled y."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dmlpl.metrics import labeled_scorer

from .conftest import quick
from .test_classifier import TinyEncoder


def test_clone_gives_an_unfitted_equal_estimator(small_semi):
    X, y_semi, _ = small_semi
    fitted = quick(n_vote_neighbors=5).fit(X, y_semi)
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "net_")


def test_pipeline_with_scaler(small_semi):
    X, y_semi, y = small_semi
    pipe = make_pipeline(StandardScaler(), quick()).fit(X * 100 + 5, y_semi)
    assert pipe.score(X * 100 + 5, y) > 0.9
    assert pipe[-1].transduction_.shape == y.shape


def test_embedding_feeds_another_estimator(small_semi):
    X, y_semi, y = small_semi
    pipe = Pipeline([("scale", StandardScaler()), ("embed", quick()), ("clf", LogisticRegression())])
    labeled = y_semi != -1
    # The embedding step learns from every row; the last step needs labels, so it sees
    # the embedding through fit_transform on all rows and fits on the labeled ones.
    embedding = pipe[:-1].fit_transform(X, y_semi)
    pipe[-1].fit(embedding[labeled], y_semi[labeled])
    assert pipe[-1].score(pipe[:-1].transform(X), y) > 0.9


def test_grid_search_over_network_and_pseudo_labeling_params(small_semi):
    X, y_semi, _ = small_semi
    search = GridSearchCV(
        make_pipeline(StandardScaler(), quick()),
        {"dmlplclassifier__embedding_dim": [4, 8], "dmlplclassifier__n_vote_neighbors": [3, 6]},
        scoring=labeled_scorer("balanced_accuracy"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    search.fit(X, y_semi)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_[-1].transform(X).shape[1] == search.best_params_["dmlplclassifier__embedding_dim"]


def test_grid_search_over_a_nested_module_param(small_semi):
    X, y_semi, _ = small_semi
    search = GridSearchCV(
        quick(module=TinyEncoder),
        {"module__width": [8, 16]},
        scoring=labeled_scorer("accuracy"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X, y_semi)
    width = search.best_params_["module__width"]
    assert search.best_estimator_.module_params == {"width": width}
    assert search.best_estimator_.net_.module_.encoder.width == width


def test_cross_val_score_with_labeled_scorer(small_semi):
    X, y_semi, _ = small_semi
    scores = cross_val_score(
        quick(), X, y_semi, scoring=labeled_scorer("balanced_accuracy"), cv=StratifiedKFold(3, shuffle=True, random_state=0)
    )
    assert scores.shape == (3,) and (scores > 0.8).all()


def test_labeled_scorer_ignores_unlabeled_rows_and_refuses_an_all_unlabeled_fold(small_semi):
    X, y_semi, y = small_semi
    clf = quick().fit(X, y_semi)
    labeled = y_semi != -1
    scorer = labeled_scorer("accuracy")
    assert scorer(clf, X, y_semi) == pytest.approx(np.mean(clf.predict(X[labeled]) == y_semi[labeled]))
    with pytest.raises(ValueError, match="no labeled sample to score"):
        scorer(clf, X, np.full(len(y), -1))


def test_labeled_scorer_gives_a_probability_metric_the_classes_a_fold_lacks():
    # A validation fold without class 2: log_loss alone cannot tell which column is which.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2))
    y = np.repeat([0, 1, 2], 10)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    fold = np.flatnonzero(y != 2)
    y_fold = y[fold].copy()
    y_fold[:3] = -1
    with pytest.raises(ValueError):
        get_scorer("neg_log_loss")(model, X[fold][3:], y_fold[3:])
    expected = -log_loss(y_fold[3:], model.predict_proba(X[fold][3:]), labels=model.classes_)
    assert labeled_scorer("neg_log_loss")(model, X[fold], y_fold) == pytest.approx(expected)
    # The same fold inside cross_val_score: a number, not the NaN of a failed score.
    y_semi = y.copy()
    y_semi[fold[:3]] = -1
    train = np.arange(3, 30, 2)  # labeled rows of every class
    test = np.setdiff1d(fold, train)
    scores = cross_val_score(
        LogisticRegression(), X, y_semi, scoring=labeled_scorer("neg_log_loss"), cv=[(train, test)], error_score="raise"
    )
    assert np.isfinite(scores).all()
    # Scorers on predict keep their own labels: accuracy is unchanged.
    assert labeled_scorer("accuracy")(model, X[fold], y_fold) == pytest.approx(
        np.mean(model.predict(X[fold][3:]) == y_fold[3:])
    )


def test_out_of_fold_probabilities_by_the_user_guides_loop(small_semi):
    # cross_val_predict(method="predict_proba") encodes -1 as a class: the user guide loops instead.
    X, y_semi, _ = small_semi
    names = np.array(["cat", "dog", "emu"], dtype=object)
    y = np.where(y_semi == -1, -1, names[np.maximum(y_semi, 0)]).astype(object)
    model, cv = quick(max_epochs=3, fine_tune_epochs=1), StratifiedKFold(3, shuffle=True, random_state=0)
    assert cross_val_predict(model, X, y_semi, cv=cv, method="predict_proba").shape == (90, 4)

    classes = np.unique(y[y != -1])
    proba = np.zeros((len(X), len(classes)))
    for train, test in cv.split(X, y.astype(str)):
        fold_model = clone(model).fit(X[train], y[train])
        proba[np.ix_(test, np.searchsorted(classes, fold_model.classes_))] = fold_model.predict_proba(X[test])

    assert classes.tolist() == ["cat", "dog", "emu"]
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    labeled = y_semi != -1
    assert np.mean(classes[proba.argmax(axis=1)][labeled] == y[labeled]) > 0.8  # chance is 1/3
