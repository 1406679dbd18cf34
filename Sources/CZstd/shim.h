// zstd for Swift: trace chunks are compressed with it. Only the trace codec imports CZstd.
#include <zstd.h>
