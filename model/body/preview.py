"""Draw a body model in a few poses with its joints, to check it by eye.

``python -m model.body.preview --out body.png [--model PATH]``

Each panel is an orthographic front view (matplotlib, painter's algorithm, grey Lambert shading;
no dependency on :mod:`model.render`, which sits downstream of the body model) with the 24
SMPL joints drawn on top: the person's **left** joints in blue, right joints in red, centre joints
in white, and bones as lines. A correct model shows the blue joints on the right of each panel
(the person faces the viewer) and the red ones on the left.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from model.body.joint_names import SMPL_JOINT_NAMES, SMPL_PARENTS
from model.body.model import BodyModel, load_body_model

#: Named demonstration poses: joint name -> axis-angle (SMPL canonical frame).
DEMO_POSES: dict[str, dict[str, tuple[float, float, float]]] = {
    "T-pose": {},
    "arms down": {"left_shoulder": (0.0, 0.0, -1.25), "right_shoulder": (0.0, 0.0, 1.25)},
    "walking": {
        "left_hip": (-0.5, 0.0, 0.0), "right_hip": (0.35, 0.0, 0.0), "right_knee": (0.5, 0.0, 0.0),
        "left_knee": (0.15, 0.0, 0.0), "left_shoulder": (0.0, -0.3, -1.25), "right_shoulder": (0.0, -0.3, 1.25),
        "left_elbow": (0.0, 0.0, 0.0), "right_elbow": (0.0, -0.6, 0.0),
    },
    "left arm up, sit": {
        "left_shoulder": (0.0, 0.0, 1.2), "right_shoulder": (0.0, 0.0, 1.25),
        "left_hip": (-1.5, 0.0, 0.0), "right_hip": (-1.5, 0.0, 0.0), "left_knee": (1.5, 0.0, 0.0),
        "right_knee": (1.5, 0.0, 0.0),
    },
}  # fmt: skip


def demo_pose(name: str) -> torch.Tensor:
    """``(24, 3)`` axis-angle pose of :data:`DEMO_POSES` ``[name]`` (root upright in SMPL axes)."""
    pose = torch.zeros(24, 3)
    for joint, aa in DEMO_POSES[name].items():
        pose[SMPL_JOINT_NAMES.index(joint)] = torch.tensor(aa)
    return pose


def joint_side_colors() -> list[str]:
    """Matplotlib colour per SMPL joint: left blue, right red, centre white."""
    return ["tab:blue" if n.startswith("left") else "tab:red" if n.startswith("right") else "white" for n in SMPL_JOINT_NAMES]


def front_view(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic front view (camera on +z looking at the body) for the painter's algorithm.

    Args:
        vertices: (V, 3) in SMPL axes.
        faces: (F, 3).
    Returns:
        ``polygons (F', 3, 2)`` in far-to-near order (back-facing faces dropped) and their grey
        levels ``(F',)`` from Lambert shading with a light above-left of the camera.
    """
    tri = vertices[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True).clip(1e-12)
    front = normal[:, 2] > 0
    light = np.array([-0.3, 0.5, 1.0]) / np.linalg.norm([-0.3, 0.5, 1.0])
    shade = 0.25 + 0.7 * (normal[front] @ light).clip(0, 1)
    order = np.argsort(tri[front, :, 2].mean(1))  # far (small z) first
    return tri[front][order][:, :, :2], shade[order]


def draw(body: BodyModel, out: Path, dpi: int = 120) -> Path:
    """Write the preview PNG to ``out`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    names = list(DEMO_POSES)
    poses = torch.stack([demo_pose(n) for n in names])
    with torch.no_grad():
        posed = body(torch.zeros(len(names), 10), poses)
    faces = body.faces.numpy()
    colors = joint_side_colors()
    fig, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 3.8), dpi=dpi)
    for ax, name, verts, joints in zip(axes, names, posed.vertices.numpy(), posed.joints.numpy()):
        polys, shade = front_view(verts, faces)
        ax.add_collection(PolyCollection(polys, facecolors=np.repeat(shade[:, None], 3, 1), edgecolors="none"))
        for j, p in enumerate(SMPL_PARENTS):
            if p >= 0:
                ax.plot(joints[[p, j], 0], joints[[p, j], 1], color="gold", lw=1.0, zorder=3)
        ax.scatter(joints[:, 0], joints[:, 1], c=colors, s=16, edgecolors="black", linewidths=0.5, zorder=4)
        lo, hi = verts[:, :2].min(0), verts[:, :2].max(0)
        half = 0.55 * (hi - lo).max()
        mid = (lo + hi) / 2
        ax.set_xlim(mid[0] - half, mid[0] + half)
        ax.set_ylim(mid[1] - half, mid[1] + half)
        ax.set_aspect("equal")
        ax.set_facecolor("#1e2a38")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=10)
    fig.suptitle(f"{body.name} ({body.num_vertices} vertices) - person's left joints blue, right red", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.body.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("body.png"), help="output PNG (default body.png)")
    parser.add_argument("--model", default=None, help="SMPL file/dir or our .npz (default: embedded free model)")
    parser.add_argument("--dpi", type=int, default=120, help="resolution of the PNG")
    args = parser.parse_args(argv)
    path = draw(load_body_model(args.model), args.out, args.dpi)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
