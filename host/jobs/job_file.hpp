// Batch job files (`hessa run JOB.toml`): the TOML schema checked key by key (unknown keys, wrong types and missing
// keys are InputErrors at the job file's line and column, naming the key path), every default resolved, and the
// resolved settings as JSON for the result file. The schema is documented in README.md, "Batch jobs".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/directions.hpp"
#include "engine/function_spec.hpp"
#include "hessa/analysis_options.hpp"
#include "hessa/lanczos.hpp"
#include "hessa/model.hpp"
#include "hessa/objective.hpp"

namespace hessa::jobs {

// A function the job's caller supplies instead of an expression or a model (Python's hessa.run(job, function=f)):
// the job's [function] table names it with python = "label".
struct CallerFunction {
  bool has_gradient = false;  // the caller gives gradients too (the gradient stencil)
};

struct JobSpec {
  std::string job_path;
  ResolvedFunction function;
  // [function] python = "label": the caller's function (CallerFunction), of any dimension; no expression.
  bool caller_function = false;
  std::vector<std::string> variable_names;  // [function] vars; empty: x0, x1, ...
  std::map<std::string, double> parameters;
  int function_line = 0;  // of the [function] table, for dimension errors

  // [function] model = "mlp": the loss of an MLP on a data set as a function of its flat parameter vector.
  bool model = false;
  MlpModel mlp;
  std::string data_path;                 // resolved; the data set is in mlp.data
  std::string parameters_path;           // "" when [function] parameters is not given
  std::vector<double> model_parameters;  // the trained vector (the default centre of a direction scan)
  std::string data_fingerprint;          // of the data file's values
  int function_n = 0;                    // coordinates of the function: an expression's n, a model's P

  // [points]: a grid over a box (last axis fastest), every row of a file, or a direction scan: a grid over
  // (alpha, beta, ...) mapped to centre + alpha d1 + beta d2 (subspace).
  bool grid = true;  // also true for a direction scan (its coordinates form a grid)
  bool directions_scan = false;
  std::string directions_source;  // "filter", "random", "file" or "inline"
  std::string directions_file;    // resolved, when from a file
  std::string centre_source;      // "parameters", "file" or "inline"
  std::string centre_file;
  std::uint64_t seed = 0;
  bool restricted_hessian = true;  // hessian = "restricted" (k x k) or "full" (n x n)
  // hessian = "lanczos": the full space's extremes by Lanczos over exact HVPs, H never formed ([lanczos] table).
  bool lanczos = false;
  LanczosOptions lanczos_options;
  AffineSubspace subspace;  // origin = the centre, directions k x function_n
  std::vector<double> lower, upper;
  std::vector<std::size_t> counts;
  std::string points_file;          // resolved against the job's directory
  std::vector<double> file_points;  // row-major, all rows (kind = "file")
  std::vector<std::string> file_columns;
  int n = 0;  // coordinates of a point of the set (k for a direction scan)
  std::size_t total_points = 0;

  // Dimension of g, H and the eigenvalues: k for a restricted direction scan, else function_n.
  int analysis_n() const { return directions_scan && restricted_hessian ? n : function_n; }

  AnalysisOptions options;
  // [analysis] direction: curvature probes d (the function's own coordinates) whose d'Hd / d'd and quadratic
  // prediction each point gets (datasets /direction_curvature and /direction_taylor), from exact Hessian-vector
  // products: a model scan gets them without its P x P Hessian being formed or stored.
  std::vector<std::string> direction_specs;  // as written (inline numbers or a file path)
  Directions probe_directions;

  std::string output_path;  // resolved against the job's directory
  // [output] columns: the analysis fields the store keeps (StoreLayout::fields, in the fields' order); empty: all.
  std::vector<std::string> output_columns;
  std::size_t chunk_points = 4096;
  std::string backend = "auto";
  std::string memory;  // [run] memory: a host memory limit ("768M"); "" none. Not a result setting.
  int threads = 0;     // [run] threads: CPU threads (OpenMP); 0: OpenMP's default (OMP_NUM_THREADS, else every core)

  std::vector<std::string> coordinate_names() const;
  // Points [first, first + count) of the set, row-major, into `out` (resized).
  void points(std::size_t first, std::size_t count, std::vector<double>& out) const;
  // Every setting with its default filled in (function, points, analysis, output, run).
  nlohmann::json settings() const;
};

class TableReader;  // job_table.hpp
// Parts of read_job in job_model.cpp: [function] with model = "mlp", and the directions of a direction scan
// (after its (alpha, beta) grid is read).
void read_model_function(const TableReader& t, JobSpec& job);
void read_direction_scan(const TableReader& t, JobSpec& job);
// [output] columns: analysis field names, each once (InputError at its line otherwise).
void read_output_columns(const TableReader& output, JobSpec& job);
// The model's part of the settings (function.*) and the direction scan's (points.*).
nlohmann::json model_settings(const JobSpec& job);
nlohmann::json direction_settings(const JobSpec& job);

// Reads and checks the job file; throws InputError(job, line, column, "key.path: ...") for anything wrong. With
// `job_text`, the job is that TOML text and `job_path` only names it (relative paths in it are then relative to
// the working directory when job_path has no directory).
// `caller`: the caller has its own function for [function] python = "label" (else that key is an error); stencil
// auto is then central, or gradient when it has gradients.
JobSpec read_job(const std::string& job_path, const std::string* job_text = nullptr,
                 const CallerFunction* caller = nullptr);

// A job given as JSON (Python's dict) in TOML, for read_job's job_text; InputError for JSON that is not an object
// of tables or holds a null.
std::string job_toml_from_json(const std::string& json_text);

// The key paths ("analysis.gtol", "points.counts") whose values differ between two settings objects, among the
// settings that change results: function, points, analysis, output.chunk and output.columns (not output.path, run.*).
std::vector<std::string> result_setting_differences(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace hessa::jobs
