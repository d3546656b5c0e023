"""``python -m model.train.soup --checkpoints A B C --out soup.pt``: average the weights of networks
fine-tuned from one start (a uniform "model soup", Wortsman et al., ICML 2022).

Fine-tunes of one checkpoint usually stay in one basin of the loss, where the average of their
weights is itself a good network -- often better than each of them on data none was tuned on,
and it costs nothing at inference. Every floating weight and buffer (batch-norm running statistics
included) is averaged, optionally with ``--weights``; integer buffers (``num_batches_tracked``) are
the first file's.

The first checkpoint is the **base**: its configs, body model, resolution ranges, position and
format (a committed resume file stays one) are the output's, with a ``soup`` record naming every
ingredient. Every other ingredient must have the same body model, input size and resolution ranges
and exactly the base's weight names and shapes; weights the base does not have (e.g. a heading head
trained in one ingredient only) are refused unless ``--drop-prefix`` names them, and the output
lists what it dropped.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from model.nets.checkpoint import (
    RESUME_FORMAT,
    CheckpointError,
    export_served,
    file_id,
    load_network_file,
    save_resume_file,
)
from model.train.export import TRAINING_ONLY

__all__ = ["average_weights", "main", "soup_checkpoint"]

_MUST_MATCH = ("input_size", "resolution_bounds")


def average_weights(states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float] | None = None) -> dict[str, torch.Tensor]:
    """The weighted mean of state dicts with identical names and shapes (float32 for floating tensors).

    Args:
        states: ``K`` state dicts.
        weights: ``K`` non-negative mixing weights (normalised to sum to 1); default uniform.

    Raises:
        ValueError: names or shapes differ, or bad weights.
    """
    if not states:
        raise ValueError("nothing to average")
    w = [1.0] * len(states) if weights is None else [float(x) for x in weights]
    if len(w) != len(states) or any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"need {len(states)} non-negative weights with a positive sum, got {w}")
    total = sum(w)
    base = states[0]
    for i, s in enumerate(states[1:], start=1):
        if set(s) != set(base):
            missing, extra = sorted(set(base) - set(s)), sorted(set(s) - set(base))
            raise ValueError(f"ingredient {i} has other weights than the base (missing {missing[:5]}, extra {extra[:5]})")
        for k, v in s.items():
            if v.shape != base[k].shape:
                raise ValueError(f"ingredient {i}: {k} has shape {tuple(v.shape)}, the base {tuple(base[k].shape)}")
    out: dict[str, torch.Tensor] = {}
    for k, v in base.items():
        if v.is_floating_point():
            out[k] = sum(wi / total * s[k].float() for wi, s in zip(w, states))  # type: ignore[assignment]
        else:
            out[k] = v.clone()
    return out


def soup_checkpoint(paths: Sequence[str | Path], out: str | Path, weights: Sequence[float] | None = None,
                    drop_prefixes: Sequence[str] = ()) -> dict[str, Any]:
    """Average the RSC-Net checkpoints ``paths`` (the first is the base, see the module docstring) into ``out``.

    Returns:
        The ``soup`` record written into the output (ingredients, weights, dropped weight names).
    """
    if len(paths) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    ckpts = [load_network_file(p) for p in paths]
    base = ckpts[0]
    dropped: dict[str, list[str]] = {}
    states = []
    for path, c in zip(paths, ckpts):
        if c["body_model"].get("sha256") != base["body_model"].get("sha256"):
            raise CheckpointError(f"{path} was trained with body model {c['body_model'].get('model_id')}, the base with {base['body_model'].get('model_id')}")
        for key in _MUST_MATCH:
            if list(torch.as_tensor(c[key]).reshape(-1).tolist()) != list(torch.as_tensor(base[key]).reshape(-1).tolist()):
                raise CheckpointError(f"{path}: {key} {c[key]} differs from the base's {base[key]}")
        extra = sorted(set(c["model"]) - set(base["model"]))
        refused = [k for k in extra if not any(k.startswith(p) for p in drop_prefixes)]
        if refused:
            raise CheckpointError(f"{path} has weights the base does not: {refused[:5]} (name their prefix with --drop-prefix to leave them out)")
        if extra:
            dropped[str(path)] = extra
        states.append({k: v for k, v in c["model"].items() if k in base["model"]})
    mixed = average_weights(states, weights)
    record = {
        "ingredients": [{"path": str(p), "id": file_id(p), "step": int(c.get("step", -1))} for p, c in zip(paths, ckpts)],
        "weights": [1.0] * len(paths) if weights is None else [float(x) for x in weights],
        "dropped": dropped,
    }
    state = {**base, "model": mixed, "soup": record}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if base["format"] == RESUME_FORMAT:
        save_resume_file(state, out)
    else:
        export_served(state, out, drop=TRAINING_ONLY, packed=True)
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.train.soup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", nargs="+", required=True, help="RSC-Net checkpoints or resume files; the first is the base")
    parser.add_argument("--out", required=True, help="file to write (the base's format)")
    parser.add_argument("--weights", type=float, nargs="+", default=None, help="mixing weights, one per checkpoint (default: uniform)")
    parser.add_argument("--drop-prefix", nargs="*", default=[], help="weight-name prefixes that ingredients may have and the base not (left out)")
    args = parser.parse_args(argv)
    record = soup_checkpoint(args.checkpoints, args.out, args.weights, args.drop_prefix)
    print(f"wrote {args.out} ({file_id(args.out)}): {len(record['ingredients'])} ingredients, weights {record['weights']}"
          + (f", dropped {sum(len(v) for v in record['dropped'].values())} weights" if record["dropped"] else ""))


if __name__ == "__main__":
    main()
