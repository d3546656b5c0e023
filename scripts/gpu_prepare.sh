#!/usr/bin/env bash
# Prepare what a GPU stretch of the long run needs on the device machine, in .gpu/ (git-ignored
# through .git/info/exclude, sent with carry [".gpu"]): the pure-Python wheels its image lacks
# (smplx, trimesh; versions of this venv) and the still photos the synthetic scenes use as
# backgrounds and garment textures (opencv-doc's photos; never its videos), so GPU-rendered scenes
# look like the CPU shards. Run here once: bash scripts/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> "$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p .gpu/wheels .gpu/photos
for pkg in smplx trimesh; do
    version=$($PYTHON -c "import importlib.metadata as m; print(m.version('$pkg'))")
    $PYTHON -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux2014_x86_64 -d .gpu/wheels "$pkg==$version"
done
$PYTHON - <<'PY'
import shutil
from model.data.backgrounds import OPENCV_DOC_DATA, list_photos
photos = list_photos([OPENCV_DOC_DATA])
for p in photos:
    shutil.copy2(p, ".gpu/photos/")
print(f"{len(photos)} photos from {OPENCV_DOC_DATA}")
PY
du -sh .gpu
