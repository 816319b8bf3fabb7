// ctorch_shim.h — Warden's C API over libtorch (TorchScript inference only).
//
// Nothing throws across this boundary. Entry points that can fail catch every C++ exception and report it as
// a status code plus a NUL-terminated message written into a caller-owned buffer (`err`, `err_capacity`;
// either may be NULL/0 when the caller does not want the message); messages are truncated to fit. The
// others (getters and process settings) catch everything too and cannot fail visibly.
//
// Thread safety:
//   - wt_model_load, wt_model_output_width: any thread, any time.
//   - wt_model_forward: thread-safe, also concurrently on the same handle (TorchScript inference holds no
//     mutable state; each call runs under its own InferenceMode guard). It blocks the calling thread for
//     the whole forward pass: never call it from a Swift cooperative-pool thread or a NIO event loop.
//   - wt_model_forward_packed: as wt_model_forward; wt_model_bind_packed: once, before the first forward.
//   - wt_model_free: must not race with a forward on the same handle (the Swift owner frees in deinit).
//   - wt_set_threads / wt_set_blas_threads / wt_set_graph_optimization: process-global settings; call them
//     once at start-up, before the first model is loaded, and not concurrently with a forward.
#ifndef CTORCH_SHIM_H
#define CTORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wt_status {
    WT_OK = 0,
    WT_ERR_INVALID_ARGUMENT = 1,  // a NULL pointer, a non-positive shape, a buffer too small
    WT_ERR_LOAD = 2,              // the file is missing, unreadable or not a TorchScript archive
    WT_ERR_SIGNATURE = 3,         // the module has no forward(input_ids, attention_mask)
    WT_ERR_FORWARD = 4,           // libtorch raised during forward
    WT_ERR_OUTPUT = 5,            // forward returned something other than a float [B, labels] tensor
    WT_ERR_UNSUPPORTED = 6,       // a setting this build cannot apply (e.g. no OpenBLAS thread control)
} wt_status;

/// The precision a model computes in after loading.
typedef enum wt_precision {
    WT_PRECISION_AS_STORED = 0,  // as the file stores it (the default model: bf16 encoder, fp32 head)
    WT_PRECISION_FLOAT32 = 1,    // every floating-point parameter and buffer converted to float32 at load
} wt_precision;

/// Opaque model handle. Owned by the caller of wt_model_load; release with wt_model_free.
typedef struct wt_model wt_model;

/// Loads a TorchScript file, switches it to eval mode, converts it to `precision`, checks that `forward`
/// takes exactly (input_ids, attention_mask), and runs a probe forward on a [1, 2] input to learn the
/// output width. WT_PRECISION_FLOAT32 turns a reduced-precision model into the fp32 computation of the same
/// (stored) weights, whose results agree on every CPU to float rounding; bf16 results differ slightly
/// between CPUs (AVX-512 BF16 vs AMX kernels accumulate in different orders).
wt_status wt_model_load(const char *path, wt_precision precision, wt_model **out_model, char *err,
                        size_t err_capacity);

/// Number of output labels (the width of forward's [B, labels] result).
int64_t wt_model_output_width(const wt_model *model);

/// Runs forward over caller-owned row-major int64 [batch, length] inputs (no copy is made) and writes
/// float32 [batch, labels] into `out` (capacity counted in floats; must be >= batch * labels).
wt_status wt_model_forward(const wt_model *model, const int64_t *input_ids, const int64_t *attention_mask,
                           int64_t batch, int64_t length, float *out, size_t out_capacity, char *err,
                           size_t err_capacity);

/// Binds the model's packed entry point, the method `method` (e.g. "forward_packed"), taking
/// (input_ids, position_ids, segment_ids), each int64 [rows, length], where segment id 0 marks padding and
/// 1...S the messages packed into a row, and returning float [rows, S, labels]. Checks that the method exists
/// with three arguments and probes it with one row holding two messages. Call once, right after loading and
/// before any forward (not concurrently with one).
wt_status wt_model_bind_packed(wt_model *model, const char *method, char *err, size_t err_capacity);

/// Whether a packed entry point is bound (wt_model_bind_packed succeeded).
int32_t wt_model_has_packed(const wt_model *model);

/// Runs the packed entry point over caller-owned row-major int64 [rows, length] inputs (no copy is made)
/// and writes float32 [rows, segments, labels] into `out` (capacity counted in floats). `segments` must be
/// the largest segment id in `segment_ids`. Thread-safety as wt_model_forward.
wt_status wt_model_forward_packed(const wt_model *model, const int64_t *input_ids, const int64_t *position_ids,
                                  const int64_t *segment_ids, int64_t rows, int64_t length, int64_t segments,
                                  float *out, size_t out_capacity, char *err, size_t err_capacity);

