"""Issue 16: ``/v1/models`` and the model cards name the same ids for every loaded checkpoint.

A server of its own loads the committed checkpoints (RSC-Net, video GRU, TexGlo texture network);
each card must name the id ``/v1/models`` reports for its checkpoint, and every other 16-hex id
a card names (body model, backbone, texture geometry) must be one that ``/v1/models`` reports for
that model. A second server runs on the service's defaults only (issue 15): it serves the long run
``rscnet-long``, and the committed GRU, trained on ``rscnet-cpu``, is reported as not loaded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_support import REPO, Server, launch

pytestmark = pytest.mark.integration

CHECKPOINTS = REPO / "checkpoints"
HEX16 = re.compile(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])")


def _served_models(
    name: str, needs: tuple[str, ...], settings: dict[str, str], tmp: Path, defaults: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """``/v1/models`` of a server of its own on the committed checkpoints ``needs`` (skipped without them)."""
    for needed in needs:
        if not (CHECKPOINTS / needed / "model.pt").is_file():
            pytest.skip(f"checkpoints/{needed}/model.pt is not in this checkout")
    server: Server = launch(name, {"RSCNET_WORKER": "thread", "RSCNET_WARMUP": "false", **settings}, tmp, defaults=defaults)
    try:
        server.wait_listening(120)
        _wait_loaded(server, 180)
        yield httpx.get(f"{server.url}/v1/models", timeout=30).json()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = {
        "RSCNET_CHECKPOINT": str(CHECKPOINTS / "rscnet-cpu" / "model.pt"),
        "RSCNET_VIDEO_CHECKPOINT": str(CHECKPOINTS / "video-cpu" / "model.pt"),
        "RSCNET_TEXTURE_CHECKPOINT": str(CHECKPOINTS / "texture" / "model.pt"),
    }
    yield from _served_models("committed-models", ("rscnet-cpu", "video-cpu", "texture"), settings, tmp_path_factory.mktemp("ids"))


def _wait_loaded(server: Server, timeout: float) -> None:
    """Ready, or fail at once when loading failed (no point waiting for the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/readyz", timeout=10)
        if r.status_code == 200:
            return
        if r.json().get("status") == "failed":
            pytest.fail(f"loading the committed checkpoints failed: {r.json()['detail']}")
        time.sleep(0.2)
    pytest.fail(f"not ready within {timeout} s")


def _ids(value: Any) -> set[str]:
    """Every 16-hex id anywhere in a JSON value."""
    if isinstance(value, dict):
        return set().union(*(_ids(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_ids(v) for v in value)) if value else set()
    return set(HEX16.findall(value)) if isinstance(value, str) else set()


def _card(name: str) -> str:
    return (CHECKPOINTS / name / "MODEL_CARD.md").read_text()


def test_every_loaded_checkpoint_is_the_one_its_card_names(models: dict[str, Any]) -> None:
    rscnet, sequence, texture = models["checkpoint"], models["modules"]["sequence"], models["modules"]["texture"]
    assert rscnet["is_trained"] and sequence["gru_loaded"] and texture["loaded"], models
    served = {
        "rscnet-cpu": rscnet["id"],
        "video-cpu": sequence["checkpoint_id"],
        "texture": texture["checkpoint_id"],
    }
    for name, checkpoint_id in served.items():
        assert f"`{checkpoint_id}`" in _card(name), f"checkpoints/{name}/MODEL_CARD.md does not name {checkpoint_id}"


def test_cards_name_no_id_that_v1_models_does_not_report(models: dict[str, Any]) -> None:
    body = models["body_model"]["model_id"].split(":")[-1]
    reported = {
        "rscnet-cpu": {body, models["checkpoint"]["id"]},
        "video-cpu": {body} | _ids(models["modules"]["sequence"]),
        "texture": {body} | _ids(models["modules"]["texture"]),
    }
    assert models["modules"]["texture"]["geometry"]["checkpoint"]["id"] in reported["texture"]
    for name, ids in reported.items():
        stray = set(HEX16.findall(_card(name))) - ids
        assert not stray, f"checkpoints/{name}/MODEL_CARD.md names ids /v1/models does not report: {stray}"


@pytest.fixture(scope="module")
def default_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _served_models(
        "default-models", ("rscnet-long", "video-motion", "texture"), {}, tmp_path_factory.mktemp("default-ids"),
        defaults=("RSCNET_CHECKPOINT", "RSCNET_VIDEO_CHECKPOINT", "RSCNET_TEXTURE_CHECKPOINT"),
    )


def test_the_default_server_serves_the_long_run_with_its_gru(default_models: dict[str, Any]) -> None:
    rscnet, sequence = default_models["checkpoint"], default_models["modules"]["sequence"]
    assert rscnet["is_trained"] and rscnet["path"].endswith("rscnet-long/model.pt"), rscnet
    assert f"`{rscnet['id']}`" in _card("rscnet-long"), f"checkpoints/rscnet-long/MODEL_CARD.md does not name {rscnet['id']}"
    assert sequence["gru_loaded"] is True and sequence["checkpoint"].endswith("video-motion/model.pt"), sequence
    assert sequence["backbone_checkpoint_id"] == rscnet["id"]
    assert sequence["gru_input"] == "motion" and sequence["bidirectional"] is False, sequence
    assert f"`{sequence['checkpoint_id']}`" in _card("video-motion")
    assert default_models["modules"]["texture"]["loaded"]
    body = default_models["body_model"]["model_id"].split(":")[-1]
    for name, reported in (("rscnet-long", {body, rscnet["id"]} | _ids(default_models["modules"])), ("video-motion", {body} | _ids(sequence))):
        stray = set(HEX16.findall(_card(name))) - reported
        assert not stray, f"checkpoints/{name}/MODEL_CARD.md names ids /v1/models does not report: {stray}"
