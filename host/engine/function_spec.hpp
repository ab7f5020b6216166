// What the runs that take a function share (analyze, critical, jacobian, jobs): a function spec (catalogue name,
// quadratic:FILE, @FILE or an expression), NAME=VALUE parameters and variable names resolved, checked against the
// points' dimension.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/expression.hpp"

namespace hessa {

// "a, b,c" -> {"a", "b", "c"} (blanks around names trimmed).
std::vector<std::string> split_names(const std::string& text);

// {"a", "b", "c"} -> "a, b, c"; past `limit` items: "a, b, ... (N in all)" (for messages).
std::string join_names(const std::vector<std::string>& items, std::size_t limit = 20);

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

// The names of a point set's n coordinates (output columns, metadata) and the names its expression may use.
struct CoordinateNames {
  std::vector<std::string> coordinates;  // n names
  std::vector<std::string> variables;    // for ExpressionOptions::variable_names; empty: the x0, x[i] form only
};

// --vars text when given (InputError at where:line unless it names n: "--vars names K variables but " + counted),
// else the points file's header (also the variables when `header_names_variables` and every name is usable as
// one), else x0, x1, ...
CoordinateNames name_coordinates(const std::string& vars, const std::vector<std::string>& header, int n,
                                 bool header_names_variables, const std::string& where, int line,
                                 const std::string& counted);

// True when every name can serve as a variable of the expression language (an identifier, not reserved).
bool usable_as_variable_names(const std::vector<std::string>& names);

}  // namespace hessa
