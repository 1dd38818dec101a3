"""DMLPLClassifier: deep metric learning based pseudo-labeling."""

import copy
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import parallel_config
from scipy import sparse
from scipy.special import softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data
from skorch.callbacks import ProgressBar
from torch import nn

from ._doc_link import DOC_LINK_TEMPLATE
from ._network import (
    METRIC_LOSSES,
    MetricLoss,
    MetricModule,
    MetricNet,
    MLPEncoder,
    PairDataset,
    cuda_devices,
    fused_adam,
)
from ._neighbors import nearest_neighbors
from .metrics import labeled_rows
from ._persistence import fitted_state, load_estimator, save_estimator
from ._pseudo_labeling import (
    MAX_ROWS_PER_CLASS,
    centre_probabilities,
    class_centres,
    linear_probabilities,
    neighbour_probabilities,
    per_class_sample,
    select_pseudo_labels,
)

_SEED_MAX = np.iinfo(np.int32).max

# torch's random generator is one per process, and fork_rng saves and restores it: two fits
# in threads of one process (joblib's threading backend, a dask worker) would draw from,
# and restore, each other's stream. Fits in one process take turns with it.
_TORCH_RNG_LOCK = threading.RLock()

# Sparse X is densified up to this many cells (40 MB as float32); a larger one is refused
# rather than silently allocating memory its caller did not expect.
MAX_DENSIFIED_CELLS = 10_000_000


