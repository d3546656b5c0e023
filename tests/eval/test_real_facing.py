"""The real-people facing check: who is asked, the network's answers per height, the report."""

from __future__ import annotations

import json

import pytest
import torch

from model.body.model import load_body_model
from model.data.real_people import DEFAULT_ROOT
from model.eval import real_facing as rf


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def test_facing_people_are_the_clear_views_of_the_sets() -> None:
    people = rf.facing_people([DEFAULT_ROOT.parent / "real_people_d"])
    assert people and all(p.facing is not None and p.usable for p in people)
    assert any(p.facing for p in people) and any(not p.facing for p in people)
    with pytest.raises(ValueError, match="no real person"):
        rf.facing_people([])


def test_a_mean_body_answers_the_same_for_everyone(body) -> None:
    from model.inference import Predictor

    tiny = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
    predictor = Predictor.random_init(tiny, (224, 128, 64, 40, 24), device="cpu", seed=1, body=body, precision="fp32")
    for dec in (predictor.net.regressor.decpose, predictor.net.regressor.decshape, predictor.net.regressor.deccam):
        torch.nn.init.zeros_(dec.weight)
        torch.nn.init.zeros_(dec.bias)
    people = rf.facing_people([DEFAULT_ROOT.parent / "real_people_d"])[:5]
    answers = rf.evaluate_real_facing(predictor, people, [32, 24])
    assert set(answers) == {"32", "24"} and all(len(a) == 5 for a in answers.values())
    assert len({a for v in answers.values() for a in v}) == 1  # the mean pose, whatever the crop


def test_report_gives_each_side_and_their_mean() -> None:
    result = {
        "command": "python -m model.eval.real_facing x", "sets": ["checks/a"], "heights": [32], "people": ["a", "b", "c", "d"],
        "person_ids": ["a", "a", "c", "d"], "truth": [True, True, True, False],
        "runs": [{"checkpoint": "c.pt", "checkpoint_id": "0123456789abcdef", "answers": {"32": [True, True, False, True]}}],
    }  # fmt: skip
    text = rf.format_real_facing(result)
    assert "4 crops of 3 people of checks/a" in text and "3 facing the camera, 1 seen from behind" in text
    assert "| `c.pt` | 0123456789abcdef | 67 / 0 / **33 %** |" in text
    json.dumps(result)


def test_cli_validates_heights() -> None:
    with pytest.raises(SystemExit):
        rf.main(["--checkpoint", "c.pt", "--out", "x", "--heights", "4"])
