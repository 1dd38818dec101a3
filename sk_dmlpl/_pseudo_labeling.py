"""Pseudo-labeling in the learned embedding: class sub-centres, neighbour votes, quotas.

Every function here works on whole arrays: no loop runs over rows.
"""

import numpy as np
from scipy.special import softmax
from sklearn.cluster import KMeans

from ._neighbors import nearest_neighbors

# The centres, the neighbour vote and the linear view learn little from more rows of a
# class than this, but their cost grows with every row (the vote's search most of all):
# each uses at most this many rows of a class, drawn at random.
MAX_ROWS_PER_CLASS = 1_000


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


def class_centres(embedding, labels, n_classes, n_subclusters, random_state):
    """Cluster each class's labeled embeddings into a few unit-norm sub-centres.

    Parameters
    ----------
    embedding : ndarray of shape (n_labeled, embedding_dim)
        Unit-norm embeddings of the labeled rows.
    labels : ndarray of shape (n_labeled,)
        Their encoded labels, in ``range(n_classes)``; every class must be present.
    n_classes : int
        Number of classes.
    n_subclusters : int
        Sub-centres per class, fewer when a class has fewer rows.
    random_state : numpy.random.Generator
        Source of the k-means seeds.

    Returns
    -------
    centres : ndarray of shape (n_centres, embedding_dim)
        Sub-centres, grouped by class in class order.
    centre_labels : ndarray of shape (n_centres,)
        The class of each sub-centre.
    """
    centres, centre_labels = [], []
    for label in range(n_classes):
        members = embedding[labels == label]
        n_centres = min(n_subclusters, len(members))
        if n_centres > 1:
            seed = int(random_state.integers(np.iinfo(np.int32).max))
            found = KMeans(n_centres, n_init=3, random_state=seed).fit(members).cluster_centers_
        else:
            found = members.mean(axis=0, keepdims=True)
        centres.append(found)
        centre_labels.append(np.full(len(found), label))
    centres = np.vstack(centres).astype(np.float32)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return centres, np.concatenate(centre_labels)


def centre_probabilities(embedding, centres, centre_labels, temperature):
    """Class probabilities from the cosine similarity to each class's nearest sub-centre.

    Returns an ndarray of shape (n_rows, n_classes).
    """
    similarity = embedding @ centres.T
    # Centres are grouped by class, so the best centre of each class is a segment maximum.
    starts = np.flatnonzero(np.r_[True, np.diff(centre_labels) != 0])
    best = np.maximum.reduceat(similarity, starts, axis=1)
    return softmax(best / temperature, axis=1)


def neighbour_probabilities(embedding, labeled_embedding, labels, n_classes, n_neighbors, temperature, random_state):
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


def linear_probabilities(model, X, n_classes):
    """Class probabilities of a fitted classifier over encoded labels, for all ``n_classes`` columns.

    Returns an ndarray of shape (n_rows, n_classes); a class the model never saw gets 0.
    """
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


def select_pseudo_labels(proba, fraction, quota):
    """Pick the rows to pseudo-label this round, most reliable first.

    Parameters
    ----------
    proba : ndarray of shape (n_unlabeled, n_classes)
        Class probabilities of the unlabeled rows.
    fraction : float in (0, 1]
        Share of candidates taken; 1 takes every row.
    quota : {"per_class", "global"}
        ``"per_class"`` takes the same share of each class's candidates, so that confident
        head classes cannot crowd out the tail; ``"global"`` takes the most reliable rows
        whatever their class.

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
    if quota == "global":
        order = np.argsort(-reliability, kind="stable")
        selected = order[: int(np.ceil(fraction * len(order)))]
    else:
        # Sort by class, then by reliability within a class; keep each class's top share.
        order = np.lexsort((-reliability, candidates))
        sorted_classes = candidates[order]
        class_start = np.searchsorted(sorted_classes, sorted_classes, side="left")
        class_size = np.bincount(candidates)[sorted_classes]
        rank_in_class = np.arange(len(order)) - class_start
        selected = order[rank_in_class < np.ceil(fraction * class_size)]
    return selected, candidates[selected], reliability[selected]
