"""Pseudo-labeling in the learned embedding: class views, their blend, and the quota.

A *class view* is one source of class probabilities for rows: the nearest sub-centers in
the embedding, a vote of the nearest labeled rows, the network's head, a logistic
regression, forests and boosted trees on the input features. Every view follows one
calling convention, as pytorch-metric-learning's losses do, so that a view can be added
or swapped without touching the others:

- ``fit(rows, labels, n_classes, random_state)`` learns from the labeled rows of a round;
- ``predict_proba(rows)`` gives an ``(n_rows, n_classes)`` array of probabilities,

where ``rows`` is a :class:`Rows`: the same rows in input space, in the embedding and as
the head's logits. :func:`fit_views` fits a dict of views on one per-class sample,
:func:`blend_proba` mixes their probabilities with weights (``_view_weights.py`` says
which), and :func:`select_pseudo_labels` takes a round's rows by the quota, most
reliable first.

Every function here works on whole arrays: no loop runs over rows.
"""

import contextlib
import time
import warnings
from collections import namedtuple

import numpy as np
import torch
from joblib import Parallel, delayed, parallel_config
from scipy.special import softmax
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer
from sklearn.utils import gen_batches
from threadpoolctl import threadpool_limits

from ._neighbors import nearest_neighbors

# The views learn little from more rows of a class than this, but their cost grows with
# every row (the vote's search most of all): each uses at most this many rows of a class,
# drawn at random.
MAX_ROWS_PER_CLASS = 1_000

# Rows the input view's splines widen at a time in predict: 65,536 rows of 64 features
# on 4 knots are 200 MB of float64, where a million at once would be 3 GB.
SPLINE_BATCH_ROWS = 65_536

# Fewer rows than this a thread, and the forest view predicts in one thread: below it
# the threads' start-up outweighs what they share.
MIN_ROWS_PER_THREAD = 2_000

# Where prior_weights lengthens the first round's "auto" step (its docstring has the
# formula). In the first round every view has learned from the given labels alone, and
# the won shares were nearer the true ones than the distance's step reaches (0.29
# against 0.49 in total variation with reversed unlabeled rows); but where the spreads
# are the same the distance is noise, up to 0.07 on the development suite and 0.18 on
# the scaling benchmark's synthetic rows, where three times it lowered the pseudo-labels
# (the benchmark page). Later rounds' views have learned from corrected pseudo-labels,
# and longer steps compound.
RAMP_FROM = 0.25
RAMP_WIDTH = 0.2

SEED_MAX = np.iinfo(np.int32).max
"""Seeds drawn for other generators stay below this (scikit-learn takes 32-bit seeds)."""


def grow_in_torch_threads(forest, X, labels):
    """Fit the scikit-learn forest ``forest`` with its trees in torch's threads; return it, set to one thread.

    The estimator's fit runs under a sequential joblib backend (see its fit): the trees'
    threads are asked for here, as many as torch uses (``torch.get_num_threads()``), and
    given back before the forest predicts. Each tree's seed is drawn before they grow,
    so the forest is the same whatever the threads.
    """
    with parallel_config(backend="threading", n_jobs=torch.get_num_threads()):
        forest.fit(X, labels)
    return forest.set_params(n_jobs=1)


def openmp_in_torch_threads():
    """A context in which scikit-learn's OpenMP code (boosted trees) runs in as many threads as torch uses."""
    return threadpool_limits(limits=torch.get_num_threads(), user_api="openmp")


def child_generator(rng):
    """A numpy Generator seeded from the RandomState ``rng``: one draw, so the sequence stays reproducible."""
    return np.random.default_rng(rng.randint(SEED_MAX))


class Rows(namedtuple("Rows", ["X", "embedding", "logits"])):
    """Rows as the class views see them: input features, unit-norm embedding, head logits."""

    __slots__ = ()

    def take(self, indices):
        """The rows at ``indices``, in every representation."""
        return Rows(*(values[indices] for values in self))

    @classmethod
    def embedded(cls, net, X, dtype=np.float32):
        """``X`` with its embedding and head logits under ``net`` (a :class:`MetricNet`)."""
        embedding, logits = net.embed(X)
        return cls(X, embedding.astype(dtype, copy=False), logits.astype(dtype, copy=False))


