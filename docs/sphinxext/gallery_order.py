"""The order of the gallery: from a first fit to the model's insides, then tuning and extending it."""

from pathlib import Path

READING_ORDER = [
    "plot_quick_start.py",
    "plot_compare_peers.py",
    "plot_labeled_only_sampler.py",
    "plot_embedding.py",
    "plot_rounds.py",
    "plot_grid_search.py",
    "plot_custom_module.py",
]


def by_reading_order(path):
    """Sort key of an example file, by name or path: its place in ``READING_ORDER``, unknown files last."""
    name = Path(path).name
    try:
        return (READING_ORDER.index(name), name)
    except ValueError:
        return (len(READING_ORDER), name)
