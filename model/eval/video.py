"""``python -m model.eval.video``: single-frame vs video model on held-out low-resolution clips (paper Table 3).

>>> python -m model.eval.video --video-checkpoint checkpoints/video-cpu/model.pt \\
...     --resolutions 32,52 --clips 100 --out checkpoints/video-cpu/eval

The test clips are synthetic CCTV sequences (:mod:`model.data.sequences`) of people drawn from
:data:`VIDEO_TEST_SEED`, a seed no training config uses; every clip is degraded to exactly each
evaluated person size (realistic mode: per-frame noise, blur and JPEG draws, seeded) and
brought back to the network input. Both models see the same frozen backbone features: the
single-frame model is the backbone's own regressor, the video model the temporal module.

Metrics on LSP-14 joints, pelvis-centred (mean of the hips), millimetres: MPJPE, PA-MPJPE (per
frame, then averaged), ACC (mean acceleration of the prediction, mm/frame^2) and ACC-ERR (VIBE:
mean norm of the difference of predicted and true second differences). A third row is the
service's other temporal model, the Gaussian filter over the single-frame answers
(:class:`model.inference.temporal.GaussianFilter`, sigma 1.5 frames as served).

Two behaviour checks beside the table:

* **Still input** (:func:`still_drift`): one frame's features repeated ``--still-frames`` times
  (a person who does not move, a paused stream). Time adds nothing there, so the video answer
  should be the single-frame answer for that frame: reported is the mean per-joint distance
  (pelvis-centred LSP-14, mm) between the two, at the first frame and over the later frames
  (mean and worst frame), averaged over clips and for the worst clip; and how far each answer is
  from the truth of that frame (MPJPE and PA-MPJPE over the later frames), so that an offset can be
  told apart from a drift away from the person.
* **Turning camera** (:func:`facing_flips`): held-out clips seen by a camera that turns
  ``--turn-deg`` degrees around the person while it follows them, so the side in view changes
  steadily. Per frame the facing direction is the body's forward axis in the camera's horizontal
  plane; a *flip* is a frame-to-frame change above 90 degrees (the truth turns a few degrees per
  frame), and *wrong facing* a frame whose facing is more than 90 degrees from the truth. Flips
  into the first :data:`EARLY_FRAMES` frames after the first are also counted apart: there a
  causal model has seen little of the clip. The table of errors is reported on these clips too.

Writes ``video_eval.md`` (tables), ``video_eval.json`` and ``video_trajectory.png`` (one joint of
one clip over time: ground truth, single-frame, video).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from model.body.joint_names import HIPS, LSP14_NAMES, SMPL_FLIP_PERMUTATION
from model.body.symmetry import depth_mirror_joints, depth_mirror_rotmat
from model.data.degrade import DegradeConfig
from model.data.video_features import build_feature_cache
from model.eval.metrics import (
    acceleration,
    acceleration_error,
    mpjpe,
    pa_mpjpe,
    pelvis_center,
)
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_rot6d
from model.inference.facing import DEFAULT_SWITCH_COST_MM, consistent_rotmat
from model.inference.predictor import TensorPrediction
from model.inference.sequence import SequencePredictor
from model.inference.temporal import gaussian_weights, project_to_rotation
from model.inference.turn_limit import DEFAULT_MAX_TURN_DEG, limit_turn
from model.runtime import atomic_save

__all__ = ["VIDEO_TEST_SEED", "VIDEO_VALIDATION_SEED", "EARLY_FRAMES", "FACING_MODELS", "MODELS", "TURN_MODELS", "evaluate_video", "facing_angle", "facing_flips", "facing_jumps", "feature_change", "main", "predict", "still_drift", "wrapped_angle"]

#: Seed of the evaluation people and clips (training configs use 0 by default).
VIDEO_TEST_SEED = 31_337
#: Seed of the validation clips that settings (the facing decoder's switch cost) are chosen on.
VIDEO_VALIDATION_SEED = 27_182
DEFAULT_RESOLUTIONS = (32, 52)
#: The served Gaussian filter's default strength (frames), the baseline row.
FILTER_SIGMA = 1.5
#: Rows of every table: the backbone's own answer, the served filter over it, the video model.
MODELS = ("single-frame", "filter", "video")
#: Flips into frames ``1..EARLY_FRAMES`` are counted apart (:attr:`Facing.early_flips_per_clip`).
EARLY_FRAMES = 4
#: Rows added by ``--facing``: the filter and the video model with the facing decoder
#: (:mod:`model.inference.facing`; the filter's input is decoded, the video model's output).
FACING_MODELS = ("filter+facing", "video+facing")
#: Rows added by ``--max-turn``: each model's answer with its heading's turn limited per frame
#: (:mod:`model.inference.turn_limit`, served by ``/v1/sequence``'s ``max_turn_deg``).
TURN_MODELS = ("single-frame+turn", "filter+turn", "video+turn")


@dataclass(frozen=True)
class ModelErrors:
    """Errors of one model at one resolution (mm; ACC in mm/frame^2)."""

    mpjpe: float
    pa_mpjpe: float
    acc: float
    acc_err: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def sequence_errors(pred: Tensor, gt: Tensor) -> ModelErrors:
    """Errors of ``(N, T, 14, 3)`` LSP-14 trajectories (metres) against the ground truth."""
    hips = HIPS["lsp14"]
    n, t = pred.shape[:2]
    p = pelvis_center(pred.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
    g = pelvis_center(gt.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
    return ModelErrors(
        mpjpe=float(mpjpe(p.reshape(n * t, 14, 3), g.reshape(n * t, 14, 3)).mean()),
        pa_mpjpe=float(pa_mpjpe(pred.reshape(n * t, 14, 3), gt.reshape(n * t, 14, 3)).mean()),
        acc=float(torch.stack([acceleration(p[i]).mean() for i in range(n)]).mean()),
        acc_err=float(torch.stack([acceleration_error(p[i], g[i]).mean() for i in range(n)]).mean()),
    )


@torch.inference_mode()
def predict(
    seq: SequencePredictor, phi: Tensor, model: str, switch_cost_mm: float = DEFAULT_SWITCH_COST_MM, max_turn_deg: float = DEFAULT_MAX_TURN_DEG
) -> TensorPrediction:
    """``(N, T, C)`` features -> a :class:`TensorPrediction` of ``N*T`` rows (``(n, t)`` order) of one
    of :data:`MODELS`, :data:`FACING_MODELS` or :data:`TURN_MODELS`.

    ``switch_cost_mm``: the facing decoder's price of a turned frame (the ``+facing`` rows);
    ``max_turn_deg``: the turn limit per frame of the ``+turn`` rows.
    """
    if model not in MODELS + FACING_MODELS + TURN_MODELS:
        raise ValueError(f"model must be one of {MODELS + FACING_MODELS + TURN_MODELS}, got {model!r}")
    base, _, post = model.partition("+")
    n, t = phi.shape[:2]
    out = seq.predict_features(phi, temporal=base == "video")
    if post == "facing":
        rot, _ = consistent_rotmat(out.pose_rotmat.reshape(n, t, 24, 3, 3), out.smpl24.reshape(n, t, 24, 3), None, switch_cost_mm)
        rot = rot.reshape(n * t, 24, 3, 3)
        out = seq.backbone.decode(out.phi, rot, matrix_to_rot6d(rot), out.betas, out.camera)
    if base == "filter":
        w = torch.from_numpy(gaussian_weights(torch.ones(t, dtype=torch.bool).numpy(), FILTER_SIGMA)).to(out.pose_rotmat)
        rot = project_to_rotation(torch.einsum("ts,nsjab->ntjab", w, out.pose_rotmat.reshape(n, t, 24, 3, 3)))
        betas = torch.einsum("ts,nsk->ntk", w, out.betas.reshape(n, t, -1))
        camera = torch.einsum("ts,nsk->ntk", w, out.camera.reshape(n, t, 3))
        rot = rot.reshape(n * t, 24, 3, 3)
        out = seq.backbone.decode(out.phi, rot, matrix_to_rot6d(rot), betas.reshape(n * t, -1), camera.reshape(n * t, 3))
    if post == "turn":
        rot = out.pose_rotmat.reshape(n, t, 24, 3, 3).clone()
        rot[:, :, 0] = limit_turn(rot[:, :, 0], max_turn_deg)
        rot = rot.reshape(n * t, 24, 3, 3)
        out = seq.backbone.decode(out.phi, rot, matrix_to_rot6d(rot), out.betas, out.camera)
    return out


def predict_lsp14(
    seq: SequencePredictor, phi: Tensor, model: str, switch_cost_mm: float = DEFAULT_SWITCH_COST_MM, max_turn_deg: float = DEFAULT_MAX_TURN_DEG
) -> Tensor:
    """``(N, T, C)`` features -> ``(N, T, 14, 3)`` LSP-14 joints of one model (:func:`predict`)."""
    n, t = phi.shape[:2]
    return predict(seq, phi, model, switch_cost_mm, max_turn_deg).lsp14.reshape(n, t, 14, 3).cpu()


def evaluate_video(
    seq: SequencePredictor,
    data: dict[str, Tensor],
    resolutions: list[int],
    switch_cost_mm: float = DEFAULT_SWITCH_COST_MM,
    models: tuple[str, ...] = MODELS,
    max_turn_deg: float = DEFAULT_MAX_TURN_DEG,
) -> dict[int, dict[str, ModelErrors]]:
    """``{resolution: {model: errors}}`` for ``models`` (default :data:`MODELS`) on a feature cache."""
    gt = data["joints3d_lsp14"]
    return {
        res: {m: sequence_errors(predict_lsp14(seq, data["phi"][:, k].float(), m, switch_cost_mm, max_turn_deg), gt) for m in models}
        for k, res in enumerate(resolutions)
    }


@dataclass(frozen=True)
class StillDrift:
    """Distance of the video answer to the single-frame answer on a repeated frame (mm).

    Attributes:
        first: at the first frame, mean over clips.
        later_mean: over the later frames, mean over frames and clips.
        later_max: the worst later frame, mean over clips.
        worst_clip: the worst later frame of the worst clip.
        truth: ``{"single-frame" | "video": {"mpjpe", "pa_mpjpe"}}`` against the frame's ground
            truth (later frames; the single-frame answer is the same in every frame); empty without
            ground truth.
    """

    first: float
    later_mean: float
    later_max: float
    worst_clip: float
    truth: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def still_drift(seq: SequencePredictor, phi: Tensor, frames: int, gt: Tensor | None = None) -> StillDrift:
    """The still-input check on ``phi (N, C)`` (one frame per clip) repeated ``frames`` times;
    ``gt``: that frame's ``(N, 14, 3)`` LSP-14 joints (metres), for the error against the truth."""
    if frames < 2:
        raise ValueError(f"frames must be >= 2, got {frames}")
    hips = HIPS["lsp14"]
    n = phi.shape[0]
    still = phi[:, None].expand(n, frames, phi.shape[-1]).float()
    video = pelvis_center(predict_lsp14(seq, still, "video").reshape(n * frames, 14, 3), *hips).reshape(n, frames, 14, 3)
    single = pelvis_center(predict_lsp14(seq, still[:, :1], "single-frame").reshape(n, 14, 3), *hips)
    dist = 1000.0 * (video - single[:, None]).norm(dim=-1).mean(-1)  # (N, frames)
    later = dist[:, 1:]
    truth: dict[str, dict[str, float]] = {}
    if gt is not None:
        g = gt.float().cpu()
        later_video = video[:, 1:].reshape(-1, 14, 3)
        g_rep = g[:, None].expand(n, frames - 1, 14, 3).reshape(-1, 14, 3)
        truth = {
            "single-frame": {"mpjpe": float(mpjpe(single, pelvis_center(g, *hips)).mean()), "pa_mpjpe": float(pa_mpjpe(single, g).mean())},
            "video": {"mpjpe": float(mpjpe(later_video, pelvis_center(g_rep, *hips)).mean()), "pa_mpjpe": float(pa_mpjpe(later_video, g_rep).mean())},
        }
    return StillDrift(
        first=float(dist[:, 0].mean()),
        later_mean=float(later.mean()),
        later_max=float(later.amax(1).mean()),
        worst_clip=float(later.amax()),
        truth=truth,
    )


