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
* The TexGlo texture network ``settings.texture_checkpoint`` is loaded when the file exists (for
  ``/v1/texture``); absent, the flat default texture is used and ``/v1/models`` says so.
* The video model (temporal GRU) ``settings.video_checkpoint`` is loaded for ``/v1/sequence`` when
  the file exists and the RSC-Net network is trained; otherwise ``/v1/sequence`` smooths with a
  Gaussian filter and ``/v1/models`` says why. The default video checkpoint (``video_checkpoint``
  not set) trained on another backbone than the served network is not loaded either: the filter
  answers and ``/v1/models`` names both backbones (the committed GRU belongs to an older network
  until one is trained on the default). A video checkpoint the operator *chose*
  (``RSCNET_VIDEO_CHECKPOINT``) that does not fit the network is an error (the service reports
  ``failed``), never silently ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from model.body.model import load_body_model
from model.inference import (
    BackboneMismatch,
    GaussianFilter,
    GruTemporalModel,
    Predictor,
    SequencePredictor,
    TemporalModel,
    TurnLimited,
)
from model.inference.texture import TexturePredictor
from service.settings import ServiceSettings

__all__ = [
    "LoadedPredictor",
    "TemporalModelUnavailable",
    "load_network",
    "load_predictor",
    "load_sequence",
    "load_texture",
    "resolve_device",
]

log = logging.getLogger("service.runtime.model_loader")


class TemporalModelUnavailable(LookupError):
    """The GRU video module was asked for but is not loaded (the message says why)."""


@dataclass(frozen=True)
class LoadedPredictor:
    """The predictor and what the service must tell users about how it was obtained.

    Attributes:
        predictor: ready to predict.
        warning: set when the network is not a trained checkpoint (random initialisation).
        texture: the TexGlo texture network, or ``None`` (``/v1/texture`` then uses a flat texture).
        texture_note: why no texture network is loaded (``None`` when it is).
        sequence: the video model (temporal GRU), or ``None`` (``/v1/sequence`` then filters).
        sequence_note: why no video model is loaded (``None`` when it is).
    """

    predictor: Predictor
    warning: str | None
    texture: TexturePredictor | None = None
    texture_note: str | None = None
    sequence: SequencePredictor | None = None
    sequence_note: str | None = None

    def temporal_model(self, choice: str, sigma: float, max_turn_deg: float = 0.0) -> TemporalModel:
        """The temporal model for ``choice``: ``"gru"``, ``"filter"`` or ``"auto"`` (the GRU when loaded).

        Args:
            choice: ``"auto"``, ``"gru"`` or ``"filter"``.
            sigma: the Gaussian filter's strength in frames (used by the filter only).
            max_turn_deg: the turn limit per frame (:class:`TurnLimited`); ``0``: none.

        Raises:
            TemporalModelUnavailable: ``"gru"`` while no video model is loaded.
        """
        if choice == "gru" and self.sequence is None:
            raise TemporalModelUnavailable(self.sequence_note or "no video checkpoint is loaded")
        p = self.predictor
        model: TemporalModel
        if self.sequence is not None and choice != "filter":
            model = GruTemporalModel(self.sequence)
        else:
            model = GaussianFilter(p.body_model, p.input_size, sigma)
        return TurnLimited(model, p.body_model, p.input_size, max_turn_deg) if max_turn_deg > 0 else model


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


def load_network(settings: ServiceSettings) -> tuple[Predictor, str | None]:
    """The RSC-Net :class:`Predictor` of ``settings`` and a warning when it is a random initialisation.

    This is all the inference worker needs (see :mod:`service.runtime.worker_process`); blocking.

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
        return Predictor.from_checkpoint(path, device=device, body=body, precision=settings.precision, flip_test=settings.flip_test), None
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
        flip_test=settings.flip_test,
    )
    return predictor, warning


def load_predictor(settings: ServiceSettings) -> LoadedPredictor:
    """The network (:func:`load_network`) with its texture and video models (blocking; run it in a thread).

    Raises:
        FileNotFoundError, RuntimeError, ValueError: see :func:`load_network`, :func:`load_texture`
            and :func:`load_sequence`.
    """
    predictor, warning = load_network(settings)
    return LoadedPredictor(predictor, warning, *load_texture(settings, predictor), *load_sequence(settings, predictor))


def load_texture(settings: ServiceSettings, predictor: Predictor) -> tuple[TexturePredictor | None, str | None]:
    """The TexGlo network of ``settings.texture_checkpoint`` for ``predictor``, or ``(None, why not)``.

    An absent file or a body model without UVs means no texture network (the flat default texture
    is used and ``/v1/models`` says why); an existing but unreadable checkpoint is an error.

    Raises:
        ValueError: unreadable texture checkpoint or body-model mismatch.
    """
    path = settings.texture_checkpoint
    if predictor.body_model.face_uvs is None:
        return None, f"the body model {predictor.name!r} has no UV map: no texture network"
    if not path.is_file():
        note = (
            f"texture checkpoint {path} not found: /v1/texture returns the predicted mesh with a flat default texture"
        )
        log.warning(note)
        return None, note
    log.info("loading texture checkpoint %s", path)
    return TexturePredictor.from_checkpoint(path, predictor), None


def load_sequence(settings: ServiceSettings, predictor: Predictor) -> tuple[SequencePredictor | None, str | None]:
    """The video model of ``settings.video_checkpoint`` on ``predictor``'s features, or ``(None, why not)``.

    Raises:
        ValueError: unreadable video checkpoint, one trained on another body model, or one the
            operator chose (``settings.video_checkpoint`` set) trained on another backbone.
    """
    path = settings.video_checkpoint
    if not path.is_file():
        note = f"video checkpoint {path} not found: /v1/sequence smooths per-frame predictions with a Gaussian filter"
        log.warning(note)
        return None, note
    if not predictor.is_trained:
        note = f"video checkpoint {path} not loaded: the RSC-Net network is a random initialisation; /v1/sequence uses a Gaussian filter"
        log.warning(note)
        return None, note
    log.info("loading video checkpoint %s", path)
    try:
        return SequencePredictor.from_checkpoint(path, backbone=predictor), None
    except BackboneMismatch as exc:
        if "video_checkpoint" in settings.model_fields_set:
            raise
        trained_id, trained_path = exc.trained_on
        note = (
            f"video checkpoint {path} not loaded: its GRU was trained on the features of backbone {trained_id} "
            f"({trained_path}), not on the served network {predictor.checkpoint_id}; /v1/sequence smooths "
            f"per-frame predictions with a Gaussian filter (serve {trained_path} to use this GRU)"
        )
        log.warning(note)
        return None, note
