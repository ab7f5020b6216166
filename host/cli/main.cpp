// hessa: command-line entry. Exit codes: 0 success; 2 bad input (file, line, column in the message);
// 1 device or internal failure. Per-point numerical trouble is data (the row's status), not an exit code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/stop_signals.hpp"

namespace {

int run_cli(int argc, char** argv) {
  CLI::App app{"hessa " HESSA_VERSION
               " - batched finite-difference gradients and Hessians, their eigenvalues, and the\n"
               "second-derivative test (minimum / maximum / saddle / degenerate), on the CPU or a CUDA GPU."};
  app.set_version_flag("--version", std::string("hessa ") + HESSA_VERSION +
                                        (hessa::cuda_backend_compiled() ? " (CUDA backend built)" : " (CPU only)"));
  app.require_subcommand(1);
  app.footer("Run 'hessa <command> --help' for a command's options. Documentation: README.md.");
  const auto analyze = hessa::cli::add_analyze_command(app);
  const auto functions = hessa::cli::add_functions_command(app);
  const auto critical = hessa::cli::add_critical_command(app);
  const auto jacobian = hessa::cli::add_jacobian_command(app);
  const auto run = hessa::cli::add_run_command(app);
  const auto merge = hessa::cli::add_merge_command(app);
  const auto plot = hessa::cli::add_plot_command(app);
  const auto bench = hessa::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  hessa::install_stop_handlers();
  try {
    if (app.got_subcommand("analyze")) return analyze();
    if (app.got_subcommand("functions")) return functions();
    if (app.got_subcommand("critical")) return critical();
    if (app.got_subcommand("jacobian")) return jacobian();
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("merge")) return merge();
    if (app.got_subcommand("plot")) return plot();
    if (app.got_subcommand("bench")) return bench();
  } catch (const hessa::StopRequested& e) {
    std::cerr << "hessa: stopped by " << hessa::signal_name(e.signal_number()) << ": "
              << (e.kept().empty() ? "no output was written (temporary files removed)" : e.kept()) << '\n';
    return e.exit_code();
  } catch (const hessa::InputError& e) {
    std::cerr << "hessa: error: " << e.what() << '\n';
    return 2;
  } catch (const std::bad_alloc&) {
    // Memory is the machine's limit, not an internal fault; chunks are sized to fit, so this is a problem
    // larger than the budget foresaw (or another process took the memory meanwhile).
    std::cerr << "hessa: error: out of memory: the run needs more memory than this machine (or its cgroup) "
                 "gave it; lower --chunk or --memory, or analyze fewer coordinates at once\n";
    return 2;
  } catch (const hessa::DeviceError& e) {
    std::cerr << "hessa: device error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hessa: internal error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing escapes main: setting up the commands can throw too (std::bad_alloc, CLI11's construction errors).
  try {
    return run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hessa: internal error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "hessa: internal error: an exception of unknown type\n";
  }
  return 1;
}
