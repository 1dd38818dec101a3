"""Reports of the benchmark: text and Markdown tables, plots, and the files written under ``--out``."""

import csv
from pathlib import Path

import numpy as np

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
    accuracy, tail-3 recall and pseudo-labels' balanced accuracy (``-`` where there are
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
            cells.append("-" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
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


def _plot(summary, out):
    """Draw, per setting, the balanced accuracy of each method and the recall by class.

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` returns.
    out : pathlib.Path
        Folder of the PNG files.

    Returns
    -------
    plots : dict
        ``{(dataset, ratio, unlabeled distribution): [paths]}``; the files are named
        ``<dataset>_ir<ratio>[_<distribution>]_<plot>.png``, the distribution left out when
        consistent.
    """
    matplotlib = _optional_import("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = {}
    for setting, records in _settings(summary).items():
        dataset, ratio, distribution = setting
        stem = out / f"{_slug(dataset)}_ir{ratio:g}{'' if distribution == 'consistent' else '_' + distribution}"
        fig, ax = plt.subplots(figsize=(1 + 0.7 * len(records), 4), layout="constrained")
        ax.bar(
            [record["method"] for record in records],
            [record["balanced_accuracy_mean"] for record in records],
            yerr=[record["balanced_accuracy_std"] for record in records],
            capsize=3,
            color=["tab:blue" if record["method"].startswith("dmlpl") else "tab:gray" for record in records],
        )
        ax.set(ylabel="balanced accuracy (test)", ylim=(0, 1), title=_title(setting, records))
        ax.tick_params(axis="x", rotation=45)
        plt.setp(ax.get_xticklabels(), ha="right")
        paths = [_save(plt, fig, f"{stem}_balanced_accuracy.png")]

        compared = [record for record in records if record["method"] in ("dmlpl", best_peer(records))]
        if compared:
            fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
            for record in compared:
                ranks = range(sum(key.startswith("recall_rank_") and key.endswith("_mean") for key in record))
                ax.errorbar(
                    ranks,
                    [record[f"recall_rank_{rank}_mean"] for rank in ranks],
                    yerr=[record[f"recall_rank_{rank}_std"] for rank in ranks],
                    marker="o",
                    capsize=3,
                    label=record["method"],
                )
            # Ranked by the long tail of the labeled rows, which the unlabeled rows follow only when consistent.
            by = "training rows" if distribution == "consistent" else "labeled rows' long tail"
            ax.set(xlabel=f"class rank by {by} (0 = head)", ylabel="recall (test)", ylim=(-0.05, 1.05))
            ax.set_title(_title(setting, records))
            ax.legend()
            paths.append(_save(plt, fig, f"{stem}_recall_by_class.png"))
        plots[setting] = paths
    return plots


def _save(plt, fig, path):
    """Save a matplotlib figure, close it and return its path."""
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _slug(name):
    """A file-name-safe form of a data set name."""
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)


def _write_outputs(runs, summary, out):
    """Write ``runs.csv``, ``summary.csv``, ``table.csv``, the plots and ``summary.md`` under ``out``.

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
    plots = _plot(summary, out)
    (out / "summary.md").write_text(_format_markdown(summary, plots))
    written = [out / name for name in ("runs.csv", "summary.csv", "table.csv", "summary.md")]
    return written + [Path(p) for ps in plots.values() for p in ps]