def facing_angle(rotmat: Tensor) -> Tensor:
    """``(..., 3, 3)`` root rotations (camera frame) -> facing azimuth in radians, ``(...)``.

    The body's forward axis (+z of the body frame) seen from above the camera's horizontal plane.
    """
    forward = rotmat[..., :, 2]
    return torch.atan2(forward[..., 0], forward[..., 2])


def feature_change(phi: Tensor) -> float:
    """How much the video model's input moves between frames: ``mean |phi_t - phi_{t-1}| / mean |phi|``
    over every frame pair of ``(..., T, C)`` features (0 for a still input)."""
    phi = phi.float()
    return float((phi[..., 1:, :] - phi[..., :-1, :]).norm(dim=-1).mean() / phi.norm(dim=-1).mean())


def feature_change_line(changes: dict[str, float], what: str) -> str:
    """One markdown line giving :func:`feature_change` per person size."""
    sizes = ", ".join(f"{v:.3f} at {k} px" for k, v in changes.items())
    return f"Frame-to-frame feature change `mean |phi_t - phi_(t-1)| / mean |phi|` ({what}): {sizes}.\n"


def wrapped_angle(a: Tensor) -> Tensor:
    """Angles (radians, any shape) wrapped to ``[-pi, pi)``."""
    return torch.remainder(a + torch.pi, 2 * torch.pi) - torch.pi


