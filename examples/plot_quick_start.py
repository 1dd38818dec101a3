"""
=========================================
Quick start: DML-PL on long-tailed digits
=========================================

scikit-learn's digits, made long-tailed and mostly unlabeled: the largest class keeps
50 times the training rows of the smallest, and only 10 % of each class keeps its
label. :class:`~sk_dmlpl.DMLPLClassifier` learns from all training rows, ``-1``
marking the unlabeled ones; a class-weighted
:class:`~sklearn.linear_model.LogisticRegression` learns from the labeled rows alone.
Both are scored on a class-balanced test set, class by class, from the head of the
tail to its end.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)
# sphinx_gallery_thumbnail_number = 2

# %%
# A long-tailed, partly labeled training set
# ------------------------------------------
# :func:`~sk_dmlpl.datasets.make_long_tailed` keeps a class-balanced test set aside,
# then thins the training classes into a long tail (the order of the classes drawn at
# random) and marks 90 % of each class's training rows ``-1``.

X, y = load_digits(return_X_y=True)
data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
labeled = data.y_train != -1
head_to_tail = np.argsort(-data.class_counts, kind="stable")  # classes, largest first
n_labeled = np.bincount(data.y_train_true[labeled], minlength=10)

print(f"{len(data.y_train)} training rows, {labeled.sum()} of them labeled")
print(f"{len(data.y_test)} test rows, {len(data.y_test) // 10} per class")
print("training rows per class, head to tail:", data.class_counts[head_to_tail])
print("labeled rows per class, head to tail: ", n_labeled[head_to_tail])

positions = np.arange(10)
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
ax.bar(
    positions,
    data.class_counts[head_to_tail],
    color="lightgray",
    label="unlabeled (y = -1)",
)
ax.bar(positions, n_labeled[head_to_tail], color="black", label="labeled")
ax.set(
    xticks=positions,
    xticklabels=head_to_tail,
    xlabel="digit, from the largest class to the smallest",
    ylabel="training rows",
    title="The training set: a long tail, 10 % labeled",
)
ax.legend()

# %%
# Fit DML-PL and the labeled-only baseline
# ----------------------------------------
# DML-PL takes the whole training set; ``verbose=1`` prints the pseudo-labels each round
# gives every class. The baseline sees only the labeled rows.

dmlpl = make_pipeline(StandardScaler(), DMLPLClassifier(random_state=0, verbose=1))
dmlpl.fit(data.X_train, data.y_train)

baseline = make_pipeline(
    StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000)
)
baseline.fit(data.X_train[labeled], data.y_train[labeled])

y_dmlpl = dmlpl.predict(data.X_test)
y_baseline = baseline.predict(data.X_test)
print("balanced accuracy on the test set:")
for name, y_pred in [("DMLPLClassifier", y_dmlpl), ("LogisticRegression", y_baseline)]:
    print(f"  {name:20s} {balanced_accuracy_score(data.y_test, y_pred):.3f}")

# %%
# The pseudo-labels DML-PL gave the unlabeled training rows are in ``transduction_``;
# their true labels are known here, so we can check them.

pseudo_labels = dmlpl[-1].transduction_[~labeled]
score = balanced_accuracy_score(data.y_train_true[~labeled], pseudo_labels)
print(f"balanced accuracy of the pseudo-labels: {score:.3f}")

# %%
# Recall of each class, from head to tail
# ---------------------------------------
# Balanced accuracy is the mean of these bars. The classes on the right have only a
# few labeled training rows (printed above).

recall_dmlpl = recall_score(data.y_test, y_dmlpl, labels=head_to_tail, average=None)
recall_baseline = recall_score(
    data.y_test, y_baseline, labels=head_to_tail, average=None
)

width = 0.4
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.bar(
    positions - width / 2,
    recall_dmlpl,
    width,
    label="DMLPLClassifier (all rows)",
    color="tab:blue",
)
ax.bar(
    positions + width / 2,
    recall_baseline,
    width,
    label="LogisticRegression (labeled rows)",
    color="tab:gray",
)
ax.set(
    xticks=positions,
    xticklabels=[
        f"{digit}\n({count})"
        for digit, count in zip(head_to_tail, data.class_counts[head_to_tail])
    ],
    xlabel="digit (training rows), from the largest class to the smallest",
    ylim=(0, 1.22),
    yticks=np.linspace(0, 1, 6),
    ylabel="recall on the balanced test set",
    title="Per-class recall, head (left) to tail (right)",
)
ax.legend(loc="upper center", ncol=2)
plt.show()
