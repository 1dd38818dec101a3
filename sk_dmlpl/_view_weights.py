"""The blend's weights: shared out by a fixed rule, or learned from held-out labels.

The views fall into groups, each with one weight of the blend (``ClassView.group``): the
embedding's views (sub-centers, neighbor vote, head) are one group, the input view and the
forest each a group of its own, and so is the boosting view of the second and later
rounds. A group's weight is split equally among its views. The weights are the
estimator's parameters, or learned in each fit from held-out labels.
"""

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ._pseudo_labeling import SEED_MAX, child_generator, fit_views


def fixed_group_weights(input_weight, forest_weight):
    """The view groups' weights that the estimator's parameters set; the embedding's views share the rest."""
    rest = 1.0 - input_weight - forest_weight
    if rest < -1e-12:
        raise ValueError(
            f"input_view_weight + forest_view_weight must not exceed 1; got {input_weight} + {forest_weight}."
        )
    return {"embedding": max(rest, 0.0), "input": input_weight, "forest": forest_weight}


def with_boosting(group_weights, boosting_weight):
    """The groups' weights with the boosting view's ``boosting_weight`` taken out of them.

    Half comes out of the input view's share and half out of the embedding's; each
    gives at most its whole share, and the boosting view gets what they gave: the
    weights still sum to what they did. Out of one share alone it lost on the
    development suite, out of the embedding's on ``penbased`` and out of the input
    view's on ``texture``; half out of each lost on none (the benchmark page).
    """
    half = boosting_weight / 2
    taken = {group: min(half, group_weights[group]) for group in ("input", "embedding")}
    weights = {group: weight - taken.get(group, 0.0) for group, weight in group_weights.items()}
    return {**weights, "boosting": sum(taken.values())}


def group_weights_to_view_weights(views, group_weights):
    """Blend weights by view name: each group's weight split equally among its views."""
    groups = [view.group for view in views.values()]
    return {name: group_weights[group] / groups.count(group) for name, group in zip(views, groups)}


def learn_group_weights(probas, labels, step=0.05):
    """The blend weights of view groups that score best on held-out labeled rows.

    Parameters
    ----------
    probas : dict of str to ndarray of shape (n_rows, n_classes)
        Each group's out-of-fold class probabilities for labeled rows.
    labels : ndarray of shape (n_rows,)
        Their encoded labels.
    step : float
        Spacing of the grid of weights over the simplex.

    Returns
    -------
    weights : dict of str to float
        Non-negative, summing to 1: the grid point with the highest balanced accuracy,
        ties broken by the lowest class-balanced log-loss.
    """
    names = list(probas)
    stacked = np.stack([probas[name] for name in names])
    classes = np.unique(labels)
    row_weight = 1.0 / np.bincount(labels)[labels]  # each class weighs the same
    best, best_score = None, None
    n_steps = round(1 / step)
    for point in _simplex(len(names), n_steps):
        weights = np.asarray(point) / n_steps
        blend = np.tensordot(weights, stacked, axes=1)
        correct = blend.argmax(axis=1) == labels
        balanced_accuracy = np.mean([correct[labels == label].mean() for label in classes])
        log_loss = -np.sum(row_weight * np.log(np.maximum(blend[np.arange(len(labels)), labels], 1e-12)))
        score = (balanced_accuracy, -log_loss)
        if best_score is None or score > best_score:
            best, best_score = weights, score
    return dict(zip(names, best.tolist()))


def _simplex(n_parts, total):
    """Every tuple of ``n_parts`` non-negative ints that sum to ``total``."""
    if n_parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _simplex(n_parts - 1, total - first):
            yield (first, *rest)


def held_out_probabilities(labels, train_probe, make_views, n_classes, rng):
    """Each view group's class probabilities for given labels that a probe network did not see.

    Twice, half of the labeled rows (of the classes with two or more) are marked
    unlabeled; ``train_probe`` trains a fresh network on the rest, the views are fitted on
    the rest, and each group scores the held-out half.

    Parameters
    ----------
    labels : ndarray of shape (n_rows,)
        Encoded labels, -1 for unlabeled rows.
    train_probe : callable
        ``train_probe(probe_labels)`` returns the :class:`Rows` of every row under a
        network trained on ``probe_labels``.
    make_views : callable
        ``make_views()`` returns unfitted views, by name.
    n_classes : int
        Number of classes.
    rng : numpy.random.RandomState
        Source of the folds and of the views' draws.

    Returns
    -------
    probas, held_labels : dict of str to ndarray, ndarray
        Each group's out-of-fold probabilities for the held-out rows, and their labels;
        ``None`` when fewer than two classes have two labeled rows.
    """
    given = np.flatnonzero(labels >= 0)
    held = given[np.bincount(labels[given])[labels[given]] >= 2]
    if len(np.unique(labels[held])) < 2:
        return None
    folds = StratifiedKFold(2, shuffle=True, random_state=rng.randint(SEED_MAX))
    probas = {}
    for _, test in folds.split(held, labels[held]):
        probe_labels = labels.copy()
        probe_labels[held[test]] = -1
        rows = train_probe(probe_labels)
        views = fit_views(make_views(), rows, probe_labels, n_classes, child_generator(rng))
        groups = {}
        for view in views.values():
            groups.setdefault(view.group, []).append(view.predict_proba(rows.take(held[test])))
        for group, parts in groups.items():
            probas.setdefault(group, np.zeros((len(held), n_classes)))[test] = sum(parts) / len(parts)
    return probas, labels[held]
