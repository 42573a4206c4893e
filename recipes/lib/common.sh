# Sourced by the recipes: shared set-up for the recipe contract (DESIGN.md, "Builds").
set -eu

: "${WELD_SRC:?WELD_SRC must name the read-only source tree}"
: "${WELD_OUT:?WELD_OUT must name the empty output directory}"
: "${WELD_PACKAGE:?}" "${WELD_VERSION:?}" "${SOURCE_DATE_EPOCH:?}"
WELD_JOBS="${WELD_JOBS:-1}"
WELD_DEPS="${WELD_DEPS:-}"

# Builds always happen at the same path, so paths compiled into outputs do not vary.
WELD_BUILD=/tmp/weld-build/"$WELD_PACKAGE"
rm -rf "$WELD_BUILD"
mkdir -p "$WELD_BUILD"
# The source is mounted read-only; build in a copy.
cp -a "$WELD_SRC"/. "$WELD_BUILD"/
cd "$WELD_BUILD"

# Build dependencies (packs) are prefixes: expose their headers, libraries and .pc files.
IFS_SAVED="$IFS"
IFS=:
for prefix in $WELD_DEPS; do
  [ -n "$prefix" ] || continue
  CPATH="$prefix/include${CPATH:+:$CPATH}"
  LIBRARY_PATH="$prefix/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
  LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
done
IFS="$IFS_SAVED"
export CPATH="${CPATH:-}" LIBRARY_PATH="${LIBRARY_PATH:-}" LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}" PKG_CONFIG_PATH="${PKG_CONFIG_PATH:-}"

# Reproducibility: no timestamps, hash seeds or locale-dependent output.
export PYTHONHASHSEED=0 LC_ALL=C.UTF-8 TZ=UTC
export CFLAGS="${CFLAGS:--O2 -g0} -ffile-prefix-map=$WELD_BUILD=."
