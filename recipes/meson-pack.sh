#!/bin/sh
# Builds a native library with Meson (and ninja) into the prefix $WELD_OUT/prefix.
# Configured for /prefix and installed with DESTDIR, as the other pack recipes do.
. "$(dirname "$0")/lib/common.sh"

meson setup _build \
  --prefix=/prefix \
  --libdir=lib \
  --buildtype=release \
  --default-library=shared \
  --wrap-mode=nodownload
meson compile -C _build -j "$WELD_JOBS"
DESTDIR="$WELD_OUT" meson install -C _build --no-rebuild