/// Frees the model. NULL is ignored.
void wt_model_free(wt_model *model);

/// Sets torch's intra-op thread count (process-wide; every thread that later calls forward adopts it)
/// and, when `interop_threads` > 0, the inter-op pool size (only possible before any parallel work).
wt_status wt_set_threads(int32_t intra_op_threads, int32_t interop_threads, char *err, size_t err_capacity);

/// Current intra-op thread count as torch reports it.
int32_t wt_get_threads(void);

/// Sets the thread count of the BLAS library libtorch uses for fp32 matrix products, when it is OpenBLAS
/// (found at run time with dlsym). WT_ERR_UNSUPPORTED when the process has no OpenBLAS.
wt_status wt_set_blas_threads(int32_t threads, char *err, size_t err_capacity);

/// Sets the nice value (-20…19) of the calling thread only (Linux schedules threads one by one): a thread
/// at 19 runs on CPU time the process's other threads leave idle. WT_ERR_UNSUPPORTED when the system refuses.
wt_status wt_set_thread_nice(int32_t nice, char *err, size_t err_capacity);

/// OpenBLAS thread count, or -1 when OpenBLAS is absent.
int32_t wt_get_blas_threads(void);

/// Writes a one-line description of the BLAS build (OpenBLAS's config string, parallel mode) into `out`.
void wt_blas_info(char *out, size_t capacity);

/// OpenBLAS's name for the kernel set it chose when it loaded (`openblas_get_corename`, e.g. "Haswell",
/// "SkylakeX"), written into `out`. Returns 0, or -1 (writing an empty string) when the process has no
/// OpenBLAS. OpenBLAS chooses once, in its library constructor, reading OPENBLAS_CORETYPE if it is set.
int32_t wt_blas_core_name(char *out, size_t capacity);

/// The outcome of wt_blas_check_sgemm.
typedef enum wt_blas_check {
    WT_BLAS_CHECK_PASSED = 0,               // every product agreed with the double-precision reference
    WT_BLAS_CHECK_WRONG = 1,                // a product differed from the reference beyond fp32 rounding
    WT_BLAS_CHECK_ILLEGAL_INSTRUCTION = 2,  // the kernels raised SIGILL: the CPU cannot run them
    WT_BLAS_CHECK_UNAVAILABLE = 3,          // no sgemm_ in the process
} wt_blas_check;

/// Checks the fp32 matrix products of the process's BLAS (`sgemm_`, the entry point libtorch's fp32
/// products call) on three small fixed problems (64x64x64, 37x53x71 and 96x128x384 with B transposed, as
/// a linear layer computes), against a naive triple loop in double precision. An element fails when
/// |c - reference| > 1e-4 * sum_k |a_ik * b_kj| (fp32 rounding of these sums is below 3e-5 of that).
/// `*max_error` (may be NULL) receives the largest |c - reference| / sum_k |a_ik * b_kj| seen. Runs
/// OpenBLAS on one thread for the check and restores its thread count. A SIGILL raised on the calling
/// thread during the check is caught and reported; call it at start-up, before other threads use BLAS.
wt_blas_check wt_blas_check_sgemm(double *max_error);

/// Sets oneDNN's primitive cache capacity (oneDNN runs the bf16 matrix products). Each distinct batch
/// shape creates primitives; oneDNN 2.6's default of 1,024 is exceeded by Warden's many batch shapes, and
/// evictions racing with a second worker's creation of the same primitive fail with "Broken promise".
/// No-op when oneDNN is absent.
void wt_set_onednn_cache_capacity(int32_t capacity);

/// Keeps freed heap memory in the process instead of returning it to the kernel after every batch (glibc
/// mallopt: high trim threshold and top pad, large mmap threshold). Without it, each forward's activation
/// buffers are unmapped and faulted in again, which cost 40% of throughput in `warden score`. Linux only;
/// a no-op elsewhere.
void wt_retain_allocator_memory(void);

/// Returns the heap's free memory to the kernel now (glibc malloc_trim). With wt_retain_allocator_memory,
/// freed memory stays in the process between batches; call this when the process is idle, so memory taken by
/// a burst (large request bodies, big batches) comes back. A no-op elsewhere than glibc.
void wt_release_free_memory(void);

/// Enables or disables the TorchScript graph executor's optimisation passes (profiling/specialisation).
/// With varying batch shapes, re-specialisation can cost more than it gains; Warden measures both.
void wt_set_graph_optimization(int32_t enabled);

#ifdef __cplusplus
}
#endif

#endif
