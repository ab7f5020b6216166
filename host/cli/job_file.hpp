// Batch job files (`hessa run JOB.toml`): the TOML schema checked key by key (unknown keys, wrong types and missing
// keys are InputErrors at the job file's line and column, naming the key path), every default resolved, and the
// resolved settings as JSON for the result file. The schema is documented in README.md, "Batch jobs".
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/function_options.hpp"
#include "hessa/analysis_options.hpp"

namespace hessa::cli {

struct JobSpec {
  std::string job_path;
  ResolvedFunction function;
  std::vector<std::string> variable_names;  // [function] vars; empty: x0, x1, ...
  std::map<std::string, double> parameters;
  int function_line = 0;  // of the [function] table, for dimension errors

  // [points]: a grid over a box (last axis fastest) or every row of a file.
  bool grid = true;
  std::vector<double> lower, upper;
  std::vector<std::size_t> counts;
  std::string points_file;          // resolved against the job's directory
  std::vector<double> file_points;  // row-major, all rows (kind = "file")
  std::vector<std::string> file_columns;
  int n = 0;
  std::size_t total_points = 0;

  AnalysisOptions options;
  std::string output_path;  // resolved against the job's directory
  std::size_t chunk_points = 4096;
  std::string backend = "auto";

  std::vector<std::string> coordinate_names() const;
  // Points [first, first + count) of the set, row-major, into `out` (resized).
  void points(std::size_t first, std::size_t count, std::vector<double>& out) const;
  // Every setting with its default filled in (function, points, analysis, output, run).
  nlohmann::json settings() const;
};

// Reads and checks the job file; throws InputError(job, line, column, "key.path: ...") for anything wrong.
JobSpec read_job(const std::string& job_path);

// The key paths ("analysis.gtol", "points.counts") whose values differ between two settings objects, among the
// settings that change results: function, points, analysis and output.chunk (not output.path, run.*).
std::vector<std::string> result_setting_differences(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace hessa::cli