@dataclass(frozen=True)
class Facing:
    """Facing behaviour of one model on turning-camera clips.

    Attributes:
        flips_per_clip: frame-to-frame facing changes above 90 degrees, mean per clip.
        early_flips_per_clip: of those, the ones into the first :data:`EARLY_FRAMES` frames after
            the first (where a causal model has seen little of the clip), mean per clip.
        clips_with_flip: fraction of clips with at least one flip.
        wrong_facing: fraction of frames facing more than 90 degrees away from the truth.
        mean_error_deg: mean facing error in degrees.
    """

    flips_per_clip: float
    early_flips_per_clip: float
    clips_with_flip: float
    wrong_facing: float
    mean_error_deg: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def facing_jumps(angle: Tensor) -> Tensor:
    """``(..., T - 1)`` bool: where the facing ``angle (..., T)`` (radians, :func:`facing_angle`)
    changes by more than 90 degrees from one frame to the next (a flip)."""
    return wrapped_angle(angle[..., 1:] - angle[..., :-1]).abs() > torch.pi / 2


def facing_flips(root_pred: Tensor, root_true: Tensor) -> Facing:
    """Flips and wrong facing of ``(N, T, 3, 3)`` predicted root rotations against the truth."""
    pred, true = facing_angle(root_pred), facing_angle(root_true)
    jumps = facing_jumps(pred)
    error = wrapped_angle(pred - true).abs()
    return Facing(
        flips_per_clip=float(jumps.sum(1).float().mean()),
        early_flips_per_clip=float(jumps[:, :EARLY_FRAMES].sum(1).float().mean()),
        clips_with_flip=float(jumps.any(1).float().mean()),
        wrong_facing=float((error > torch.pi / 2).float().mean()),
        mean_error_deg=float(torch.rad2deg(error).mean()),
    )


