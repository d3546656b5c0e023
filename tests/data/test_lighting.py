"""Random lights: types, ranges, determinism and a plausible rendered brightness."""

from __future__ import annotations

import pytest
import torch

from model.body.model import load_body_model
from model.data.lighting import (
    LIGHT_KINDS,
    LightingConfig,
    sample_lights,
    sample_scene_lights,
)
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


def test_scene_lights_mix_kinds_deterministically():
    cfg = LightingConfig()
    lights, kind = sample_scene_lights(3000, _gen(0), cfg)
    assert lights.ambient.shape == (3000, 3) and kind.shape == (3000,)
    shares = torch.bincount(kind, minlength=len(LIGHT_KINDS)).float() / 3000
    torch.testing.assert_close(shares, torch.tensor(cfg.shares, dtype=torch.float32), atol=0.03, rtol=0)
    d = torch.nn.functional.normalize(lights.direction, dim=-1)
    total = lights.ambient + lights.diffuse
    assert float(total.max()) <= 1.25 and float(lights.ambient.mean(-1).min()) >= 0.05
    assert float(d[:, 1].max()) < -0.1  # every kind lights from above
    day, overhead, backlit, street = (kind == i for i in range(4))
    assert float(d[overhead, 1].max()) < -0.9  # ceiling lights: almost straight above
    assert float(d[backlit, 2].min()) > 0.0  # behind the person
    assert float(lights.ambient[street].mean(-1).max()) <= 0.2 + 1e-6  # dark at night
    assert float(lights.ambient[backlit].mean()) < float(lights.ambient[day].mean())
    # Street lamps: half sodium orange (red well above blue), half cool.
    warm = lights.diffuse[street, 0] / lights.diffuse[street, 2] > 2.0
    assert 0.35 < float(warm.float().mean()) < 0.65
    # Same generator, same lights; the day kind is sample_lights' distribution.
    again, kind2 = sample_scene_lights(3000, _gen(0), cfg)
    assert torch.equal(kind, kind2) and torch.equal(lights.direction, again.direction)
    only_day, _ = sample_scene_lights(50, _gen(4), LightingConfig(day=1.0, overhead=0.0, backlit=0.0, street=0.0))
    g = _gen(4)
    torch.rand(50, 8, generator=g, dtype=torch.float64)
    torch.testing.assert_close(only_day.ambient, sample_lights(50, g).ambient)


@pytest.mark.parametrize("kwargs", [{"day": 0.5}, {"street": -0.1, "day": 0.65}, {"sodium_prob": 1.5}])
def test_lighting_config_validation(kwargs):
    with pytest.raises(ValueError):
        LightingConfig(**kwargs)
