"""The metric network: an encoder with a linear head, trained by skorch on pairs of augmented copies.

Also its construction from the estimator's parameters, the device it runs on, and the
torch context that every fit and load builds it in.

A fit draws its random numbers (initial weights, masks, dropout, batches) from torch
generators of its own, seeded from ``random_state``, never from torch's global generator:
what other code in the process draws from that generator, in this thread or another,
neither changes the model nor is changed by the fit.
"""

import contextlib
import contextvars
import copy
import math
import threading
import time
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses
from sklearn.utils._param_validation import InvalidParameterError
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Dataset, WeightedRandomSampler

# Rows embedded at once without gradients, in blocks of exactly this many (the last one
# padded): a row's embedding then comes out of the same matrix products, to the last bit,
# whatever other rows it is embedded with and at any thread count. Measured on CPU, 256
# rows embed 100,000 rows faster than 8,192 and one row in about a millisecond.
EMBED_BATCH_SIZE = 256

# A tiny data set still gets this many gradient steps per epoch.
MIN_BATCHES_PER_EPOCH = 4

# Where the training budget draws fewer rows an epoch than half the rows, the first
# stage's learning rate is multiplied by how many times fewer, up to this factor: the
# network was still learning when the budget stopped it, and larger steps take it
# further. 3 is the largest factor measured (at 100,000 rows; the benchmark page).
MAX_BUDGET_LR_FACTOR = 3