def evaluate_facing(
    seq: SequencePredictor,
    data: dict[str, Tensor],
    resolutions: list[int],
    switch_cost_mm: float = DEFAULT_SWITCH_COST_MM,
    models: tuple[str, ...] = MODELS,
    max_turn_deg: float = DEFAULT_MAX_TURN_DEG,
) -> dict[int, dict[str, Facing]]:
    """``{resolution: {model: Facing}}`` on a feature cache (of turning-camera clips)."""
    true = axis_angle_to_matrix(data["pose"][:, :, 0].float())
    n, t = true.shape[:2]
    results: dict[int, dict[str, Facing]] = {}
    for k, res in enumerate(resolutions):
        phi = data["phi"][:, k].float()
        results[res] = {
            m: facing_flips(predict(seq, phi, m, switch_cost_mm, max_turn_deg).pose_rotmat[:, 0].reshape(n, t, 3, 3).cpu(), true) for m in models
        }
    return results


@dataclass(frozen=True)
class TwinDiagnosis:
    """Are a model's wrong-facing frames the depth-mirror twin of the truth? (``--facing``)

    Attributes:
        wrong_facing: fraction of frames facing more than 90 degrees away from the truth.
        twin_faces_right: of those frames, the fraction whose twin
            (:func:`~model.body.symmetry.depth_mirror_rotmat`) faces within 90 degrees of the truth.
        twin_closer: of those frames, the fraction whose twin's pelvis-centred SMPL-24 joints (camera
            frame) are closer to the truth than the answer's.
        answer_mm, twin_mm: mean joint distance of the answer and of its twin to the truth on them.
        right_mm: the answer's mean joint distance on the other frames.
    """

    wrong_facing: float
    twin_faces_right: float
    twin_closer: float
    answer_mm: float
    twin_mm: float
    right_mm: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def twin_diagnosis(seq: SequencePredictor, data: dict[str, Tensor], resolutions: list[int]) -> dict[int, dict[str, TwinDiagnosis]]:
    """``{resolution: {"single-frame" | "video": TwinDiagnosis}}`` on a feature cache (turning clips)."""
    true = axis_angle_to_matrix(data["pose"].float())  # (N, T, 24, 3, 3)
    n, t = true.shape[:2]
    gt = data["joints3d_smpl24"].float()
    gt = gt - gt[..., :1, :]
    angle = facing_angle(true[:, :, 0])
    results: dict[int, dict[str, TwinDiagnosis]] = {}
    for k, res in enumerate(resolutions):
        results[res] = {}
        for m in ("single-frame", "video"):
            out = predict(seq, data["phi"][:, k].float(), m)
            rot = out.pose_rotmat.reshape(n, t, 24, 3, 3).cpu()
            joints = out.smpl24.reshape(n, t, 24, 3).cpu()
            joints = joints - joints[..., :1, :]
            twin_rot = depth_mirror_rotmat(rot)
            twin = depth_mirror_joints(joints, SMPL_FLIP_PERMUTATION)
            wrong = wrapped_angle(facing_angle(rot[:, :, 0]) - angle).abs() > torch.pi / 2
            twin_right = wrapped_angle(facing_angle(twin_rot[:, :, 0]) - angle).abs() <= torch.pi / 2
            d_answer = 1000.0 * (joints - gt).norm(dim=-1).mean(-1)
            d_twin = 1000.0 * (twin - gt).norm(dim=-1).mean(-1)
            some = bool(wrong.any())
            results[res][m] = TwinDiagnosis(
                wrong_facing=float(wrong.float().mean()),
                twin_faces_right=float(twin_right[wrong].float().mean()) if some else float("nan"),
                twin_closer=float((d_twin < d_answer)[wrong].float().mean()) if some else float("nan"),
                answer_mm=float(d_answer[wrong].mean()) if some else float("nan"),
                twin_mm=float(d_twin[wrong].mean()) if some else float("nan"),
                right_mm=float(d_answer[~wrong].mean()) if bool((~wrong).any()) else float("nan"),
            )
    return results


