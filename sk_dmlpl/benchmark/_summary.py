"""Summary statistics of the benchmark's runs: means over seeds, paired gaps, the best peer, module verdicts."""

import numpy as np

from ._methods import ORACLES, is_peer
from ._run import METRICS, N_TAIL

PAIRED_GAPS = {
    "balanced_accuracy": ("", "Balanced accuracy"),
    "tail_recall": ("tail_", f"Tail-{N_TAIL} recall (the mean test recall of the {N_TAIL} rarest classes)"),
    "pseudo_label_balanced_accuracy": ("pseudo_label_", "Pseudo-label balanced accuracy"),
}
"""Metrics whose gap to ``dmlpl`` is paired by seed: the prefix of their summary fields, and their title."""

RANK_FIELDS = ("class_at_rank_", "rows_at_rank_")
"""Prefixes of the run fields that name the class at each rank and its training rows."""

SETTING = ("dataset", "imbalance_ratio", "unlabeled_distribution")
"""The fields that name a setting: the runs of one setting share the same splits, seed by seed."""


def summarise(runs):
    """Mean and standard deviation over seeds of every metric, per setting and method.

    A setting is a data set, an imbalance ratio and a distribution of the unlabeled rows.

    Parameters
    ----------
    runs : list of dict
        One record per run, with keys ``dataset``, ``imbalance_ratio``, ``method``,
        ``seed``, the metrics, and ``unlabeled_distribution`` (``"consistent"`` where a
        run lacks it).

    Returns
    -------
    summary : list of dict
        One record per (dataset, ratio, unlabeled distribution, method) in the order
        first met: ``dataset``, ``imbalance_ratio``, ``unlabeled_distribution``, ``method``,
        ``n_seeds``, and ``<metric>_mean`` and ``<metric>_std`` (population standard
        deviation) for every metric and ``recall_rank_<k>``; ``class_at_rank_<k>`` and
        ``rows_at_rank_<k>``, where the runs hold them, as strings: the distinct values
        over the seeds in seed order, joined by ``/`` (the class at a rank is drawn per
        seed; its rows are the same on every seed of a consistent setting). The record of every other
        method run beside ``dmlpl`` (its ablations, the peers, the oracle) also holds the
        balanced accuracy of ``dmlpl`` minus its own, seed by seed: ``gap_to_dmlpl_mean``,
        ``gap_to_dmlpl_sem`` (standard error of that mean, NaN for a single seed) and
        ``dmlpl_wins`` (seeds on which ``dmlpl`` scores higher); and the same for the
        tail recall, when the runs hold it: ``tail_gap_to_dmlpl_mean``,
        ``tail_gap_to_dmlpl_sem`` and ``dmlpl_tail_wins``; and for the pseudo-labels'
        balanced accuracy, when both methods pseudo-label: ``pseudo_label_gap_to_dmlpl_mean``,
        ``pseudo_label_gap_to_dmlpl_sem`` and ``dmlpl_pseudo_label_wins``.

        Where every method of ``ORACLES`` ran (``oracle-logreg`` and ``oracle-rf``),
        one more record follows them, ``method="oracle"``: a copy of the record of the one
        with the higher mean balanced accuracy over the seeds, which ``oracle_of`` names.
        The choice is made once per setting, on the means, never seed by seed on the test
        set (that would pick each seed's luckier model).

    Examples
    --------
    >>> from sk_dmlpl.benchmark import summarise
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": "oracle", "seed": seed, "balanced_accuracy": score}
    ...     for seed, score in [(0, 0.75), (1, 0.25)]
    ... ]
    >>> record = summarise(runs)[0]
    >>> record["n_seeds"], float(record["balanced_accuracy_mean"]), float(record["balanced_accuracy_std"])
    (2, 0.5, 0.25)
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed, "balanced_accuracy": score}
    ...     for method, scores in [("dmlpl", [0.8, 0.7, 0.9]), ("dmlpl-no-finetune", [0.7, 0.8, 0.7])]
    ...     for seed, score in enumerate(scores)
    ... ]
    >>> ablation = summarise(runs)[1]
    >>> round(float(ablation["gap_to_dmlpl_mean"]), 3), round(float(ablation["gap_to_dmlpl_sem"]), 3), ablation["dmlpl_wins"]
    (0.067, 0.088, 2)
    >>> runs = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": 0, "balanced_accuracy": score}
    ...     for method, score in [("oracle-logreg", 0.8), ("oracle-rf", 0.9)]
    ... ]
    >>> [(record["method"], record.get("oracle_of")) for record in summarise(runs)]
    [('oracle-logreg', None), ('oracle-rf', None), ('oracle', 'oracle-rf')]
    """
    groups = {}
    for run in runs:
        groups.setdefault((*_setting_of(run), run["method"]), []).append(run)
    summary = []
    for (*setting, method), group in groups.items():
        record = {**dict(zip(SETTING, setting)), "method": method, "n_seeds": len(group)}
        for key in [key for key in group[0] if key in METRICS or key.startswith("recall_rank_")]:
            values = np.array([run[key] for run in group], dtype=float)
            record[f"{key}_mean"], record[f"{key}_std"] = values.mean(), values.std()
        for key in [key for key in group[0] if key.startswith(RANK_FIELDS)]:
            # The class at a rank is drawn per seed: its distinct values, in seed order.
            record[key] = "/".join(dict.fromkeys(str(run[key]) for run in group))
        full = groups.get((*setting, "dmlpl"))
        if method != "dmlpl" and full:
            for metric, (prefix, _) in PAIRED_GAPS.items():
                if metric in group[0]:
                    record.update(_gap_to_dmlpl(full, group, metric, prefix))
        summary.append(record)
    return _add_oracle(summary)