class DMLPLClassifier(ClassNamePrefixFeaturesOutMixin, ClassifierMixin, TransformerMixin, BaseEstimator):
    """Deep metric learning based pseudo-labeling for class-imbalanced semi-supervised data.

    Rows labeled ``-1`` are unlabeled, as in
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier`. ``fit`` runs the three
    modules of DML-PL (Yan, Hui & Li, 2023):

    1. **Deep metric learning**: a torch encoder, trained by skorch, maps rows onto the
       unit sphere so that rows of a class gather. Batches are class-balanced; each
       unlabeled row is pulled towards one of its input-space neighbours, so unlabeled
       rows shape the embedding too. A linear head is trained on the same embedding.
    2. **Pseudo-labeling**: each class's labeled embeddings are clustered into a few
       sub-centres; every unlabeled row is scored against them, against the votes of its
       nearest labeled rows and by the head. Each class then takes the same share of
       its most reliable candidates, so head classes cannot crowd out the tail.
    3. **Fine-tuning**: the network keeps training, warm-started, on the labeled and
       pseudo-labeled rows, so that the next round's pseudo-labels improve.

    Rounds 2-3 repeat ``max_iter`` times; round ``k`` takes ``1 / (max_iter - k + 1)`` of
    the candidates left, so the last round labels every remaining row. A class-balanced
    logistic regression on the input features, refitted on the labeled and pseudo-labeled
    rows, adds a linear view (weight ``linear_weight``) to each round's scores and to
    ``predict``, which otherwise blends the nearest-sub-centre and head probabilities in
    the learned embedding. ``predict`` then divides each class's probability by the
    class's share of the training labels raised to ``logit_adjustment``, so that the
    head classes do not win more than their due. The sub-centres, the neighbour vote and
    the linear view use at most 1,000 rows of each class, drawn at random from larger
    classes, so that their cost stays flat however many rows are labeled. ``transform``
    returns the embedding itself.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The encoder. ``None`` uses :class:`MLPEncoder` with ``hidden_units`` and
        ``dropout``. A class is called as ``module(n_features=..., embedding_dim=...,
        **module_params)``; an instance is copied and used as it is, its output width
        being the embedding width. Either way it must map a float32 batch of shape
        ``(batch, n_features)`` to ``(batch, width)``.
    hidden_units : tuple of int, default=(256, 256)
        Hidden layer widths of the default encoder.
    embedding_dim : int, default=64
        Width of the embedding (for the default encoder or a module class).
    dropout : float, default=0.0
        Dropout probability of the default encoder.
    metric_loss : {"supcon", "multisimilarity", "triplet"} or callable, default="supcon"
        Metric loss by name: the supervised contrastive loss (the same loss as
        pytorch-metric-learning's ``SupConLoss``), or pytorch-metric-learning's
        ``MultiSimilarityLoss`` or ``TripletMarginLoss``; or any callable
        ``loss(embeddings, labels)`` that follows that library's convention, such as
        another of its losses.
    temperature : float, default=0.1
        Temperature of the metric loss, the head's logits and the class probabilities.
    head_weight : float, default=1.0
        Weight of the head's cross-entropy beside the metric loss; 0 leaves the head
        untrained and out of the pseudo-label scores and ``predict_proba``.
    linear_weight : float in [0, 1], default=0.35
        Weight of a class-balanced logistic regression on the input features, refitted
        on the labeled and pseudo-labeled rows, beside the embedding's views: in each
        round's pseudo-label scores and in ``predict_proba``. A linear view in input space
        is less prone than the network to memorise two rows of a tail class; 0 turns it off.
        It helps most on data with many features and costs on data with few, where the
        classes are not linearly separable: the default sits between (see the benchmark
        page's section on ``linear_weight``).
    logit_adjustment : float >= 0, default=0.3
        How far ``predict_proba`` corrects for the imbalance of the training labels: it
        divides each class's probability by that class's share of the labeled and
        pseudo-labeled rows (``class_prior_``) raised to this power, then renormalises
        (the logit adjustment of [2]_). Even with class-balanced training,
        the head classes win more than their share of balanced data; this moves
        predictions back towards the tail. 0 leaves the probabilities as the views give
        them; 1 corrects in full, as if the views had learned the training prior, which
        over-corrects here. Read at predict time only: the pseudo-labels do not use it,
        and ``set_params`` changes a fitted model's predictions without a refit.
    mask_probability : float, default=0.4
        Share of features zeroed at random in each training view.
    max_epochs : int, default=30
        Epochs of the first metric-learning stage.
    lr : float, default=1e-3
        Adam learning rate of the first stage.
    fine_tune_epochs : int, default=10
        Epochs of fine-tuning after each round; 0 turns fine-tuning off.
    fine_tune_lr : float, default=3e-4
        Learning rate of fine-tuning.
    weight_decay : float, default=1e-4
        Adam weight decay.
    batch_size : int, default=128
        Rows per training batch (each row brings a second view). An epoch draws half as
        many rows as ``X`` has, so that it embeds as many views as ``X`` has rows.
    n_neighbors : int, default=10
        Neighbours used for the unlabeled term (in input space) and for the
        pseudo-labels' neighbour vote (in the embedding).
    n_subclusters : int, default=3
        Sub-centres per class.
    max_iter : int, default=3
        Pseudo-labeling rounds. More rounds take smaller batches of pseudo-labels, each
        chosen in a network fine-tuned on more of them, but also fine-tune the network
        more often on its own mistakes and cost more. On the benchmark, 3 scored above 2
        and 8 in mean at ratio 50, and above 5 in seven of nine settings, within a
        standard error in the other two (see the benchmark page's section on ``max_iter``).
    quota : {"per_class", "global"}, default="per_class"
        ``"per_class"`` takes the same share of each class's candidates each round;
        ``"global"`` takes the most reliable rows whatever their class.
    fine_tune_head : {"given", "all"}, default="given"
        Labels the head learns from during fine-tuning. ``"given"`` keeps it on the given
        labels, so that it cannot memorise wrong pseudo-labels (the metric loss still
        uses them); ``"all"`` adds the pseudo-labels.
    device : str, default="auto"
        Torch device; ``"auto"`` picks ``"cuda"`` when available, else ``"cpu"``. Asking
        for CUDA on a machine without it raises a ``ValueError``.
    random_state : int, RandomState instance or None, default=None
        Seeds every random choice: weights, batches, views, k-means. The same seed gives
        the same model on CPU. The caller's global torch seed is left as it was.
    verbose : int, default=0
        1 prints a line per round; 2 adds skorch's progress bar.
    module_params : dict, default=None
        Keyword arguments of the module class (or of :class:`MLPEncoder`). One entry can
        be set alone as ``set_params(module__<name>=value)``, as in skorch, which is what
        a grid search over a network argument uses.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    transduction_ : ndarray of shape (n_samples,)
        The label of every training row: given or pseudo.
    labeled_iter_ : ndarray of shape (n_samples,)
        The round in which each row got its label: 0 for given labels, ``k`` for
        pseudo-labels of round ``k``, -1 for rows left unlabeled.
    n_iter_ : int
        Rounds run.
    termination_condition_ : {"all_labeled", "max_iter"}
        Why fitting stopped.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` has string column names.
    net_ : MetricNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    centres_ : ndarray of shape (n_centres, embedding_dim)
        The class sub-centres used by ``predict``.
    centre_labels_ : ndarray of shape (n_centres,)
        The encoded class of each sub-centre.
    class_prior_ : ndarray of shape (n_classes,)
        Share of each class among the labeled and pseudo-labeled training rows, which
        ``predict_proba`` divides by (see ``logit_adjustment``).
    linear_ : LogisticRegression or None
        The linear view fitted on the labeled and pseudo-labeled rows; ``None`` when
        ``linear_weight=0``.
    history_ : list of dict
        One record per step: ``round``, ``step``, ``seconds``, ``loss``, and for
        pseudo-labeling rounds ``n_pseudo_labels`` and ``mean_reliability`` per class.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Self-training around any classifier.
    sklearn.semi_supervised.LabelSpreading : Graph-based label propagation.

    References
    ----------
    .. [1] Yan, Hui and Li, "Deep metric learning based pseudo-labeling for
       class-imbalanced semi-supervised learning", Information Sciences 626 (2023),
       641-657, doi:10.1016/j.ins.2023.01.074.
    .. [2] Menon, Jayasumana, Rawat, Jain, Veit and Kumar, "Long-tail learning via logit
       adjustment", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sk_dmlpl import DMLPLClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> rng = np.random.RandomState(0)
    >>> y_semi = np.where(rng.rand(len(y)) < 0.8, -1, y)
    >>> clf = DMLPLClassifier(max_epochs=10, random_state=0).fit(X, y_semi)
    >>> clf.transduction_.shape, clf.transform(X).shape
    ((150,), (150, 64))
    >>> bool((clf.transduction_ != -1).all())
    True
    """

    # The "?" of the HTML representation links to this page of the API reference (_doc_link.py).
    _doc_link_module = "sk_dmlpl"
    _doc_link_template = DOC_LINK_TEMPLATE

    _parameter_constraints: dict = {
        "module": [None, type, nn.Module],
        "hidden_units": [tuple, list],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "metric_loss": [StrOptions(set(METRIC_LOSSES)), callable],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "head_weight": [Interval(Real, 0, None, closed="left")],
        "linear_weight": [Interval(Real, 0, 1, closed="both")],
        "logit_adjustment": [Interval(Real, 0, None, closed="left")],
        "mask_probability": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_subclusters": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "quota": [StrOptions({"per_class", "global"})],
        "fine_tune_head": [StrOptions({"given", "all"})],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "module_params": [None, dict],
    }

    def __init__(
        self,
        module=None,
        hidden_units=(256, 256),
        embedding_dim=64,
        dropout=0.0,
        metric_loss="supcon",
        temperature=0.1,
        head_weight=1.0,
        linear_weight=0.35,
        logit_adjustment=0.3,
        mask_probability=0.4,
        max_epochs=30,
        lr=1e-3,
        fine_tune_epochs=10,
        fine_tune_lr=3e-4,
        weight_decay=1e-4,
        batch_size=128,
        n_neighbors=10,
        n_subclusters=3,
        max_iter=3,
        quota="per_class",
        fine_tune_head="given",
        device="auto",
        random_state=None,
        verbose=0,
        module_params=None,
    ):
        self.module = module
        self.hidden_units = hidden_units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.metric_loss = metric_loss
        self.temperature = temperature
        self.head_weight = head_weight
        self.linear_weight = linear_weight
        self.logit_adjustment = logit_adjustment
        self.mask_probability = mask_probability
        self.max_epochs = max_epochs
        self.lr = lr
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_lr = fine_tune_lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.n_neighbors = n_neighbors
        self.n_subclusters = n_subclusters
        self.max_iter = max_iter
        self.quota = quota
        self.fine_tune_head = fine_tune_head
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.module_params = module_params

    def set_params(self, **params):
        """Set parameters; ``module__<name>=value`` sets one entry of ``module_params``.

        The ``module__`` prefix follows skorch, so a grid search can vary one argument of a
        custom module: ``param_grid={"module__channels": [8, 16]}``.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : DMLPLClassifier
            This estimator.
        """
        prefix = "module__"
        nested = {name.removeprefix(prefix): params.pop(name) for name in list(params) if name.startswith(prefix)}
        if nested:
            self.module_params = {**(self.module_params or {}), **nested}
        return super().set_params(**params)

    # -- fit: the three modules of DML-PL --

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the metric network and pseudo-label every unlabeled row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows; NaN and infinity are refused. A sparse matrix is densified,
            with a warning, when it has at most 10,000,000 cells, and refused otherwise.
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for unlabeled rows. String classes need ``dtype=object``
            so that ``-1`` can stand beside them.

        Returns
        -------
        self : DMLPLClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            On bad ``X`` or ``y`` (NaN, no labeled row, a single class, ...), or when
            ``device`` asks for CUDA on a machine without it.
        TypeError
            When ``X`` is sparse and too large to densify.

        Notes
        -----
        ``fit`` is all or nothing. When it raises, or is interrupted (``KeyboardInterrupt``,
        as Ctrl-C sends, also in the middle of a training epoch), the estimator is left as
        it was before the call: unfitted, or still holding its previous fit. Nothing from
        the rounds completed before the interruption is kept, and the exception is raised
        again.
        """
        previous = fitted_state(self)
        try:
            # The scikit-learn estimators inside fit run in this thread. Under a grid search's
            # dask backend they would otherwise send their joblib calls to the cluster, and the
            # worker would start another fit in this process while this one waits.
            with parallel_config(backend="sequential"):
                return self._fit(X, y)
        except BaseException:
            for name in fitted_state(self):
                delattr(self, name)
            for name, value in previous.items():
                setattr(self, name, value)
            raise

    def _fit(self, X, y):
        X, labels = self._validate_training_data(X, y)
        rng = check_random_state(self.random_state)
        device = self._resolve_device()
        self.labeled_iter_ = np.where(labels >= 0, 0, -1)
        self.n_iter_ = 0
        self.history_ = []

        with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=cuda_devices(device)):
            torch.manual_seed(int(rng.randint(_SEED_MAX)))
            neighbours = None
            if (labels < 0).any():
                _, neighbours = nearest_neighbors(X, n_neighbors=self.n_neighbors, random_state=rng.randint(_SEED_MAX))
            self.net_ = self._build_net(X.shape[1], len(self.classes_), device)

            # 1. Deep metric learning on labeled rows, unlabeled rows through their neighbours.
            self._learn_metric(X, labels, neighbours, self.max_epochs, self.lr, rng, step="metric learning")

            while (labels < 0).any() and self.n_iter_ < self.max_iter:
                self.n_iter_ += 1
                # 2. Pseudo-labeling: each class takes its share of its most reliable rows.
                started = time.perf_counter()
                unlabeled = np.flatnonzero(labels < 0)
                proba = self._pseudo_label_proba(X, labels, unlabeled, rng)
                fraction = 1.0 / (self.max_iter - self.n_iter_ + 1)
                selected, pseudo_labels, reliability = select_pseudo_labels(proba, fraction, self.quota)
                labels[unlabeled[selected]] = pseudo_labels
                self.labeled_iter_[unlabeled[selected]] = self.n_iter_
                self._record_pseudo_labels(pseudo_labels, reliability, time.perf_counter() - started)

                # 3. Fine-tuning on labeled and pseudo-labeled rows, warm-started.
                if self.fine_tune_epochs > 0:
                    head_labels = np.where(self.labeled_iter_ == 0, labels, -1) if self.fine_tune_head == "given" else labels
                    self._learn_metric(
                        X, labels, neighbours, self.fine_tune_epochs, self.fine_tune_lr, rng, "fine-tuning", head_labels
                    )

        has_label = labels >= 0
        self.termination_condition_ = "all_labeled" if has_label.all() else "max_iter"
        self.transduction_ = np.full(len(labels), -1, dtype=self.classes_.dtype)
        self.transduction_[has_label] = self.classes_[labels[has_label]]
        embedding, _ = self.net_.embed(X)
        _, self.centres_, self.centre_labels_, self.linear_ = self._fit_class_views(embedding, X, labels, rng)
        self._n_features_out = embedding.shape[1]
        self.class_prior_ = _class_prior(labels, len(self.classes_))
        return self

    def _fit_class_views(self, embedding, X, labels, rng):
        """Sub-centres and linear view, from at most ``MAX_ROWS_PER_CLASS`` labeled rows of each class.

        Returns ``(rows, centres, centre_labels, linear)``: the positions of the rows used,
        which the neighbour vote searches too, and the fitted views.
        """
        sample_rng = _child_rng(rng)
        rows = per_class_sample(labels, MAX_ROWS_PER_CLASS, sample_rng)
        centres, centre_labels = class_centres(
            embedding[rows], labels[rows], len(self.classes_), self.n_subclusters, sample_rng
        )
        return rows, centres, centre_labels, self._fit_linear(X[rows], labels[rows])

    def _fit_linear(self, X, labels):
        """Class-balanced logistic regression on input features: the linear view (None at weight 0)."""
        if self.linear_weight == 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            return LogisticRegression(max_iter=2000, class_weight="balanced").fit(X, labels)

    def _validate_training_data(self, X, y):
        """Check ``X`` and ``y``; set ``classes_``; return ``X`` and the encoded labels (-1 unlabeled)."""
        X, y = validate_data(self, _densify(X), y, dtype=np.float32, ensure_min_samples=2)
        if y.dtype.kind in "US":
            raise ValueError(
                "y has a string dtype, where -1 cannot mark unlabeled rows; "
                "pass string classes with dtype=object and -1 for unlabeled rows."
            )
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise ValueError("y contains NaN; mark unlabeled rows with -1.")
        has_label = y != -1
        if not has_label.any():
            raise ValueError("y has no labeled sample: every entry is -1.")
        if has_label.all():
            warnings.warn("y contains no unlabeled samples", UserWarning)
        check_classification_targets(y[has_label])
        self.classes_, encoded = np.unique(y[has_label], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The labeled rows hold a single class ({self.classes_[0]!r}); "
                "DMLPLClassifier needs at least 2 classes."
            )
        counts = np.bincount(encoded)
        if (counts == 1).any():
            single = self.classes_[counts == 1].tolist()
            warnings.warn(
                f"Classes {single} have a single labeled sample; their metric is learned from "
                "augmented views of that one row.",
                UserWarning,
            )
        labels = np.full(len(y), -1)
        labels[has_label] = encoded
        return X, labels

    def _resolve_device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(self.device)
        except RuntimeError as error:
            raise ValueError(f"device={self.device!r} is not a torch device: {error}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was asked for, but torch.cuda.is_available() is False; "
                "use device='auto' or 'cpu'."
            )
        return str(device)

    def _build_net(self, n_features, n_classes, device):
        encoder = self._build_encoder(n_features)
        embedding_dim = _output_width(encoder, n_features)
        if isinstance(self.metric_loss, str):
            metric_loss = METRIC_LOSSES[self.metric_loss](self.temperature)
        else:
            metric_loss = self.metric_loss
        net = MetricNet(
            MetricModule(encoder, embedding_dim, n_classes, self.temperature),
            MetricLoss(metric_loss, n_classes, self.head_weight),
            mask_probability=self.mask_probability,
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            optimizer__fused=fused_adam(device),
            lr=self.lr,
            batch_size=self.batch_size,
            train_split=None,
            device=device,
            callbacks=[ProgressBar()] if self.verbose >= 2 else None,
            verbose=0,
        )
        return net.initialize()

    def _build_encoder(self, n_features):
        module_params = self.module_params or {}
        if self.module is None:
            repeated = {"hidden_units", "dropout"} & set(module_params)
            if repeated:
                raise ValueError(f"Set {sorted(repeated)} as parameters of DMLPLClassifier, not in module_params.")
            if not all(isinstance(units, Integral) and units > 0 for units in self.hidden_units):
                raise InvalidParameterError(
                    f"The 'hidden_units' parameter of DMLPLClassifier must hold positive ints. Got {self.hidden_units!r} instead."
                )
            return MLPEncoder(n_features, self.embedding_dim, tuple(self.hidden_units), self.dropout, **module_params)
        if isinstance(self.module, nn.Module):
            if module_params:
                raise ValueError("module_params apply to a module class, not to a module instance.")
            return copy.deepcopy(self.module)  # the caller's module stays untrained
        return self.module(n_features=n_features, embedding_dim=self.embedding_dim, **module_params)

    def _learn_metric(self, X, labels, neighbours, epochs, lr, rng, step, head_labels=None):
        """Train the net for ``epochs`` on class-balanced batches of paired views."""
        started = time.perf_counter()
        n_classes = len(self.classes_)
        dataset = PairDataset(X, labels, neighbours, n_classes, _child_rng(rng), head_labels)
        self.net_.set_params(max_epochs=epochs, lr=lr)
        # skorch's partial_fit would swallow a KeyboardInterrupt and let fit go on with a
        # half-trained net; its fit_loop lets the interruption through, to fit's clean-up.
        self.net_.notify("on_train_begin", X=dataset, y=None)
        self.net_.fit_loop(dataset, None)
        self.net_.notify("on_train_end", X=dataset, y=None)
        self.history_.append(
            {
                "round": self.n_iter_,
                "step": step,
                "seconds": time.perf_counter() - started,
                "loss": float(self.net_.history[-1, "train_loss"]),
            }
        )

    def _pseudo_label_proba(self, X, labels, unlabeled, rng):
        """Class probabilities of the unlabeled rows: sub-centre, neighbour and head views, and the linear view."""
        embedding, logits = self.net_.embed(X)
        voters, centres, centre_labels, linear = self._fit_class_views(embedding, X, labels, rng)
        by_centre = centre_probabilities(embedding[unlabeled], centres, centre_labels, self.temperature)
        by_neighbours = neighbour_probabilities(
            embedding[unlabeled],
            embedding[voters],
            labels[voters],
            len(self.classes_),
            self.n_neighbors,
            self.temperature,
            rng.randint(_SEED_MAX),
        )
        return self._blend_views([by_centre, by_neighbours], logits[unlabeled], linear, X[unlabeled])

    def _blend_views(self, embedding_views, logits, linear, X):
        """Class probabilities: the mean of the embedding's views, blended with the linear view.

        The head's softmax joins the embedding's views when it was trained; ``linear`` (the
        linear view, or None) is weighted by ``linear_weight``.
        """
        if self.head_weight > 0:  # with head_weight=0 the head is never trained: leave it out
            embedding_views = [*embedding_views, softmax(logits, axis=1)]
        proba = sum(embedding_views) / len(embedding_views)
        if linear is None:
            return proba
        return (1 - self.linear_weight) * proba + self.linear_weight * linear_probabilities(linear, X, len(self.classes_))

    def _record_pseudo_labels(self, pseudo_labels, reliability, seconds):
        n_classes = len(self.classes_)
        counts = np.bincount(pseudo_labels, minlength=n_classes)
        mean_reliability = np.bincount(pseudo_labels, weights=reliability, minlength=n_classes) / np.maximum(counts, 1)
        self.history_.append(
            {
                "round": self.n_iter_,
                "step": "pseudo-labeling",
                "seconds": seconds,
                "n_pseudo_labels": counts,
                "mean_reliability": mean_reliability,
            }
        )
        if self.verbose:
            per_class = ", ".join(f"{label}: {count}" for label, count in zip(self.classes_, counts))
            print(
                f"round {self.n_iter_}/{self.max_iter}: {counts.sum()} pseudo-labels ({per_class}); "
                f"mean reliability {reliability.mean():.3f}"
            )

    # -- prediction --

    def transform(self, X):
        """Embed rows in the learned metric space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to embed.

        Returns
        -------
        embedding : ndarray of shape (n_samples, embedding_dim)
            Unit-norm float32 embeddings.
        """
        X = self._validate_prediction_data(X)  # first: it raises NotFittedError before net_ is read
        return self.net_.embed(X)[0]

    def predict_proba(self, X):
        """Class probabilities: nearest-sub-centre and head views, blended with the linear view.

        The blend is then divided by ``class_prior_ ** logit_adjustment`` and renormalised.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        X = self._validate_prediction_data(X)
        embedding, logits = self.net_.embed(X)
        # float64 from here: float32 products would depend, in the last bits, on batch order.
        by_centre = centre_probabilities(embedding.astype(np.float64), self.centres_, self.centre_labels_, self.temperature)
        proba = self._blend_views([by_centre], logits.astype(np.float64), self.linear_, X)
        if self.logit_adjustment == 0:  # untouched: renormalising would move the last bits
            return proba
        # Only here, not in the pseudo-label scores: the per-class quota already shares the
        # pseudo-labels out, and adjusting those scores too moved wrong rows into the tail.
        proba *= self.class_prior_ ** -self.logit_adjustment
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted class labels, from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X, y):
        """Accuracy over the rows whose label is not ``-1``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for rows to leave out.

        Returns
        -------
        score : float
            Mean accuracy on the labeled rows.
        """
        X, y = labeled_rows(_densify(X), y)
        return accuracy_score(y, self.predict(X))

    def _validate_prediction_data(self, X):
        check_is_fitted(self)
        return validate_data(self, _densify(X), dtype=np.float32, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified up to MAX_DENSIFIED_CELLS
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- persistence --

    def save(self, path):
        """Save the fitted estimator in a safe format that :meth:`load` reads back.

        The file, written by ``torch.save``, holds the module's weights and the fitted
        arrays as tensors, the constructor parameters and the other fitted attributes as
        JSON, and the format version and ``sk_dmlpl`` version. Reading it back builds
        tensors and plain data only, never arbitrary objects, so a file cannot run code
        when loaded, unlike pickle or joblib.

        Only parameters that JSON can hold can be saved: ``module`` must be ``None`` (the
        default encoder), ``metric_loss`` a name and ``random_state`` an int or ``None``.
        A custom module, a callable loss or a ``RandomState`` needs pickle or joblib,
        which run code when loading: load such files only from sources you trust.

        Parameters
        ----------
        path : str or path-like
            Where to write the file.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        TypeError
            If a parameter or fitted attribute cannot be stored without pickle.

        See Also
        --------
        load : Read a saved estimator back.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn.datasets import load_iris
        >>> from sk_dmlpl import DMLPLClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> y_semi = y.copy()
        >>> y_semi[1::3] = -1
        >>> clf = DMLPLClassifier(max_epochs=2, fine_tune_epochs=1, max_iter=1, random_state=0).fit(X, y_semi)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.pt")
        ...     clf.save(path)
        ...     loaded = DMLPLClassifier.load(path)
        >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
        True
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load an estimator written by :meth:`save`, without running code from the file.

        The file is read with ``torch.load(..., weights_only=True)``: a file holding
        anything besides tensors and plain data (a tampered file carrying code, say) is
        refused. Every tensor is read onto the CPU first, so a model saved on a GPU loads
        on a machine without one when ``device="cpu"`` is passed.

        Parameters
        ----------
        path : str or path-like
            The file to read.
        device : str or torch.device, default=None
            Where the network is placed; it also becomes the loaded estimator's ``device``
            parameter. ``None`` keeps the saved ``device`` parameter.

        Returns
        -------
        estimator : DMLPLClassifier
            The fitted estimator, with the saved parameters; called on an instance, it
            returns a new estimator and leaves the instance as it is.

        Raises
        ------
        ValueError
            If the file is not an ``sk_dmlpl`` model file, holds anything but tensors and
            plain data, has another format version, or asks for CUDA where there is none.

        See Also
        --------
        save : Write a fitted estimator.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn.datasets import load_iris
        >>> from sk_dmlpl import DMLPLClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> y_semi = y.copy()
        >>> y_semi[1::3] = -1
        >>> clf = DMLPLClassifier(max_epochs=2, fine_tune_epochs=1, max_iter=1, random_state=0).fit(X, y_semi)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.pt")
        ...     clf.save(path)
        ...     loaded = DMLPLClassifier.load(path, device="cpu")
        >>> loaded.device, loaded.max_epochs
        ('cpu', 2)
        >>> bool((loaded.transduction_ == clf.transduction_).all())
        True
        """
        return load_estimator(cls, path, device)


def _output_width(encoder, n_features):
    """Run two zero rows through ``encoder`` and return its output width, or explain why not."""
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(torch.zeros(2, n_features))
    except Exception as error:
        raise ValueError(
            f"The module could not embed a batch of shape (2, {n_features}): {type(error).__name__}: {error}"
        ) from None
    finally:
        encoder.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"The module must return a tensor of shape (batch, width); for a batch of 2 rows it returned {shape}.")
    return out.shape[1]


def _densify(X):
    """Return a sparse ``X`` as a dense array, with a warning; refuse one too large for that."""
    if not sparse.issparse(X):
        return X
    n_cells = int(np.prod(X.shape))
    if n_cells > MAX_DENSIFIED_CELLS:
        raise TypeError(
            f"X is a sparse matrix of shape {X.shape}; DMLPLClassifier needs dense rows and densifies "
            f"sparse input of at most {MAX_DENSIFIED_CELLS:,} cells, but this one has {n_cells:,}. Reduce "
            "it first (sklearn.decomposition.TruncatedSVD, for example) or pass a dense array."
        )
    warnings.warn(
        f"X is a sparse matrix of shape {X.shape}; DMLPLClassifier needs dense rows and densified it.",
        DataConversionWarning,
    )
    return X.toarray()


def _child_rng(rng):
    """A numpy Generator seeded from ``rng``: one draw, so the sequence stays reproducible."""
    return np.random.default_rng(rng.randint(_SEED_MAX))


def _class_prior(labels, n_classes):
    """Share of each class among the labeled and pseudo-labeled rows (-1 left out)."""
    counts = np.bincount(labels[labels >= 0], minlength=n_classes)
    return counts / counts.sum()
