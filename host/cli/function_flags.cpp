// Shared flag registrations (same names, checks and help in every command).
#include "cli/function_flags.hpp"

namespace hessa::cli {

void add_function_option(CLI::App* cmd, std::string& function) {
  cmd->add_option("-f,--function", function,
                  "A catalogue name (see 'hessa functions'), quadratic:MATRIX.csv, @FILE with an expression, "
                  "or an expression such as \"x^2 - y^2\"")
      ->required();
}

void add_naming_options(CLI::App* cmd, std::string& vars, std::vector<std::string>& params,
                        const std::string& expressions) {
  cmd->add_option("--vars", vars, "Names of the coordinates, comma separated (default: x0, x1, ... or the CSV header)");
  cmd->add_option("--param", params, "A named constant for the " + expressions + ", NAME=VALUE (repeatable)");
}

void add_backend_option(CLI::App* cmd, std::string& backend) {
  cmd->add_option("--backend", backend, "auto (GPU when usable, else CPU, said on stderr), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
}

void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "CPU threads (default: OpenMP's choice)")->check(CLI::PositiveNumber);
}

void add_columns_option(CLI::App* cmd, std::vector<std::string>& columns) {
  cmd->add_option("--columns", columns,
                  "Write only these columns, in this order (comma-separated names, or prefixes ending in '*': "
                  "--columns x,y,f,lambda_min,class or --columns 'f,H_*'); .npz writes the arrays they belong to. "
                  "Default: all")
      ->delimiter(',');
}

}  // namespace hessa::cli
