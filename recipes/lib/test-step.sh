#!/bin/sh
# The wheel test step, run by weld in the runtime env after a wheel's build and repair
# (README, "Tests"): WELD_DEPS holds the wheels to install (the package's own and those
# of its run-time and test requirements), WELD_SRC the package's source tree
# (read-only), and test-spec/ beside this script says what to import and run (`imports`,
# one module per line; `command-<n>`, one shell command each).
# Everything it writes goes under $WELD_OUT.
set -eu
: "${WELD_OUT:?}" "${WELD_DEPS:?}"
here="$(dirname "$0")"
exec python3 -s "$here/test_wheel.py" "$here/test-spec" "$WELD_DEPS" "$WELD_OUT"
