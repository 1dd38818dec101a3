"""Nearest-neighbor search: exact for small problems, pynndescent for large ones."""

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

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
