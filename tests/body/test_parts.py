"""Body-part classes: every face labelled, left and right swap under a flip, front and back from the rest normals."""

from __future__ import annotations

import torch

from model.body import load_body_model
from model.body.parts import NUM_PART_CLASSES, PART_FLIP_PERMUTATION, PART_GROUPS, face_part_classes, part_class_names


def test_class_names_and_flip_permutation() -> None:
    names = part_class_names()
    assert len(names) == NUM_PART_CLASSES == 1 + 2 * len(PART_GROUPS) and names[0] == "background"
    perm = PART_FLIP_PERMUTATION
    assert sorted(perm) == list(range(NUM_PART_CLASSES))
    assert all(perm[perm[i]] == i for i in range(NUM_PART_CLASSES))  # an involution
    for i, name in enumerate(names):
        if "left_" in name:
            assert names[perm[i]] == name.replace("left_", "right_")
        elif "right_" not in name:
            assert perm[i] == i  # background, head, torso and the side keep their class


def test_every_face_has_a_part_and_the_face_is_the_heads_front() -> None:
    body = load_body_model()
    classes = face_part_classes(body)
    assert classes.shape == (body.num_faces,) and int(classes.min()) >= 1 and int(classes.max()) < NUM_PART_CLASSES
    names = part_class_names()
    v = body.smpl.v_template
    head = (body.part_labels == 15).nonzero().flatten()
    for vertex, side in ((head[v[head, 2].argmax()], "head_front"), (head[v[head, 2].argmin()], "head_back")):
        around = (body.faces == vertex).any(1)
        assert {names[int(c)] for c in classes[around]} == {side}
    # both sides of every part are present
    assert set(torch.unique(classes).tolist()) == set(range(1, NUM_PART_CLASSES))