# -- the class views --


class ClassView(BaseEstimator):
    """Base of the class views; ``group`` names the views that share one weight of the blend.

    A subclass implements ``fit`` and ``predict_proba`` as the module docstring describes,
    and sets ``group``: the embedding's views share ``"embedding"``, and each input-space
    view has a group of its own, unless it joins one (see ``_view_weights.py``).
    """

    group = "embedding"

    def fit(self, rows, labels, n_classes, random_state):
        """Learn from labeled ``rows``; ``labels`` are encoded in ``range(n_classes)``."""
        self.n_classes_ = n_classes
        return self

    def predict_proba(self, rows):
        """Class probabilities of ``rows``, of shape ``(n_rows, n_classes)``."""
        raise NotImplementedError


class CenterView(ClassView):
    """Cosine similarity to each class's nearest sub-center in the embedding.

    Parameters
    ----------
    n_subclusters : int
        Sub-centers per class (k-means), fewer when a class has fewer rows.
    temperature : float
        Softmax temperature of the similarities.
    """

    def __init__(self, n_subclusters=3, temperature=0.1):
        self.n_subclusters = n_subclusters
        self.temperature = temperature

    def fit(self, rows, labels, n_classes, random_state):
        self.centers_, self.center_labels_ = class_centers(
            rows.embedding, labels, n_classes, self.n_subclusters, random_state
        )
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        return center_probabilities(rows.embedding, self.centers_, self.center_labels_, self.temperature)


class NeighborVoteView(ClassView):
    """A similarity-weighted vote of the nearest labeled rows in the embedding.

    Parameters
    ----------
    n_neighbors : int
        Voters per row.
    temperature : float
        Temperature of the votes' weights.
    """

    def __init__(self, n_neighbors=10, temperature=0.1):
        self.n_neighbors = n_neighbors
        self.temperature = temperature

    def fit(self, rows, labels, n_classes, random_state):
        self.embedding_, self.labels_ = rows.embedding, labels
        self.seed_ = int(random_state.integers(SEED_MAX))  # of the approximate search
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        return neighbor_probabilities(
            rows.embedding,
            self.embedding_,
            self.labels_,
            self.n_classes_,
            self.n_neighbors,
            self.temperature,
            self.seed_,
        )


class HeadView(ClassView):
    """The softmax of the network's linear head on the embedding."""

    def predict_proba(self, rows):
        return softmax(rows.logits, axis=1)


class InputView(ClassView):
    """A class-balanced logistic regression on the input features, or on their splines.

    Less prone than the network to memorise the two rows of a tail class. With
    ``n_knots``, each feature enters as its cubic B-splines (scikit-learn's
    ``SplineTransformer``, knots spread evenly over the range of the rows the view is
    fitted on), so that the regression is additive: one smooth curve a feature and
    class, where a plain one draws a straight line. On low-dimensional tables a
    feature's effect on the class is rarely monotone (the benchmark page has the
    figures).

    Parameters
    ----------
    n_knots : int >= 2 or None, default=None
        Knots of each feature's splines; ``None`` takes the features as they are.
    """

    group = "input"

    def __init__(self, n_knots=None):
        self.n_knots = n_knots

    def fit(self, rows, labels, n_classes, random_state):
        # The evenly spread knots depend on each feature's least and largest value alone:
        # kept as an array, they rebuild the same splines in predict and after load.
        self.feature_range_ = np.vstack([rows.X.min(axis=0), rows.X.max(axis=0)]) if self.n_knots else None
        splines = self._splines()
        X = rows.X if splines is None else splines.transform(rows.X)
        # One BLAS thread: on a few thousand rows, BLAS threads beside torch's own made
        # the fit several times slower (scikit-learn's KMeans limits BLAS the same way).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            self.model_ = LogisticRegression(max_iter=2000, class_weight="balanced").fit(X, labels)
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        splines = self._splines()
        if splines is None:
            return model_probabilities(self.model_, rows.X, self.n_classes_)
        # In slices of SPLINE_BATCH_ROWS: the splines widen X n_knots + 2 times.
        proba = np.empty((len(rows.X), self.n_classes_))
        for rows_slice in gen_batches(len(rows.X), SPLINE_BATCH_ROWS):
            proba[rows_slice] = model_probabilities(self.model_, splines.transform(rows.X[rows_slice]), self.n_classes_)
        return proba

    def _splines(self):
        """Each feature's splines, their knots over ``feature_range_``; None for a linear view."""
        if self.feature_range_ is None:
            return None
        return SplineTransformer(n_knots=self.n_knots, degree=3, knots="uniform").fit(self.feature_range_)


