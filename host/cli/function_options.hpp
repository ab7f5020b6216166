// What the commands that take a function share (analyze, critical, jacobian): --function, --vars and --param turned
// into a compiled function with named coordinates, --backend turned into a backend, and a timestamp for metadata.
#pragma once

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/expression.hpp"

namespace hessa::cli {

// "a, b,c" -> {"a", "b", "c"} (blanks around names trimmed).
std::vector<std::string> split_names(const std::string& text);

// {"a=2", "b=1e-3"} -> {a: 2, b: 0.001}; throws InputError for an item that is not NAME=NUMBER.
std::map<std::string, double> parse_params(const std::vector<std::string>& items);

// The function to analyze: a catalogue name, quadratic:FILE, @FILE (expression text in a file), or an expression.
struct ResolvedFunction {
  std::string label;        // for messages and metadata
  std::string expression;   // hessa language
  std::string source_name;  // where error positions point
  int fixed_dimension = 0;  // 0: any
  int min_dimension = 1;
  bool user_expression = false;  // typed by the user (not a catalogue entry)
};

ResolvedFunction resolve_function(const std::string& spec);

// Throws InputError (at `where`:`line`) when `fn` does not take n coordinates; `counted` names what has them
// (default: "the points have n columns").
void check_function_dimension(const ResolvedFunction& fn, int n, const std::string& where, int line = 1,
                              std::string counted = "");

// True when every name can serve as a variable of the expression language (an identifier, not reserved).
bool usable_as_variable_names(const std::vector<std::string>& names);

// auto: the GPU when usable (else the CPU, said on stderr unless quiet); cpu; cuda (InputError without a GPU).
// For any backend family: `make_cpu()` and `make_cuda(std::string* why_unavailable)` build its two kinds.
template <class MakeCpu, class MakeCuda>
auto choose_backend_of(const std::string& wanted, bool quiet, MakeCpu make_cpu, MakeCuda make_cuda)
    -> decltype(make_cpu()) {
  if (wanted == "cpu") return make_cpu();
  std::string why;
  auto gpu = make_cuda(&why);
  if (gpu) return gpu;
  if (wanted == "cuda") throw InputError("--backend cuda: no usable GPU: " + why);
  if (!quiet) std::cerr << "hessa: no usable GPU (" << why << "); using the CPU backend\n";
  return make_cpu();
}

std::unique_ptr<Backend> choose_backend(const std::string& wanted, bool quiet);

// Metadata and settings as JSON text. Bytes that are not UTF-8 (a file name, say) become U+FFFD instead of the
// exception nlohmann's plain dump() throws: metadata must never be why a finished run fails.
std::string dump_json(const nlohmann::json& value, int indent = -1);

// "2024-05-01T12:00:00Z"
std::string utc_now();

}  // namespace hessa::cli
