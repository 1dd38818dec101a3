"""
=============================================================
Pseudo-labels round by round
=============================================================

:class:`~sk_dmlpl.DMLPLClassifier` pseudo-labels the unlabeled rows over ``max_iter``
rounds. Each round takes a share of the rows still unlabeled, ranked by the default
``quota="mixed"``: by the mean of each row's rank among its class's candidates and
among all rows, so that the classes the model is surest of get more rows early, and
the others still some. The last round takes every row left. Two fitted
attributes tell the story:

* ``history_`` has one record per step; those of the pseudo-labeling steps hold
  ``n_pseudo_labels`` and ``mean_reliability``, one entry per class;
* ``labeled_iter_`` gives, for every training row, the round in which it got its label
  (0 for the given labels).

Since :func:`~sk_dmlpl.datasets.make_long_tailed` keeps the true labels of the
unlabeled rows (``y_train_true``), we can also count how many pseudo-labels of each
round were right.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)

X, y = load_digits(return_X_y=True)
data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
unlabeled = data.y_train == -1

model = make_pipeline(StandardScaler(), DMLPLClassifier(max_iter=5, random_state=0))
model.fit(data.X_train, data.y_train)
clf = model[-1]
print(f"{clf.n_iter_} rounds, stopped because: {clf.termination_condition_}")

# %%
# What ``history_`` holds
# -----------------------
# One record per step: the input-space neighbor search and the first
# metric-learning stage (round 0), a pseudo-labeling and a fine-tuning step per
# round, and the final views fitted for ``predict``.

for record in clf.history_:
    if "loss" in record:
        extra = f"loss {record['loss']:.3f}"
    elif "n_pseudo_labels" in record:
        extra = f"{record['n_pseudo_labels'].sum()} pseudo-labels"
    else:
        extra = ""
    round_, step, seconds = record["round"], record["step"], record["seconds"]
    print(f"round {round_}  {step:21s} {seconds:6.2f} s  {extra}")

# %%
# Pseudo-labels per class and round
# ---------------------------------
# The counts come from ``history_`` (the columns of ``n_pseudo_labels`` follow
# ``classes_``); whether each was right, from ``labeled_iter_``, ``transduction_`` and
# the true labels. Classes are sorted from the largest to the smallest; the last column
# gives how many unlabeled rows each class truly has.

steps = [record for record in clf.history_ if record["step"] == "pseudo-labeling"]
rounds = np.array([record["round"] for record in steps])
taken = np.array(
    [record["n_pseudo_labels"] for record in steps]
).T  # (n_classes, n_rounds)


def per_class(rows):
    """Number of the given training rows in each class of their pseudo-label."""
    return np.bincount(
        np.searchsorted(clf.classes_, clf.transduction_[rows]),
        minlength=len(clf.classes_),
    )


right = np.zeros_like(taken)
for j, k in enumerate(rounds):
    in_round = clf.labeled_iter_ == k
    assert np.array_equal(
        per_class(in_round), taken[:, j]
    )  # history_ and labeled_iter_ agree
    right[:, j] = per_class(in_round & (clf.transduction_ == data.y_train_true))

head_to_tail = np.argsort(-data.class_counts, kind="stable")
truly_unlabeled = np.bincount(data.y_train_true[unlabeled], minlength=10)

fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
image = ax.imshow(taken[head_to_tail], cmap="Blues", aspect="auto")
for i, c in enumerate(head_to_tail):
    for j in range(len(rounds)):
        if taken[c, j]:
            colour = "white" if taken[c, j] > taken.max() / 2 else "black"
            ax.text(
                j,
                i,
                f"{right[c, j]}/{taken[c, j]}",
                ha="center",
                va="center",
                fontsize=9,
                color=colour,
            )
ax.set(
    xticks=range(len(rounds)),
    xticklabels=[f"round {k}" for k in rounds],
    yticks=range(10),
    yticklabels=[
        f"digit {c}: {truly_unlabeled[c]} unlabeled" for c in clf.classes_[head_to_tail]
    ],
    title="Pseudo-labels given to each class (right / taken)",
)
fig.colorbar(image, ax=ax, label="pseudo-labels taken")

# %%
# Right and wrong pseudo-labels per round
# ---------------------------------------
# Bars count the pseudo-labels of each round, split into right and wrong; the line is
# their mean reliability (the winning probability), averaged over the round's rows.

n_taken = taken.sum(axis=0)
n_right = right.sum(axis=0)
reliability = [
    np.average(record["mean_reliability"], weights=record["n_pseudo_labels"])
    for record in steps
]

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.bar(rounds, n_right, color="tab:green", label="right")
ax.bar(rounds, n_taken - n_right, bottom=n_right, color="tab:red", label="wrong")
ax.set(xlabel="round", ylabel="pseudo-labels", xticks=rounds)
ax2 = ax.twinx()
ax2.plot(rounds, reliability, "ko-", label="mean reliability")
ax2.set(ylabel="mean reliability", ylim=(0, 1.05))
fig.legend(loc="outside upper center", ncol=3)

# %%
# Over all rounds: how many pseudo-labels each class received, beside how many of its
# rows were truly unlabeled. A bar above its marker means the class was over-predicted,
# below it under-predicted.

positions = np.arange(10)
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.bar(
    positions,
    taken.sum(axis=1)[head_to_tail],
    color="tab:blue",
    label="pseudo-labels received",
)
ax.plot(
    positions,
    truly_unlabeled[head_to_tail],
    "k_",
    markersize=22,
    mew=2.5,
    label="unlabeled rows of the class",
)
ax.set(
    xticks=positions,
    xticklabels=[str(c) for c in clf.classes_[head_to_tail]],
    xlabel="digit, from the largest class to the smallest",
    ylabel="rows",
    title="Pseudo-labels per class, all rounds",
)
ax.legend()
plt.show()
