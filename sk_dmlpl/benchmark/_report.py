"""Reports of the benchmark: text and Markdown tables, plots, and the files written under ``--out``."""

import csv
from pathlib import Path

import numpy as np

from ._methods import is_peer
from ._optional import _optional_import
from ._run import METRICS
from ._summary import PAIRED_GAPS, PAYS_SEEDS, PAYS_STANDARD_ERRORS, _setting_of, _settings, best_peer, module_verdict


def _table(records):
    """The summary of one setting as rows of strings, the first row the titles."""
    rows = [["method", *METRICS.values()]]
    for record in records:
        cells = [f"oracle ({record['oracle_of']})" if record.get("oracle_of") else record["method"]]
        for metric in METRICS:
            mean, std = record[f"{metric}_mean"], record[f"{metric}_std"]
            cells.append("-" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        rows.append(cells)
    return rows


def _gap_line(records, methods, whom, metric="balanced_accuracy"):
    """A sentence giving how far ``dmlpl`` scores above each of ``methods`` in ``metric``, paired by seed.

    ``whom`` names them in the sentence; '' when none of them ran beside ``dmlpl``.
    """
    prefix, title = PAIRED_GAPS[metric]
    parts = []
    for record in records:
        if record["method"] in methods and f"{prefix}gap_to_dmlpl_mean" in record:
            sem = record[f"{prefix}gap_to_dmlpl_sem"]
            spread = f" ± {sem:.3f}" if np.isfinite(sem) else ""  # no spread from a single seed
            parts.append(
                f"{record['method']} {record[f'{prefix}gap_to_dmlpl_mean']:+.3f}{spread} "
                f"(higher on {record[f'dmlpl_{prefix}wins']} of {record['n_seeds']} seeds)"
            )
    if not parts:
        return ""
    return f"{title} of dmlpl minus {whom}, paired by seed (mean ± standard error): " + ", ".join(parts)


def _notes(records):
    """The sentences under one setting's table: dmlpl's paired gaps to the best peer and the ablations."""
    peer = best_peer(records)
    ablations = [record["method"] for record in records if record["method"].startswith("dmlpl-")]
    lines = (
        _gap_line(records, [peer], "the best peer"),
        _gap_line(records, ablations, "each ablation"),
        # The tail is what DML-PL, and its class-balanced quota above all, is for.
        _gap_line(records, [peer, *ablations], "each ablation and the best peer", "tail_recall"),
        # The pseudo-labels are what the quota and fine-tuning act on first; the test set sees
        # them only through the refitted views, so a module can pay here and tie above.
        _gap_line(records, ablations, "each ablation", "pseudo_label_balanced_accuracy"),
    )
    return [line for line in lines if line]


def _verdict_lines(summary):
    """The lines after all tables: whether each module pays (:func:`module_verdict`); none without ablations."""
    verdicts = module_verdict(summary)
    if not verdicts:
        return []
    header = (
        "Does each module pay? dmlpl minus the ablation without it, balanced accuracy paired by seed: it pays "
        f"when positive in the mean over the settings run and not below -{PAYS_STANDARD_ERRORS} standard errors "
        f"on any one setting, decided on {PAYS_SEEDS} seeds or more."
    )
    lines = [header]
    for verdict in verdicts:
        dataset, ratio, distribution = verdict["worst_setting"]
        where = f"{dataset}, ratio {ratio:g}" + ("" if distribution == "consistent" else f", {distribution}")
        if np.isfinite(verdict["worst_sem"]):
            worst = (
                f"{verdict['worst_gap']:+.3f} ± {verdict['worst_sem']:.3f} ({verdict['worst_z']:+.1f} standard errors)"
            )
        else:
            worst = f"{verdict['worst_gap']:+.3f} (one seed, no standard error)"
        pays = "pays" if verdict["pays"] else "does not pay"
        if not verdict["decided"]:
            pays += f" (undecided below {PAYS_SEEDS} seeds: {verdict['n_seeds']} run)"
        lines.append(
            f"{verdict['method']}: mean gap {verdict['mean_gap']:+.3f} over {verdict['n_settings']} setting(s); "
            f"worst setting {where}: {worst}; {pays}"
        )
    return lines


def _title(setting, records):
    """The heading of one setting; it names the unlabeled rows' distribution unless consistent."""
    dataset, ratio, distribution = setting
    unlabeled = "" if distribution == "consistent" else f", {distribution} unlabeled rows"
    return f"{dataset}, imbalance ratio {ratio:g}{unlabeled}, {records[0]['n_seeds']} seed(s)"


def format_text(summary):
    """The summary as aligned plain-text tables, one per setting (data set, ratio, unlabeled rows).

    Examples
    --------
    >>> from sk_dmlpl.benchmark import format_text, load_dataset, run_one, split, summarise
    >>> X, y = load_dataset("digits")
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": "oracle-logreg", "seed": seed,
    ...      **run_one("oracle-logreg", split(X, y, 50, 0.1, seed), seed)}
    ...     for seed in (0, 1)
    ... ]
    >>> print(format_text(summarise(runs)).splitlines()[0])
    digits, imbalance ratio 50, 2 seed(s)
    """
    blocks = []
    for setting, records in _settings(summary).items():
        rows = _table(records)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        blocks.append("\n".join([_title(setting, records), *lines, *_notes(records)]))
    verdict = _verdict_lines(summary)
    return "\n\n".join([*blocks, "\n".join(verdict)] if verdict else blocks)


def _format_markdown(summary, plots=None):
    """The summary as Markdown tables, one per setting, with links to ``plots``."""
    blocks = ["# sk-dmlpl benchmark\n\nMean ± standard deviation over seeds; test-set metrics."]
    for setting, records in _settings(summary).items():
        rows = _table(records)
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + " --- |" * len(rows[0]))
        images = [f"![{Path(path).stem}]({Path(path).name})" for path in (plots or {}).get(setting, [])]
        notes = "\n\n".join(_notes(records))  # a Markdown paragraph each
        blocks.append("\n".join([f"## {_title(setting, records)}", "", *lines, "", notes, "", *images]))
    verdict = _verdict_lines(summary)
    if verdict:
        blocks.append(
            "\n".join(["## Does each module pay?", "", verdict[0], "", *(f"- {line}" for line in verdict[1:])])
        )
    return "\n\n".join(blocks) + "\n"


