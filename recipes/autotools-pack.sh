#!/bin/sh
# Builds a native library with autotools into the prefix $WELD_OUT/prefix.
# Configured for /prefix and installed with DESTDIR, so nothing in the prefix
# names the build's own output path.
. "$(dirname "$0")/lib/common.sh"

if [ ! -x ./configure ]; then
  # Debian names aclocal and automake through update-alternatives when it installs
  # them; an env composed from debs without running maintainer scripts has only the
  # versioned names, which autoreconf takes from $ACLOCAL and $AUTOMAKE.
  for tool in aclocal automake; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      versioned=$(ls /usr/bin/"$tool"-[0-9]* 2>/dev/null | head -n 1)
      if [ -n "$versioned" ]; then
        case "$tool" in aclocal) ACLOCAL="$versioned"; export ACLOCAL ;; automake) AUTOMAKE="$versioned"; export AUTOMAKE ;; esac
      fi
    fi
  done
  autoreconf -fi
fi
./configure --prefix=/prefix --disable-static --enable-shared
make -j"$WELD_JOBS"
make install DESTDIR="$WELD_OUT"
# libtool archives carry absolute paths and are not needed by consumers.
find "$WELD_OUT/prefix" -name '*.la' -delete
