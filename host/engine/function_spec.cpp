// Function specs, parameters and variable names for every run that takes a function.
#include "engine/function_spec.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"

namespace hessa {

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    names.push_back(first == std::string::npos ? "" : item.substr(first, last - first + 1));
  }
  return names;
}

CoordinateNames name_coordinates(const std::string& vars, const std::vector<std::string>& header, int n,
                                 bool header_names_variables, const std::string& where, int line,
                                 const std::string& counted) {
  CoordinateNames names;
  if (!vars.empty()) {
    names.variables = split_names(vars);
    if (int(names.variables.size()) != n) {
      throw InputError(where, line, 0,
                       "--vars names " + std::to_string(names.variables.size()) + " variables but " + counted);
    }
    names.coordinates = names.variables;
  } else if (!header.empty()) {
    // A CSV header names the output columns, and the variables too where it can (x0, x1 still work).
    names.coordinates = header;
    if (header_names_variables && usable_as_variable_names(header)) names.variables = header;
  } else {
    for (int i = 0; i < n; ++i) names.coordinates.push_back("x" + std::to_string(i));
  }
  return names;
}

std::string join_names(const std::vector<std::string>& items, std::size_t limit) {
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) text += (i ? ", " : "") + items[i];
  if (items.size() > limit) text += ", ... (" + std::to_string(items.size()) + " in all)";
  return text;
}

std::map<std::string, double> parse_params(const std::vector<std::string>& items) {
  std::map<std::string, double> params;
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    char* end = nullptr;
    const double value = eq == std::string::npos ? 0.0 : std::strtod(item.c_str() + eq + 1, &end);
    if (eq == std::string::npos || end == item.c_str() + eq + 1 || *end != '\0' || !std::isfinite(value)) {
      throw InputError("--param " + item + ": expected NAME=NUMBER, e.g. --param a=2.5");
    }
    params[item.substr(0, eq)] = value;
  }
  return params;
}

ResolvedFunction resolve_function(const std::string& spec) {
  ResolvedFunction r;
  if (const CatalogueEntry* entry = find_catalogue_entry(spec)) {
    r = {entry->name, entry->expression, entry->name, entry->dimension, entry->min_dimension};
  } else if (spec.rfind("quadratic:", 0) == 0) {
    const CatalogueEntry q = quadratic_form_from_file(spec.substr(10));
    r = {q.name, q.expression, q.name, q.dimension, q.dimension};
  } else if (!spec.empty() && spec[0] == '@') {
    const std::string path = spec.substr(1);
    std::ifstream in(path);
    if (!in) throw InputError(path, 0, 0, std::string("cannot read the function file: ") + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    r = {path, text.str(), path, 0, 1, true};
  } else {
    r = {spec, spec, "--function", 0, 1, true};
  }
  return r;
}

void check_function_dimension(const ResolvedFunction& fn, int n, const std::string& where, int line,
                              std::string counted) {
  if (counted.empty()) counted = "the points have " + std::to_string(n) + " columns";
  if (fn.fixed_dimension > 0 && n != fn.fixed_dimension) {
    throw InputError(where, line, 0,
                     fn.label + " takes " + std::to_string(fn.fixed_dimension) + " coordinates, but " + counted);
  }
  if (n < fn.min_dimension) {
    throw InputError(where, line, 0,
                     fn.label + " needs at least " + std::to_string(fn.min_dimension) + " coordinates, but " + counted);
  }
}

bool usable_as_variable_names(const std::vector<std::string>& names) {
  static const std::set<std::string> reserved = {"pi", "e", "n", "sum", "prod"};
  for (const std::string& name : names)
    if (!is_identifier(name) || reserved.count(name)) return false;
  return true;
}

}  // namespace hessa
