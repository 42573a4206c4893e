#!/bin/sh
# The wheel repair step, run by weld in the builder after a wheel recipe (README,
# "Wheel repair"): WELD_SRC holds the recipe's wheels (read-only), WELD_DEPS the same
# dependency prefixes the recipe saw, WELD_DEP_NAMES their package names; the repaired
# wheels go to $WELD_OUT/wheels/ and the report to $WELD_OUT/repair.json.
set -eu
: "${WELD_SRC:?}" "${WELD_OUT:?}" "${WELD_REPAIR_POLICY:?}"
here="$(dirname "$0")"

# The builder's Debian python carries python3-pyelftools; a host python from a version
# manager (local runner) may not, and then the system one is used.
PYTHON=python3
if ! python3 -c 'import elftools' 2>/dev/null && [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; fi
export PYTHONDONTWRITEBYTECODE=1

exec "$PYTHON" "$here/repair_wheel.py" \
  --policy "$WELD_REPAIR_POLICY" \
  --deps "${WELD_DEPS:-}" --dep-names "${WELD_DEP_NAMES:-}" \
  --out "$WELD_OUT/wheels" --report "$WELD_OUT/repair.json" \
  "$WELD_SRC"/*.whl
