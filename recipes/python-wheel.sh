#!/bin/sh
# Builds one wheel (PEP 517, through pip) with no network and no build isolation:
# build requirements come from the builder env and from $WELD_DEPS, never from an index.
. "$(dirname "$0")/lib/common.sh"

mkdir -p "$WELD_OUT/wheels"
python3 -m pip wheel \
  --no-index --no-build-isolation --no-deps --no-cache-dir \
  --disable-pip-version-check --progress-bar off \
  --wheel-dir "$WELD_OUT/wheels" \
  .

ls "$WELD_OUT"/wheels/*.whl >/dev/null
