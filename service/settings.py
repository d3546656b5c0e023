"""Service configuration: validated data read from the environment (prefix ``RSCNET_``).

Every field can be set by an environment variable named ``RSCNET_<FIELD>`` (case-insensitive),
e.g. ``RSCNET_MAX_BATCH_SIZE=16``; structured fields (``RANDOM_INIT_NET``,
``RANDOM_INIT_BOUNDS``) take JSON. The body-model directory is also read from the project-wide
``SMPL_MODEL_DIR``. Invalid values fail at start-up with a message naming the variable.

>>> settings = ServiceSettings(device="cpu", max_batch_size=4)
>>> settings.resolved_max_batch_size("cpu")
4
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_CHECKPOINT",
    "DEFAULT_MAX_JSON_DEPTH",
    "DEFAULT_TEXTURE_CHECKPOINT",
    "DEFAULT_VIDEO_CHECKPOINT",
    "ENV_PREFIX",
    "ServiceSettings",
]

#: Default nesting limit of JSON texts: the deepest legitimate body (object -> boxes list -> box list) has 3 levels.
DEFAULT_MAX_JSON_DEPTH = 16

#: Prefix of every environment variable of the service.
ENV_PREFIX = "RSCNET_"
#: Where the committed default checkpoint lives (relative to the working directory).
DEFAULT_CHECKPOINT = Path("checkpoints/rscnet-long/model.pt")
#: Where the committed TexGlo texture checkpoint lives (relative to the working directory).
DEFAULT_TEXTURE_CHECKPOINT = Path("checkpoints/texture/model.pt")
#: Where the committed video-model (temporal GRU) checkpoint lives (relative to the working directory).
DEFAULT_VIDEO_CHECKPOINT = Path("checkpoints/video-motion/model.pt")
#: Default batch sizes by device type.
_DEFAULT_BATCH = {"cuda": 32, "cpu": 8}


class ServiceSettings(BaseSettings):
    """All knobs of the HTTP service (see the module docstring for how to set them)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", validate_default=True, populate_by_name=True
    )

    # ----------------------------------------------------------------- network / server
    host: str = Field("127.0.0.1", description="Interface uvicorn binds (the Docker image sets 0.0.0.0).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0 = any free port).")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info", description="Log level.")

    # ----------------------------------------------------------------- model
    device: str = Field("auto", description="'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="Network precision: auto = bf16/fp16 autocast on CUDA, bf16 on CPUs that have it, else fp32.",
    )
    torch_threads: int | None = Field(None, ge=1, description="CPU threads for torch (default: torch's choice).")
    flip_test: bool = Field(
        False,
        description=(
            "Flip test-time augmentation: run every crop also mirrored and merge the two answers "
            "(model.inference.flip_test). About 1 mm better on every synthetic check and 2D error on real people "
            "0.181 -> 0.177 of the person's height at 32 px (rscnet-long model card), for twice the network work."
        ),
    )
    checkpoint: Path = Field(DEFAULT_CHECKPOINT, description="RSC-Net checkpoint (training or served).")
    texture_checkpoint: Path = Field(
        DEFAULT_TEXTURE_CHECKPOINT,
        description="TexGlo texture checkpoint for /v1/texture; when the file is absent a flat default texture is used.",
    )
    video_checkpoint: Path = Field(
        DEFAULT_VIDEO_CHECKPOINT,
        description=(
            "Video-model (temporal GRU) checkpoint for /v1/sequence; when the file is absent, or the RSC-Net "
            "network is a random initialisation, a Gaussian temporal filter is used instead."
        ),
    )
    allow_random_init: bool = Field(
        True, description="Serve a randomly initialised network (with a warning) when the checkpoint file is absent."
    )
    random_init_net: dict[str, Any] | None = Field(
        None, description='NetConfig (JSON) of the random network, e.g. {"backbone": {"depth": 18}, "input_size": 64}.'
    )
    random_init_bounds: tuple[int, ...] = Field((224, 128, 64, 40, 24), description="Resolution bounds (JSON list).")
    random_init_seed: int = Field(0, description="Seed of the random network.")
    smpl_model_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("RSCNET_SMPL_MODEL_DIR", "SMPL_MODEL_DIR"),
        description="Directory (or file) of the SMPL model; unset = the embedded free-smpl-layout model.",
    )
    worker: Literal["process", "thread"] = Field(
        "process",
        description=(
            "Where the network runs: 'process' = a worker process of its own, so it never waits for the "
            "server's GIL (the fast choice; one more model in memory); 'thread' = a thread of the server "
            "process (one model in memory, but forward passes slow down while the HTTP side is busy)."
        ),
    )
    warmup: bool = Field(True, description="Run dummy batches before reporting ready.")
    ready_delay_s: float = Field(0.0, ge=0.0, description="Extra seconds to stay not-ready after warm-up.")

    # ----------------------------------------------------------------- batching
    max_batch_size: int | None = Field(None, ge=1, le=1024, description="Default 32 on CUDA, 8 on CPU.")
    max_delay_ms: float = Field(10.0, ge=0.0, le=10_000.0, description="Longest wait to fill a batch.")
    queue_size: int = Field(512, ge=1, description="Crops waiting for the worker at most (429 beyond).")
    request_timeout_s: float = Field(60.0, gt=0.0, description="Past this a request answers 504.")
    shutdown_timeout_s: float = Field(30.0, ge=0.0, description="Graceful shutdown: time to drain the queue.")
    keep_alive_s: float = Field(
        75.0,
        gt=0.0,
        description=(
            "Idle keep-alive connections are closed after this many seconds. Longer than the idle "
            "expiry of client pools (httpx: 5 s) and proxies, so the client, not the server, closes an "
            "idle connection: with equal timeouts a request sent as the server closes fails (ReadError)."
        ),
    )

    # ----------------------------------------------------------------- input limits
    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Largest request body (413 beyond).")
    max_image_pixels: int = Field(4096 * 4096, ge=64, description="Largest image / video frame, W*H (413 beyond).")
    max_request_pixels: int = Field(
        64 * 1024 * 1024,
        ge=64,
        description="Decoded pixels kept per request, all images / crops together (413 beyond).",
    )
    max_images: int = Field(32, ge=1, description="Images in one /v1/smpl request at most (413 beyond).")
    max_frames: int = Field(300, ge=1, description="Frames in one /v1/sequence request at most (413 beyond).")
    max_render_size: int = Field(1024, ge=16, le=4096, description="Largest side of a rendered PNG.")
    max_json_depth: int = Field(
        DEFAULT_MAX_JSON_DEPTH,
        ge=3,
        le=64,
        description="Deepest JSON nesting accepted, in a JSON body and in the JSON text of a multipart field (400 / 422 beyond).",
    )

    # ----------------------------------------------------------------- slow and hostile clients
    header_timeout_s: float = Field(
        10.0,
        gt=0.0,
        le=600.0,
        description="A connection whose request line and headers have not all arrived this long after its first byte is closed.",
    )
    body_timeout_s: float = Field(
        60.0,
        gt=0.0,
        le=3600.0,
        description="A request whose body has not all arrived this long after its headers is answered body_timeout_status.",
    )
    body_timeout_status: int = Field(408, description="Status of that answer: 408 (Request Timeout) or 400.")
    max_uploads_per_client: int = Field(
        16,
        ge=1,
        description=(
            "Slow uploads (bodies still arriving after 1 s) from one client address, at most, and 8 times as many "
            "uploads in progress in all (429 beyond). The address is the peer's, or X-Forwarded-For's when the peer "
            "is in forwarded_allow_ips."
        ),
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Comma-separated proxy addresses (or '*') whose X-Forwarded-For names the client (uvicorn's setting).",
    )

    # ----------------------------------------------------------------- security
    api_key: SecretStr | None = Field(None, description="When set, /v1/* requires the header X-API-Key.")

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")

    @field_validator("body_timeout_status")
    @classmethod
    def _check_timeout_status(cls, value: int) -> int:
        if value not in (400, 408):
            raise ValueError(f"body_timeout_status must be 408 or 400, got {value}")
        return value

    @field_validator("random_init_bounds")
    @classmethod
    def _check_bounds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(b <= 0 for b in value) or any(a <= b for a, b in zip(value, value[1:])):
            raise ValueError(f"random_init_bounds must be strictly decreasing positive integers, got {list(value)}")
        return value

    @field_validator("smpl_model_dir", mode="before")
    @classmethod
    def _empty_dir_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_key")
    @classmethod
    def _empty_key_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or not value.get_secret_value() else value

    @model_validator(mode="after")
    def _check_queue(self) -> ServiceSettings:
        need = max(self.max_images, self.max_frames)
        if self.queue_size < need:
            raise ValueError(
                f"queue_size ({self.queue_size}) must hold the largest request: max(max_images, max_frames) = {need}"
            )
        return self

    def resolved_max_batch_size(self, device_type: str) -> int:
        """``max_batch_size`` or its default for a device type (``"cuda"`` / ``"cpu"``)."""
        if self.max_batch_size is not None:
            return self.max_batch_size
        return _DEFAULT_BATCH.get(device_type, _DEFAULT_BATCH["cpu"])