NOT_APPLICABLE = "n/a"
"""The cell of a figure a method has none of, in the CSV tables: a lone ``-`` would read as a list in rST."""

TABLE_COLUMNS = {
    "dataset": "data set",
    "imbalance_ratio": "ratio",
    "unlabeled_distribution": "unlabeled",
    "method": "method",
    "n_seeds": "seeds",
    "balanced_accuracy": "bal. acc.",
    "tail_recall": METRICS["tail_recall"],
    "pseudo_label_balanced_accuracy": METRICS["pseudo_label_balanced_accuracy"],
    "gap_to_dmlpl": "dmlpl minus it (bal. acc.)",
}
"""The columns of ``table.csv``, by summary field, with their headers."""


def table_rows(summary):
    """The summary as a small table of strings, as ``table.csv`` holds it, the first row the headers.

    One row per setting and method: the setting, the method (``oracle (<name>)`` for the
    better oracle), the number of seeds, the mean ± standard deviation of the balanced
    accuracy, tail-3 recall and pseudo-labels' balanced accuracy (``n/a`` where there are
    none), and ``dmlpl`` minus the method's balanced accuracy paired by seed, mean ±
    standard error, with the seeds on which ``dmlpl`` scored higher (empty for ``dmlpl``).

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` returns.

    Returns
    -------
    rows : list of list of str
        The headers of :data:`TABLE_COLUMNS`, then one row per summary record.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import summarise, table_rows
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed, "balanced_accuracy": score}
    ...     for method, scores in [("dmlpl", [0.8, 0.7]), ("smote-knn", [0.7, 0.65])]
    ...     for seed, score in enumerate(scores)
    ... ]
    >>> for row in table_rows(summarise(runs)):
    ...     print(row[3:6], row[-1])
    ['method', 'seeds', 'bal. acc.'] dmlpl minus it (bal. acc.)
    ['dmlpl', '2', '0.750 ± 0.050']
    ['smote-knn', '2', '0.675 ± 0.025'] +0.075 ± 0.025 (2 of 2)
    """
    rows = [list(TABLE_COLUMNS.values())]
    for record in summary:
        dataset, ratio, distribution = _setting_of(record)
        method = f"oracle ({record['oracle_of']})" if record.get("oracle_of") else record["method"]
        cells = [dataset, f"{ratio:g}", distribution, method, str(record["n_seeds"])]
        for metric in ("balanced_accuracy", "tail_recall", "pseudo_label_balanced_accuracy"):
            mean, std = record.get(f"{metric}_mean", np.nan), record.get(f"{metric}_std", np.nan)
            cells.append(NOT_APPLICABLE if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        gap = ""
        if "gap_to_dmlpl_mean" in record:
            sem = record["gap_to_dmlpl_sem"]
            spread = f" ± {sem:.3f}" if np.isfinite(sem) else ""
            gap = f"{record['gap_to_dmlpl_mean']:+.3f}{spread} ({record['dmlpl_wins']} of {record['n_seeds']})"
        rows.append([*cells, gap])
    return rows


def _write_csv(path, records):
    """Write dicts as CSV; the columns are the union of their keys, in the order first met."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(records)


SETTING_TABLE_COLUMNS = [
    "method",
    METRICS["balanced_accuracy"],
    METRICS["tail_recall"],
    METRICS["pseudo_label_balanced_accuracy"],
    METRICS["fit_seconds"],
    "dmlpl minus it (bal. acc.)",
]
"""The headers of a setting's compact table, as :func:`write_report` writes it."""


def setting_table_rows(records):
    """One setting's summary as a compact table of strings, the first row the headers.

    Small enough for a page's column: the method, the mean ± standard deviation over the
    seeds of the balanced accuracy, tail-3 recall and pseudo-labels' balanced accuracy
    (``n/a`` where there are none), the mean fit seconds, and ``dmlpl`` minus the method's
    balanced accuracy paired by seed (mean ± standard error, and on how many seeds
    ``dmlpl`` scored higher; empty for ``dmlpl``).

    Parameters
    ----------
    records : list of dict
        The summary records of one setting, as :func:`summarise` or :func:`read_summary`
        returns them.

    Returns
    -------
    rows : list of list of str
        The headers of ``SETTING_TABLE_COLUMNS``, then one row per record.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import setting_table_rows, summarise
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed,
    ...      "balanced_accuracy": score, "fit_seconds": 1.0}
    ...     for method, scores in [("dmlpl", [0.8, 0.7]), ("smote-knn", [0.7, 0.65])]
    ...     for seed, score in enumerate(scores)
    ... ]
    >>> for row in setting_table_rows(summarise(runs)):
    ...     print(row)
    ['method', 'bal. acc.', 'tail-3 recall', 'pseudo-label bal. acc.', 'fit s', 'dmlpl minus it (bal. acc.)']
    ['dmlpl', '0.750 ± 0.050', 'n/a', 'n/a', '1.00', '']
    ['smote-knn', '0.675 ± 0.025', 'n/a', 'n/a', '1.00', '+0.075 ± 0.025 (2 of 2)']
    """
    rows = [list(SETTING_TABLE_COLUMNS)]
    for record in records:
        cells = [f"oracle ({record['oracle_of']})" if record.get("oracle_of") else record["method"]]
        for metric in ("balanced_accuracy", "tail_recall", "pseudo_label_balanced_accuracy"):
            mean, std = record.get(f"{metric}_mean", np.nan), record.get(f"{metric}_std", np.nan)
            cells.append(NOT_APPLICABLE if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        seconds = record.get("fit_seconds_mean", np.nan)
        cells.append(NOT_APPLICABLE if np.isnan(seconds) else f"{seconds:.2f}")
        cells.append(_gap_cell(record))
        rows.append(cells)
    return rows


def _gap_cell(record):
    """``dmlpl`` minus the record's balanced accuracy as a cell: mean ± sem (wins of seeds); '' for none."""
    if not np.isfinite(record.get("gap_to_dmlpl_mean", np.nan)):
        return ""
    sem = record["gap_to_dmlpl_sem"]
    spread = f" ± {sem:.3f}" if np.isfinite(sem) else ""
    return f"{record['gap_to_dmlpl_mean']:+.3f}{spread} ({record['dmlpl_wins']} of {record['n_seeds']})"


def read_summary(path):
    """Read a ``summary.csv`` that the benchmark wrote back into summary records.

    The numbers come back as numbers (``n_seeds`` and the win counts as int, the means,
    standard deviations, standard errors and the ratio as float, empty cells and ``nan``
    as NaN), the rest as strings, so that :func:`write_report` and :func:`format_text`
    take the records as they take :func:`summarise`'s.

    Parameters
    ----------
    path : str or path-like
        A ``summary.csv``.

    Returns
    -------
    summary : list of dict
        One record per row, as :func:`summarise` returns; a field empty in a row (a
        column another method filled) is left out of that row's record.

    Examples
    --------
    >>> import tempfile, os
    >>> from sk_dmlpl.benchmark import read_summary
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "summary.csv")
    ...     with open(path, "w") as file:
    ...         _ = file.write("dataset,imbalance_ratio,method,n_seeds,balanced_accuracy_mean\\ndigits,50.0,dmlpl,2,0.75\\n")
    ...     read_summary(path)
    [{'dataset': 'digits', 'imbalance_ratio': 50.0, 'method': 'dmlpl', 'n_seeds': 2, 'balanced_accuracy_mean': 0.75}]
    """
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [{key: _parse(key, value) for key, value in row.items() if value != ""} for row in rows]


def _parse(key, value):
    """A summary.csv cell as the summary held it: see :func:`read_summary`."""
    if key == "n_seeds" or (key.startswith("dmlpl_") and key.endswith("wins")):
        return int(value)
    if key == "imbalance_ratio" or key.endswith(("_mean", "_std", "_sem")):
        return float(value)
    return value


def _stem(setting):
    """The file stem of a setting: ``<dataset>_ir<ratio>[_<distribution>]``, consistent left out."""
    dataset, ratio, distribution = setting
    return f"{_slug(dataset)}_ir{ratio:g}{'' if distribution == 'consistent' else '_' + distribution}"


def write_report(summary, out):
    """Write, per setting, its compact table (CSV) and its two plots, from a summary alone.

    It needs no fit: the documentation draws its figures with it from a committed
    ``summary.csv`` (:func:`read_summary`), and the benchmark after its runs.

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` or :func:`read_summary` returns.
    out : str or pathlib.Path
        Folder of the files, created if missing.

    Returns
    -------
    files : dict
        ``{(dataset, ratio, unlabeled distribution): {"table": path, "plots": [paths]}}``.
        The files are named ``<stem>_table.csv`` (:func:`setting_table_rows`),
        ``<stem>_balanced_accuracy.png`` (every method's balanced accuracy: bars with the
        mean and whiskers of ± 1 standard deviation over the seeds, the value on each bar,
        the axis zoomed to the data) and ``<stem>_recall_by_class.png`` (the test recall of
        each class, head to tail, of ``dmlpl`` and the best peer, each class named with
        its training rows), where ``<stem>`` is ``<dataset>_ir<ratio>[_<distribution>]``,
        the distribution left out when consistent.
    """
    matplotlib = _optional_import("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for setting, records in _settings(summary).items():
        stem = out / _stem(setting)
        table = Path(f"{stem}_table.csv")
        with open(table, "w", newline="") as file:
            csv.writer(file).writerows(setting_table_rows(records))
        paths = [_plot_balanced_accuracy(plt, setting, records, f"{stem}_balanced_accuracy.png")]
        compared = [record for record in records if record["method"] in ("dmlpl", best_peer(records))]
        if compared:
            paths.append(_plot_recall_by_class(plt, setting, records, compared, f"{stem}_recall_by_class.png"))
        files[setting] = {"table": table, "plots": paths}
    return files


# Bar colours by kind of method, as the legend names them.
_KINDS = {
    "DML-PL and its ablations": "tab:blue",
    "peers": "tab:gray",
    "oracles (every training label)": "tab:green",
}


def _kind(method):
    """The legend entry of a method: see :data:`_KINDS`."""
    if method.startswith("dmlpl"):
        return "DML-PL and its ablations"
    return "peers" if is_peer(method) else "oracles (every training label)"


def _zoom(lows, highs, headroom=0.0):
    """Axis limits that hold every value from ``lows`` to ``highs`` with a margin, within [0, 1].

    ``headroom`` adds that share of the data's range above it, for labels.
    """
    low, high = float(np.nanmin(lows)), float(np.nanmax(highs))
    span = max(high - low, 0.01)
    return max(0.0, low - 0.1 * span), min(1.0, high + (0.1 + headroom) * span)


def _plot_balanced_accuracy(plt, setting, records, path):
    """Horizontal bars of every method's mean balanced accuracy, whiskers ± 1 sd, each value written."""
    means = np.array([record["balanced_accuracy_mean"] for record in records])
    stds = np.array([record["balanced_accuracy_std"] for record in records])
    names = [f"oracle ({record['oracle_of']})" if record.get("oracle_of") else record["method"] for record in records]
    kinds = [_kind(record["method"]) for record in records]
    fig, ax = plt.subplots(figsize=(7, 1.6 + 0.28 * len(records)), layout="constrained")
    rows = np.arange(len(records))
    ax.barh(rows, means, xerr=stds, capsize=2, color=[_KINDS[kind] for kind in kinds], error_kw={"elinewidth": 1})
    low, high = _zoom(means - stds, means + stds, headroom=0.2)
    # Not from 0: the methods differ by points, which a 0-1 axis would flatten. The label says so.
    ax.set_xlim(low, high)
    for row, (mean, std) in enumerate(zip(means, stds)):
        ax.text(mean + std + 0.01 * (high - low), row, f"{mean:.3f}", va="center", fontsize=8)
    ax.set_yticks(rows, names, fontsize=9)
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.set_xlabel(f"balanced accuracy (test); the axis starts at {low:.2f}, not 0")
    ax.set_title(_title(setting, records), fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_KINDS[kind]) for kind in _KINDS if kind in kinds]
    ax.legend(
        handles,
        [kind for kind in _KINDS if kind in kinds],
        title=f"mean of {records[0]['n_seeds']} seed(s), whiskers ± 1 sd",
        loc="lower left",
        bbox_to_anchor=(0, 1.06),
        ncols=3,
        fontsize=8,
        title_fontsize=8,
        frameon=False,
    )
    return _save(plt, fig, path)


def _rank_labels(records, n_ranks):
    """Tick labels of the ranks, ``<class> (<training rows>)``, and the axis label that reads them.

    The class at a rank is drawn per seed: up to 3 classes are joined by ``/`` (seed 0's
    first); with more, or without the fields, the tick names the rank.
    """
    record = records[0]
    if all(f"class_at_rank_{rank}" in record for rank in range(n_ranks)):
        classes = [str(record[f"class_at_rank_{rank}"]) for rank in range(n_ranks)]
        rows = [str(record.get(f"rows_at_rank_{rank}", "?")) for rank in range(n_ranks)]
        if max(len(names.split("/")) for names in classes) <= 3:
            several = any("/" in names for names in classes)
            label = "class (training rows), head to tail"
            if several:
                label += "; a/b: the class at that rank on each seed"
            return [f"{names}\n({count})" for names, count in zip(classes, rows)], label
        return [f"#{rank}\n({count})" for rank, count in enumerate(rows)], (
            "rank (training rows), head to tail; its class differs from seed to seed"
        )
    return [str(rank) for rank in range(n_ranks)], "class rank by training rows (0 = head)"


def _plot_recall_by_class(plt, setting, records, compared, path):
    """The test recall of each class, head to tail, of ``dmlpl`` and the best peer."""
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    n_ranks = sum(key.startswith("recall_rank_") and key.endswith("_mean") for key in compared[0])
    ranks = np.arange(n_ranks)
    for offset, record in zip((-0.06, 0.06), compared):
        ax.errorbar(
            ranks + offset,  # apart, so that the whiskers of the two do not hide each other
            [record[f"recall_rank_{rank}_mean"] for rank in ranks],
            yerr=[record[f"recall_rank_{rank}_std"] for rank in ranks],
            marker="o",
            capsize=3,
            label=record["method"] if record["method"] == "dmlpl" else f"{record['method']} (best peer)",
        )
    labels, xlabel = _rank_labels(compared, n_ranks)
    if setting[2] != "consistent":  # ranked by the labeled rows' long tail, not by the rows it has
        xlabel += "; ranked by the labeled rows' long tail"
    ax.set_xticks(ranks, labels, fontsize=8)
    ax.set(xlabel=xlabel, ylabel="recall (test)", ylim=(-0.05, 1.05))
    ax.set_title(_title(setting, records))
    ax.legend(title=f"mean of {records[0]['n_seeds']} seed(s), whiskers ± 1 sd", fontsize=8, title_fontsize=8)
    return _save(plt, fig, path)


def _save(plt, fig, path):
    """Save a matplotlib figure, close it and return its path."""
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _slug(name):
    """A file-name-safe form of a data set name."""
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)


def _write_outputs(runs, summary, out):
    """Write ``runs.csv``, ``summary.csv``, ``table.csv``, :func:`write_report`'s files and ``summary.md``.

    Parameters
    ----------
    runs : list of dict
        One record per run.
    summary : list of dict
        As :func:`summarise` returns.
    out : str or pathlib.Path
        Output folder, created if missing.

    Returns
    -------
    paths : list of pathlib.Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "runs.csv", runs)
    _write_csv(out / "summary.csv", summary)
    with open(out / "table.csv", "w", newline="") as file:
        csv.writer(file).writerows(table_rows(summary))
    files = write_report(summary, out)
    plots = {setting: written["plots"] for setting, written in files.items()}
    (out / "summary.md").write_text(_format_markdown(summary, plots))
    written = [out / name for name in ("runs.csv", "summary.csv", "table.csv", "summary.md")]
    return written + [path for setting in files.values() for path in [setting["table"], *setting["plots"]]]