def _add_oracle(summary):
    """Insert, after each setting's last oracle record, the ``oracle`` record: the better of ``ORACLES``."""
    settings = list(_settings(summary).values())
    result = []
    for records in settings:
        oracles = {record["method"]: record for record in records if record["method"] in ORACLES}
        if len(oracles) < len(ORACLES) or any(record["method"] == "oracle" for record in records):
            result.extend(records)
            continue
        # max keeps the first of equal means: ORACLES' order decides a tie.
        better = max((oracles[name] for name in ORACLES), key=lambda record: record["balanced_accuracy_mean"])
        last = max(index for index, record in enumerate(records) if record["method"] in ORACLES)
        records = [
            *records[: last + 1],
            {**better, "method": "oracle", "oracle_of": better["method"]},
            *records[last + 1 :],
        ]
        result.extend(records)
    return result


def _gap_to_dmlpl(full_runs, other_runs, metric, prefix):
    """``metric`` of ``dmlpl`` minus another method's, paired by seed: mean, standard error, wins.

    Seeds vary far more than the gap between two methods (the split and the network's
    start both change), so the gap is measured seed by seed, on the same split. The
    fields' names start with ``prefix``; there are none when no seed has a finite gap.
    """
    full = {run["seed"]: run[metric] for run in full_runs}
    gaps = np.array([full[run["seed"]] - run[metric] for run in other_runs if run["seed"] in full])
    # A method that does not pseudo-label has no pseudo-label score (NaN): no gap to give.
    gaps = gaps[np.isfinite(gaps)]
    if len(gaps) == 0:
        return {}
    sem = gaps.std(ddof=1) / np.sqrt(len(gaps)) if len(gaps) > 1 else np.nan
    return {
        f"{prefix}gap_to_dmlpl_mean": gaps.mean(),
        f"{prefix}gap_to_dmlpl_sem": sem,
        f"dmlpl_{prefix}wins": int((gaps > 0).sum()),
    }


def best_peer(summary):
    """The peer with the highest mean balanced accuracy in ``summary`` (one setting), or None.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import best_peer
    >>> best_peer([
    ...     {"method": "dmlpl", "balanced_accuracy_mean": 0.8},
    ...     {"method": "self-training", "balanced_accuracy_mean": 0.6},
    ...     {"method": "smote-logreg", "balanced_accuracy_mean": 0.7},
    ... ])
    'smote-logreg'
    """
    peers = [record for record in summary if is_peer(record["method"])]
    return max(peers, key=lambda record: record["balanced_accuracy_mean"])["method"] if peers else None


