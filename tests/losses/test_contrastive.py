"""Tests for model.losses.contrastive."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from model.losses import FeatureQueue, contrastive_loss, multi_resolution_contrastive_loss
from model.losses.config import TotalLossConfig, combine_losses

F64 = torch.float64


def test_queue_wraparound_and_state_dict() -> None:
    q = FeatureQueue(size=4, dim=2)
    assert len(q) == 0
    q.enqueue(torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]), torch.tensor([1, 2, 3]))
    assert len(q) == 3 and int(q.ptr) == 3
    feats, ids = q.filled()
    assert ids.tolist() == [1, 2, 3]
    q.enqueue(torch.tensor([[4.0, 0.0], [5.0, 0.0]]), torch.tensor([4, 5]))
    assert len(q) == 4 and int(q.ptr) == 1
    assert q.ids.tolist() == [5, 2, 3, 4]  # the oldest (id 1) was overwritten
    assert q.features[:, 0].tolist() == [5.0, 2.0, 3.0, 4.0]
    q.enqueue(torch.arange(12.0).reshape(6, 2), torch.arange(10, 16))  # more than the queue: keep last 4
    assert sorted(q.ids.tolist()) == [12, 13, 14, 15]
    q2 = FeatureQueue(size=4, dim=2)
    q2.load_state_dict(q.state_dict())
    assert torch.equal(q2.features, q.features) and torch.equal(q2.ids, q.ids)
    assert int(q2.ptr) == int(q.ptr) and torch.equal(q2.valid, q.valid)
    q.reset()
    assert len(q) == 0


def test_queue_detaches_and_moves_dtype() -> None:
    q = FeatureQueue(size=3, dim=2).to(F64)
    x = torch.ones(2, 2, requires_grad=True)
    q.enqueue(x * 2, torch.tensor([0, 1]))
    assert q.features.dtype == F64 and not q.features.requires_grad
    assert q.ids.dtype == torch.long


def test_enqueue_resolutions_with_mask() -> None:
    q = FeatureQueue(size=10, dim=1)
    feats = torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])  # (K=2, B=2, 1)
    q.enqueue_resolutions(feats, torch.tensor([7, 8]), mask=torch.tensor([[1, 1], [1, 0]]))
    f, ids = q.filled()
    assert f[:, 0].tolist() == [1.0, 2.0, 3.0] and ids.tolist() == [7, 8, 7]


def test_infonce_equal_similarities_is_log_one_plus_n() -> None:
    anchors = torch.tensor([[1.0, 0.0]])
    positives = torch.tensor([[1.0, 1.0]])  # cos = 1/sqrt(2)
    q = FeatureQueue(size=8, dim=2)
    n = 5
    # negatives along (1, 1) with different norms: same cosine as the positive
    q.enqueue(torch.arange(1.0, n + 1)[:, None] * torch.tensor([[1.0, 1.0]]), torch.arange(n) + 100)
    loss = contrastive_loss(anchors, positives, q, torch.tensor([0]), tau=0.1)
    assert float(loss) == pytest.approx(math.log(1 + n), rel=1e-5)


def test_hand_computed_infonce_and_temperature() -> None:
    anchors = torch.tensor([[1.0, 0.0]], dtype=F64)
    positives = torch.tensor([[2.0, 0.0]], dtype=F64)  # cos 1
    q = FeatureQueue(size=4, dim=2, dtype=F64)
    q.enqueue(torch.tensor([[0.0, 3.0], [-1.0, 0.0]], dtype=F64), torch.tensor([1, 2]))  # cos 0 and -1
    for tau in (0.1, 0.5, 1.0):
        loss = contrastive_loss(anchors, positives, q, torch.tensor([0]), tau=tau)
        expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0.0) + math.exp(-1 / tau)))
        assert float(loss) == pytest.approx(expected)
    # lower temperature sharpens: the loss of a well-separated positive shrinks
    assert float(contrastive_loss(anchors, positives, q, torch.tensor([0]), tau=0.1)) < float(
        contrastive_loss(anchors, positives, q, torch.tensor([0]), tau=1.0)
    )


def test_same_id_entries_are_not_negatives() -> None:
    gen = torch.Generator().manual_seed(0)
    anchors = torch.randn(3, 8, generator=gen)
    positives = torch.randn(3, 8, generator=gen)
    ids = torch.tensor([10, 11, 12])
    base = FeatureQueue(size=32, dim=8)
    base.enqueue(torch.randn(6, 8, generator=gen), torch.arange(100, 106))
    before = contrastive_loss(anchors, positives, base, ids)
    for b in range(3):
        # Sample b's own positive and anchor, queued under its id, change nothing ...
        same = FeatureQueue(size=32, dim=8)
        same.load_state_dict(base.state_dict())
        same.enqueue(positives[b : b + 1], ids[b : b + 1])
        same.enqueue(anchors[b : b + 1], ids[b : b + 1])
        mask = (torch.arange(3) == b).float()
        torch.testing.assert_close(
            contrastive_loss(anchors, positives, same, ids, mask=mask),
            contrastive_loss(anchors, positives, base, ids, mask=mask),
        )
        # ... while under another id the positive is a negative and raises sample b's loss.
        other = FeatureQueue(size=32, dim=8)
        other.load_state_dict(base.state_dict())
        other.enqueue(positives[b : b + 1], ids[b : b + 1] + 1000)
        assert float(contrastive_loss(anchors, positives, other, ids, mask=mask)) > float(
            contrastive_loss(anchors, positives, base, ids, mask=mask)
        )
    # Whole batch: all three queued under their own ids; each sample only sees the others' entries.
    q = FeatureQueue(size=32, dim=8)
    q.load_state_dict(base.state_dict())
    q.enqueue(positives, ids)
    assert float(contrastive_loss(anchors, positives, q, ids)) > float(before)


def test_empty_slots_are_never_negatives() -> None:
    anchors = torch.tensor([[1.0, 0.0]])
    positives = torch.tensor([[1.0, 0.0]])
    big = FeatureQueue(size=100, dim=2)
    big.enqueue(torch.tensor([[0.0, 1.0]]), torch.tensor([5]))
    small = FeatureQueue(size=1, dim=2)
    small.enqueue(torch.tensor([[0.0, 1.0]]), torch.tensor([5]))
    torch.testing.assert_close(
        contrastive_loss(anchors, positives, big, torch.tensor([0])),
        contrastive_loss(anchors, positives, small, torch.tensor([0])),
    )


def test_all_negatives_excluded_gives_zero_not_nan() -> None:
    anchors = torch.randn(2, 4, requires_grad=True)
    positives = torch.randn(2, 4)
    ids = torch.tensor([1, 1])
    q = FeatureQueue(size=4, dim=4)
    q.enqueue(torch.randn(2, 4), torch.tensor([1, 1]))
    loss = contrastive_loss(anchors, positives, q, ids, batch_negatives="always")
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert torch.isfinite(anchors.grad).all()


def test_in_batch_negatives_when_queue_empty() -> None:
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)
    positives = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)
    tau = 0.5
    # each anchor: positive cos 1, one in-batch negative with cos 0
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 1.0))
    empty = FeatureQueue(size=4, dim=2, dtype=F64)
    for queue in (None, empty):
        loss = contrastive_loss(anchors, positives, queue, torch.tensor([0, 1]), tau=tau)
        assert float(loss) == pytest.approx(expected)
    # duplicates of the same image in the batch are not negatives of each other
    assert float(contrastive_loss(anchors, positives, None, torch.tensor([3, 3]), tau=tau)) == pytest.approx(0.0)
    never = contrastive_loss(anchors, positives, None, torch.tensor([0, 1]), tau=tau, batch_negatives="never")
    assert float(never) == pytest.approx(0.0)


def test_positive_is_detached_by_default() -> None:
    anchors = torch.randn(3, 4, requires_grad=True)
    positives = torch.randn(3, 4, requires_grad=True)
    q = FeatureQueue(size=8, dim=4)
    q.enqueue(torch.randn(5, 4), torch.arange(5) + 50)
    for kind in ("infonce", "mse", "cosine"):
        anchors.grad = None
        positives.grad = None
        contrastive_loss(anchors, positives, q, torch.arange(3), kind=kind).backward()
        assert positives.grad is None
        assert anchors.grad is not None and torch.any(anchors.grad != 0)
    contrastive_loss(anchors, positives, q, torch.arange(3), detach_positives=False).backward()
    assert positives.grad is not None


def test_mse_and_cosine_variants() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)
    p = torch.tensor([[3.0, 0.0], [2.0, 0.0]], dtype=F64)
    assert float(contrastive_loss(a, p, kind="mse")) == pytest.approx(((4 + 0) / 2 + (4 + 4) / 2) / 2)
    assert float(contrastive_loss(a, p, kind="cosine")) == pytest.approx((0.0 + 1.0) / 2)
    with pytest.raises(ValueError):
        contrastive_loss(a, p, kind="bogus")  # type: ignore[arg-type]


def test_sample_mask() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(3, 4, generator=gen)
    p = torch.randn(3, 4, generator=gen)
    q = FeatureQueue(size=8, dim=4)
    q.enqueue(torch.randn(4, 4, generator=gen), torch.arange(4) + 20)
    ids = torch.arange(3)
    masked = contrastive_loss(a, p, q, ids, mask=torch.tensor([1, 0, 1]))
    sub = contrastive_loss(a[[0, 2]], p[[0, 2]], q, ids[[0, 2]])
    torch.testing.assert_close(masked, sub)
    assert float(contrastive_loss(a, p, q, ids, mask=torch.zeros(3))) == 0.0


def test_multi_resolution_pairs_and_variants() -> None:
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(3, 4, 8, generator=gen, requires_grad=True)
    ids = torch.arange(4)
    q = FeatureQueue(size=32, dim=8)
    q.enqueue(torch.randn(10, 8, generator=gen), torch.arange(10) + 100)
    loss = multi_resolution_contrastive_loss(feats, q, ids)
    expected = (
        contrastive_loss(feats[1], feats[0], q, ids)
        + 2 * contrastive_loss(feats[2], feats[0], q, ids)
        + contrastive_loss(feats[2], feats[1], q, ids)
    )
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.all(feats.grad[0] == 0)
    for kind in ("infonce", "mse", "cosine"):
        for mode in ("directional", "symmetric", "highest"):
            value = multi_resolution_contrastive_loss(feats, q, ids, kind=kind, mode=mode, mask=torch.ones(4, 3))
            assert torch.isfinite(value)
    q.enqueue_resolutions(feats, ids)
    assert len(q) == 22


def test_combine_losses() -> None:
    cfg = TotalLossConfig()
    total, terms = combine_losses(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0), cfg)
    assert float(total) == pytest.approx(1.0 + 0.1 * 2.0 + 0.1 * 3.0)
    assert terms["total"] == pytest.approx(1.5)
    total, _ = combine_losses(torch.tensor(1.0), None, None, TotalLossConfig(overall_scale=60.0))
    assert float(total) == pytest.approx(60.0)


def test_queue_on_cuda_if_available() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    q = FeatureQueue(size=8, dim=4).cuda()
    a = torch.randn(2, 4, device="cuda")
    q.enqueue(F.normalize(a, dim=-1), torch.tensor([0, 1], device="cuda"))
    loss = contrastive_loss(a, a, q, torch.tensor([2, 3], device="cuda"))
    assert loss.is_cuda and torch.isfinite(loss)


def test_multi_resolution_mask_with_nan_placeholders() -> None:
    feats = torch.randn(2, 3, 4, dtype=F64)
    feats[1, 2] = float("nan")  # sample 2 lacks the low resolution
    feats.requires_grad_(True)
    mask = torch.tensor([[1, 1], [1, 1], [1, 0]])
    loss = multi_resolution_contrastive_loss(feats, None, torch.arange(3), mask=mask)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(feats.grad).all()
    assert torch.all(feats.grad[1, 2] == 0)
