import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses

from sk_dmlpl import MLPEncoder
from sk_dmlpl._network import (
    MAX_BUDGET_LR_FACTOR,
    MIN_BATCHES_PER_EPOCH,
    PairDataset,
    PeriodicEmbedding,
    SupConLoss,
    build_encoder,
    fused_adam,
)

from .conftest import quick


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
def test_supcon_loss_equals_pytorch_metric_learning(temperature):
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 6, (40,), generator=generator)
    labels[-3:] = torch.tensor([10, 11, 12])  # rows without a positive add nothing
    # As in MetricModule, the loss sees normalised embeddings of raw outputs.
    ours = torch.randn(40, 8, generator=generator).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()

    expected = losses.SupConLoss(temperature=temperature)(F.normalize(theirs, dim=1), labels)
    loss = SupConLoss(temperature)(F.normalize(ours, dim=1), labels)
    expected.backward()
    loss.backward()

    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(ours.grad, theirs.grad)


def test_supcon_loss_without_any_positive_is_zero_with_a_gradient():
    embedding = F.normalize(torch.randn(4, 3), dim=1).requires_grad_()
    loss = SupConLoss(0.1)(embedding, torch.arange(4))
    loss.backward()
    assert loss.item() == 0
    assert torch.equal(embedding.grad, torch.zeros_like(embedding))


@pytest.mark.parametrize("n_rows", [100, 5000])
def test_an_epoch_embeds_as_many_views_as_rows(small_semi, n_rows):
    X, y_semi, _ = small_semi
    clf = quick(max_epochs=1, batch_size=64).fit(X, y_semi)
    rows = np.random.default_rng(0).normal(size=(n_rows, X.shape[1])).astype(np.float32)
    labels = np.where(np.arange(n_rows) % 4 == 0, np.arange(n_rows) % 3, -1)
    neighbors = np.random.default_rng(1).integers(n_rows, size=(n_rows, 2))
    dataset = PairDataset(rows, labels, neighbors, 3, np.random.default_rng(2))

    batches = list(clf.net_.get_iterator(dataset, training=True))

    views = sum(2 * len(targets) for _, targets in batches)
    assert views == max(n_rows, 2 * MIN_BATCHES_PER_EPOCH * 64)
    assert all(len(targets) <= 64 for _, targets in batches)


@pytest.mark.parametrize(
    ("sqrt_epochs_from", "max_epoch_rows", "drawn"),
    [
        (None, None, 2500),
        (None, 10_000, 2500),
        (None, 1000, 1000),
        (None, 10, 256),
        (5000, None, 2500),  # at the size itself: half the rows, as without it
        (1250, None, 1250),  # a quarter of the size: half the rows of one twice the size
        (1250, 1000, 1000),
        (20, None, 256),
    ],
)
def test_epoch_rows_grow_as_the_square_root_then_stop(small_semi, sqrt_epochs_from, max_epoch_rows, drawn):
    X, y_semi, _ = small_semi
    clf = quick(max_epochs=1, batch_size=64).fit(X, y_semi)
    n_rows = 5000
    rows = np.random.default_rng(0).normal(size=(n_rows, X.shape[1])).astype(np.float32)
    labels = np.where(np.arange(n_rows) % 4 == 0, np.arange(n_rows) % 3, -1)
    neighbors = np.random.default_rng(1).integers(n_rows, size=(n_rows, 2))
    dataset = PairDataset(
        rows, labels, neighbors, 3, np.random.default_rng(2), sqrt_epochs_from=sqrt_epochs_from, max_epoch_rows=max_epoch_rows
    )

    batches = list(clf.net_.get_iterator(dataset, training=True))

    # Half the rows, or half the geometric mean of the rows and sqrt_epochs_from above
    # it, at most the cap, at least MIN_BATCHES_PER_EPOCH batches.
    assert sum(len(targets) for _, targets in batches) == drawn
    grown = n_rows if sqrt_epochs_from is None or n_rows <= sqrt_epochs_from else np.sqrt(sqrt_epochs_from * n_rows)
    assert drawn == max(MIN_BATCHES_PER_EPOCH * 64, min(int(np.ceil(grown / 2)), max_epoch_rows or n_rows))


def test_fit_trains_epochs_of_at_most_max_epoch_rows(small_semi):
    X, y_semi, _ = small_semi
    capped = quick(max_epochs=2, max_iter=2, fine_tune_epochs=1, batch_size=4, max_epoch_rows=30).fit(X, y_semi)
    uncapped = quick(max_epochs=2, max_iter=2, fine_tune_epochs=1, batch_size=4).fit(X, y_semi)
    grown = quick(max_epochs=2, max_iter=2, fine_tune_epochs=1, batch_size=4, sqrt_epochs_from=40).fit(X, y_semi)

    # skorch records each batch of an epoch: 30 rows are 8 batches of at most 4; without
    # the cap an epoch draws half of the 90 rows, 45, in 12 batches; growing as the
    # square root from 40 rows, half of sqrt(40 * 90) = 60, 30 rows. Both training steps.
    assert [len(epoch["batches"]) for epoch in capped.net_.history] == [8, 8, 8]
    assert [len(epoch["batches"]) for epoch in uncapped.net_.history] == [12, 12, 12]
    assert [len(epoch["batches"]) for epoch in grown.net_.history] == [8, 8, 8]


