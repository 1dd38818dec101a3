"""Nearest-neighbor search: exact for small problems, pynndescent for large ones."""

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

# Below this many indexed rows exact search is faster than pynndescent, whose first call
# also spends many seconds compiling with numba.
EXACT_SEARCH_MAX_ROWS = 20_000


def nearest_neighbors(index, query=None, *, n_neighbors, random_state=None):
    """Find the nearest rows of ``index`` for every row of ``query``.

    Parameters
    ----------
    index : ndarray of shape (n_index, n_features)
        The rows searched.
    query : ndarray of shape (n_query, n_features), default=None
        The rows whose neighbors are wanted. ``None`` means ``index`` itself, in which
        case each row's own position is left out of its neighbors.
    n_neighbors : int
        How many neighbors to return; capped at the number of rows available.
    random_state : int, default=None
        Seed of the approximate search.

    Returns
    -------
    distances : ndarray of shape (n_query, k)
        Euclidean distances, nearest first.
    indices : ndarray of shape (n_query, k)
        Positions in ``index``.
    """
    exclude_self = query is None
    n_available = len(index) - int(exclude_self)
    k = min(n_neighbors, n_available)
    if k < 1:
        raise ValueError("nearest_neighbors needs at least one row to search besides the query.")
    if len(index) <= EXACT_SEARCH_MAX_ROWS:
        search = NearestNeighbors(n_neighbors=k).fit(index)
        if exclude_self:
            return search.kneighbors(n_neighbors=k)
        return search.kneighbors(query, n_neighbors=k)

    from pynndescent import NNDescent  # imported late: numba start-up is slow

    # numba's OpenMP layer resets the process's thread count, which torch shares; a
    # different count changes torch's float sums in the last bits, so restore it.
    torch_threads = torch.get_num_threads()
    try:
        search = NNDescent(index, n_neighbors=k + 1, random_state=random_state, n_jobs=1)
        if exclude_self:
            indices, distances = search.neighbor_graph
            # The graph lists each row first among its own neighbors; drop that column.
            return distances[:, 1:].astype(np.float32), indices[:, 1:]
        indices, distances = search.query(query, k=k)
        return distances.astype(np.float32), indices
    finally:
        torch.set_num_threads(torch_threads)


def input_neighbors(X, n_neighbors, random_state=None):
    """Each row's nearest rows of ``X``, itself left out: the rows its positive is drawn from.

    A positive only has to be a row near the anchor, not its nearest: above
    ``EXACT_SEARCH_MAX_ROWS`` rows, the neighbors are searched, exactly, among that many
    rows drawn at random. That costs far less than an approximate search of every row, and
    no numba compile (both measured on the scaling page).

    Returns
    -------
    indices : ndarray of shape (n_samples, n_neighbors)
        Positions in ``X``.
    """
    if len(X) <= EXACT_SEARCH_MAX_ROWS:
        return nearest_neighbors(X, n_neighbors=n_neighbors, random_state=random_state)[1]
    sample = np.sort(check_random_state(random_state).choice(len(X), EXACT_SEARCH_MAX_ROWS, replace=False))
    k = min(n_neighbors, EXACT_SEARCH_MAX_ROWS - 1)
    indices = sample[nearest_neighbors(X[sample], X, n_neighbors=k + 1)[1]]
    # A sampled row finds itself among its neighbors; drop it there, and the farthest elsewhere.
    drop = indices == np.arange(len(X))[:, None]
    drop[~drop.any(axis=1), -1] = True
    return indices[~drop].reshape(len(X), k)
