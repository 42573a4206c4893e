#!/bin/sh
# Builds a native library with CMake into the prefix $WELD_OUT/prefix.
. "$(dirname "$0")/lib/common.sh"

cmake -S . -B _build \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/prefix \
  -DBUILD_SHARED_LIBS=ON
cmake --build _build --parallel "$WELD_JOBS"
DESTDIR="$WELD_OUT" cmake --install _build
