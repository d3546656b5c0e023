"""Body models: the embedded free SMPL-layout model and licensed SMPL files, behind one API.

>>> from model.body import load_body_model
>>> body = load_body_model()          # free-smpl-layout, or $SMPL_MODEL_DIR when set
>>> out = body(betas, pose)           # betas (B, 10), pose (B, 24, 3) -> BodyOutput
"""

from model.body.joint_names import (
    COCO17_NAMES,
    LSP14_NAMES,
    SMPL_FLIP_PERMUTATION,
    SMPL_JOINT_NAMES,
    SMPL_PARENTS,
)
from model.body.model import (
    EMBEDDED_MODEL_PATH,
    FREE_MODEL_NAME,
    SMPL_MODEL_NAME,
    BodyModel,
    BodyModelInfo,
    BodyOutput,
    MeanParams,
    load_body_model,
    resolve_body_model_path,
)
from model.body.smpl_file import SMPLFileError, read_smpl_file

__all__ = [
    "COCO17_NAMES",
    "EMBEDDED_MODEL_PATH",
    "FREE_MODEL_NAME",
    "LSP14_NAMES",
    "SMPL_FLIP_PERMUTATION",
    "SMPL_JOINT_NAMES",
    "SMPL_MODEL_NAME",
    "SMPL_PARENTS",
    "BodyModel",
    "BodyModelInfo",
    "BodyOutput",
    "MeanParams",
    "SMPLFileError",
    "load_body_model",
    "read_smpl_file",
    "resolve_body_model_path",
]