@pytest.mark.parametrize(
    ("sqrt_epochs_from", "batch_size", "factor"),
    [
        (None, 4, 1.0),  # an epoch draws half the rows: the rate as given
        (40, 4, 45 / 30),  # half of sqrt(40 * 90) = 30 rows instead of 45
        (1, 2, MAX_BUDGET_LR_FACTOR),  # 8 rows (4 batches of 2) instead of 45: capped
    ],
)
def test_the_first_stage_trains_faster_where_the_budget_draws_fewer_rows(small_semi, sqrt_epochs_from, batch_size, factor):
    X, y_semi, _ = small_semi
    clf = quick(max_epochs=1, max_iter=2, fine_tune_epochs=1, batch_size=batch_size, sqrt_epochs_from=sqrt_epochs_from)
    clf.fit(X, y_semi)

    rates = {record["step"]: record["lr"] for record in clf.history_ if "lr" in record}
    assert rates["metric learning"] == pytest.approx(clf.lr * factor, rel=1e-12)
    assert rates["fine-tuning"] == clf.fine_tune_lr  # warm-started: its rate as given
    if factor == 1.0:
        assert rates["metric learning"] == clf.lr  # to the bit: small fits train as before
    # The rate reaches the optimizer: with one round, nothing trains after the first stage.
    one_round = quick(max_epochs=1, max_iter=1, batch_size=batch_size, sqrt_epochs_from=sqrt_epochs_from).fit(X, y_semi)
    assert one_round.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(clf.lr * factor, rel=1e-12)


def test_adam_runs_fused_on_cpu_and_cuda_only(small_semi):
    X, y_semi, _ = small_semi
    clf = quick(max_epochs=1, max_iter=1, fine_tune_epochs=0, device="cpu").fit(X, y_semi)

    assert clf.net_.optimizer_.defaults["fused"] is True
    assert fused_adam("cuda:0") and fused_adam("cpu")
    assert not fused_adam("mps")


def test_periodic_embeddings_join_the_features_in_the_first_layer():
    encoder = MLPEncoder(n_features=5, embedding_dim=4, hidden_units=(16,), n_frequencies=6, feature_embedding_dim=3)
    assert encoder.layers[0].in_features == 5 + 5 * 3
    x = torch.randn(7, 5)
    periodic = encoder.periodic
    with torch.no_grad():
        periodic.gate.copy_(torch.arange(1.0, 6.0)[:, None])
    # One feature's embedding reads that feature only, through the linear layer all share, times its gate.
    phase = 2 * torch.pi * periodic.frequencies[2] * x[:, 2:3]
    expected = 3.0 * torch.relu(periodic.linear(torch.cat([torch.cos(phase), torch.sin(phase)], dim=1)))
    torch.testing.assert_close(periodic(x)[:, 6:9], expected)
    assert encoder(x).shape == (7, 4)
    assert MLPEncoder(n_features=5, embedding_dim=4, hidden_units=(16,)).periodic is None  # off by default


def _periodic_params(**module_params):
    """build_encoder's parameters for a small default encoder with these module_params."""
    return {"module": None, "hidden_units": (16,), "embedding_dim": 4, "dropout": 0.0, "module_params": module_params}


def test_periodic_gates_start_closed_and_open_in_training():
    encoder = build_encoder(5, _periodic_params(n_frequencies=8), torch.Generator().manual_seed(0))  # built on the meta device, then drawn
    x = torch.randn(32, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(encoder.periodic.gate, torch.zeros(5, 1))
    assert torch.equal(encoder.periodic(x), torch.zeros(32, 5 * 8))
    assert torch.equal(MLPEncoder(n_features=5, embedding_dim=4, n_frequencies=8).periodic.gate, torch.zeros(5, 1))
    # Closed gates still pass a gradient to themselves (not to the frequencies), so one step opens them.
    encoder.periodic(x).pow(2).sum().backward()
    assert encoder.periodic.frequencies.grad.abs().max() == 0
    output = (encoder.periodic(x) - 1).pow(2).sum()
    encoder.zero_grad()
    output.backward()
    assert encoder.periodic.gate.grad.abs().min() > 0


def test_periodic_frequencies_are_drawn_from_the_fit_generator_within_three_scales():
    params = _periodic_params(n_frequencies=50, frequency_scale=0.1)
    state = torch.get_rng_state()
    first = build_encoder(20, params, torch.Generator().manual_seed(3))
    again = build_encoder(20, params, torch.Generator().manual_seed(3))
    other = build_encoder(20, params, torch.Generator().manual_seed(4))
    assert torch.equal(torch.get_rng_state(), state)
    assert isinstance(first.periodic, PeriodicEmbedding)
    frequencies = first.periodic.frequencies.detach()
    assert torch.equal(frequencies, again.periodic.frequencies)
    assert not torch.equal(frequencies, other.periodic.frequencies)
    assert frequencies.abs().max() <= 0.3 and 0.08 < frequencies.std() < 0.11
