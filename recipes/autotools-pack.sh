#!/bin/sh
# Builds a native library with autotools into the prefix $WELD_OUT/prefix.
# Configured for /prefix and installed with DESTDIR, so nothing in the prefix
# names the build's own output path.
. "$(dirname "$0")/lib/common.sh"

if [ ! -x ./configure ]; then
  autoreconf -fi
fi
./configure --prefix=/prefix --disable-static --enable-shared
make -j"$WELD_JOBS"
make install DESTDIR="$WELD_OUT"
# libtool archives carry absolute paths and are not needed by consumers.
find "$WELD_OUT/prefix" -name '*.la' -delete
