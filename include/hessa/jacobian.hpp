// Batched Jacobians of vector-valued functions f: R^m -> R^k (one CompiledFunction per output), by central
// differences, Richardson-extrapolated central differences, or exact hyper-dual evaluation, computed by
// Backend::jacobians (hessa/backend.hpp) on either backend; and a CSV / JSON-lines writer for the results.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/backend.hpp"
#include "hessa/detail/jacobian.hpp"
#include "hessa/expression.hpp"
#include "hessa/io.hpp"
#include "hessa/types.hpp"

namespace hessa {

// Default relative steps h_j = s * max(|x_j|, 1) (made exactly representable, as detail::fd_step does).
// Central: truncation ~h^2 |f'''| / 6 against rounding ~eps |f| / h; the sum is smallest at h ~ eps^(1/3).
inline constexpr double kCentralJacobianStep = 6.055454452393343e-06;  // (2^-52)^(1/3)
// Richardson: truncation ~h^4 |f^(5)| against rounding ~eps |f| / h (amplified ~3x by the combination): h ~ eps^(1/5).
inline constexpr double kRichardsonJacobianStep = 7.40095979741405e-04;  // (2^-52)^(1/5)

double default_jacobian_step(JacobianMode mode);    // the constant above; 0 for dual (no step)
const char* jacobian_mode_name(JacobianMode mode);  // "central", "richardson", "dual"

// Results for one chunk of `count` points, host memory.
struct JacobianResult {
  std::size_t count = 0;
  int m = 0;                        // coordinates
  int k = 0;                        // outputs
  std::vector<double> f;            // count * k: f_i(x)
  std::vector<double> J;            // count * k * m, row-major per point: J[(p*k + i)*m + j] = df_i/dx_j
  std::vector<double> error;        // count: richardson's max-abs entry error estimate (0 in other modes)
  std::vector<PointStatus> status;  // count: Ok or NonfiniteF (an evaluation was NaN/Inf)

  void resize(std::size_t points, int coordinates, int outputs);
};

// A caller's vectorized function of m coordinates with k outputs (Python's hessa.jacobian(fn, points)): f at many
// points at once. Called from one thread at a time with up to block_points() points; it may throw (the run stops
// and the exception reaches the caller unchanged); values may be NaN / Inf (that point's status says so).
class BatchVectorFunction {
 public:
  virtual ~BatchVectorFunction() = default;
  virtual int dimension() const = 0;  // m
  virtual int outputs() const = 0;    // k
  // values[i k + o] = f_o(x_i) for the rows of x (rows x m, row-major).
  virtual void values(const double* x, std::size_t rows, double* values) const = 0;
  // The most points one call receives.
  virtual std::size_t block_points() const { return std::size_t(1) << 16; }
};

// InputError for a mode a caller's function cannot run (dual).
void check_function_jacobian_mode(JacobianMode mode);
// Jacobians of a caller's function at `count` points (count x m) by central or Richardson differences, the same
// evaluations and assembly as Backend::jacobians (detail/jacobian.hpp): the stencil points of a block of points are
// materialized and handed over in one call. On the host (the values are the caller's); InputError in dual mode.
void function_jacobians(const BatchVectorFunction& function, JacobianMode mode, double step_scale, const double* points,
                        std::size_t count, JacobianResult& out);

// Bytes of working memory per point (evaluations, f, J, error, status): sizes chunks on either backend
// (host/backend/backend.cpp).
std::size_t jacobian_bytes_per_point(int m, int k, JacobianMode mode);

// --- output ------------------------------------------------------------------------------------------------

// Columns: the m coordinates, f_0 .. f_{k-1}, J_i_j (row i = output, column j = coordinate), jac_err when
// `error` (richardson), status.
struct JacobianLayout {
  int m = 0;
  int k = 0;
  std::vector<std::string> coordinate_names;  // m names
  bool error = false;
};

// Writes to a hidden temporary file beside the target; finish() writes "<path>.meta.json" and renames both
// into place; destroyed without finish(), it removes its temporary. NaN is an empty CSV cell / JSON null.
class JacobianWriter {
 public:
  virtual ~JacobianWriter() = default;
  virtual void write(const double* points, const JacobianResult& result) = 0;
  virtual void finish(const std::string& metadata_json) = 0;
};

// By extension: .csv or .jsonl. Throws InputError for another extension, a clash of column names or an
// unwritable location (checked now, before any computation).
std::unique_ptr<JacobianWriter> open_jacobian_writer(const std::string& path, const JacobianLayout& layout);

// In memory (a library front end): the arrays points (B, m), f (B, k), J (B, k, m), jac_err (richardson) and
// status, moved into *into by finish().
std::unique_ptr<JacobianWriter> open_jacobian_arrays(const JacobianLayout& layout, ResultArrays* into);
// Where a Jacobian run's results go when not to a file: a front end's own writer.
using JacobianWriterFactory = std::function<std::unique_ptr<JacobianWriter>(const JacobianLayout& layout)>;

// Column names in output order, shared by both formats.
std::vector<std::string> jacobian_column_names(const JacobianLayout& layout);

}  // namespace hessa
