// The flags every command that takes a function registers the same way: --function (a spec), --vars and
// --param, --backend, --threads.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hessa::cli {

// -f,--function: a catalogue name, quadratic:MATRIX.csv, @FILE or an expression (required).
void add_function_option(CLI::App* cmd, std::string& function);
// --vars NAMES and --param NAME=VALUE (repeatable); `expressions` names what the constants are for in the help.
void add_naming_options(CLI::App* cmd, std::string& vars, std::vector<std::string>& params,
                        const std::string& expressions);
// --backend auto|cpu|cuda (default: the value `backend` holds).
void add_backend_option(CLI::App* cmd, std::string& backend);

// --threads N: CPU threads (default: OpenMP's choice, 0 in `threads`).
void add_threads_option(CLI::App* cmd, int& threads);
// --columns: the result columns to write (OutputLayout::columns).
void add_columns_option(CLI::App* cmd, std::vector<std::string>& columns);

}  // namespace hessa::cli
