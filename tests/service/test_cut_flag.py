"""The cut flag over HTTP: ``/v1/smpl``'s per-image ``cut`` (else the box-at-the-bottom rule) reaches a
network with a cut input (``NetConfig.cut_input``), is echoed per result, and is validated."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from service_support import TINY_NET_DICT, encode, faulty_server, random_rgb

from service.http.images import Box, box_reaches_bottom, crop_box

pytestmark = pytest.mark.integration


def test_a_box_at_the_bottom_row_is_cut_by_the_frame() -> None:
    image = np.zeros((120, 90, 3), np.uint8)
    assert box_reaches_bottom(Box(10, 40, 40, 80), 120) and box_reaches_bottom(Box(10, 40, 40, 79.2), 120)
    assert not box_reaches_bottom(Box(10, 20, 40, 80), 120)
    assert crop_box(image, Box(10, 40, 40, 80), max_pixels=10**6).cut_by_frame
    assert not crop_box(image, Box(0, 0, 40, 80), max_pixels=10**6).cut_by_frame  # top and side edges: not cut


def _part(data: bytes, name: str) -> tuple[str, tuple[str, bytes, str]]:
    return ("images", (name, data, "image/png"))


def test_smpl_cut_flags_reach_a_network_with_a_cut_input(tmp_path: Path) -> None:
    server, predictor = faulty_server(tmp_path, random_init_net={**TINY_NET_DICT, "cut_input": True})
    try:
        with torch.no_grad():  # a trained flag moves the answer; a fresh one starts at zero
            predictor._inner.net.regressor.condition.weight.fill_(0.3)  # type: ignore[attr-defined]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/v1/models").json()["network"]["cut_input"] is True
            image = encode(random_rgb(120, 90, seed=3))
            whole, bottom = [10, 20, 40, 80], [10, 40, 40, 80]  # the second reaches the last row
            files = [_part(image, f"{i}.png") for i in range(4)]
            data = {"boxes": json.dumps([whole, bottom, whole, bottom]), "cut": json.dumps([None, None, True, False])}
            r = client.post("/v1/smpl", files=files, data=data)
            assert r.status_code == 200, r.text
            res = r.json()["results"]
            assert [e["cut"] for e in res] == [False, True, True, False]  # the rule, then the client's word
            kp = [np.asarray(e["keypoints2d"]["coco17"]) for e in res]
            assert not np.allclose(kp[0], kp[2]) and not np.allclose(kp[1], kp[3])  # same pixels, other flag
            again = client.post("/v1/smpl", files=files[:1], data={"boxes": json.dumps([whole]), "cut": json.dumps([True])})
            np.testing.assert_allclose(np.asarray(again.json()["results"][0]["keypoints2d"]["coco17"]), kp[2], atol=1e-4)
            bad = client.post("/v1/smpl", files=files[:2], data={"cut": json.dumps([True])})
            assert bad.status_code == 422 and "cut has 1 entries for 2 images" in bad.json()["detail"]
            bad = client.post("/v1/smpl", files=files[:1], data={"cut": json.dumps(["maybe"])})
            assert bad.status_code == 422
    finally:
        server.stop()
