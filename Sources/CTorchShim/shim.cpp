// shim.cpp — the only C++ in Warden. See include/ctorch_shim.h for the contract.
#include "ctorch_shim.h"

#include <torch/script.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <setjmp.h>
#include <signal.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct wt_model {
    torch::jit::Module module;
    int64_t output_width = 0;
    /// The bound packed entry point (empty: none).
    std::string packed_method;
};

namespace {

void write_message(char *err, size_t capacity, const std::string &message) {
    if (err == nullptr || capacity == 0) return;
    // libtorch messages carry a long C++ backtrace after the first lines; keep the useful head.
    std::string text = message;
    const auto cut = text.find("\nException raised from");
    if (cut != std::string::npos) text.resize(cut);
    // TorchScript interpreter errors put the TorchScript traceback first and the actual error last:
    // keep the first line and the tail, so the cause survives a small buffer.
    const size_t room = capacity - 1;
    if (text.size() > room && room > 64) {
        const auto first = text.substr(0, std::min(text.find('\n'), room / 4));
        const std::string marker = " [...] ";
        const size_t tail = room - first.size() - marker.size();
        text = first + marker + text.substr(text.size() - tail);
    }
    const size_t n = std::min(room, text.size());
    std::memcpy(err, text.data(), n);
    err[n] = '\0';
}

template <typename Body>
wt_status guarded(wt_status failure, char *err, size_t capacity, Body &&body) {
    try {
        return body();
    } catch (const c10::Error &e) {
        write_message(err, capacity, e.what_without_backtrace());
    } catch (const std::exception &e) {
        write_message(err, capacity, e.what());
    } catch (...) {
        write_message(err, capacity, "unknown C++ exception");
    }
    return failure;
}

// torch's OpenMP intra-op setting is per thread: a thread Warden creates starts with the OpenMP default
// (all cores), not with what at::set_num_threads chose on the main thread. Each thread adopts the
// process-wide value once, before its first forward, through omp_set_num_threads alone: calling
// at::set_num_threads again from a worker would also resize torch's shared internal thread pool while
// another worker may be running a forward on it (seen as rare "Broken promise" failures with 2 workers).
std::atomic<int> configured_threads{0};
thread_local int adopted_threads = 0;

void adopt_thread_settings() {
    static const auto omp_set_num_threads_fn =
        reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    const int wanted = configured_threads.load(std::memory_order_relaxed);
    if (wanted > 0 && adopted_threads != wanted) {
        if (omp_set_num_threads_fn != nullptr) omp_set_num_threads_fn(wanted);
        adopted_threads = wanted;
    }
}

template <typename Fn>
Fn openblas_symbol(const char *name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string shape_text(const at::Tensor &tensor) {
    std::string shape = "[";
    for (int64_t d = 0; d < tensor.dim(); ++d) shape += (d ? ", " : "") + std::to_string(tensor.size(d));
    return shape + "]";
}

wt_status run_forward(const wt_model *model, const int64_t *ids, const int64_t *mask, int64_t batch,
                      int64_t length, float *out, size_t capacity, char *err, size_t err_capacity) {
    adopt_thread_settings();
    c10::InferenceMode guard;
    auto options = torch::TensorOptions().dtype(torch::kInt64);
    // from_blob wraps the caller's buffers without copying; forward does not write to its inputs.
    auto input_ids = torch::from_blob(const_cast<int64_t *>(ids), {batch, length}, options);
    auto attention_mask = torch::from_blob(const_cast<int64_t *>(mask), {batch, length}, options);
    std::vector<torch::jit::IValue> inputs{input_ids, attention_mask};
    auto result = const_cast<torch::jit::Module &>(model->module).forward(inputs);
    if (!result.isTensor()) {
        write_message(err, err_capacity, "forward returned " + result.tagKind() + ", expected a tensor");
        return WT_ERR_OUTPUT;
    }
    auto tensor = result.toTensor();
    if (tensor.dim() != 2 || tensor.size(0) != batch) {
        write_message(err, err_capacity,
                      "forward returned a tensor of shape " + shape_text(tensor) + ", expected [" + std::to_string(batch) +
                          ", labels]");
        return WT_ERR_OUTPUT;
    }
    if (!tensor.is_floating_point()) {
        write_message(err, err_capacity, "forward returned a non-floating-point tensor");
        return WT_ERR_OUTPUT;
    }
    if (model->output_width > 0 && tensor.size(1) != model->output_width) {
        write_message(err, err_capacity, "forward returned " + std::to_string(tensor.size(1)) +
                                             " labels, expected " + std::to_string(model->output_width));
        return WT_ERR_OUTPUT;
    }
    const size_t needed = static_cast<size_t>(tensor.size(0) * tensor.size(1));
    if (out == nullptr || capacity < needed) {
        write_message(err, err_capacity, "output buffer too small");
        return WT_ERR_INVALID_ARGUMENT;
    }
    // Copy straight into the caller's buffer (a single conversion when the model computes in bf16).
    auto destination = torch::from_blob(out, {tensor.size(0), tensor.size(1)}, torch::kFloat32);
    destination.copy_(tensor);
    return WT_OK;
}

wt_status run_forward_packed(const wt_model *model, const int64_t *ids, const int64_t *positions,
                             const int64_t *segments_ids, int64_t rows, int64_t length, int64_t segments, float *out,
                             size_t capacity, char *err, size_t err_capacity) {
    adopt_thread_settings();
    c10::InferenceMode guard;
    auto options = torch::TensorOptions().dtype(torch::kInt64);
    auto input_ids = torch::from_blob(const_cast<int64_t *>(ids), {rows, length}, options);
    auto position_ids = torch::from_blob(const_cast<int64_t *>(positions), {rows, length}, options);
    auto segment_ids = torch::from_blob(const_cast<int64_t *>(segments_ids), {rows, length}, options);
    std::vector<torch::jit::IValue> inputs{input_ids, position_ids, segment_ids};
    auto result = const_cast<torch::jit::Module &>(model->module).get_method(model->packed_method)(inputs);
    if (!result.isTensor()) {
        write_message(err, err_capacity, model->packed_method + " returned " + result.tagKind() + ", expected a tensor");
        return WT_ERR_OUTPUT;
    }
    auto tensor = result.toTensor();
    if (tensor.dim() != 3 || tensor.size(0) != rows || tensor.size(1) != segments ||
        (model->output_width > 0 && tensor.size(2) != model->output_width) || !tensor.is_floating_point()) {
        write_message(err, err_capacity,
                      model->packed_method + " returned a tensor of shape " + shape_text(tensor) + ", expected [" +
                          std::to_string(rows) + ", " + std::to_string(segments) + ", " +
                          std::to_string(model->output_width) + "] of floats");
        return WT_ERR_OUTPUT;
    }
    const size_t needed = static_cast<size_t>(rows * segments * tensor.size(2));
    if (out == nullptr || capacity < needed) {
        write_message(err, err_capacity, "output buffer too small");
        return WT_ERR_INVALID_ARGUMENT;
    }
    auto destination = torch::from_blob(out, {rows, segments, tensor.size(2)}, torch::kFloat32);
    destination.copy_(tensor);
    return WT_OK;
}

// Converts every floating-point parameter and buffer to float32 in place. Module::to(dtype) would also
// convert integer buffers (a BERT's position ids), which breaks the embedding look-ups.
void convert_to_float32(torch::jit::Module &module) {
    torch::NoGradGuard no_grad;
    for (const auto &parameter : module.parameters(/*recurse=*/true)) {
        if (parameter.is_floating_point()) parameter.set_data(parameter.to(torch::kFloat32));
    }
    for (const auto &buffer : module.buffers(/*recurse=*/true)) {
        if (buffer.is_floating_point()) buffer.set_data(buffer.to(torch::kFloat32));
    }
}

}  // namespace

extern "C" {

wt_status wt_model_load(const char *path, wt_precision precision, wt_model **out_model, char *err,
                        size_t err_capacity) {
    if (path == nullptr || out_model == nullptr) {
        write_message(err, err_capacity, "path and out_model must not be NULL");
        return WT_ERR_INVALID_ARGUMENT;
    }
    *out_model = nullptr;
    if (precision != WT_PRECISION_AS_STORED && precision != WT_PRECISION_FLOAT32) {
        write_message(err, err_capacity, "unknown precision " + std::to_string(static_cast<int>(precision)));
        return WT_ERR_INVALID_ARGUMENT;
    }
    torch::jit::Module module;
    wt_status status = guarded(WT_ERR_LOAD, err, err_capacity, [&] {
        module = torch::jit::load(path, torch::kCPU);
        module.eval();
        if (precision == WT_PRECISION_FLOAT32) convert_to_float32(module);
        return WT_OK;
    });
    if (status != WT_OK) return status;

    status = guarded(WT_ERR_SIGNATURE, err, err_capacity, [&] {
        auto method = module.find_method("forward");
        if (!method) {
            write_message(err, err_capacity, "the module has no forward method");
            return WT_ERR_SIGNATURE;
        }
        const auto &arguments = method->function().getSchema().arguments();
        // arguments[0] is self.
        if (arguments.size() != 3) {
            write_message(err, err_capacity,
                          "forward takes " + std::to_string(arguments.size() - 1) +
                              " argument(s); expected forward(input_ids, attention_mask)");
            return WT_ERR_SIGNATURE;
        }
        return WT_OK;
    });
    if (status != WT_OK) return status;

    auto *model = new (std::nothrow) wt_model{std::move(module), 0};
    if (model == nullptr) {
        write_message(err, err_capacity, "out of memory");
        return WT_ERR_LOAD;
    }
    // Probe: [CLS] [SEP]-shaped input (ids 101, 102 exist in every BERT vocabulary; tiny models wrap ids).
    const int64_t ids[2] = {101, 102};
    const int64_t mask[2] = {1, 1};
    float probe[4096];
    status = guarded(WT_ERR_FORWARD, err, err_capacity, [&] {
        adopt_thread_settings();
        c10::InferenceMode guard;
        auto input_ids = torch::from_blob(const_cast<int64_t *>(ids), {1, 2}, torch::kInt64);
        auto attention_mask = torch::from_blob(const_cast<int64_t *>(mask), {1, 2}, torch::kInt64);
        auto result = model->module.forward({input_ids, attention_mask});
        if (!result.isTensor() || result.toTensor().dim() != 2 || result.toTensor().size(0) != 1 ||
            result.toTensor().size(1) < 1 || result.toTensor().size(1) > 4096) {
            std::string got = result.isTensor() ? "a tensor of " + std::to_string(result.toTensor().dim()) +
                                                      " dimension(s)"
                                                : result.tagKind();
            write_message(err, err_capacity,
                          "probe forward on a [1, 2] input returned " + got + "; expected a [1, labels] tensor");
            return WT_ERR_OUTPUT;
        }
        model->output_width = result.toTensor().size(1);
        return run_forward(model, ids, mask, 1, 2, probe, 4096, err, err_capacity);
    });
    if (status != WT_OK) {
        delete model;
        return status;
    }
    *out_model = model;
    return WT_OK;
}

int64_t wt_model_output_width(const wt_model *model) { return model ? model->output_width : 0; }

wt_status wt_model_forward(const wt_model *model, const int64_t *input_ids, const int64_t *attention_mask,
                           int64_t batch, int64_t length, float *out, size_t out_capacity, char *err,
                           size_t err_capacity) {
    if (model == nullptr || input_ids == nullptr || attention_mask == nullptr || out == nullptr) {
        write_message(err, err_capacity, "model, inputs and output must not be NULL");
        return WT_ERR_INVALID_ARGUMENT;
    }
    if (batch <= 0 || length <= 0) {
        write_message(err, err_capacity, "batch and length must be positive");
        return WT_ERR_INVALID_ARGUMENT;
    }
    return guarded(WT_ERR_FORWARD, err, err_capacity, [&] {
        return run_forward(model, input_ids, attention_mask, batch, length, out, out_capacity, err, err_capacity);
    });
}

wt_status wt_model_bind_packed(wt_model *model, const char *method, char *err, size_t err_capacity) {
    if (model == nullptr || method == nullptr || method[0] == '\0') {
        write_message(err, err_capacity, "model and method must not be NULL or empty");
        return WT_ERR_INVALID_ARGUMENT;
    }
    const std::string name(method);
    wt_status status = guarded(WT_ERR_SIGNATURE, err, err_capacity, [&] {
        auto found = model->module.find_method(name);
        if (!found) {
            write_message(err, err_capacity, "the module has no method " + name);
            return WT_ERR_SIGNATURE;
        }
        const auto &arguments = found->function().getSchema().arguments();
        if (arguments.size() != 4) {  // self + three
            write_message(err, err_capacity,
                          name + " takes " + std::to_string(arguments.size() - 1) +
                              " argument(s); expected (input_ids, position_ids, segment_ids)");
            return WT_ERR_SIGNATURE;
        }
        return WT_OK;
    });
    if (status != WT_OK) return status;
    model->packed_method = name;
    // Probe: one row holding two messages ([CLS] [SEP] and [CLS] [CLS] [SEP]) and one padding position.
    const int64_t ids[6] = {101, 102, 101, 101, 102, 0};
    const int64_t positions[6] = {0, 1, 0, 1, 2, 0};
    const int64_t segment_ids[6] = {1, 1, 2, 2, 2, 0};
    std::vector<float> probe(static_cast<size_t>(2 * std::max<int64_t>(model->output_width, 1)));
    status = guarded(WT_ERR_FORWARD, err, err_capacity, [&] {
        return run_forward_packed(model, ids, positions, segment_ids, 1, 6, 2, probe.data(), probe.size(), err,
                                  err_capacity);
    });
    if (status != WT_OK) model->packed_method.clear();
    return status;
}

int32_t wt_model_has_packed(const wt_model *model) { return model != nullptr && !model->packed_method.empty(); }

wt_status wt_model_forward_packed(const wt_model *model, const int64_t *input_ids, const int64_t *position_ids,
                                  const int64_t *segment_ids, int64_t rows, int64_t length, int64_t segments,
                                  float *out, size_t out_capacity, char *err, size_t err_capacity) {
    if (model == nullptr || input_ids == nullptr || position_ids == nullptr || segment_ids == nullptr ||
        out == nullptr) {
        write_message(err, err_capacity, "model, inputs and output must not be NULL");
        return WT_ERR_INVALID_ARGUMENT;
    }
    if (model->packed_method.empty()) {
        write_message(err, err_capacity, "no packed entry point is bound");
        return WT_ERR_SIGNATURE;
    }
    if (rows <= 0 || length <= 0 || segments <= 0) {
        write_message(err, err_capacity, "rows, length and segments must be positive");
        return WT_ERR_INVALID_ARGUMENT;
    }
    return guarded(WT_ERR_FORWARD, err, err_capacity, [&] {
        return run_forward_packed(model, input_ids, position_ids, segment_ids, rows, length, segments, out,
                                  out_capacity, err, err_capacity);
    });
}

void wt_model_free(wt_model *model) { delete model; }

wt_status wt_set_threads(int32_t intra_op_threads, int32_t interop_threads, char *err, size_t err_capacity) {
    if (intra_op_threads <= 0) {
        write_message(err, err_capacity, "intra-op threads must be positive");
        return WT_ERR_INVALID_ARGUMENT;
    }
    return guarded(WT_ERR_INVALID_ARGUMENT, err, err_capacity, [&] {
        at::set_num_threads(intra_op_threads);
        configured_threads.store(intra_op_threads, std::memory_order_relaxed);
        adopted_threads = intra_op_threads;
        if (interop_threads > 0 && at::get_num_interop_threads() != interop_threads) {
            at::set_num_interop_threads(interop_threads);
        }
        return WT_OK;
    });
}

int32_t wt_get_threads(void) {
    adopt_thread_settings();
    return at::get_num_threads();
}

wt_status wt_set_blas_threads(int32_t threads, char *err, size_t err_capacity) {
    if (threads <= 0) {
        write_message(err, err_capacity, "BLAS threads must be positive");
        return WT_ERR_INVALID_ARGUMENT;
    }
    auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads");
    if (set == nullptr) {
        write_message(err, err_capacity, "OpenBLAS is not loaded in this process; BLAS threads left as they are");
        return WT_ERR_UNSUPPORTED;
    }
    set(threads);
    return WT_OK;
}

wt_status wt_set_thread_nice(int32_t nice, char *err, size_t err_capacity) {
    if (nice < -20 || nice > 19) {
        write_message(err, err_capacity, "a nice value is between -20 and 19");
        return WT_ERR_INVALID_ARGUMENT;
    }
    auto thread = static_cast<id_t>(syscall(SYS_gettid));
    if (setpriority(PRIO_PROCESS, thread, nice) != 0) {
        write_message(err, err_capacity, std::string("setpriority failed: ") + std::strerror(errno));
        return WT_ERR_UNSUPPORTED;
    }
    return WT_OK;
}

int32_t wt_get_blas_threads(void) {
    auto get = openblas_symbol<int (*)(void)>("openblas_get_num_threads");
    return get ? get() : -1;
}

void wt_blas_info(char *out, size_t capacity) {
    try {
        auto config = openblas_symbol<char *(*)(void)>("openblas_get_config");
        auto parallel = openblas_symbol<int (*)(void)>("openblas_get_parallel");
        std::string text = "no OpenBLAS";
        if (config != nullptr) {
            text = config();
            if (parallel != nullptr) {
                const int mode = parallel();
                text += mode == 0 ? " (sequential)" : mode == 1 ? " (pthreads)" : " (OpenMP)";
            }
        }
        write_message(out, capacity, text);
    } catch (...) {
        if (out != nullptr && capacity > 0) out[0] = '\0';
    }
}

int32_t wt_blas_core_name(char *out, size_t capacity) {
    try {
        auto corename = openblas_symbol<char *(*)(void)>("openblas_get_corename");
        if (corename == nullptr) {
            write_message(out, capacity, "");
            return -1;
        }
        const char *name = corename();
        write_message(out, capacity, name != nullptr ? name : "");
        return 0;
    } catch (...) {
        if (out != nullptr && capacity > 0) out[0] = '\0';
        return -1;
    }
}

}  // extern "C"

namespace {

using sgemm_fn = void (*)(const char *, const char *, const int *, const int *, const int *, const float *,
                          const float *, const int *, const float *, const int *, const float *, float *, const int *);

// The SIGILL guard of wt_blas_check_sgemm: only the checking thread jumps back; a SIGILL anywhere else gets
// the previous disposition.
sigjmp_buf check_jump;
std::atomic<bool> checking{false};
pthread_t check_thread;
struct sigaction previous_sigill;

void on_sigill(int signal_number, siginfo_t *, void *) {
    if (checking.load() && pthread_equal(pthread_self(), check_thread)) siglongjmp(check_jump, 1);
    sigaction(SIGILL, &previous_sigill, nullptr);
    raise(signal_number);
}

// Deterministic values in [-1, 1).
void fill(std::vector<float> &values, uint32_t seed) {
    uint32_t state = seed;
    for (auto &value : values) {
        state = state * 1664525u + 1013904223u;
        value = static_cast<float>(static_cast<double>(state >> 8) / 8388608.0 - 1.0);
    }
}

struct Problem {
    char transa, transb;
    int m, n, k;
};

// Runs one column-major product through sgemm_ and returns the largest |c - reference| / sum|a b|, or a
// negative value when an element is not finite.
double check_problem(sgemm_fn sgemm, const Problem &p, uint32_t seed) {
    const int lda = p.transa == 'N' ? p.m : p.k;
    const int ldb = p.transb == 'N' ? p.k : p.n;
    std::vector<float> a(static_cast<size_t>(lda) * (p.transa == 'N' ? p.k : p.m));
    std::vector<float> b(static_cast<size_t>(ldb) * (p.transb == 'N' ? p.n : p.k));
    std::vector<float> c(static_cast<size_t>(p.m) * p.n, 0.0f);
    fill(a, seed);
    fill(b, seed * 7u + 3u);
    const float alpha = 1.0f, beta = 0.0f;
    sgemm(&p.transa, &p.transb, &p.m, &p.n, &p.k, &alpha, a.data(), &lda, b.data(), &ldb, &beta, c.data(), &p.m);
    double worst = 0;
    for (int j = 0; j < p.n; ++j) {
        for (int i = 0; i < p.m; ++i) {
            double sum = 0, magnitude = 0;
            for (int l = 0; l < p.k; ++l) {
                const double x = p.transa == 'N' ? a[i + static_cast<size_t>(l) * lda] : a[l + static_cast<size_t>(i) * lda];
                const double y = p.transb == 'N' ? b[l + static_cast<size_t>(j) * ldb] : b[j + static_cast<size_t>(l) * ldb];
                sum += x * y;
                magnitude += std::fabs(x * y);
            }
            const double value = c[i + static_cast<size_t>(j) * p.m];
            if (!std::isfinite(value)) return -1;
            worst = std::max(worst, std::fabs(value - sum) / (magnitude + 1e-30));
        }
    }
    return worst;
}

}  // namespace

extern "C" {

wt_blas_check wt_blas_check_sgemm(double *max_error) {
    if (max_error != nullptr) *max_error = 0;
    auto sgemm = openblas_symbol<sgemm_fn>("sgemm_");
    if (sgemm == nullptr) return WT_BLAS_CHECK_UNAVAILABLE;
    auto get_threads = openblas_symbol<int (*)(void)>("openblas_get_num_threads");
    auto set_threads = openblas_symbol<void (*)(int)>("openblas_set_num_threads");
    const int threads = get_threads != nullptr ? get_threads() : -1;
    if (set_threads != nullptr) set_threads(1);

    struct sigaction action {};
    action.sa_sigaction = on_sigill;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    check_thread = pthread_self();
    sigaction(SIGILL, &action, &previous_sigill);
    checking.store(true);

    // volatile: these are read after a siglongjmp back into this frame.
    volatile wt_blas_check result = WT_BLAS_CHECK_PASSED;
    volatile double worst = 0;
    if (sigsetjmp(check_jump, 1) == 0) {
        const Problem problems[] = {{'N', 'N', 64, 64, 64}, {'N', 'T', 37, 53, 71}, {'T', 'N', 96, 128, 384}};
        uint32_t seed = 1;
        for (const auto &problem : problems) {
            const double error = check_problem(sgemm, problem, seed++);
            if (error < 0 || error > 1e-4) {
                result = WT_BLAS_CHECK_WRONG;
                worst = error < 0 ? INFINITY : std::max(static_cast<double>(worst), error);
            } else {
                worst = std::max(static_cast<double>(worst), error);
            }
        }
    } else {
        result = WT_BLAS_CHECK_ILLEGAL_INSTRUCTION;
    }
    checking.store(false);
    sigaction(SIGILL, &previous_sigill, nullptr);
    if (set_threads != nullptr && threads > 0) set_threads(threads);
    if (max_error != nullptr) *max_error = worst;
    return result;
}

void wt_set_onednn_cache_capacity(int32_t capacity) {
    auto set = reinterpret_cast<int (*)(int)>(dlsym(RTLD_DEFAULT, "dnnl_set_primitive_cache_capacity"));
    if (set != nullptr && capacity >= 0) set(capacity);
}

void wt_retain_allocator_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
#endif
}

void wt_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void wt_set_graph_optimization(int32_t enabled) {
    try {
        torch::jit::setGraphExecutorOptimize(enabled != 0);
    } catch (...) {
        // Only a flag is set; nothing to report.
    }
}

}  // extern "C"