class SupConLoss(nn.Module):
    """Supervised contrastive loss of unit-norm embeddings (Khosla et al., 2020).

    The same loss as pytorch-metric-learning's ``SupConLoss``, in a few dense tensor
    operations: the library's pair bookkeeping cost a quarter of each training step.

    Each row's positives are the other rows with its label; rows without one add nothing.
    """

    def __init__(self, temperature):
        super().__init__()
        self.temperature = temperature

    def forward(self, embedding, labels):
        itself = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        logits = (embedding @ embedding.T / self.temperature).masked_fill(itself, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        positives = (labels[:, None] == labels[None, :]) & ~itself
        n_positives = positives.sum(dim=1)
        has_positive = n_positives > 0
        mean_log_prob = log_prob.masked_fill(~positives, 0).sum(dim=1)[has_positive] / n_positives[has_positive]
        return -mean_log_prob.mean() if has_positive.any() else embedding.sum() * 0


# Metric losses by name; each gets the shared temperature where it has one.
METRIC_LOSSES = {
    "supcon": SupConLoss,
    "multisimilarity": lambda temperature: losses.MultiSimilarityLoss(),
    "triplet": lambda temperature: losses.TripletMarginLoss(margin=0.2),
}


# The generators of the training steps running in this context (thread): see MetricNet.fit_loop.
_TRAINING_GENERATORS = contextvars.ContextVar("sk_dmlpl_training_generators", default=None)


def training_generator(device):
    """The generator of the training running in this thread for ``device``, or None outside one."""
    generators = _TRAINING_GENERATORS.get()
    return None if generators is None else generators[torch.device(device).type]


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` that draws from the fit's own generator while a fit trains.

    Outside a fit's training (a user's own loop, say) it is plain dropout, drawing from
    torch's global generator.
    """

    def forward(self, x):
        generator = training_generator(x.device)
        if generator is None or not self.training or self.p == 0:
            return super().forward(x)
        keep = torch.rand(x.shape, device=x.device, dtype=x.dtype, generator=generator) >= self.p
        return x * keep / (1 - self.p)


class MLPEncoder(nn.Module):
    """Multi-layer perceptron that maps rows to embeddings.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    embedding_dim : int
        Width of the embedding.
    hidden_units : tuple of int, default=(256, 256)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer; inside a fit, dropout draws from the
        fit's own generator (see ``Dropout`` in this module).
    n_frequencies : int, default=0
        Periodic embeddings of the numeric features (Gorishniy, Rubachev & Babenko,
        2022): each feature ``x`` also enters the first layer as
        ``g ReLU(W [cos(2 pi c x), sin(2 pi c x)])``, with ``n_frequencies`` learned
        frequencies ``c`` and a learned gate ``g`` of its own and a ``W`` shared by all
        features. They let the first layer cut a feature into ranges, as a tree does.
        The gates start at 0, so training starts from the raw features and lets each
        feature's embedding in as far as it helps. 0, the default, feeds the features
        alone: the embeddings gain on the development suite's tables but lose on the
        scaling benchmark's synthetic data, at every size measured and more as it grows
        (the benchmark page's section on them has the figures).
    frequency_scale : float, default=0.1
        Standard deviation of the frequencies' initial values (a normal truncated at
        three of them), for standardized features: the larger, the finer the ranges the
        network starts from.
    feature_embedding_dim : int, default=8
        Width of each feature's periodic embedding.

    Examples
    --------
    >>> import torch
    >>> from sk_dmlpl import MLPEncoder
    >>> encoder = MLPEncoder(n_features=8, embedding_dim=4, hidden_units=(16,))
    >>> encoder(torch.zeros(3, 8)).shape
    torch.Size([3, 4])
    >>> MLPEncoder(n_features=8, embedding_dim=4, n_frequencies=8)(torch.zeros(3, 8)).shape
    torch.Size([3, 4])
    """

    def __init__(
        self,
        n_features,
        embedding_dim,
        hidden_units=(256, 256),
        dropout=0.0,
        n_frequencies=0,
        frequency_scale=0.1,
        feature_embedding_dim=8,
    ):
        super().__init__()
        for name, value, low in (("n_frequencies", n_frequencies, 0), ("feature_embedding_dim", feature_embedding_dim, 1)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"MLPEncoder's {name} must be an int >= {low}. Got {value!r} instead.")
        if not isinstance(frequency_scale, Real) or not frequency_scale > 0 or not math.isfinite(frequency_scale):
            raise ValueError(f"MLPEncoder's frequency_scale must be a positive float. Got {frequency_scale!r} instead.")
        self.periodic = None
        width = n_features
        if n_frequencies:
            self.periodic = PeriodicEmbedding(n_features, n_frequencies, frequency_scale, feature_embedding_dim)
            width += n_features * feature_embedding_dim
        layers = []
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.BatchNorm1d(units), nn.ReLU(), Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, embedding_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        if self.periodic is not None:
            x = torch.cat([x, self.periodic(x)], dim=1)
        return self.layers(x)


class PeriodicEmbedding(nn.Module):
    """Each numeric feature as ``g ReLU(W [cos(2 pi c x), sin(2 pi c x)])``, flattened.

    The "PLR (lite)" embedding of Gorishniy, Rubachev & Babenko (2022): learned
    frequencies ``c`` per feature, one linear layer ``W`` shared by the features. Ours is
    the gate ``g`` per feature, which starts at 0: without it the embeddings cost up to
    a point on the 8x8 digit images, whose pixels a network reads well raw (see the
    benchmark page). Written here rather than taken from a package: the one that holds
    the embedding would be a dependency for 15 lines, and its initialisation could not
    draw from a fit's own generator.
    """

    def __init__(self, n_features, n_frequencies, frequency_scale, embedding_dim):
        super().__init__()
        self.frequency_scale = frequency_scale
        self.frequencies = nn.Parameter(torch.empty(n_features, n_frequencies))
        self.gate = nn.Parameter(torch.empty(n_features, 1))
        self.linear = nn.Linear(2 * n_frequencies, embedding_dim)
        self.reset_own_parameters()  # as nn.Linear does, from torch's generator; a fit redraws them from its own

    def reset_own_parameters(self, generator=None):
        """Draw the frequencies from a normal of ``frequency_scale``, truncated at three of it; close the gates.

        The linear layer is a module of its own, initialised as such.
        """
        scale = self.frequency_scale
        nn.init.trunc_normal_(self.frequencies, 0.0, scale, a=-3 * scale, b=3 * scale, generator=generator)
        nn.init.zeros_(self.gate)

    def forward(self, x):
        phase = 2 * math.pi * self.frequencies * x[..., None]
        embedded = torch.relu(self.linear(torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)))
        return (self.gate * embedded).flatten(1)


class MetricModule(nn.Module):
    """An encoder whose output is projected to the unit sphere, plus a linear class head.

    ``forward`` returns ``(embedding, logits)``; the head sees the normalised embedding,
    so the sub-center view and the head view of a class live in one space.
    """

    def __init__(self, encoder, embedding_dim, n_classes, temperature):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(embedding_dim, n_classes)
        self.temperature = temperature

    def forward(self, x):
        embedding = F.normalize(self.encoder(x), dim=1)
        return embedding, self.head(embedding) / self.temperature


class MetricLoss(nn.Module):
    """Metric loss over both copies of a batch, plus cross-entropy of the head.

    ``targets`` has two columns. The first feeds the metric loss: values below the number
    of classes are class labels; larger ones name a single unlabeled row, whose two
    copies (the row and an input-space neighbor) are then the only positives. The second
    is the head's label, -1 where the head learns nothing from the row.
    """

    def __init__(self, metric_loss, head_weight):
        super().__init__()
        self.metric_loss = metric_loss
        self.head_weight = head_weight

    def forward(self, y_pred, targets):
        embedding, logits = y_pred
        metric_targets, head_targets = targets.repeat(2, 1).T
        loss = self.metric_loss(embedding, metric_targets)
        for_head = head_targets >= 0
        if self.head_weight > 0 and for_head.any():
            loss = loss + self.head_weight * F.cross_entropy(logits[for_head], head_targets[for_head])
        return loss


class PairDataset(Dataset):
    """Rows paired with a positive copy, fetched a whole batch at a time.

    A labeled row is paired with itself (the metric loss also pairs it with its class);
    an unlabeled row with one of its input-space neighbors drawn at random, which is how
    unlabeled rows shape the embedding. ``head_labels`` (default ``labels``) are the labels
    the head learns, -1 for none; ``sqrt_epochs_from`` and ``max_epoch_rows`` set the
    rows an epoch draws (see :meth:`rows_per_epoch`).
    """

    def __init__(
        self, X, labels, neighbors, n_classes, rng, head_labels=None, sqrt_epochs_from=None, max_epoch_rows=None
    ):
        self.X = torch.as_tensor(X)
        self.sqrt_epochs_from = sqrt_epochs_from
        self.max_epoch_rows = max_epoch_rows
        self.neighbors = neighbors
        self.rng = rng
        unlabeled = labels < 0
        # An unlabeled row's metric target is an id of its own, above the class labels.
        metric_targets = np.where(unlabeled, n_classes + np.arange(len(labels)), labels)
        head_labels = labels if head_labels is None else head_labels
        self.targets = torch.as_tensor(np.column_stack([metric_targets, head_labels]))
        self.unlabeled = unlabeled

    def __len__(self):
        return len(self.X)

    def __getitems__(self, indices):
        indices = np.asarray(indices)
        positives = indices.copy()
        unlabeled = self.unlabeled[indices]
        if unlabeled.any():
            rows = indices[unlabeled]
            columns = self.rng.integers(self.neighbors.shape[1], size=len(rows))
            positives[unlabeled] = self.neighbors[rows, columns]
        return (self.X[indices], self.X[positives]), self.targets[indices]

    def __getitem__(self, index):
        return self.__getitems__([index])

    def rows_per_epoch(self, batch_size):
        """Rows an epoch draws, each with its second copy.

        Half as many as there are rows, so that an epoch embeds as many copies as there
        are rows, up to ``sqrt_epochs_from`` rows; from there on, half the geometric mean
        of the rows and ``sqrt_epochs_from``, so that the training time grows as the
        square root of the rows (the same rows at ``sqrt_epochs_from``, half at four times
        as many); and at most ``max_epoch_rows``, above which it stops growing. Each epoch
        is a fresh sample. Never fewer than a few batches, or a tiny data set would get a
        handful of gradient steps in all.
        """
        # Below sqrt_epochs_from the geometric mean exceeds the rows: the smaller is the rows.
        grown = len(self) if self.sqrt_epochs_from is None else min(len(self), math.sqrt(self.sqrt_epochs_from * len(self)))
        n_rows = math.ceil(grown / 2)
        if self.max_epoch_rows is not None:
            n_rows = min(n_rows, self.max_epoch_rows)
        return max(n_rows, MIN_BATCHES_PER_EPOCH * batch_size)

    def budget_factor(self, batch_size):
        """How many times fewer rows an epoch draws than half the rows: 1 up to ``sqrt_epochs_from`` rows."""
        return max(1.0, math.ceil(len(self) / 2) / self.rows_per_epoch(batch_size))

    def balanced_sampler(self, n_samples):
        """Sampler of ``n_samples`` rows, half labeled with classes equally often.

        The other half is drawn uniformly from the unlabeled rows; with no unlabeled row
        the whole batch is labeled.
        """
        labeled = ~self.unlabeled
        labels = self.targets.numpy()[labeled, 0]
        counts = np.bincount(labels)
        labeled_share = 0.5 if self.unlabeled.any() else 1.0
        weights = np.zeros(len(self))
        weights[labeled] = labeled_share / (np.count_nonzero(counts) * counts[labels])
        if self.unlabeled.any():
            weights[self.unlabeled] = (1 - labeled_share) / np.count_nonzero(self.unlabeled)
        generator = torch.Generator().manual_seed(int(self.rng.integers(2**31 - 1)))
        return WeightedRandomSampler(weights, num_samples=n_samples, replacement=True, generator=generator)


def fused_adam(device):
    """Whether Adam on ``device`` uses torch's fused kernel: one kernel for all weights.

    The per-weight loop of the default kernel cost about a tenth of a training step on CPU.
    """
    return torch.device(device).type in ("cpu", "cuda")


def _whole_batch(batch):
    # PairDataset already returns a collated batch.
    return batch


class MetricNet(NeuralNet):
    """skorch net that trains a :class:`MetricModule` on batches of paired views.

    Besides the usual skorch parameters, ``mask_probability`` sets the share of features
    zeroed at random in each augmented copy: the augmentation that makes the two copies
    of a row differ.
    """

    def __init__(self, module, criterion, *, mask_probability=0.4, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.mask_probability = mask_probability

    def _mask(self, x):
        generator = training_generator(x.device)
        keep = torch.rand(x.shape, device=x.device, dtype=x.dtype, generator=generator) >= self.mask_probability
        return x * keep

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Train on the :class:`PairDataset` ``X``, drawing from generators seeded from its rng.

        Training inside a caller's ``torch.inference_mode()`` or ``torch.no_grad()`` block
        works: gradients are enabled for the loop. Raises a ``ValueError`` when the loss,
        the weights or the BatchNorm statistics stop being finite (see
        :func:`check_finite_training`).
        """
        seed = int(X.rng.integers(2**31 - 1))
        generators = {"cpu": torch.Generator().manual_seed(seed)}
        device_type = torch.device(self.device).type
        if device_type != "cpu":
            generators[device_type] = torch.Generator(device=self.device).manual_seed(seed)
        token = _TRAINING_GENERATORS.set(generators)
        try:
            with torch.inference_mode(False), torch.enable_grad():
                result = super().fit_loop(X, y, epochs, **fit_params)
        except _NonFiniteLoss as error:
            raise ValueError(_diverged(str(error), X.X)) from None
        finally:
            _TRAINING_GENERATORS.reset(token)
        check_finite_training(self.module_, X.X)
        return result

    def train_step_single(self, batch, **fit_params):
        (anchors, positives), targets = batch
        copies = torch.cat([anchors, positives]).to(self.device)
        # One pass over both copies keeps BatchNorm statistics shared between them.
        step = super().train_step_single((self._mask(copies), targets), **fit_params)
        if not torch.isfinite(step["loss"]):
            raise _NonFiniteLoss(f"the loss became {step['loss'].item()}")
        return step

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        # Clipped to the rows, as MLPClassifier does (fit warns): a larger batch would only
        # repeat rows, at the cost of the larger batch.
        kwargs["batch_size"] = min(kwargs["batch_size"], len(dataset))
        kwargs.setdefault("generator", training_generator("cpu"))
        sampler = dataset.balanced_sampler(dataset.rows_per_epoch(kwargs["batch_size"]))
        return self.iterator_train(dataset, sampler=sampler, collate_fn=_whole_batch, **kwargs)

    @torch.no_grad()
    def embed(self, X):
        """Return ``(embedding, logits)`` of the rows of ``X`` as numpy arrays.

        The rows go through the module in blocks of exactly ``EMBED_BATCH_SIZE`` rows, the
        last one padded with zeros, so that each row's outputs do not depend on the other
        rows of ``X``.
        """
        self.module_.eval()
        embeddings, logits = [], []
        block = torch.zeros((EMBED_BATCH_SIZE, X.shape[1]), dtype=torch.float32, device=self.device)
        for start in range(0, len(X), EMBED_BATCH_SIZE):
            rows = torch.as_tensor(X[start : start + EMBED_BATCH_SIZE])
            block[: len(rows)] = rows
            block[len(rows) :] = 0
            embedding, logit = self.module_(block)
            embeddings.append(embedding[: len(rows)].cpu().numpy())
            logits.append(logit[: len(rows)].cpu().numpy())
        return np.concatenate(embeddings), np.concatenate(logits)


def train_net(
    net,
    X,
    labels,
    neighbors,
    n_classes,
    epochs,
    lr,
    rng,
    head_labels=None,
    sqrt_epochs_from=None,
    max_epoch_rows=None,
    budget_lr=False,
):
    """Train ``net`` for ``epochs`` at ``lr`` on class-balanced batches of paired copies.

    ``rng`` (a numpy Generator) draws the positives and seeds the sampler; ``head_labels``
    are the labels the head learns (default ``labels``); ``sqrt_epochs_from`` and
    ``max_epoch_rows`` set the rows an epoch draws (:meth:`PairDataset.rows_per_epoch`).
    With ``budget_lr``, ``lr`` is multiplied by :meth:`PairDataset.budget_factor`, at most
    ``MAX_BUDGET_LR_FACTOR``. Returns ``{"loss": ..., "lr": ...}``: the last epoch's mean
    training loss and the learning rate trained at.
    """
    dataset = PairDataset(X, labels, neighbors, n_classes, rng, head_labels, sqrt_epochs_from, max_epoch_rows)
    if budget_lr:
        # A factor of 1 leaves lr as it is, to the bit. A batch larger than the rows
        # (clipped by get_iterator) gives 1 either way: its four batches cover half the rows.
        lr = lr * min(dataset.budget_factor(net.batch_size), MAX_BUDGET_LR_FACTOR)
    net.set_params(max_epochs=epochs, lr=lr)
    # skorch's partial_fit would swallow a KeyboardInterrupt and let fit go on with a
    # half-trained net; its fit_loop lets the interruption through, to fit's clean-up.
    net.notify("on_train_begin", X=dataset, y=None)
    net.fit_loop(dataset, None)
    net.notify("on_train_end", X=dataset, y=None)
    return {"loss": float(net.history[-1, "train_loss"]), "lr": lr}


class _NonFiniteLoss(Exception):
    """A training step's loss is NaN or infinite; ``fit_loop`` turns it into a ``ValueError``."""


def check_finite_training(module, X):
    """Raise a ``ValueError`` if a weight or a BatchNorm statistic of ``module`` is not finite.

    Unscaled features overflow float32 inside the network (the square of 1e20 is beyond
    float32's range) even while the loss stays finite: BatchNorm's running variance turns
    infinite, and every row then gets the same embedding.
    """
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(_diverged(f"{name} of the network overflowed to infinity or NaN", X))


def _diverged(what, X):
    largest = float(X.abs().max()) if len(X) else 0.0
    return (
        f"Training diverged: {what}. This usually comes from unscaled features (the largest "
        f"absolute value in X is {largest:.3g}); standardize them first, e.g. "
        "make_pipeline(StandardScaler(), DMLPLClassifier())."
    )


class ModuleParamsMixin:
    """``set_params(module__<name>=value)`` sets one entry of ``module_params``, as in skorch."""

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


def print_training_step(record, max_epochs, fine_tune_epochs, max_iter):
    """Print one line for a training step's ``history_`` record: its epochs, final loss and seconds."""
    if record["step"] == "metric learning":
        where, epochs = "metric learning", max_epochs
    else:
        where, epochs = f"{record['step']} (round {record['round']}/{max_iter})", fine_tune_epochs
    print(f"{where}: {epochs} epochs, loss {record['loss']:.4f}, {record['seconds']:.1f} s", flush=True)


# -- construction --


def build_net(n_features, n_classes, device, params, generator):
    """Build and initialise the metric network that the estimator's parameters describe.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_classes : int
        Number of classes of the head.
    device : str
        A resolved torch device (see :func:`resolve_device`).
    params : dict
        The estimator's parameters, as ``get_params(deep=False)`` gives them.
    generator : torch.Generator
        The CPU generator that the initial weights are drawn from (see :func:`seeded_torch`).

    Returns
    -------
    net : MetricNet
        The initialised net, in float32 whatever torch's default dtype. It keeps ``params``
        as ``build_params_``: what the network was built with, which a later ``set_params``
        of the estimator does not change.
    """
    encoder = build_encoder(n_features, params, generator)
    embedding_dim = output_width(encoder, n_features)
    metric_loss = params["metric_loss"]
    if isinstance(metric_loss, str):
        metric_loss = METRIC_LOSSES[metric_loss](params["temperature"])
    with torch.device("meta"):  # the head is built without weights; they are drawn from generator
        module = MetricModule(encoder, embedding_dim, n_classes, params["temperature"])
    module.head = _initialized(module.head, generator)
    net = MetricNet(
        module,
        MetricLoss(metric_loss, params["head_weight"]),
        mask_probability=params["mask_probability"],
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=params["weight_decay"],
        optimizer__fused=fused_adam(device),
        lr=params["lr"],
        batch_size=params["batch_size"],
        train_split=None,
        device=device,
        callbacks=[EpochLog()] if params["verbose"] >= 2 else None,
        verbose=0,
    )
    net.initialize()
    net.build_params_ = dict(params)
    return net


def build_encoder(n_features, params, generator):
    """The encoder, in float32: :class:`MLPEncoder`, the user's module class called, or a copy of their instance.

    The weights of :class:`MLPEncoder` are drawn from ``generator``. A module class
    initialises its own weights, from torch's global generator: it is called with that
    generator seeded from ``generator``, under a lock that every such call shares, and
    the caller's generator state is restored after it.
    """
    module, module_params = params["module"], params["module_params"] or {}
    if module is None:
        repeated = {"hidden_units", "dropout"} & set(module_params)
        if repeated:
            raise ValueError(f"Set {sorted(repeated)} as parameters of DMLPLClassifier, not in module_params.")
        hidden_units = params["hidden_units"]
        if not all(isinstance(units, Integral) and units > 0 for units in hidden_units):
            raise InvalidParameterError(
                f"The 'hidden_units' parameter of DMLPLClassifier must hold positive ints. Got {hidden_units!r} instead."
            )
        with torch.device("meta"):  # built without weights; they are drawn from generator
            encoder = MLPEncoder(n_features, params["embedding_dim"], tuple(hidden_units), params["dropout"], **module_params)
        return _initialized(encoder, generator)
    if isinstance(module, nn.Module):
        if module_params:
            raise ValueError("module_params apply to a module class, not to a module instance.")
        return copy.deepcopy(module).to(torch.float32)  # the caller's module stays untrained
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
    with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = module(n_features=n_features, embedding_dim=params["embedding_dim"], **module_params)
    return encoder.to(torch.float32)


def _initialized(module, generator):
    """``module``, built on the meta device, on the CPU in float32 with weights drawn from ``generator``.

    Linear layers get torch's own initialisation of :class:`torch.nn.Linear`; BatchNorm
    layers their ones, zeros and fresh statistics.
    """
    module = module.to_empty(device="cpu").to(torch.float32)
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        elif isinstance(layer, nn.BatchNorm1d):
            layer.reset_parameters()
        elif isinstance(layer, PeriodicEmbedding):  # its linear layer is one of the modules
            layer.reset_own_parameters(generator)
        elif any(True for _ in layer.parameters(recurse=False)) or any(True for _ in layer.buffers(recurse=False)):
            raise TypeError(f"No initialisation from a generator is defined for {type(layer).__name__}.")
    return module


def output_width(encoder, n_features):
    """Run two zero rows through ``encoder`` and return its output width, or explain why not."""
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(torch.zeros(2, n_features, dtype=torch.float32))
    except Exception as error:  # noqa: BLE001 - a user's module may raise anything; say which and why
        raise ValueError(
            f"The module could not embed a batch of shape (2, {n_features}): {type(error).__name__}: {error}"
        ) from None
    finally:
        encoder.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"The module must return a tensor of shape (batch, width); for a batch of 2 rows it returned {shape}.")
    return out.shape[1]


def resolve_device(device):
    """The torch device that ``device`` names: ``"auto"`` is CUDA when available, else CPU.

    Raises a ``ValueError`` for a name torch does not know, and for CUDA on a machine
    without it.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a torch device: {error}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for, but torch.cuda.is_available() is False; "
            "use device='auto' or 'cpu'."
        )
    return str(device)


# torch's global generator is one per process, and fork_rng saves and restores it: two
# module classes called at once in threads of one process (joblib's threading backend, a
# dask worker) would draw from, and restore, each other's stream. They take turns with it.
# Nothing else in a fit or a load draws from it.
_TORCH_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_torch(seed):
    """The torch context of a fit or a load: a generator of its own, and gradients on.

    Yields a CPU ``torch.Generator`` seeded with ``seed``, which :func:`build_net` draws
    the initial weights from; torch's global generator, default dtype and thread count are
    neither read nor changed. Gradients are enabled even inside a caller's
    ``torch.inference_mode()`` or ``torch.no_grad()`` block, so that a fit works there.

    Parameters
    ----------
    seed : int
        The seed of the generator.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield torch.Generator().manual_seed(seed)


class EpochLog(Callback):
    """Print one line per epoch: its number out of the training step's, its loss and seconds.

    Each training step of ``fit`` (metric learning, each fine-tuning) is one skorch
    training run; the epochs count from 1 in each, and the last number is the seconds
    since the step began. ``verbose=2`` adds this callback to the net.
    """

    def on_train_begin(self, net, **kwargs):
        self.first_epoch_ = len(net.history)  # the net is warm-started: its history goes on
        self.started_ = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history) - self.first_epoch_
        row = net.history[-1]
        print(
            f"  epoch {epoch}/{net.max_epochs}: loss {row['train_loss']:.4f}, {row['dur']:.2f} s "
            f"({time.perf_counter() - self.started_:.1f} s in all)",
            flush=True,
        )
