"""
=============================================================
A custom torch encoder: a small CNN on the digit images
=============================================================

The default encoder of :class:`~sk_dmlpl.DMLPLClassifier` is a multi-layer perceptron,
blind to the fact that the 64 features of digits are the pixels of an 8x8 image. Any
torch module can take its place through ``module=``. The contract:

* a module **class** is called as ``module(n_features=..., embedding_dim=...,
  **module_params)``, so its constructor accepts those two keyword arguments;
* ``forward`` maps a float32 batch of shape ``(batch, n_features)`` to
  ``(batch, width)``. Other shapes, such as images, are made inside ``forward``;
* nothing else: the estimator projects the output onto the unit sphere and adds the
  linear head itself.

Here a small CNN reshapes each row into an 8x8 image, and is compared with the default
encoder on the same long-tailed split.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)
# sphinx_gallery_thumbnail_number = 2

# %%
# The module
# ----------
# ``channels`` is an argument of our own: it reaches the constructor through
# ``module_params``, and can be set alone with ``set_params(module__channels=...)``.


class SmallCNN(nn.Module):
    """Two 3x3 convolutions on a square image, then a linear layer to the embedding."""

    def __init__(self, n_features, embedding_dim, channels=16):
        super().__init__()
        self.side = round(n_features**0.5)
        if self.side**2 != n_features:
            raise ValueError(
                f"SmallCNN needs square images; got {n_features} features."
            )
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(2 * channels),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
        )
        self.out = nn.Linear(2 * channels * (self.side // 2) ** 2, embedding_dim)

    def forward(self, x):
        images = x.view(
            -1, 1, self.side, self.side
        )  # rows of 64 pixels -> 1-channel 8x8 images
        return self.out(self.features(images).flatten(1))


# %%
# The data
# --------
# The long-tailed split of the other examples. The pixels of digits run from 0 to 16;
# dividing by 16 keeps the images as images (a ``StandardScaler`` would scale each pixel
# on its own). The training copies zero a share of the pixels at random
# (``mask_probability``), which on images blacks out random pixels.

X, y = load_digits(return_X_y=True)
data = make_long_tailed(
    X / 16.0, y, imbalance_ratio=50, labeled_fraction=0.1, random_state=0
)
labeled = data.y_train != -1

# %%
# Fit the CNN and the default encoder
# -----------------------------------

cnn = DMLPLClassifier(
    module=SmallCNN, module_params={"channels": 16}, embedding_dim=32, random_state=0
)
cnn.set_params(
    module__channels=8
)  # one entry of module_params, as a grid search would set it
print("module_params:", cnn.get_params()["module_params"])
cnn.fit(data.X_train, data.y_train)
print(cnn.net_.module_.encoder)

mlp = make_pipeline(StandardScaler(), DMLPLClassifier(random_state=0))
mlp.fit(data.X_train, data.y_train)

for name, model in [("CNN encoder", cnn), ("default MLP encoder", mlp)]:
    y_pred = model.predict(data.X_test)
    print(
        f"{name:20s} test balanced accuracy "
        f"{balanced_accuracy_score(data.y_test, y_pred):.3f}"
    )

# %%
# Recall of each class, head to tail
# ----------------------------------

head_to_tail = np.argsort(-data.class_counts, kind="stable")
positions = np.arange(10)
width = 0.4
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
for offset, (name, model, colour) in zip(
    [-width / 2, width / 2],
    [("CNN encoder", cnn, "tab:purple"), ("default MLP encoder", mlp, "tab:blue")],
):
    recall = recall_score(
        data.y_test, model.predict(data.X_test), labels=head_to_tail, average=None
    )
    ax.bar(positions + offset, recall, width, color=colour, label=name)
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

# %%
# What the CNN makes of the tail
# ------------------------------
# Test images of the three rarest training classes, each titled with the CNN's
# prediction (red when wrong).

tail = head_to_tail[-3:]
fig, axes = plt.subplots(3, 8, figsize=(8, 3.6), layout="constrained")
predictions = cnn.predict(data.X_test)
for row, digit in zip(axes, tail):
    for ax, index in zip(row, np.flatnonzero(data.y_test == digit)[:8]):
        ax.imshow(data.X_test[index].reshape(8, 8), cmap="gray_r")
        ax.set_title(
            str(predictions[index]),
            color="black" if predictions[index] == digit else "tab:red",
            fontsize=10,
        )
        ax.set(xticks=[], yticks=[])
    row[0].set_ylabel(f"digit {digit}\n({data.class_counts[digit]} rows)", fontsize=9)
fig.suptitle("Tail-class test images, titled with the CNN's prediction")
plt.show()