PAYS_SEEDS = 20
"""Seeds below which :func:`module_verdict` leaves its verdict undecided (DESIGN.md)."""

PAYS_STANDARD_ERRORS = 2
"""How many standard errors below zero one setting may reach before a module does not pay."""


def module_verdict(summary, min_seeds=PAYS_SEEDS):
    """Whether each module of DML-PL pays, by DESIGN.md's rule, from the ablations in ``summary``.

    A module pays when ``dmlpl`` minus the ablation without it (balanced accuracy, paired
    by seed) is positive in the mean over the settings run and not below
    ``-PAYS_STANDARD_ERRORS`` standard errors on any one setting. The rule is decided on
    ``min_seeds`` seeds or more; below that the verdict is given but marked undecided.

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` returns; the ablations are the methods named ``dmlpl-*``
        whose records hold ``gap_to_dmlpl_mean`` (they ran beside ``dmlpl``).
    min_seeds : int, default=PAYS_SEEDS
        Fewest seeds, on every setting, for a decided verdict.

    Returns
    -------
    verdicts : list of dict
        One per ablation, in the order first met: ``method``; ``n_settings``;
        ``mean_gap``, the mean over the settings of the paired gap; ``worst_setting``
        (``(dataset, ratio, unlabeled distribution)``), ``worst_gap``, ``worst_sem`` and
        ``worst_z`` (gap over standard error), for the setting with the lowest ``worst_z``
        (NaN where a setting has a single seed); ``n_seeds``, the fewest seeds of any
        setting; ``pays`` (bool); ``decided``, whether every setting had ``min_seeds``
        seeds or more.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import module_verdict
    >>> summary = [
    ...     {"dataset": "digits", "imbalance_ratio": 50.0, "method": "dmlpl-no-finetune", "n_seeds": 20,
    ...      "gap_to_dmlpl_mean": gap, "gap_to_dmlpl_sem": 0.01, "unlabeled_distribution": distribution}
    ...     for gap, distribution in [(0.03, "consistent"), (-0.01, "reversed")]
    ... ]
    >>> verdict = module_verdict(summary)[0]
    >>> round(verdict["mean_gap"], 3), verdict["worst_setting"], round(verdict["worst_z"], 1), verdict["pays"]
    (0.01, ('digits', 50.0, 'reversed'), -1.0, True)
    """
    by_ablation = {}
    for record in summary:
        if record["method"].startswith("dmlpl-") and "gap_to_dmlpl_mean" in record:
            by_ablation.setdefault(record["method"], []).append(record)
    verdicts = []
    for method, records in by_ablation.items():
        gaps = np.array([record["gap_to_dmlpl_mean"] for record in records], dtype=float)
        sems = np.array([record["gap_to_dmlpl_sem"] for record in records], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            # No spread at all: a zero gap is 0 standard errors, any other infinitely many.
            z = np.where(sems > 0, gaps / sems, np.where(gaps == 0, 0.0, np.sign(gaps) * np.inf))
        z[np.isnan(sems)] = np.nan
        worst = int(np.argmin(gaps)) if np.isnan(z).all() else int(np.nanargmin(z))
        n_seeds = min(record["n_seeds"] for record in records)
        verdicts.append(
            {
                "method": method,
                "n_settings": len(records),
                "mean_gap": float(gaps.mean()),
                "worst_setting": _setting_of(records[worst]),
                "worst_gap": float(gaps[worst]),
                "worst_sem": float(sems[worst]),
                "worst_z": float(z[worst]),
                "n_seeds": n_seeds,
                "pays": bool(gaps.mean() > 0 and not (z < -PAYS_STANDARD_ERRORS).any()),
                "decided": bool(n_seeds >= min_seeds and not np.isnan(z).any()),
            }
        )
    return verdicts


def _setting_of(record):
    """The setting of a run or summary record: ``(dataset, ratio, unlabeled distribution)``."""
    return record["dataset"], record["imbalance_ratio"], record.get("unlabeled_distribution", "consistent")


def _settings(summary):
    """Split ``summary`` into its settings: ``{(dataset, ratio, unlabeled distribution): records}``."""
    settings = {}
    for record in summary:
        settings.setdefault(_setting_of(record), []).append(record)
    return settings


GOAL_POINTS = 3.0
"""Points of balanced accuracy by which DML-PL should lead the best peer (the accuracy goal)."""


def goal_overview(summary):
    """One row per setting: DML-PL, the best peer, the oracle, and whether the goal is met.

    The goal: DML-PL's mean balanced accuracy above the best peer's by at least
    ``GOAL_POINTS`` points, or by half the distance from that peer to the oracle
    where that is less, and its tail-3 recall not below that peer's (both paired by seed).

    Parameters
    ----------
    summary : list of dict
        As :func:`summarise` (or :func:`read_summary`) returns, with ``dmlpl`` and peers.

    Returns
    -------
    rows : list of dict
        Formatted cells by column title, one dict per setting that ran ``dmlpl``: the
        setting (with its ratio when the summary has several), DML-PL's and the best
        peer's mean balanced accuracy, their paired gap and tail-3 recall gap in points
        (mean ± standard error), the oracle's, the goal in points and whether it is met.

    Examples
    --------
    >>> from sk_dmlpl.benchmark import goal_overview
    >>> records = [
    ...     {"dataset": "d", "imbalance_ratio": 50.0, "method": "dmlpl", "n_seeds": 10, "balanced_accuracy_mean": 0.8},
    ...     {"dataset": "d", "imbalance_ratio": 50.0, "method": "balanced-rf", "balanced_accuracy_mean": 0.76,
    ...      "gap_to_dmlpl_mean": 0.04, "gap_to_dmlpl_sem": 0.01, "tail_gap_to_dmlpl_mean": 0.02,
    ...      "tail_gap_to_dmlpl_sem": 0.01},
    ...     {"dataset": "d", "imbalance_ratio": 50.0, "method": "oracle", "balanced_accuracy_mean": 0.9},
    ... ]
    >>> row = goal_overview(records)[0]
    >>> row["gap"], row["goal"], row["met"]
    ('+4.0 ± 1.0', '3.0', 'yes')
    """
    settings = {}
    for record in summary:
        key = (record["dataset"], record["imbalance_ratio"], record.get("unlabeled_distribution", "consistent"))
        settings.setdefault(key, []).append(record)
    several_ratios = len({ratio for _, ratio, _ in settings}) > 1
    rows = []
    for (dataset, ratio, distribution), records in settings.items():
        by_method = {record["method"]: record for record in records}
        if "dmlpl" not in by_method:
            continue
        peer = best_peer(records)
        dmlpl, best = by_method["dmlpl"], by_method[peer]
        oracle = by_method.get("oracle")
        gap = 100 * best["gap_to_dmlpl_mean"]
        tail_gap = 100 * best["tail_gap_to_dmlpl_mean"]
        target = GOAL_POINTS
        if oracle is not None:
            target = min(GOAL_POINTS, 100 * (oracle["balanced_accuracy_mean"] - best["balanced_accuracy_mean"]) / 2)
        row = {"data set": dataset}
        if several_ratios:
            row["ratio"] = f"{float(ratio):g}"
        row.update(
            {
                "unlabeled": distribution,
                "dmlpl": f"{dmlpl['balanced_accuracy_mean']:.3f}",
                "best peer": peer,
                "peer": f"{best['balanced_accuracy_mean']:.3f}",
                "gap": f"{gap:+.1f} ± {100 * best['gap_to_dmlpl_sem']:.1f}",
                "tail-3 gap": f"{tail_gap:+.1f} ± {100 * best['tail_gap_to_dmlpl_sem']:.1f}",
                "oracle": "n/a" if oracle is None else f"{oracle['balanced_accuracy_mean']:.3f}",
                "goal": f"{target:.1f}",
                "met": "yes" if gap >= target and tail_gap >= 0 else "no",
            }
        )
        rows.append(row)
    return rows
