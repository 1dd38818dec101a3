"""DMLPLClassifier: deep metric learning based pseudo-labeling."""

import time
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from joblib import parallel_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn_compat.base import _fit_context
from torch import nn

from ._doc_link import DOC_LINK_TEMPLATE
from ._feature_weights import importance_weights, weigh
from ._neighbors import input_neighbors
from ._network import (
    METRIC_LOSSES,
    ModuleParamsMixin,
    build_net,
    print_training_step,
    resolve_device,
    seeded_torch,
    train_net,
)
from ._persistence import PersistenceMixin, fitted_state
from ._proba_scores import ProbaScoresMixin
from ._pseudo_labeling import (
    MAX_ROWS_PER_CLASS,
    SEED_MAX,
    BoostingView,
    CenterView,
    ForestView,
    HeadView,
    InputView,
    NeighborVoteView,
    Rows,
    blend_proba,
    child_generator,
    class_prior,
    correct_prior,
    fit_views,
    per_class_sample,
    select_pseudo_labels,
)
from ._validation import validate_prediction_data, validate_training_data, warn_if_collapsed
from ._view_weights import (
    fixed_group_weights,
    group_weights_to_view_weights,
    held_out_probabilities,
    learn_group_weights,
    with_boosting,
)


class DMLPLClassifier(
    PersistenceMixin,
    ModuleParamsMixin,
    ProbaScoresMixin,
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Deep metric learning based pseudo-labeling for class-imbalanced semi-supervised data.

    Rows labeled ``-1`` are unlabeled, as in
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier`. ``fit`` first weighs each
    feature by its importance for the given classes (see ``feature_weighting``); every
    step after it, and ``predict`` and ``transform``, see the weighted features. Then it
    runs the three steps of DML-PL (Yan, Hui & Li, 2023):

    1. **Deep metric learning**: a torch encoder, trained by skorch, maps rows onto the
       unit sphere so that rows of a class gather. Batches are class-balanced; each
       unlabeled row is pulled towards one of its input-space neighbors, so unlabeled
       rows shape the embedding too. A linear head is trained on the same embedding.
    2. **Pseudo-labeling**: class views score every unlabeled row: the nearest
       sub-centers of each class's labeled embeddings, a vote of its nearest labeled rows
       in the embedding, the head, and views of the input features: a class-balanced
       logistic regression (the input view), class-balanced random forests (the forest
       view) and, from the second round, class-balanced boosted trees (the boosting
       view). Each class then takes the same share of its most reliable candidates, so
       head classes cannot crowd out the tail.
    3. **Fine-tuning**: the network keeps training, warm-started, on the labeled and
       pseudo-labeled rows, so that the next round's pseudo-labels improve (so not after
       the last round).

    Steps 2-3 repeat ``max_iter`` times; round ``k`` takes ``1 / (max_iter - k + 1)`` of
    the candidates left, so the last round labels every remaining row. The views are
    then fitted once more on every labeled and pseudo-labeled row, and ``predict`` blends
    the sub-center, head, input and forest views (weights ``input_view_weight`` and
    ``forest_view_weight`` for the last two, the rest shared by the first two).
    It then divides each class's probability by the class's share of the training labels
    raised to ``logit_adjustment``, so that the head classes do not win more than their
    due. The views use at most 1,000 rows of each class, drawn at random from larger
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
        Temperature of the metric loss, the head's logits and the class views.
    head_weight : float, default=1.0
        Weight of the head's cross-entropy beside the metric loss; 0 leaves the head
        untrained and its view out of the pseudo-label scores and ``predict_proba``.
    input_view_weight : float in [0, 1], default=0.15
        Weight of the input view, a class-balanced logistic regression on the input
        features refitted on the labeled and pseudo-labeled rows, beside the forest view
        and the embedding's views (which share what the two leave equally): in each
        round's pseudo-label scores and in ``predict_proba``. A linear model in input space
        is less prone than the network to memorise two rows of a tail class; 0 turns it
        off.
    input_view_knots : int >= 2 or None, default=4
        In the input view that ``predict_proba`` blends (fitted on the labeled and
        pseudo-labeled rows), each feature enters the regression as its cubic B-splines
        with this many knots, spread evenly over the feature's range in those rows
        (scikit-learn's :class:`~sklearn.preprocessing.SplineTransformer`): an additive
        model, one smooth curve a feature and class, which reads a feature whose effect
        is not monotone. ``None`` keeps that view linear in the features. The rounds'
        input view is linear either way: with splines there, the rounds took other rows
        and the fits lost a point on one table of the development suite (the benchmark
        page has the figures).
    forest_view_weight : float in [0, 1], default=0.5
        Weight of the forest view, 100 trees on the input features refitted on the
        labeled and pseudo-labeled rows (see ``forest_balancing``). Trees split one
        feature at a time: on low-dimensional tables of heterogeneous features they hold
        where the embedding, with two labeled rows in a tail class, learns little. Its
        trees grow and predict in as many threads as torch uses
        (``torch.get_num_threads()``), to the same probabilities whatever the threads. 0
        turns it off. ``input_view_weight + forest_view_weight`` must not exceed 1.
    boosting_view_weight : float in [0, 1], default=0.075
        Weight of the boosting view in the second and later rounds' pseudo-label scores,
        taken half out of the input view's share and half out of the embedding's views'
        (each at most its whole share): scikit-learn's
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with
        ``class_weight="balanced"`` on the input features, refitted on the labeled and
        pseudo-labeled rows. Not in the first round, where it would learn a tail class
        from its few given labels alone, nor in ``predict_proba``, where it cost the
        digit data sets more than it gained on the tables (the benchmark page has the
        figures). Its trees grow in as many threads as torch uses. 0 turns it off.
    forest_balancing : {"both", "undersample", "class_weight"}, default="both"
        How the forest view's trees balance the classes. ``"undersample"``:
        imbalanced-learn's :class:`~imblearn.ensemble.BalancedRandomForestClassifier`,
        each tree on a class-balanced draw of the rows (the forest view before "both").
        ``"class_weight"``: scikit-learn's
        :class:`~sklearn.ensemble.RandomForestClassifier` with
        ``class_weight="balanced"``, each tree on a bootstrap of all rows. ``"both"``:
        50 trees of each, their probabilities averaged. Each alone wins settings of the
        benchmark that the other loses; the benchmark page has the figures.
    logit_adjustment : float >= 0, default=0.3
        How far ``predict_proba`` corrects for the imbalance of the training labels: it
        divides each class's probability by that class's share of the labeled and
        pseudo-labeled rows (``class_prior_``) raised to this power, then renormalises
        (the logit adjustment of [2]_): even with class-balanced training, the head
        classes win more than their share of balanced data. 0 leaves the views'
        probabilities as they are; 1 corrects in full, which over-corrects here. The one
        parameter read at predict time: ``set_params`` changes a fitted model's
        predictions without a refit. Every other parameter acts through ``fit`` alone.
    prior_correction : "auto" or float in [0, 1], default="auto"
        How far each round moves the unlabeled rows' class probabilities towards the
        spread of classes that the rows themselves show, before the quota: each class's
        probabilities are multiplied by ``1 + s * (r - 1)``, where ``r`` is the share of
        those rows the class wins over its share of the given labels (one step of a
        prior-shift correction, see the benchmark page) and ``s`` the strength. A float
        fixes ``s``; ``"auto"`` sets it each round to how far the won shares are from the
        given ones (their total variation distance ``d``, in [0, 1]), so that the step all
        but vanishes where the unlabeled rows follow the given labels' spread; in the
        first round a distance beyond 0.25 lengthens it, to the full step from 0.45 on
        (``d + (1 - d) * min(1, max(0, (d - 0.25) / 0.2))``). Without it the
        pseudo-labels follow the given labels' spread of classes, which is wrong when the
        unlabeled rows' classes are spread otherwise; 0 turns it off.
    mask_probability : float, default=0.4
        Share of features zeroed at random in each augmented copy of a training row.
    max_epochs : int, default=30
        Epochs of the first metric-learning stage.
    lr : float, default=1e-3
        Adam learning rate of the first stage. Where the training budget
        (``sqrt_epochs_from``, ``max_epoch_rows``) has an epoch draw fewer rows than half
        of ``X``, the first stage trains at ``lr`` times how many times fewer, at most 3
        times ``lr`` (``history_`` records the rate): the budget's fewer steps, made
        larger, take the network further (at 100,000 rows, 3e-3 with 15,000 rows an
        epoch gave pseudo-labels 1.1 points more accurate than 1e-3 with 25,000; the
        benchmark page). Fits the budget does not cut train at ``lr`` itself.
    fine_tune_epochs : int, default=10
        Epochs of fine-tuning after each round but the last, whose pseudo-labels no
        later round reads (so ``max_iter=1`` fine-tunes nothing); 0 turns fine-tuning
        off.
    fine_tune_lr : float, default=3e-4
        Learning rate of fine-tuning.
    weight_decay : float, default=1e-4
        Adam weight decay.
    batch_size : int, default=128
        Rows per training batch (each row brings a second, augmented copy). A batch
        larger than ``X`` is clipped to its rows, as in
        :class:`~sklearn.neural_network.MLPClassifier`, with a warning unless it is the
        default.
    sqrt_epochs_from : int or None, default=6_000
        Rows of ``X`` from which the training grows as the square root of the rows, not
        in proportion to them. Up to this size an epoch draws half as many rows as ``X``
        has, so that it embeds as many copies as ``X`` has rows; above it, half of
        ``sqrt(sqrt_epochs_from * n_samples)`` rows (at 100,000 rows, 12,248 an epoch, not
        50,000), each epoch a fresh sample, and the first stage's rate grows (``lr``).
        The default leaves every data set of the development suite (at most about 2,000
        training rows) as before; at 100,000 rows its pseudo-labels are more accurate
        than with the 25,000 rows an epoch of the default before, in three quarters of
        the fit time (measured on the scaling page). ``None``: in proportion up to
        ``max_epoch_rows``.
    max_epoch_rows : int or None, default=50_000
        Most rows an epoch draws, whatever the size of ``X``: from there on the training
        time stops growing with the data. A lower cap trains faster, at the cost of less
        accurate pseudo-labels. ``None``: no cap.
    n_input_neighbors : int, default=5
        Nearest rows, in input space, among which each unlabeled row's positive is drawn
        during metric learning and fine-tuning. Fewer are more often of the row's class;
        5 gained 0.19 points of balanced accuracy over 10 on the development suite (20
        seeds, the benchmark page).
    feature_weighting : {"importance", "none"}, default="importance"
        How much each input feature counts. ``"importance"``: each feature is multiplied
        by its impurity-based importance, times the number of features (so 1 on
        average), in a class-balanced random forest of 100 trees fitted on the given
        labels (at most 1,000 rows a class); the input-space neighbor search, the network
        and the views, in ``fit``, ``predict`` and ``transform``, all see the weighted
        features, so that a feature that does not separate the labeled classes weighs
        little in distances and in the network's input. A feature of importance 0 is
        left out. ``"none"``: the features as given. The weights are
        ``feature_weights_``.
    n_vote_neighbors : int, default=10
        Nearest labeled rows, in the embedding, that vote for an unlabeled row's class
        in the pseudo-label scores.
    n_subclusters : int, default=3
        Sub-centers per class.
    max_iter : int, default=3
        Pseudo-labeling rounds. More rounds take smaller batches of pseudo-labels, each
        chosen in a network fine-tuned on more of them, but also fine-tune the network
        more often on its own mistakes and cost more (the benchmark page's section on
        ``max_iter`` shows how 3 was chosen).
    quota : {"mixed", "per_class", "global"}, default="mixed"
        How each round chooses its rows. ``"per_class"`` takes the same share of each
        class's candidates; ``"global"`` takes the most reliable rows whatever their
        class; ``"mixed"`` takes as many rows as ``"global"``, ranked by the mean of
        each row's rank among its class's candidates and among all rows (each as a
        share): a class whose rows the network is unsure of waits less than with
        ``"global"`` and gets fewer rows early than with ``"per_class"`` (see the
        benchmark page).
    view_weighting : {"fixed", "learned"}, default="fixed"
        How the class views are weighed in the pseudo-label scores and in
        ``predict_proba``. ``"fixed"``: by ``input_view_weight`` and
        ``forest_view_weight``, the embedding's views sharing the rest. ``"learned"``:
        the three groups' weights (embedding, input, forest) that best blend given labels
        held out from two probe networks (balanced accuracy, then class-balanced
        log-loss), at the cost of two more metric-learning stages; the two weight
        parameters are then unused. It won with reversed unlabeled rows and lost with
        consistent ones (see the benchmark page).
    fine_tune_head : {"given", "all"}, default="given"
        Labels the head learns from in fine-tuning: ``"given"``, so that it cannot memorise
        wrong pseudo-labels (the metric loss still uses them), or ``"all"``.
    device : str, default="auto"
        Torch device; ``"auto"`` picks ``"cuda"`` when available, else ``"cpu"``. Asking
        for CUDA on a machine without it raises a ``ValueError``.
    random_state : int, RandomState instance or None, default=None
        Seeds every random choice: weights, masks, dropout, batches, views, k-means. The
        same seed gives the same model on CPU at a given thread count. The network draws
        from torch generators of its own: torch's global generator is neither read nor
        changed (except by a ``module`` class's own initialisation, which is called with
        it seeded, and restored after).
    verbose : int, default=0
        1 prints a line per training step (its epochs, final loss and seconds) and per
        pseudo-labeling round; 2 adds a line per epoch.
    module_params : dict, default=None
        Keyword arguments of the module class (or of :class:`MLPEncoder`, such as
        ``{"n_frequencies": 8}`` for periodic embeddings of the features). One entry can
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
    feature_weights_ : ndarray of shape (`n_features_in_`,), float32
        The factor of each feature (see ``feature_weighting``): mean 1, or all 1 with
        ``feature_weighting="none"``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in ``fit``, when ``X`` has string column names.
    net_ : MetricNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    views_ : dict of str to ClassView
        The class views that ``predict_proba`` blends, fitted on the labeled and
        pseudo-labeled rows: ``"centers"`` (a ``CenterView``: ``views_["centers"].centers_``
        are the sub-centers), ``"head"`` (unless ``head_weight=0``), ``"input"`` (a
        ``InputView`` around a ``LogisticRegression``, unless ``input_view_weight=0``;
        with ``input_view_knots``, its ``feature_range_`` holds each feature's least and
        largest value, where the splines' knots start and end) and
        ``"forest"`` (a ``ForestView``, unless ``forest_view_weight=0``).
    view_weights_ : dict of str to float
        The weight of each view in ``predict_proba``.
    view_group_weights_ : dict of str to float
        The weights of the view groups ``"embedding"``, ``"input"`` and ``"forest"``: the
        parameters', or learned (``view_weighting="learned"``; the parameters' when there
        was no unlabeled row or too few labels to hold out).
    class_prior_ : ndarray of shape (n_classes,)
        Share of each class among the labeled and pseudo-labeled training rows, which
        ``predict_proba`` divides by (see ``logit_adjustment``).
    history_ : list of dict
        One record per step of ``fit``: ``round`` (0 before the first round), ``step``
        (``"feature weights"``, ``"input-space neighbors"``, ``"metric learning"``,
        ``"view weights"``, ``"pseudo-labeling"``, ``"fine-tuning"``, ``"final views"``)
        and ``seconds``; the training steps add ``loss`` and ``lr``, the rate trained at
        (see ``lr``), the pseudo-labeling steps
        ``prior_strength`` and, per class, ``prior_weights``, ``n_pseudo_labels`` and
        ``mean_reliability``, the steps that fit views ``view_seconds``, each view's
        seconds, and the ``"view weights"`` step ``group_weights`` when they are learned.

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

    _parameter_constraints: ClassVar[dict] = {
        "module": [None, type, nn.Module],
        "hidden_units": [tuple, list],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "metric_loss": [StrOptions(set(METRIC_LOSSES)), callable],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "head_weight": [Interval(Real, 0, None, closed="left")],
        "input_view_weight": [Interval(Real, 0, 1, closed="both")],
        "input_view_knots": [None, Interval(Integral, 2, None, closed="left")],
        "forest_view_weight": [Interval(Real, 0, 1, closed="both")],
        "boosting_view_weight": [Interval(Real, 0, 1, closed="both")],
        "forest_balancing": [StrOptions(set(ForestView.balancings))],
        "logit_adjustment": [Interval(Real, 0, None, closed="left")],
        "prior_correction": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
        "mask_probability": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "sqrt_epochs_from": [None, Interval(Integral, 1, None, closed="left")],
        "max_epoch_rows": [None, Interval(Integral, 1, None, closed="left")],
        "n_input_neighbors": [Interval(Integral, 1, None, closed="left")],
        "feature_weighting": [StrOptions({"importance", "none"})],
        "n_vote_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_subclusters": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "quota": [StrOptions({"mixed", "per_class", "global"})],
        "view_weighting": [StrOptions({"learned", "fixed"})],
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
        input_view_weight=0.15,
        input_view_knots=4,
        forest_view_weight=0.5,
        boosting_view_weight=0.075,
        forest_balancing="both",
        logit_adjustment=0.3,
        prior_correction="auto",
        mask_probability=0.4,
        max_epochs=30,
        lr=1e-3,
        fine_tune_epochs=10,
        fine_tune_lr=3e-4,
        weight_decay=1e-4,
        batch_size=128,
        sqrt_epochs_from=6_000,
        max_epoch_rows=50_000,
        n_input_neighbors=5,
        feature_weighting="importance",
        n_vote_neighbors=10,
        n_subclusters=3,
        max_iter=3,
        quota="mixed",
        view_weighting="fixed",
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
        self.input_view_weight = input_view_weight
        self.input_view_knots = input_view_knots
        self.forest_view_weight = forest_view_weight
        self.boosting_view_weight = boosting_view_weight
        self.forest_balancing = forest_balancing
        self.logit_adjustment = logit_adjustment
        self.prior_correction = prior_correction
        self.mask_probability = mask_probability
        self.max_epochs = max_epochs
        self.lr = lr
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_lr = fine_tune_lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.sqrt_epochs_from = sqrt_epochs_from
        self.max_epoch_rows = max_epoch_rows
        self.n_input_neighbors = n_input_neighbors
        self.feature_weighting = feature_weighting
        self.n_vote_neighbors = n_vote_neighbors
        self.n_subclusters = n_subclusters
        self.max_iter = max_iter
        self.quota = quota
        self.view_weighting = view_weighting
        self.fine_tune_head = fine_tune_head
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.module_params = module_params

    # -- fit: the three steps of DML-PL --

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
        it was before the call, and the exception is raised again.

        ``fit`` takes no ``sample_weight`` (passing one raises a ``TypeError``): a weight
        would have to reach every step that counts rows (the batch sampler, both losses,
        the quota, each view, the class prior); weighting only some would be a weight in
        name only. :meth:`score` takes ``sample_weight``.
        """
        previous = fitted_state(self)
        try:
            # The scikit-learn estimators inside fit run in this thread: under a grid search's dask
            # backend they would send their joblib calls to the cluster, whose worker would start
            # another fit in this process while this one waits.
            with parallel_config(backend="sequential"):
                return self._fit(X, y)
        except BaseException:
            for name in fitted_state(self):
                delattr(self, name)
            for name, value in previous.items():
                setattr(self, name, value)
            raise

    def _fit(self, X, y):
        X, self.classes_, labels = validate_training_data(self, X, y)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        self.view_group_weights_ = fixed_group_weights(self.input_view_weight, self.forest_view_weight)
        self.labeled_iter_ = np.where(labels >= 0, 0, -1)
        self.history_ = []
        given_prior = class_prior(labels, len(self.classes_))  # before any pseudo-label
        round_ = 0
        with seeded_torch(int(rng.randint(SEED_MAX))) as generator:
            self.feature_weights_ = self._step(round_, "feature weights", self._feature_weights, X, labels, rng)
            given_X, X = X, weigh(X, self.feature_weights_)  # a copy: the caller's X stays as it is
            neighbors = self._step(round_, "input-space neighbors", self._input_neighbors, X, labels, rng)
            self.net_ = build_net(X.shape[1], len(self.classes_), device, self.get_params(deep=False), generator)
            self._step(round_, "metric learning", self._metric_learning, X, labels, neighbors, rng)
            if self.view_weighting == "learned":
                learned = self._step(
                    round_, "view weights", self._learn_view_weights, X, labels, neighbors, device, generator, rng
                )
                self.view_group_weights_ = learned or self.view_group_weights_

            def another_round():
                return (labels < 0).any() and round_ < self.max_iter

            while another_round():
                round_ += 1
                rows, pseudo_labels = self._step(
                    round_, "pseudo-labeling", self._pseudo_labeling, X, labels, given_prior, round_, rng
                )
                labels[rows] = pseudo_labels
                self.labeled_iter_[rows] = round_
                # Fine-tuning serves the next round's pseudo-labels: after the last there is none
                # (fine-tuning there cost a sixth of the training and bought no accuracy).
                if another_round():
                    if self.fine_tune_epochs > 0:
                        self._step(round_, "fine-tuning", self._fine_tuning, X, labels, neighbors, rng)
                    else:
                        child_generator(rng)  # the draw fine-tuning takes: the later steps draw as with it
        self.n_iter_ = round_
        self.views_, self.view_weights_ = self._step(round_, "final views", self._final_views, X, labels, rng)
        self.class_prior_ = class_prior(labels, len(self.classes_))
        has_label = labels >= 0
        self.termination_condition_ = "all_labeled" if has_label.all() else "max_iter"
        self.transduction_ = np.full(len(labels), -1, dtype=self.classes_.dtype)
        self.transduction_[has_label] = self.classes_[labels[has_label]]
        warn_if_collapsed(self, given_X, self._given_labels(labels))  # it predicts, which weighs X itself
        return self

    def _step(self, round_, step, run, *args):
        """Run a step of ``fit``, timed; ``run(*args)`` gives ``(result, its history_ fields)``; return result."""
        started = time.perf_counter()
        result, record = run(*args)
        self.history_.append({"round": round_, "step": step, "seconds": time.perf_counter() - started, **record})
        if self.verbose and "loss" in record:  # a training step: its epochs, final loss and seconds
            print_training_step(self.history_[-1], self.max_epochs, self.fine_tune_epochs, self.max_iter)
        return result

    def _feature_weights(self, X, labels, rng):
        """Each feature's factor: its importance for the given classes, or 1 (``feature_weighting``)."""
        # Drawn under either option: with "none" every later step then draws the same numbers,
        # so that a fit without the weights differs from one with them by the weights alone.
        sample_rng = child_generator(rng)
        if self.feature_weighting == "none":
            return np.ones(X.shape[1], dtype=X.dtype), {}
        sample = per_class_sample(labels, MAX_ROWS_PER_CLASS, sample_rng)
        weights = importance_weights(X[sample], labels[sample], random_state=int(sample_rng.integers(SEED_MAX)))
        return weights.astype(X.dtype), {}

    def _input_neighbors(self, X, labels, rng):
        """Each row's nearest rows in input space, among which an unlabeled row's positive is drawn."""
        if not (labels < 0).any():
            return None, {}
        return input_neighbors(X, self.n_input_neighbors, random_state=rng.randint(SEED_MAX)), {}

    def _metric_learning(self, X, labels, neighbors, rng):
        """Step 1: train the network on the labeled rows, the unlabeled ones through their neighbors."""
        return None, self._first_stage(self.net_, X, labels, neighbors, rng)

    def _pseudo_labeling(self, X, labels, given_prior, round_, rng):
        """Step 2: score the unlabeled rows by the blended class views; take each class's share.

        Returns the positions of the rows taken and their pseudo-labels.
        """
        unlabeled = np.flatnonzero(labels < 0)
        rows = Rows.embedded(self.net_, X)
        seconds = {}
        views = self._views(at_predict=False, later_round=round_ > 1)
        views = fit_views(views, rows, labels, len(self.classes_), child_generator(rng), seconds)
        proba = blend_proba(views, self._view_weights(views), rows.take(unlabeled), seconds)
        proba, weights, strength = correct_prior(proba, given_prior, self.prior_correction, first_round=round_ == 1)
        fraction = 1.0 / (self.max_iter - round_ + 1)
        selected, pseudo_labels, reliability = select_pseudo_labels(proba, fraction, self.quota)
        counts = np.bincount(pseudo_labels, minlength=len(self.classes_))
        if self.verbose:
            per_class = ", ".join(f"{label}: {count}" for label, count in zip(self.classes_, counts))
            print(
                f"round {round_}/{self.max_iter}: {counts.sum()} pseudo-labels ({per_class}); "
                f"mean reliability {reliability.mean():.3f}"
            )
        record = {
            "view_seconds": seconds,
            "prior_strength": strength,
            "prior_weights": weights,
            "n_pseudo_labels": counts,
            "mean_reliability": np.bincount(pseudo_labels, weights=reliability, minlength=len(self.classes_))
            / np.maximum(counts, 1),
        }
        return (unlabeled[selected], pseudo_labels), record

    def _fine_tuning(self, X, labels, neighbors, rng):
        """Step 3: keep training the network, warm-started, on labeled and pseudo-labeled rows."""
        head_labels = self._given_labels(labels) if self.fine_tune_head == "given" else labels
        return None, self._train(self.net_, X, labels, neighbors, self.fine_tune_epochs, self.fine_tune_lr, rng, head_labels)

    def _given_labels(self, labels):
        """``labels`` with the pseudo-labels taken out (-1): the labels ``fit`` was given."""
        return np.where(self.labeled_iter_ == 0, labels, -1)

    def _train(self, net, X, labels, neighbors, epochs, lr, rng, head_labels=None, budget_lr=False):
        """Train ``net`` (:func:`train_net`) with this estimator's classes and epoch size."""
        n_classes, rng = len(self.classes_), child_generator(rng)
        epoch_rows = {"sqrt_epochs_from": self.sqrt_epochs_from, "max_epoch_rows": self.max_epoch_rows}
        return train_net(net, X, labels, neighbors, n_classes, epochs, lr, rng, head_labels, budget_lr=budget_lr, **epoch_rows)

    def _first_stage(self, net, X, labels, neighbors, rng):
        """Train a fresh ``net`` for ``max_epochs`` at ``lr``, larger where the budget draws fewer rows."""
        return self._train(net, X, labels, neighbors, self.max_epochs, self.lr, rng, budget_lr=True)

    def _final_views(self, X, labels, rng):
        """The views that ``predict`` blends, fitted on every labeled and pseudo-labeled row."""
        seconds = {}
        rows = Rows.embedded(self.net_, X)
        views = fit_views(self._views(at_predict=True), rows, labels, len(self.classes_), child_generator(rng), seconds)
        return (views, self._view_weights(views)), {"view_seconds": seconds}

    def _views(self, at_predict, later_round=False):
        """The unfitted class views of a round, or (``at_predict``) those that ``predict`` blends.

        ``later_round``: the second round or a later one, which the boosting view joins.
        A new view is one more entry here.
        """
        views = {"centers": CenterView(self.n_subclusters, self.temperature)}
        if not at_predict:  # the vote would keep up to 1,000 labeled embeddings a class
            views["neighbors"] = NeighborVoteView(self.n_vote_neighbors, self.temperature)
        if self.head_weight > 0:  # with head_weight=0 the head is never trained: leave it out
            views["head"] = HeadView()
        learned = self.view_weighting == "learned"
        if self.input_view_weight > 0 or learned:
            # Splines in predict only: in the rounds they moved which rows were taken, and
            # cost a point on the development suite's texture (the benchmark page).
            views["input"] = InputView(self.input_view_knots if at_predict else None)
        if self.forest_view_weight > 0 or learned:
            views["forest"] = ForestView(balancing=self.forest_balancing)
        if later_round and self.boosting_view_weight > 0:
            views["boosting"] = BoostingView()
        return views

    def _view_weights(self, views):
        """The blend weights of ``views``, by name, from the groups' weights."""
        group_weights = self.view_group_weights_
        if "boosting" in views:
            group_weights = with_boosting(group_weights, self.boosting_view_weight)
        return group_weights_to_view_weights(views, group_weights)

    def _learn_view_weights(self, X, labels, neighbors, device, generator, rng):
        """The view groups' weights, learned on given labels held out from probe networks."""
        if neighbors is None:  # no unlabeled row: nothing to hold the labels out among
            return None, {}

        def train_probe(probe_labels):
            net = build_net(X.shape[1], len(self.classes_), device, self.get_params(deep=False), generator)
            self._first_stage(net, X, probe_labels, neighbors, rng)
            return Rows.embedded(net, X)

        found = held_out_probabilities(labels, train_probe, lambda: self._views(at_predict=True), len(self.classes_), rng)
        if found is None:
            return None, {}
        weights = learn_group_weights(*found)
        return weights, {"group_weights": weights}

    # -- prediction --

    def transform(self, X):
        """Embed rows in the learned metric space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to embed, with the features seen in ``fit``.

        Returns
        -------
        embedding : ndarray of shape (n_samples, embedding_dim)
            Unit-norm float32 rows, where the embedding's class views measure similarity.
        """
        X = validate_prediction_data(self, X)  # first: it raises NotFittedError before net_ is read
        return self.net_.embed(X * self.feature_weights_)[0]

    def predict_proba(self, X):
        """Class probabilities: the fitted views' blend, corrected for the training prior.

        The blend of ``views_`` with ``view_weights_`` is divided by
        ``class_prior_ ** logit_adjustment`` and renormalised.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        X = validate_prediction_data(self, X) * self.feature_weights_
        # float64 from here: float32 products would depend, in the last bits, on batch order.
        proba = blend_proba(self.views_, self.view_weights_, Rows.embedded(self.net_, X, np.float64))
        if self.logit_adjustment == 0:  # untouched: renormalising would move the last bits
            return proba
        # Not in the pseudo-label scores: there it moved wrong rows into the tail.
        proba *= self.class_prior_ ** -self.logit_adjustment
        return proba / proba.sum(axis=1, keepdims=True)

    @property
    def _n_features_out(self):
        # Read by ClassNamePrefixFeaturesOutMixin: the embedding's width, which the head takes in.
        return self.net_.module_.head.in_features

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified, up to a size
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
