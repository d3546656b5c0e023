"""Twin pairs: a scene beside its depth-mirror twin, and the sampler that keeps them in one batch.

The network reads the outline of a person and little else (model card, "What the network reads"):
a body and its depth-mirror twin (:func:`model.body.symmetry.depth_mirror_rotmat`: left and right
swapped, the body turned to face the other way) project to nearly the same outline, so a silhouette
reader answers their average. With :attr:`SyntheticConfig.twin_pairs <model.data.synthetic.SyntheticConfig>`
on, scene ``2n + 1`` is scene ``2n`` with the twin's pose -- same identity, outfit, camera, light,
background, occluder and second person, the pelvis at the same camera-frame point -- so the two
pictures differ only inside the figure (limbs crossing the body, face, front and back of the
clothes). :class:`TwinPairSampler` draws whole pairs, each as two consecutive samples of a batch,
for :func:`model.losses.twin_pairs.twin_pair_loss`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.utils.data import Sampler

from model.body.symmetry import depth_mirror_rotmat
from model.data.framing import camera_root_rotation
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

if TYPE_CHECKING:
    from model.data.synthetic import SceneParams


def twin_scene(scene: SceneParams) -> SceneParams:
    """The scene with its body posed as the depth-mirror twin (the mirror taken in the camera frame).

    ``scene.body_pose`` is ``(24, 3)`` axis-angle with the root in body axes; the root is turned into
    the camera frame of ``scene.view``, mirrored with the rest of the body, and turned back. Place the
    twin where the scene was framed (``cam_t``) to keep the pelvis at the same point.
    """
    cam = camera_root_rotation(scene.view.yaw, scene.view.elevation, scene.view.off_axis)[0].float()
    rot = axis_angle_to_matrix(scene.body_pose.float())
    rot = torch.cat([(cam @ rot[0])[None], rot[1:]])
    twin = depth_mirror_rotmat(rot)
    twin = torch.cat([(cam.T @ twin[0])[None], twin[1:]])
    return dataclasses.replace(scene, body_pose=matrix_to_axis_angle(twin))


def pair_base(index: int) -> int:
    """The scene a twin-pair index belongs to: ``2n`` for ``2n`` (the scene) and ``2n + 1`` (its twin)."""
    return int(index) - int(index) % 2


def partner_mask(index: Tensor) -> Tensor:
    """``(B // 2,)`` bool: whether samples ``2p`` and ``2p + 1`` of a batch with scene indices
    ``index (B,)`` are a scene and its twin (``2n`` then ``2n + 1``). An odd last sample is left out."""
    index = index.reshape(-1)
    b = index.shape[0] - index.shape[0] % 2
    first, second = index[0:b:2], index[1:b:2]
    return (first % 2 == 0) & (second == first + 1)


class TwinPairSampler(Sampler[int]):
    """Dataset positions in whole twin pairs: ``2p, 2p + 1`` for pairs ``p`` in a random order.

    A dataset of twin-pair scenes keeps each pair at two consecutive positions (the scene at an even
    position). With a batch size that is even, every batch holds whole pairs.

    With ``pair_share < 1`` only part of each batch is whole pairs: a batch of ``batch_size`` starts with
    ``round(pair_share * batch_size / 2)`` whole pairs and is filled with single samples, each one member
    (the scene or its twin, at random) of a further pair, so a batch shows more different scenes and the
    pair loss (:mod:`model.losses.twin_pairs`) still sees the pairs at the front. Singles never sit next to
    their own twin, so :func:`partner_mask` finds exactly the whole pairs.

    Args:
        length: dataset length (an odd last position is never drawn).
        generator: the random order (one epoch per iteration).
        weights: ``(length,)`` optional per-position sampling weights; pairs are then drawn with
            replacement, weighted by their first sample's weight (as
            :class:`torch.utils.data.WeightedRandomSampler` draws single samples).
        pair_share: share of each batch's samples that come as whole pairs, in ``[0, 1]`` (1: all).
        batch_size: the loader's batch size (needed, and even, when ``pair_share < 1``); the sampler then
            yields whole batches only.
    """

    def __init__(
        self, length: int, generator: torch.Generator | None = None, weights: Tensor | None = None,
        pair_share: float = 1.0, batch_size: int | None = None,
    ) -> None:
        if length < 2:
            raise ValueError(f"twin pairs need at least 2 samples, got {length}")
        if weights is not None and weights.shape != (length,):
            raise ValueError(f"weights must have shape ({length},), got {tuple(weights.shape)}")
        if not 0.0 <= pair_share <= 1.0:
            raise ValueError(f"pair_share must be in [0, 1], got {pair_share}")
        if pair_share < 1.0 and (batch_size is None or batch_size < 2 or batch_size % 2):
            raise ValueError(f"pair_share < 1 needs an even batch_size >= 2, got {batch_size}")
        self.pairs = length // 2
        self.generator = generator
        self.weights = None if weights is None else weights[0 : 2 * self.pairs : 2].double()
        self.pair_share = float(pair_share)
        self.batch_size = batch_size
        if pair_share < 1.0:
            assert batch_size is not None
            self.whole = round(pair_share * batch_size / 2)  # whole pairs per batch
            self.singles = batch_size - 2 * self.whole
            self.batches = self.pairs // (self.whole + self.singles)
            if self.batches == 0:
                raise ValueError(f"{self.pairs} pairs cannot fill one batch of {batch_size} with pair_share {pair_share}")

    def __len__(self) -> int:
        if self.pair_share < 1.0:
            assert self.batch_size is not None
            return self.batches * self.batch_size
        return 2 * self.pairs

    def __iter__(self) -> Iterator[int]:
        if self.weights is None:
            order = torch.randperm(self.pairs, generator=self.generator)
        else:
            order = torch.multinomial(self.weights, self.pairs, replacement=True, generator=self.generator)
        if self.pair_share >= 1.0:
            for p in order.tolist():
                yield 2 * p
                yield 2 * p + 1
            return
        members = torch.randint(0, 2, (self.pairs,), generator=self.generator).tolist()
        pairs = order.tolist()
        per_batch = self.whole + self.singles
        for b in range(self.batches):
            chunk = pairs[b * per_batch : (b + 1) * per_batch]
            for p in chunk[: self.whole]:
                yield 2 * p
                yield 2 * p + 1
            for i, p in enumerate(chunk[self.whole :], start=b * per_batch + self.whole):
                yield 2 * p + members[i]


def shared_draws(index: Tensor) -> Tensor:
    """``(B,)`` long: for :func:`model.data.augment.augment_batch`'s ``shared`` -- each twin (the second
    sample of a pair, :func:`partner_mask`) takes its scene's draws; every other sample its own."""
    index = index.reshape(-1).cpu()
    pick = torch.arange(index.shape[0])
    pairs = partner_mask(index).nonzero().flatten()
    pick[2 * pairs + 1] = 2 * pairs
    return pick
