"""
=============================================================
The learned embedding, with and without fine-tuning
=============================================================

:class:`~sk_dmlpl.DMLPLClassifier` learns an embedding in which rows of a class gather,
and pseudo-labels each unlabeled row from the labeled rows near it there. After every
round of pseudo-labels the network is fine-tuned on them, so that the next round works
in an embedding trained on more labels. Whether that helps depends on how right those
labels are, which is what this example lets you see.

Here two models are fitted on the same long-tailed digits with the same seed: one with
``fine_tune_epochs=0`` (every round pseudo-labels in the embedding of the first
metric-learning stage), one with the default fine-tuning. For each, ``transform`` gives
the 64-dimensional embedding of the training rows, drawn in 2-D by
:class:`~sklearn.manifold.TSNE`: the given labels, the right pseudo-labels and the wrong
ones.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)

X, y = load_digits(return_X_y=True)
data = make_long_tailed(X, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0)
labeled = data.y_train != -1

# %%
# Fit without and with fine-tuning
# --------------------------------
# Same split, same seed, same first stage: only ``fine_tune_epochs`` differs.

models = {}
for name, fine_tune_epochs in [("no fine-tuning", 0), ("fine-tuning (default)", 10)]:
    model = make_pipeline(
        StandardScaler(),
        DMLPLClassifier(fine_tune_epochs=fine_tune_epochs, random_state=0),
    )
    models[name] = model.fit(data.X_train, data.y_train)
    truth, pseudo_labels = (
        data.y_train_true[~labeled],
        model[-1].transduction_[~labeled],
    )
    test_score = balanced_accuracy_score(data.y_test, model.predict(data.X_test))
    print(
        f"{name}: pseudo-labels {np.mean(pseudo_labels == truth):.3f} right "
        f"(balanced accuracy {balanced_accuracy_score(truth, pseudo_labels):.3f}); "
        f"test balanced accuracy {test_score:.3f}"
    )

# %%
# The embedding in 2-D
# --------------------
# Colour is the **true** class of each training row. Large outlined dots are the
# labeled rows; small dots are the pseudo-labeled rows; a black cross marks a row whose
# pseudo-label is wrong, over a dot in the colour of its true class. Each panel shows
# its model's final embedding.

cmap = plt.get_cmap("tab10")
colours = cmap(data.y_train_true)
fig, axes = plt.subplots(1, 2, figsize=(11, 5.8), layout="constrained")
for ax, (name, model) in zip(axes, models.items()):
    embedding = model.transform(data.X_train)
    points = TSNE(
        n_components=2, perplexity=30, init="pca", random_state=0
    ).fit_transform(embedding)
    wrong = ~labeled & (model[-1].transduction_ != data.y_train_true)
    ax.scatter(*points[~labeled].T, c=colours[~labeled], s=14, alpha=0.8)
    ax.scatter(*points[wrong].T, c="black", marker="x", s=36, linewidths=1.3)
    ax.scatter(
        *points[labeled].T,
        c=colours[labeled],
        s=110,
        edgecolors="black",
        linewidths=1.3,
    )
    ax.set(title=f"{name}: {wrong.sum()} wrong pseudo-labels", xticks=[], yticks=[])

head_to_tail = np.argsort(-data.class_counts, kind="stable")


def legend_entry(label, **style):
    return Line2D([], [], linestyle="", label=label, **style)


handles = [
    legend_entry(
        f"{digit} ({data.class_counts[digit]} rows)", marker="o", color=cmap(digit)
    )
    for digit in head_to_tail
]
handles += [
    legend_entry("labeled row", marker="o", ms=10, mfc="white", mec="black"),
    legend_entry("pseudo-labeled row", marker="o", ms=4, color="gray"),
    legend_entry("wrong pseudo-label", marker="x", color="black"),
]
fig.legend(
    handles=handles,
    loc="outside lower center",
    ncol=7,
    fontsize=9,
    title="true class, head to tail",
)
fig.suptitle("t-SNE of the learned embedding of the training rows")
plt.show()

# %%
# How many rows of each class got a wrong pseudo-label, from the largest class to the
# smallest:

print("digit (head to tail):       ", " ".join(f"{digit:3d}" for digit in head_to_tail))
for name, model in models.items():
    wrong = ~labeled & (model[-1].transduction_ != data.y_train_true)
    counts = np.bincount(data.y_train_true[wrong], minlength=10)[head_to_tail]
    print(f"{name:28s}", " ".join(f"{count:3d}" for count in counts))
