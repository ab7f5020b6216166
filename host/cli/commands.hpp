// Subcommands of the `hessa` program. Each registers its options on the CLI11 app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace hessa::cli {

// A command's arguments: its flags fill the engine's request directly; `kind` is the stencil's (or the Jacobian
// mode's) name, made an enum when the command runs, and `quiet` is the command's own.
template <class Request>
struct CommandArgs {
  Request request;
  std::string kind = "central";
  bool quiet = false;
};

// Returns the action to run when the subcommand was selected; it returns the process exit code.
std::function<int()> add_analyze_command(CLI::App& app);
std::function<int()> add_functions_command(CLI::App& app);
std::function<int()> add_critical_command(CLI::App& app);
std::function<int()> add_jacobian_command(CLI::App& app);
std::function<int()> add_run_command(CLI::App& app);    // run_command.cpp
std::function<int()> add_merge_command(CLI::App& app);  // run_command.cpp
std::function<int()> add_plot_command(CLI::App& app);
std::function<int()> add_bench_command(CLI::App& app);

}  // namespace hessa::cli
