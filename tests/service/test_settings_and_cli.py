"""service.settings (environment, validation) and the command-line entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import service
from service.runtime.model_loader import load_predictor, resolve_device
from service.settings import DEFAULT_CHECKPOINT, ServiceSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("RSCNET_") or key == "SMPL_MODEL_DIR":
            monkeypatch.delenv(key)


def test_defaults() -> None:
    s = ServiceSettings()
    assert s.host == "127.0.0.1" and s.port == 8000 and s.device == "auto" and s.api_key is None
    assert s.checkpoint == DEFAULT_CHECKPOINT and s.allow_random_init and s.max_delay_ms == 10.0
    assert s.resolved_max_batch_size("cuda") == 32 and s.resolved_max_batch_size("cpu") == 8


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSCNET_MAX_BATCH_SIZE", "5")
    monkeypatch.setenv("RSCNET_DEVICE", "CUDA:1")
    monkeypatch.setenv("RSCNET_RANDOM_INIT_NET", '{"backbone": {"depth": 18}, "input_size": 64}')
    monkeypatch.setenv("RSCNET_RANDOM_INIT_BOUNDS", "[128, 64]")
    monkeypatch.setenv("SMPL_MODEL_DIR", "/models/smpl")
    monkeypatch.setenv("RSCNET_API_KEY", "secret")
    s = ServiceSettings()
    assert s.max_batch_size == 5 and s.resolved_max_batch_size("cuda") == 5 and s.device == "cuda:1"
    assert s.random_init_net == {"backbone": {"depth": 18}, "input_size": 64} and s.random_init_bounds == (128, 64)
    assert s.smpl_model_dir == Path("/models/smpl")
    assert s.api_key is not None and s.api_key.get_secret_value() == "secret" and "secret" not in repr(s)
    monkeypatch.setenv("RSCNET_API_KEY", "")
    assert ServiceSettings().api_key is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"device": "tpu"},
        {"max_batch_size": 0},
        {"max_delay_ms": -1},
        {"queue_size": 10, "max_frames": 300},
        {"random_init_bounds": (64, 128)},
        {"precision": "int8"},
        {"port": 70000},
    ],
)
def test_invalid_settings(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(**kwargs)


def test_random_init_fallback_and_strict_mode(tmp_path: Path) -> None:
    net = {"backbone": {"depth": 18}, "input_size": 64, "regressor_hidden_dim": 64}
    missing = tmp_path / "none.pt"
    loaded = load_predictor(ServiceSettings(checkpoint=missing, device="cpu", random_init_net=net))
    assert not loaded.predictor.is_trained and loaded.warning is not None and str(missing) in loaded.warning
    with pytest.raises(FileNotFoundError):
        load_predictor(ServiceSettings(checkpoint=missing, device="cpu", allow_random_init=False))
    corrupt = tmp_path / "bad.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError):  # an existing but unreadable checkpoint is never replaced silently
        load_predictor(ServiceSettings(checkpoint=corrupt, device="cpu", random_init_net=net))


def test_flip_test_setting_reaches_the_predictor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    net = {"backbone": {"depth": 18}, "input_size": 64, "regressor_hidden_dim": 64}
    assert ServiceSettings().flip_test is False
    assert load_predictor(ServiceSettings(checkpoint=tmp_path / "none.pt", device="cpu", random_init_net=net)).predictor.flip_test is False
    monkeypatch.setenv("RSCNET_FLIP_TEST", "true")
    settings = ServiceSettings(checkpoint=tmp_path / "none.pt", device="cpu", random_init_net=net)
    assert settings.flip_test is True and load_predictor(settings).predictor.flip_test is True
    monkeypatch.setenv("RSCNET_FLIP_TEST", "sometimes")
    with pytest.raises(ValidationError):
        ServiceSettings()


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            resolve_device("cuda")


def test_version_matches_pyproject() -> None:
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert service.__version__ == meta["project"]["version"]


@pytest.mark.parametrize("module", ["service", "service.tools.openapi", "service.tools.healthcheck", "benchmarks.service.bench"])
def test_cli_help(module: str) -> None:
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout
    if module == "service":
        for option in ("--host", "--port", "--checkpoint", "--device"):
            assert option in out.stdout


def test_cli_rejects_invalid_settings() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "service", "--device", "tpu"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "device" in out.stderr


def test_keep_alive_outlasts_client_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn keeps idle connections longer than httpx's 5 s pool expiry (no close/send race)."""
    import uvicorn

    from service.__main__ import main

    seen: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append(kw))
    monkeypatch.setattr("service.http.app.create_app", lambda settings: object())
    assert main(["--port", "0"]) == 0
    monkeypatch.setenv("RSCNET_KEEP_ALIVE_S", "12.5")
    assert main(["--port", "0"]) == 0
    assert [kw["timeout_keep_alive"] for kw in seen] == [75, 13]
    monkeypatch.setenv("RSCNET_KEEP_ALIVE_S", "0")
    assert main(["--port", "0"]) == 2  # invalid: refused at start-up