def twin_table(results: dict[int, dict[str, TwinDiagnosis]], title: str) -> str:
    lines = [
        f"### {title}", "",
        "| person size | model | frames facing > 90° wrong | of those, twin faces right | of those, twin closer to the truth | joint distance on them: answer / twin (mm) | answer on the other frames (mm) |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for res, models in results.items():
        for name, d in models.items():
            lines.append(
                f"| {res} px | {name} | {100 * d.wrong_facing:.1f} % | {100 * d.twin_faces_right:.0f} % | {100 * d.twin_closer:.0f} % | "
                f"{d.answer_mm:.0f} / {d.twin_mm:.0f} | {d.right_mm:.0f} |"
            )
    return "\n".join(lines) + "\n"


def markdown_table(results: dict[int, dict[str, ModelErrors]], title: str) -> str:
    lines = [f"### {title}", "", "| person size | model | MPJPE (mm) | PA-MPJPE (mm) | ACC (mm/f²) | ACC-ERR (mm/f²) |", "|---|---|---|---|---|---|"]
    for res, models in results.items():
        for name, e in models.items():
            lines.append(f"| {res} px | {name} | {e.mpjpe:.1f} | {e.pa_mpjpe:.1f} | {e.acc:.1f} | {e.acc_err:.1f} |")
        single, video = models["single-frame"], models["video"]
        lines.append(
            f"| {res} px | video vs single | {100 * (video.mpjpe / single.mpjpe - 1):+.1f} % | "
            f"{100 * (video.pa_mpjpe / single.pa_mpjpe - 1):+.1f} % | {100 * (video.acc / single.acc - 1):+.1f} % | "
            f"{100 * (video.acc_err / single.acc_err - 1):+.1f} % |"
        )
    return "\n".join(lines) + "\n"


def sweep_table(sweep: dict[float, tuple[dict[int, dict[str, Facing]], dict[int, dict[str, ModelErrors]]]], title: str) -> str:
    """One row per switch cost, person size and decoded model: flips, wrong facing and errors."""
    lines = [
        f"### {title}", "",
        "| switch cost (mm) | person size | model | flips per clip | frames facing > 90° wrong | MPJPE (mm) | PA-MPJPE (mm) | ACC-ERR (mm/f²) |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for cost, (facing, errors) in sweep.items():
        for res in facing:
            for m in FACING_MODELS:
                f, e = facing[res][m], errors[res][m]
                lines.append(f"| {cost:g} | {res} px | {m} | {f.flips_per_clip:.2f} | {100 * f.wrong_facing:.1f} % | {e.mpjpe:.1f} | {e.pa_mpjpe:.1f} | {e.acc_err:.1f} |")
    return "\n".join(lines) + "\n"


def still_table(results: dict[int, StillDrift], frames: int, clips: int) -> str:
    lines = [
        f"### Still input: one frame repeated {frames} times ({clips} clips); video answer vs the single-frame answer, mean joint distance (mm)",
        "", "| person size | first frame | later frames, mean | worst later frame (mean over clips) | worst later frame, worst clip |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for res, d in results.items():
        lines.append(f"| {res} px | {d.first:.1f} | {d.later_mean:.1f} | {d.later_max:.1f} | {d.worst_clip:.1f} |")
    if all(d.truth for d in results.values()):
        lines += ["", "Against the truth of the repeated frame (later frames; mm):", "", "| person size | model | MPJPE | PA-MPJPE |", "|---|---|---|---|"]
        for res, d in results.items():
            for name, e in d.truth.items():
                lines.append(f"| {res} px | {name} | {e['mpjpe']:.1f} | {e['pa_mpjpe']:.1f} |")
    return "\n".join(lines) + "\n"


def facing_table(results: dict[int, dict[str, Facing]], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        f"| person size | model | flips per clip | of them into frames 1-{EARLY_FRAMES} | clips with a flip | frames facing > 90° wrong | mean facing error (°) |",
        "|---|---|---|---|---|---|---|",
    ]
    for res, models in results.items():
        for name, f in models.items():
            lines.append(
                f"| {res} px | {name} | {f.flips_per_clip:.2f} | {f.early_flips_per_clip:.2f} | {100 * f.clips_with_flip:.0f} % | {100 * f.wrong_facing:.1f} % | {f.mean_error_deg:.1f} |"
            )
    return "\n".join(lines) + "\n"


def plot_trajectory(
    seq: SequencePredictor, data: dict[str, Tensor], res_index: int, resolution: int, path: Path, clip: int | None = None, joint: str = "right_ankle"
) -> None:
    """Plot one joint of one clip over time; ``clip=None`` picks the clip where that joint moves most."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    j = LSP14_NAMES.index(joint)
    hips = HIPS["lsp14"]
    if clip is None:
        gt_all = data["joints3d_lsp14"]
        n, t = gt_all.shape[:2]
        centred_all = pelvis_center(gt_all.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
        clip = int(centred_all[:, :, j].std(dim=1).norm(dim=-1).argmax())
    phi = data["phi"][clip : clip + 1, res_index].float()
    gt = data["joints3d_lsp14"][clip]
    curves = {
        "ground truth": gt,
        "single-frame": predict_lsp14(seq, phi, "single-frame")[0],
        "video (GRU)": predict_lsp14(seq, phi, "video")[0],
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, joints in curves.items():
        centred = pelvis_center(joints, *hips) * 1000.0
        for ax, axis, label in ((axes[0], 0, "x"), (axes[1], 1, "y")):
            ax.plot(centred[:, j, axis].numpy(), label=name, lw=1.5 if name != "ground truth" else 2.5)
            ax.set_xlabel("frame")
            ax.set_ylabel(f"{joint} {label} (mm, pelvis-centred)")
    axes[0].legend()
    fig.suptitle(f"{joint} trajectory, clip {clip}, {resolution}-px person")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def test_features(
    seq: SequencePredictor,
    clips: int,
    frames: int,
    resolutions: list[int],
    cache: Path | None,
    turn: tuple[float, float] | None,
    desc: str,
    seed: int = VIDEO_TEST_SEED,
) -> dict[str, Tensor]:
    """The held-out clips' features (static cameras, or turning ones with ``turn`` degrees), cached when ``cache`` is given.

    ``seed``: the people and clips; :data:`VIDEO_TEST_SEED` for the test, another held-out seed
    (:data:`VIDEO_VALIDATION_SEED`) to choose settings on.
    """
    key = {"backbone": seq.backbone.checkpoint_id, "clips": clips, "frames": frames, "resolutions": resolutions, "seed": seed}
    if turn is not None:
        key["turn_deg"] = list(turn)
    if cache is not None and cache.is_file():
        data = torch.load(cache, map_location="cpu", weights_only=True)
        if data.get("key") == json.dumps(key, sort_keys=True):
            return data
    sizes = torch.tensor(resolutions).expand(clips, -1)
    orbit = None if turn is None else torch.ones(clips, dtype=torch.bool)
    data = build_feature_cache(
        seq.backbone, seed, clips, 0, frames, sizes, DegradeConfig(mode="realistic"), box_jitter=0.02, desc=desc,
        orbit=orbit, orbit_deg_range=turn or (0.0, 0.0),
    )  # fmt: skip
    data["key"] = json.dumps(key, sort_keys=True)
    if cache is not None:
        atomic_save(data, cache)
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.video", description="Single-frame vs filter vs video model on held-out synthetic low-resolution clips, still input and turning cameras.")
    parser.add_argument("--video-checkpoint", required=True, help="video model checkpoint (kind: video)")
    parser.add_argument("--backbone", default=None, help="single-frame checkpoint (default: the one the video model names)")
    parser.add_argument("--resolutions", default=",".join(map(str, DEFAULT_RESOLUTIONS)), help="person sizes in pixels, comma-separated")
    parser.add_argument("--clips", type=int, default=100, help="test clips")
    parser.add_argument("--frames", type=int, default=48, help="frames per test clip")
    parser.add_argument("--still-frames", type=int, default=20, help="frames of the still-input check (0: skip it)")
    parser.add_argument("--turn-clips", type=int, default=50, help="clips of the turning-camera check (0: skip it)")
    parser.add_argument("--turn-deg", default="90,180", help="range of the turning camera's sweep over a clip, degrees 'lo,hi'")
    parser.add_argument("--out", default="reports/video", help="folder for the table, JSON and plot")
    parser.add_argument("--cache", default=None, help="feature cache file (reused when it matches; the turning clips use <name>-turn.pt)")
    parser.add_argument("--seed", type=int, default=VIDEO_TEST_SEED, help=f"people and clips: {VIDEO_TEST_SEED} (the test) or {VIDEO_VALIDATION_SEED} (validation, for choosing settings)")
    parser.add_argument("--facing", action="store_true", help="add the rows of the facing decoder (filter+facing, video+facing); not served")
    parser.add_argument("--switch-cost", type=float, default=DEFAULT_SWITCH_COST_MM, help="facing decoder: price of a turned frame, mm (the +facing rows)")
    parser.add_argument("--sweep", default="", help="with --facing: tabulate the +facing rows on the turning clips for these switch costs (mm, comma-separated)")
    parser.add_argument(
        "--max-turn", type=float, default=None, metavar="DEG",
        help=f"add the rows of the turn limit at DEG degrees per frame ({', '.join(TURN_MODELS)}; served: {DEFAULT_MAX_TURN_DEG:g})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.max_turn is not None and not 0 < args.max_turn <= 180:
        parser.error(f"--max-turn must be in (0, 180] degrees, got {args.max_turn:g}")
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    turn_lo, turn_hi = (float(x) for x in args.turn_deg.split(","))
    seq = SequencePredictor.from_checkpoint(args.video_checkpoint, backbone=args.backbone, device=args.device)
    cache = Path(args.cache) if args.cache else None
    data = test_features(seq, args.clips, args.frames, resolutions, cache, None, "video test features", args.seed)
    models = MODELS + (FACING_MODELS if args.facing else ()) + (TURN_MODELS if args.max_turn is not None else ())
    max_turn = DEFAULT_MAX_TURN_DEG if args.max_turn is None else args.max_turn
    results = evaluate_video(seq, data, resolutions, args.switch_cost, models, max_turn)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    title = f"Held-out synthetic CCTV clips ({args.clips} x {args.frames} frames, static cameras, realistic degradation), LSP-14 joints"
    changes = {str(res): feature_change(data["phi"][:, k]) for k, res in enumerate(resolutions)}
    parts = [markdown_table(results, title), feature_change_line(changes, "these clips")]
    plain: dict[str, object] = {str(r): {m: e.to_dict() for m, e in models.items()} for r, models in results.items()}
    plain["feature_change"] = changes
    if args.still_frames > 0:
        still = {res: still_drift(seq, data["phi"][:, k, 0], args.still_frames, data["joints3d_lsp14"][:, 0]) for k, res in enumerate(resolutions)}
        parts.append(still_table(still, args.still_frames, args.clips))
        plain["still"] = {str(r): d.to_dict() for r, d in still.items()}
    if args.turn_clips > 0:
        turn_cache = None if cache is None else cache.with_name(cache.stem + "-turn.pt")
        turning = test_features(seq, args.turn_clips, args.frames, resolutions, turn_cache, (turn_lo, turn_hi), "turning-camera test features", args.seed)
        desc = f"{args.turn_clips} held-out clips x {args.frames} frames, camera turning {turn_lo:g}-{turn_hi:g}° around the person"
        facing = evaluate_facing(seq, turning, resolutions, args.switch_cost, models, max_turn)
        parts.append(facing_table(facing, f"Facing on turning-camera clips ({desc})"))
        turn_errors = evaluate_video(seq, turning, resolutions, args.switch_cost, models, max_turn)
        parts.append(markdown_table(turn_errors, f"Errors on the turning-camera clips ({desc}), LSP-14 joints"))
        plain["turning"] = {
            "facing": {str(r): {m: f.to_dict() for m, f in models.items()} for r, models in facing.items()},
            "errors": {str(r): {m: e.to_dict() for m, e in models.items()} for r, models in turn_errors.items()},
        }
        if args.facing:
            twins = twin_diagnosis(seq, turning, resolutions)
            parts.append(twin_table(twins, f"Wrong facing and the depth-mirror twin ({desc}); joints pelvis-centred, camera frame"))
            plain["twin"] = {str(r): {m: d.to_dict() for m, d in models.items()} for r, models in twins.items()}
        if args.facing and args.sweep:
            costs = [float(c) for c in args.sweep.split(",") if c]
            sweep = {c: (evaluate_facing(seq, turning, resolutions, c, FACING_MODELS), evaluate_video(seq, turning, resolutions, c, FACING_MODELS)) for c in costs}
            parts.append(sweep_table(sweep, f"Facing decoder's switch cost on the turning-camera clips ({desc})"))
            plain["sweep"] = {
                f"{c:g}": {str(r): {m: {**f[r][m].to_dict(), **e[r][m].to_dict()} for m in FACING_MODELS} for r in resolutions} for c, (f, e) in sweep.items()
            }
    plain["seed"] = args.seed
    head = f"People and clips from seed {args.seed}"
    if args.facing:
        plain["switch_cost_mm"] = args.switch_cost
        head += f"; facing decoder's switch cost {args.switch_cost:g} mm (the +facing rows)"
    if args.max_turn is not None:
        plain["max_turn_deg"] = args.max_turn
        head += f"; turn limit {args.max_turn:g} degrees per frame (the +turn rows)"
    parts.insert(0, head + ".\n")
    table = "\n".join(parts)
    (out / "video_eval.md").write_text(table)
    (out / "video_eval.json").write_text(json.dumps(plain, indent=2))
    plot_trajectory(seq, data, 0, resolutions[0], out / "video_trajectory.png")
    print(json.dumps(plain, indent=2) if args.json else table)


if __name__ == "__main__":
    main()
