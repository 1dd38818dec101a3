"""
=============================================================
DML-PL beside semi-supervised and imbalanced-learning peers
=============================================================

The protocol of :doc:`the benchmark </benchmark>`, run here on digits with two seeds:
every method gets the same long-tailed split (imbalance ratio 50, 10 % labeled,
features standardised on the training rows) and is scored on the same class-balanced
test set.

* **DML-PL**: :class:`~sk_dmlpl.DMLPLClassifier` with its defaults, on all training
  rows.
* **Semi-supervised peers**, on all training rows:
  :class:`~sklearn.semi_supervised.SelfTrainingClassifier` around a
  :class:`~sklearn.linear_model.LogisticRegression`, and
  :class:`~sklearn.semi_supervised.LabelSpreading` with a k-nearest-neighbors kernel.
* **Imbalanced-learning peers**, on the labeled rows only: SMOTE then
  LogisticRegression, and imbalanced-learn's ``BalancedRandomForestClassifier``.
* **Oracle**: the balanced LogisticRegression given every training row's true label: a
  reference, not a ceiling (the benchmark also runs the balanced forest as an oracle, and
  reports the better of the two).

The functions come from ``sk_dmlpl.benchmark``, so this is the same code as
``python -m sk_dmlpl.benchmark``. Two seeds make a quick picture, not a result: the
spread between seeds is wide at this size, and the benchmark runs five seeds by
default.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from sk_dmlpl.benchmark import format_text, load_dataset, run_one, split, summarise

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)

# %%
# Run every method on every seed
# ------------------------------
# ``split`` draws the long-tailed split of one seed and standardises it; ``run_one``
# fits one method on it and returns its test metrics.

METHODS = {
    "dmlpl": "DML-PL",
    "self-training": "SelfTraining(LogReg)",
    "label-spreading": "LabelSpreading(knn)",
    "smote-logreg": "SMOTE + LogReg",
    "balanced-rf": "BalancedRandomForest",
    "oracle-logreg": "oracle (all labels)",
}
SEEDS = [0, 1]

X, y = load_dataset("digits")
runs = []
for seed in SEEDS:
    data = split(X, y, imbalance_ratio=50, labeled_fraction=0.1, seed=seed)
    for method in METHODS:
        record = run_one(method, data, seed)
        runs.append(
            {
                "dataset": "digits",
                "imbalance_ratio": 50.0,
                "seed": seed,
                "method": method,
                **record,
            }
        )

# %%
# The table
# ---------
# Mean ± standard deviation over the seeds. ``tail-3 recall`` is the mean test recall
# of the three classes with the fewest training rows; ``pseudo-label bal. acc.`` scores
# the labels that the semi-supervised methods gave the unlabeled training rows.

summary = summarise(runs)
print(format_text(summary))

# %%
# The chart
# ---------
# Balanced accuracy (the mean recall over the ten classes) and the recall of the three
# rarest classes, each dot one seed.

by_method = {record["method"]: record for record in summary}
colours = [
    "tab:blue"
    if method == "dmlpl"
    else "lightgray"
    if method.startswith("oracle")
    else "tab:gray"
    for method in METHODS
]
positions = np.arange(len(METHODS))

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
for ax, metric, title in zip(
    axes,
    ["balanced_accuracy", "tail_recall"],
    ["balanced accuracy", "recall of the 3 rarest classes"],
):
    ax.bar(
        positions,
        [by_method[m][f"{metric}_mean"] for m in METHODS],
        color=colours,
        edgecolor="black",
    )
    for position, method in zip(positions, METHODS):
        values = [run[metric] for run in runs if run["method"] == method]
        ax.plot(
            np.full(len(values), position), values, "o", color="black", markersize=4
        )
    ax.set(
        xticks=positions,
        ylim=(0, 1.05),
        title=f"{title} (test set, {len(SEEDS)} seeds)",
    )
    ax.set_xticklabels(METHODS.values(), rotation=35, ha="right")
axes[0].set_ylabel("score")
plt.show()
