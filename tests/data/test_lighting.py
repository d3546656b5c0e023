"""Random lights: types, ranges, determinism and a plausible rendered brightness."""

from __future__ import annotations

import pytest
import torch

from model.body.model import load_body_model
from model.data.lighting import sample_lights
from model.render import Lights, MeshRenderer, PerspectiveCameras


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_ranges_and_directions():
    lights = sample_lights(500, _gen(0))
    assert isinstance(lights, Lights)
    for t in (lights.ambient, lights.diffuse, lights.direction):
        assert t.shape == (500, 3) and t.dtype == torch.float32
    assert float(lights.ambient.min()) >= 0.2
    assert float(lights.diffuse.min()) >= 0.0
    assert float((lights.ambient + lights.diffuse).max()) <= 1.15 + 1e-5
    assert float((lights.ambient + lights.diffuse).mean(-1).min()) >= 0.6
    d = torch.nn.functional.normalize(lights.direction, dim=-1)
    assert float(d[:, 1].max()) < -0.1  # always from above (camera y points down)
    assert float((d[:, 2] < 0).float().mean()) > 0.7  # mostly from the camera side
    # slight colour: channels within 20% of each other
    for c in (lights.ambient, lights.diffuse[lights.diffuse.mean(-1) > 0.05]):
        assert float((c.amax(-1) / c.amin(-1)).max()) < 1.2


def test_deterministic_and_device_dtype():
    a = sample_lights(4, _gen(1), dtype=torch.float64)
    b = sample_lights(4, _gen(1), dtype=torch.float64)
    assert a.ambient.dtype == torch.float64
    assert torch.equal(a.ambient, b.ambient) and torch.equal(a.direction, b.direction)
    c = sample_lights(4, _gen(2))
    assert not torch.equal(a.direction.float(), c.direction)


def test_rendered_body_brightness_is_plausible():
    body = load_body_model()
    n = 8
    with torch.no_grad():
        out = body(torch.zeros(n, 10), body.mean_params.pose.expand(n, -1, -1))
    verts = out.vertices + torch.tensor([0.0, -0.07, 2.6])
    cams = PerspectiveCameras.from_focal(n, (64, 64), focal=77.0)
    albedo = torch.full((n, body.num_vertices, 3), 0.7)
    img = MeshRenderer().render(verts, body.faces, cams, vertex_colors=albedo, lights=sample_lights(n, _gen(3)))
    mask = img.mask[:, 0] > 0.5
    px = img.image.permute(0, 2, 3, 1)[mask]
    assert float(px.max()) <= 0.7 * 1.15 + 1e-4
    assert float(px.min()) >= 0.7 * 0.2 - 1e-4
    for i in range(n):
        mean = float(img.image[i].permute(1, 2, 0)[mask[i]].mean())
        assert 0.3 < mean < 0.8
