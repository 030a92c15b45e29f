#!/usr/bin/env bash
# Create (or refresh) the project-local virtual environment with mmdiffrep's pinned stack.
#
#   bash tools/setup_env.sh          # or: make env
#
# Idempotent: when the venv already matches this script and requirements/*.txt it returns in
# about a second. The slow parts are cached outside the repository, keyed by what they were
# built against, so a second setup on the same machine skips them:
#   * mmcv 2.1.0 with compiled ops, built from the PyPI sdist against the installed torch
#     (no mmcv wheel exists for torch > 2.4; torch 2.14's headers need C++20 while mmcv's
#     setup.py hard-codes C++14/17, so the flags are patched in the unpacked sdist);
#   * xtcocotools rebuilt against NumPy 2 (the PyPI wheel is compiled against NumPy 1.x).
# mmpose and mmdet go in with --no-deps (chumpy does not build; mmdet pins an old mmcv) and
# their real runtime needs are pinned in requirements/stack.txt.
#
# Environment variables: MMDIFFREP_VENV (default ./.venv), MMDIFFREP_CACHE
# (default ~/.cache/mmdiffrep), PYTHON (default python3, must be 3.11 for the pinned torch).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMDIFFREP_VENV:-$ROOT/.venv}"
CACHE="${MMDIFFREP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdiffrep}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.mmdiffrep-env"
MMCV_VERSION=2.1.0
XTCOCO_VERSION=1.14.3

cd "$ROOT"
log() { printf '\033[1m[setup_env %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }

want="$(cat tools/setup_env.sh requirements/*.txt setup.py | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
    && "$VENV/bin/python" -c 'import mmcv.ops, mmdiffrep' 2>/dev/null; then
    log "environment $VENV is up to date"
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup_env: $PYTHON is $("$PYTHON" --version 2>&1); the pinned stack (torch 2.14.1," \
         "mmcv 2.1.0 built from source) is verified on Python 3.11. Set PYTHON=python3.11." >&2
    exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check --progress-bar off)
# Constrain every install to the lock (exact versions of all transitive packages) when present.
CONSTRAINTS=()
[[ -f requirements/lock.txt ]] && CONSTRAINTS=(-c requirements/lock.txt)

log "installing the pinned stack (torch, mmengine, mmpretrain, mmseg, diffusers, ...)"
"${PIP[@]}" "${CONSTRAINTS[@]}" -r requirements/stack.txt -r requirements/tests.txt

# ---- mmcv with compiled ops, cached by torch version and CUDA availability -------------------
TORCH_TAG="$("$PY" -c 'import sys, torch; dev = "cuda" if torch.cuda.is_available() else "cpu"; print(f"torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-{dev}")')"
MMCV_DIR="$CACHE/wheels/$TORCH_TAG"
mkdir -p "$MMCV_DIR"
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    if ! compgen -G "$MMCV_DIR/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
        log "building mmcv $MMCV_VERSION with ops against $TORCH_TAG (one time, ~10-15 min on 2 cores)"
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
            "mmcv==$MMCV_VERSION" -d "$tmp"
        tar -xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp"
        sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$tmp/mmcv-$MMCV_VERSION/setup.py"
        (cd "$tmp/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" \
            "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps \
            -w "$MMCV_DIR" .)
    else
        log "using cached mmcv wheel from $MMCV_DIR"
    fi
    "${PIP[@]}" "${CONSTRAINTS[@]}" "$MMCV_DIR"/mmcv-"$MMCV_VERSION"-*.whl
fi

# ---- xtcocotools against the installed NumPy, cached by NumPy version -------------------------
NP_TAG="$("$PY" -c 'import sys, numpy; print(f"numpy{numpy.__version__}-py{sys.version_info[0]}{sys.version_info[1]}")')"
XT_DIR="$CACHE/wheels/$NP_TAG"
mkdir -p "$XT_DIR"
if ! "$PY" -c 'import xtcocotools.coco' 2>/dev/null; then
    if ! compgen -G "$XT_DIR/xtcocotools-$XTCOCO_VERSION-*.whl" >/dev/null; then
        log "building xtcocotools $XTCOCO_VERSION against $NP_TAG"
        "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps \
            --no-binary xtcocotools "xtcocotools==$XTCOCO_VERSION" -w "$XT_DIR"
    fi
    "${PIP[@]}" --no-deps --force-reinstall "$XT_DIR"/xtcocotools-"$XTCOCO_VERSION"-*.whl
fi

log "installing mmpose / mmdet without their broken requirements"
"${PIP[@]}" --no-deps -r requirements/nodeps.txt

log "installing mmdiffrep (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e .

log "checking imports"
"$PY" - <<'EOF'
import mmcv, mmcv.ops, mmengine, mmseg.models, mmpretrain.models, mmpose.models, mmpose.datasets
import mmpose.evaluation, diffusers, torch, numpy, mmdiffrep
print(f"torch {torch.__version__}, numpy {numpy.__version__}, mmcv {mmcv.__version__}, "
      f"mmengine {mmengine.__version__}, diffusers {diffusers.__version__}, mmdiffrep {mmdiffrep.__version__}")
EOF
echo "$want" > "$STAMP"
log "environment ready: $VENV (activate with: source $VENV/bin/activate)"
