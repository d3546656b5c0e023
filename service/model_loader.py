"""Build the :class:`~model.inference.Predictor` the service runs, from its settings.

* The device is ``settings.device`` (``auto``: CUDA when present, else the CPU); asking for CUDA
  on a machine without it is an error (the service then reports ``failed`` on ``/readyz``).
* The checkpoint ``settings.checkpoint`` is loaded when the file exists. When it is absent and
  ``allow_random_init`` is on (the default), a **randomly initialised** network of
  ``random_init_net`` is served instead, with a warning in the logs and in ``/v1/models``
  (``is_trained: false``): the outputs are then close to the mean body whatever the image.
  An existing but unreadable checkpoint is always an error (never silently replaced).
* The body model is ``settings.smpl_model_dir`` (or ``$SMPL_MODEL_DIR``), else the embedded
  free ``free-smpl-layout`` model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from model.body.model import load_body_model
from model.inference import Predictor
from service.settings import ServiceSettings

__all__ = ["LoadedPredictor", "load_predictor", "resolve_device"]

log = logging.getLogger("service.model_loader")


@dataclass(frozen=True)
class LoadedPredictor:
    """The predictor and what the service must tell users about how it was obtained.

    Attributes:
        predictor: ready to predict.
        warning: set when the network is not a trained checkpoint (random initialisation).
    """

    predictor: Predictor
    warning: str | None


def resolve_device(setting: str) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda[:N]`` must be available.

    Raises:
        RuntimeError: CUDA was asked for but is not available.
    """
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {setting!r} requested but CUDA is not available (torch {torch.__version__})")
    return device


def load_predictor(settings: ServiceSettings) -> LoadedPredictor:
    """Load the network and body model described by ``settings`` (blocking; run it in a thread).

    Raises:
        FileNotFoundError: no checkpoint and ``allow_random_init`` is off.
        RuntimeError: CUDA requested but unavailable.
        ValueError: unreadable checkpoint or body-model mismatch (from :meth:`Predictor.from_checkpoint`).
    """
    if settings.torch_threads is not None:
        torch.set_num_threads(settings.torch_threads)
    device = resolve_device(settings.device)
    body = load_body_model(settings.smpl_model_dir)
    path = settings.checkpoint
    if path.is_file():
        log.info("loading checkpoint %s on %s", path, device)
        predictor = Predictor.from_checkpoint(path, device=device, body=body, precision=settings.precision)
        return LoadedPredictor(predictor, None)
    if not settings.allow_random_init:
        raise FileNotFoundError(
            f"checkpoint {path} not found (set RSCNET_CHECKPOINT, "
            "or RSCNET_ALLOW_RANDOM_INIT=true to serve an untrained network)"
        )
    warning = (
        f"checkpoint {path} not found: serving a RANDOMLY INITIALISED network (seed {settings.random_init_seed}); "
        "predictions stay close to the mean body and do not depend meaningfully on the image"
    )
    log.warning(warning)
    predictor = Predictor.random_init(
        settings.random_init_net,
        settings.random_init_bounds,
        device=device,
        seed=settings.random_init_seed,
        body=body,
        precision=settings.precision,
    )
    return LoadedPredictor(predictor, warning)
