#ifndef WARDEN_CZLIB_SHIM_H
#define WARDEN_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro Swift cannot call: 15 + 32 = largest window, gzip or zlib header detected.
static inline int czlib_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
