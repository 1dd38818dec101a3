"""
=============================================================
Grid search on semi-labeled data
=============================================================

:class:`~sklearn.model_selection.GridSearchCV` scores every validation fold on the
``y`` it is given. With a semi-labeled ``y`` a scorer such as ``"balanced_accuracy"``
would count ``-1`` as a class that no model predicts;
:func:`~sk_dmlpl.metrics.labeled_scorer` scores only the rows whose label is not ``-1``,
so the search runs on the same ``y`` that ``fit`` takes.

The search here varies one parameter of the network (``hidden_units``) and one of the
pseudo-labeling (``quota``) of a ``Pipeline(StandardScaler, DMLPLClassifier)``. To keep
it quick, the training is short (``max_epochs=10``, three rounds of three fine-tuning
epochs); for a real search keep the defaults or search over them too.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl.datasets import make_long_tailed
from sk_dmlpl.metrics import labeled_scorer

# Small networks: one torch thread is enough, and steadier on a busy machine.
torch.set_num_threads(1)

# %%
# Semi-labeled data with enough labels to validate on
# ---------------------------------------------------
# Every validation fold needs some labeled rows of every class, so this split is milder
# than the other examples': an imbalance ratio of 10 and 20 % of each class labeled.

X, y = load_digits(return_X_y=True)
data = make_long_tailed(X, y, imbalance_ratio=10, labeled_fraction=0.2, random_state=0)
labeled = data.y_train != -1
print(f"{len(data.y_train)} training rows, {labeled.sum()} labeled")
print("labeled rows per class:", np.bincount(data.y_train[labeled].astype(int)))

# %%
# The search
# ----------
# :class:`~sklearn.model_selection.StratifiedKFold` sees ``-1`` as one more class, so
# each fold gets its share of the unlabeled rows as well as of every labeled class.
# Each validation fold is scored on its labeled rows only.

pipeline = make_pipeline(
    StandardScaler(),
    DMLPLClassifier(max_epochs=10, fine_tune_epochs=3, max_iter=3, random_state=0),
)
param_grid = {
    "dmlplclassifier__hidden_units": [(64,), (256, 256)],
    "dmlplclassifier__quota": ["mixed", "per_class"],
}
search = GridSearchCV(
    pipeline,
    param_grid,
    scoring=labeled_scorer("balanced_accuracy"),
    cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
)
search.fit(data.X_train, data.y_train)

results = search.cv_results_
print("hidden_units  quota       balanced accuracy (mean ± std over folds)")
for params, mean, std in zip(
    results["params"], results["mean_test_score"], results["std_test_score"]
):
    hidden_units = str(params["dmlplclassifier__hidden_units"])
    quota = params["dmlplclassifier__quota"]
    print(f"{hidden_units:13s} {quota:11s} {mean:.3f} ± {std:.3f}")
print("best:", search.best_params_)

# %%
# The scores
# ----------
# Mean balanced accuracy over the three validation folds, each dot one fold. With few
# labeled rows per fold, the folds disagree: compare the spread with the differences
# between settings before choosing.

n_splits = search.n_splits_
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
width = 0.38
for offset, quota, colour in [
    (-width / 2, "mixed", "tab:blue"),
    (width / 2, "per_class", "tab:orange"),
]:
    for i, hidden_units in enumerate(param_grid["dmlplclassifier__hidden_units"]):
        index = next(
            j
            for j, params in enumerate(results["params"])
            if params["dmlplclassifier__quota"] == quota
            and params["dmlplclassifier__hidden_units"] == hidden_units
        )
        folds = [results[f"split{k}_test_score"][index] for k in range(n_splits)]
        ax.bar(
            i + offset,
            results["mean_test_score"][index],
            width,
            color=colour,
            label=f'quota="{quota}"' if i == 0 else None,
        )
        ax.plot(np.full(n_splits, i + offset), folds, "o", color="black", markersize=4)
ax.set(
    xticks=range(len(param_grid["dmlplclassifier__hidden_units"])),
    xticklabels=[
        f"hidden_units={h}" for h in param_grid["dmlplclassifier__hidden_units"]
    ],
    ylim=(0, 1.05),
    ylabel="balanced accuracy, labeled validation rows",
    title="GridSearchCV with labeled_scorer('balanced_accuracy')",
)
ax.legend(loc="lower right")

# %%
# The refitted best model on the balanced test set
# ------------------------------------------------
# ``GridSearchCV`` refits the best setting on all training rows; the test set, held out
# from the search, gives an unbiased look at it.

test_score = balanced_accuracy_score(data.y_test, search.predict(data.X_test))
print(f"test balanced accuracy of the best setting: {test_score:.3f}")
plt.show()