class BoostingView(ClassView):
    """Gradient-boosted trees on the input features, balanced for the classes' sizes.

    scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with
    ``class_weight="balanced"``. The estimator blends it in the second and later rounds
    only: in the first, the few given labels of a tail class are all it would learn from,
    and boosting fits them closely; once the earlier rounds' pseudo-labels are in, its
    trees, each correcting the ones before, split the classes finer than the forest's
    independent ones. In ``predict_proba`` it cost more on the digit data sets than it
    gained on the tables (the benchmark page has the figures).

    Its trees grow in as many OpenMP threads as torch uses (``torch.get_num_threads()``),
    as the forest view's do.
    """

    group = "boosting"

    def fit(self, rows, labels, n_classes, random_state):
        self.model_ = HistGradientBoostingClassifier(
            class_weight="balanced", random_state=int(random_state.integers(SEED_MAX))
        )
        with openmp_in_torch_threads():
            self.model_.fit(rows.X, labels)
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        with openmp_in_torch_threads():
            return model_probabilities(self.model_, rows.X, self.n_classes_)


class ForestView(ClassView):
    """Random forests on the input features, balanced for the classes' sizes.

    Trees split on one feature at a time, where the input view needs the classes to be
    linearly separable and the embedding needs enough labeled rows to learn a metric:
    on low-dimensional tables of heterogeneous features it is the view that holds.

    Two forests balance the classes in two ways, and ``balancing`` picks either or both.
    imbalanced-learn's ``BalancedRandomForestClassifier`` fits each tree on a
    class-balanced draw of the rows ("undersample"): the tail's few rows are seen by
    every tree, the head's many rows by few. scikit-learn's ``RandomForestClassifier``
    with ``class_weight="balanced"`` fits each tree on a bootstrap of all rows, weighted
    by their class's inverse size ("class_weight"): every head row counts. "both" fits
    half of the trees each way and averages the two forests' probabilities: on the
    benchmark's tables each forest wins settings the other loses (see the benchmark page).

    The fitted trees are also kept as flat arrays (``left_``, ``right_``, ``feature_``,
    ``threshold_``, ``value_``, one entry per node of every tree, ``roots_``, and
    ``forest_sizes_``, the trees of each forest in order), which ``save`` stores as plain
    tensors: a loaded view walks them as scikit-learn's trees do, to the same
    probabilities, where the fitted one asks the forests (``_forests``, not saved),
    which is many times faster.

    The trees grow in as many threads as torch uses (``torch.get_num_threads()``, which
    ``OMP_NUM_THREADS`` sets), as scikit-learn's OpenMP estimators use the cores without
    an ``n_jobs``; each tree's seed is drawn before they grow, so the forests are the same
    whatever the threads. Predictions split the rows into blocks, one a thread, and each
    forest predicts a block in one thread: its own threads would add the trees'
    probabilities in a varying order, and the last bits with it.

    Parameters
    ----------
    n_estimators : int
        Trees in all.
    balancing : {"both", "undersample", "class_weight"}
        How the trees balance the classes, above.
    """

    group = "forest"
    balancings = ("both", "undersample", "class_weight")

    def __init__(self, n_estimators=100, balancing="both"):
        self.n_estimators = n_estimators
        self.balancing = balancing

    def fit(self, rows, labels, n_classes, random_state):
        from imblearn.ensemble import BalancedRandomForestClassifier  # imported late: heavy
        from sklearn.ensemble import RandomForestClassifier

        def build(kind, n_trees, seed):
            if kind == "undersample":
                return BalancedRandomForestClassifier(
                    n_estimators=n_trees, sampling_strategy="all", replacement=True, bootstrap=False, random_state=seed
                )
            return RandomForestClassifier(n_estimators=n_trees, class_weight="balanced", random_state=seed)

        kinds = ("undersample", "class_weight") if self.balancing == "both" else (self.balancing,)
        sizes = [self.n_estimators // len(kinds)] * len(kinds)
        sizes[-1] += self.n_estimators % len(kinds)
        # One draw, as before "both", so that "undersample" fits as the view did; the
        # second forest takes seed + 1 (seed < SEED_MAX, so it is a valid seed too).
        seed = int(random_state.integers(SEED_MAX))
        forests = [
            grow_in_torch_threads(build(kind, n_trees, seed + i), rows.X, labels)
            for i, (kind, n_trees) in enumerate(zip(kinds, sizes))
        ]
        self._forests = forests
        pairs = [(forest, estimator) for forest in forests for estimator in forest.estimators_]
        trees = [estimator.tree_ for _, estimator in pairs]
        starts = np.cumsum([0] + [tree.node_count for tree in trees])
        self.roots_ = starts[:-1]
        self.forest_sizes_ = np.array([len(forest.estimators_) for forest in forests])
        self.left_ = np.concatenate([_shift(tree.children_left, start) for tree, start in zip(trees, starts)])
        self.right_ = np.concatenate([_shift(tree.children_right, start) for tree, start in zip(trees, starts)])
        self.feature_ = np.concatenate([tree.feature for tree in trees])
        self.threshold_ = np.concatenate([tree.threshold for tree in trees])
        value = np.zeros((starts[-1], n_classes))
        for (forest, estimator), tree, start in zip(pairs, trees, starts):
            # A tree's columns are the classes it saw, as encoded labels.
            value[start : start + tree.node_count, forest.classes_[estimator.classes_.astype(int)]] = tree.value[:, 0, :]
        self.value_ = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
        return super().fit(rows, labels, n_classes, random_state)

    def predict_proba(self, rows):
        X = np.asarray(rows.X, dtype=np.float32)  # scikit-learn's trees compare float32 features
        forests = getattr(self, "_forests", None)
        if forests is None:
            probas = [self._walk(X, roots) for roots in np.split(self.roots_, np.cumsum(self.forest_sizes_)[:-1])]
            return sum(probas) / len(probas)
        n_blocks = min(torch.get_num_threads(), len(X) // MIN_ROWS_PER_THREAD)
        if n_blocks < 2:
            return self._forests_proba(X)
        # Blocks of rows in threads (the trees release the GIL): a row's probabilities are
        # the same sums in the same order whatever block it is in, so the same bits.
        blocks = Parallel(n_jobs=n_blocks, backend="threading")(
            delayed(self._forests_proba)(block) for block in np.array_split(X, n_blocks)
        )
        return np.concatenate(blocks)

    def _forests_proba(self, X):
        probas = [model_probabilities(forest, X, self.n_classes_) for forest in self._forests]
        return sum(probas) / len(probas)  # of one forest: its own probabilities, to the bit

    def _walk(self, X, roots):
        """The mean of the trees' leaf values at ``roots``, as a forest's ``predict_proba``."""
        proba = np.zeros((len(X), self.n_classes_))
        for root in roots:
            node = np.full(len(X), root)
            inner = self.left_[node] >= 0
            while inner.any():
                at = node[inner]
                goes_left = X[inner, self.feature_[at]] <= self.threshold_[at]
                node[inner] = np.where(goes_left, self.left_[at], self.right_[at])
                inner = self.left_[node] >= 0
            proba += self.value_[node]
        return proba / len(roots)


def model_probabilities(model, X, n_classes):
    """A fitted classifier's probabilities over encoded labels, in all ``n_classes`` columns.

    A class the model never saw gets 0.
    """
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


def _shift(children, start):
    """A tree's child positions moved by ``start``; leaves (-1) stay -1."""
    return np.where(children >= 0, children + start, -1)


VIEW_CLASSES = (CenterView, NeighborVoteView, HeadView, InputView, ForestView)
"""The class views a saved model may hold: those ``predict_proba`` can blend (not the rounds' boosting view)."""


def fit_views(views, rows, labels, n_classes, random_state, seconds=None):
    """Fit every view on one sample of the labeled rows: at most ``MAX_ROWS_PER_CLASS`` a class.

    Parameters
    ----------
    views : dict of str to ClassView
        Unfitted views, by name; fitted in place, in order.
    rows : Rows
        Every training row.
    labels : ndarray of shape (n_rows,)
        Encoded labels, -1 for unlabeled rows (left out).
    n_classes : int
        Number of classes.
    random_state : numpy.random.Generator
        Source of the sample, then of each view's draws.
    seconds : dict, default=None
        If given, each view's fitting time is added to ``seconds[name]``.

    Returns
    -------
    views : dict of str to ClassView
        The same views, fitted.
    """
    sample = per_class_sample(labels, MAX_ROWS_PER_CLASS, random_state)
    for name, view in views.items():
        with _timed(seconds, name):
            view.fit(rows.take(sample), labels[sample], n_classes, random_state)
    return views


def blend_proba(views, weights, rows, seconds=None):
    """The weighted sum of the views' class probabilities for ``rows``.

    Returns an ndarray of shape (n_rows, n_classes). If ``seconds`` is given, each view's
    time is added to ``seconds[name]``.
    """
    proba = 0
    for name, view in views.items():
        with _timed(seconds, name):
            proba = proba + weights[name] * view.predict_proba(rows)
    return proba


@contextlib.contextmanager
def _timed(seconds, name):
    """Add the block's duration to ``seconds[name]``, when ``seconds`` is a dict."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if seconds is not None:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started


# -- the views' arithmetic --


def per_class_sample(labels, max_rows, random_state):
    """Positions of the labeled rows, at most ``max_rows`` of each class.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Encoded labels, -1 for unlabeled rows (never taken).
    max_rows : int
        Rows kept of each class; a larger class keeps a random subset of this size.
    random_state : numpy.random.Generator
        Source of the subsets; nothing is drawn when no class is larger than ``max_rows``.

    Returns
    -------
    rows : ndarray of int
        Sorted positions into ``labels``.
    """
    rows = np.flatnonzero(labels >= 0)
    row_labels = labels[rows]
    kept = []
    for label in np.unique(row_labels):
        members = rows[row_labels == label]
        if len(members) > max_rows:
            members = random_state.choice(members, max_rows, replace=False)
        kept.append(members)
    return np.sort(np.concatenate(kept))


def class_centers(embedding, labels, n_classes, n_subclusters, random_state):
    """Cluster each class's labeled embeddings into a few unit-norm sub-centers.

    Parameters
    ----------
    embedding : ndarray of shape (n_labeled, embedding_dim)
        Unit-norm embeddings of the labeled rows.
    labels : ndarray of shape (n_labeled,)
        Their encoded labels, in ``range(n_classes)``; every class must be present.
    n_classes : int
        Number of classes.
    n_subclusters : int
        Sub-centers per class, fewer when a class has fewer rows.
    random_state : numpy.random.Generator
        Source of the k-means seeds.

    Returns
    -------
    centers : ndarray of shape (n_centers, embedding_dim)
        Sub-centers, grouped by class in class order.
    center_labels : ndarray of shape (n_centers,)
        The class of each sub-center.
    """
    centers, center_labels = [], []
    for label in range(n_classes):
        members = embedding[labels == label]
        n_centers = min(n_subclusters, len(members))
        if n_centers > 1:
            seed = int(random_state.integers(SEED_MAX))
            found = KMeans(n_centers, n_init=3, random_state=seed).fit(members).cluster_centers_
        else:
            found = members.mean(axis=0, keepdims=True)
        centers.append(found)
        center_labels.append(np.full(len(found), label))
    centers = np.vstack(centers).astype(np.float32)
    centers /= np.maximum(np.linalg.norm(centers, axis=1, keepdims=True), 1e-12)
    return centers, np.concatenate(center_labels)


def center_probabilities(embedding, centers, center_labels, temperature):
    """Class probabilities from the cosine similarity to each class's nearest sub-center.

    Returns an ndarray of shape (n_rows, n_classes).
    """
    similarity = embedding @ centers.T
    # Centers are grouped by class, so the best center of each class is a segment maximum.
    starts = np.flatnonzero(np.r_[True, np.diff(center_labels) != 0])
    best = np.maximum.reduceat(similarity, starts, axis=1)
    return softmax(best / temperature, axis=1)


def neighbor_probabilities(embedding, labeled_embedding, labels, n_classes, n_neighbors, temperature, random_state):
    """Class probabilities from a similarity-weighted vote of the nearest labeled rows.

    Returns an ndarray of shape (n_rows, n_classes).
    """
    distances, indices = nearest_neighbors(labeled_embedding, embedding, n_neighbors=n_neighbors, random_state=random_state)
    # For unit vectors, squared distance = 2 - 2 cos: weight each vote by exp(cos / T).
    weights = np.exp(-(distances**2) / (2 * temperature))
    # Sum each row's weights per class: one bincount over (row, class) cells.
    cells = np.arange(len(embedding))[:, None] * n_classes + labels[indices]
    votes = np.bincount(cells.ravel(), weights=weights.ravel(), minlength=len(embedding) * n_classes)
    votes = votes.reshape(len(embedding), n_classes)
    return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)



def class_prior(labels, n_classes):
    """Share of each class among the labeled and pseudo-labeled rows (-1 left out)."""
    counts = np.bincount(labels[labels >= 0], minlength=n_classes)
    return counts / counts.sum()


def prior_weights(proba, given_prior, strength, first_round=False):
    """Per-class factors that carry unlabeled rows' probabilities towards their own class spread.

    The views learn from the given labels, and on unlabeled rows they predict each class
    roughly as often as the given labels hold it, however the unlabeled rows' classes are
    spread: with the labeled head the unlabeled tail, most pseudo-labels of the head were
    wrong (3 to 33% right on the development suite). So each class's probabilities are
    multiplied by the share of the rows it wins, over its share of the given labels: one
    step of the prior-shift correction of Saerens, Latinne and Decaestecker (2002), with
    counts for probabilities, taken ``strength`` of the way (1 + strength * (ratio - 1)).
    Their EM iterates the step; here three steps, or the mean probabilities for the
    counts, let a few classes take most rows (the benchmark page).

    ``strength="auto"`` takes the step as far as the won shares are from the given ones
    (their total variation distance, :func:`class_shift`). Where the unlabeled rows
    follow the given labels' spread, the won shares differ from it by a few points, and
    mostly in the classes with the fewest labels, whose ratio is the noisiest: a fixed
    half step there cost up to 1.4 points of balanced accuracy on the development suite,
    and "auto" all but skips it. Where the spreads differ, the distance is 0.3 to 0.7,
    near the fixed steps that paid most there. In the first round (``first_round``) a
    distance beyond ``RAMP_FROM`` lengthens the step, up to the full step at
    ``RAMP_FROM + RAMP_WIDTH``: ``s = d + (1 - d) * min(1, max(0, (d - RAMP_FROM) /
    RAMP_WIDTH))`` for a distance ``d``.

    Parameters
    ----------
    proba : ndarray of shape (n_rows, n_classes)
        Class probabilities of the unlabeled rows.
    given_prior : ndarray of shape (n_classes,)
        Each class's share of the given labels (all positive: every class has one).
    strength : float in [0, 1] or "auto"
        0 leaves the probabilities as they are.
    first_round : bool, default=False
        Whether the views scoring ``proba`` learned from the given labels alone; read by
        ``"auto"`` only.

    Returns
    -------
    weights : ndarray of shape (n_classes,)
    strength : float
        The strength taken: ``strength``, or for ``"auto"`` the distance (in the first
        round, lengthened as above).
    """
    won = class_prior(proba.argmax(axis=1), len(given_prior))
    if strength == "auto":
        distance = class_shift(won, given_prior)
        strength = distance
        if first_round:
            ramp = min(1.0, max(0.0, (distance - RAMP_FROM) / RAMP_WIDTH))
            strength = distance + (1 - distance) * ramp
    return 1 + strength * (won / given_prior - 1), strength


def class_shift(shares, other_shares):
    """Total variation distance between two spreads of classes: half the sum of absolute differences, in [0, 1]."""
    return 0.5 * np.abs(shares - other_shares).sum()


def correct_prior(proba, given_prior, strength, first_round=False):
    """``proba`` multiplied by its :func:`prior_weights` and renormalised.

    Returns ``(proba, weights, strength taken)``. At ``strength=0`` the weights are all 1
    and ``proba`` is returned as it is: renormalising would move its last bits, and so the
    order of equally reliable rows.
    """
    weights, taken = prior_weights(proba, given_prior, strength, first_round)
    if strength == 0:
        return proba, weights, taken
    proba = proba * weights
    return proba / proba.sum(axis=1, keepdims=True), weights, taken


# -- the quota --


def select_pseudo_labels(proba, fraction, quota):
    """Pick the rows to pseudo-label this round, most reliable first.

    Parameters
    ----------
    proba : ndarray of shape (n_unlabeled, n_classes)
        Class probabilities of the unlabeled rows.
    fraction : float in (0, 1]
        Share of candidates taken; 1 takes every row.
    quota : {"per_class", "global", "mixed"}
        ``"per_class"`` takes the same share of each class's candidates, so that confident
        head classes cannot crowd out the tail; ``"global"`` takes the most reliable rows
        whatever their class; ``"mixed"`` ranks each row by the mean of its two ranks,
        among its class's candidates and among all rows (each as a share in [0, 1)),
        and takes the same number of rows as ``"global"``, lowest first.

    Returns
    -------
    selected : ndarray of int
        Positions (into ``proba``) of the rows taken.
    pseudo_labels : ndarray of int
        Their encoded labels.
    reliability : ndarray of float
        Their winning-class probability.
    """
    candidates = proba.argmax(axis=1)
    reliability = proba.max(axis=1)
    n_rows = len(candidates)
    n_taken = int(np.ceil(fraction * n_rows))  # by "global" and "mixed"
    if quota == "global":
        selected = np.argsort(-reliability, kind="stable")[:n_taken]
    else:
        # Sort by class, then by reliability within a class.
        order = np.lexsort((-reliability, candidates))
        sorted_classes = candidates[order]
        class_start = np.searchsorted(sorted_classes, sorted_classes, side="left")
        class_size = np.bincount(candidates)[sorted_classes]
        rank_in_class = np.arange(n_rows) - class_start
        if quota == "per_class":  # keep each class's top share
            selected = order[rank_in_class < np.ceil(fraction * class_size)]
        else:  # "mixed": a row high in its class but low overall waits, and the reverse
            share_in_class = np.empty(n_rows)
            share_in_class[order] = rank_in_class / class_size
            share_overall = np.empty(n_rows)
            share_overall[np.argsort(-reliability, kind="stable")] = np.arange(n_rows) / n_rows
            score = 0.5 * share_in_class + 0.5 * share_overall
            selected = np.sort(np.argsort(score, kind="stable")[:n_taken])
    return selected, candidates[selected], reliability[selected]
