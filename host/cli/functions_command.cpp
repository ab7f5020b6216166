// `hessa functions`: the catalogue, one line each (with -v, the expression too).
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "hessa/catalogue.hpp"

namespace hessa::cli {

std::function<int()> add_functions_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("functions", "List the built-in functions (usable as --function NAME)");
  auto verbose = std::make_shared<bool>(false);
  cmd->add_flag("-v,--verbose", *verbose, "Also print each function's expression in the hessa language");
  return [verbose]() {
    std::cout << std::left << std::setw(17) << "name" << std::setw(8) << "n"
              << "description\n";
    for (const CatalogueEntry& e : catalogue()) {
      std::cout << std::setw(17) << e.name << std::setw(8) << e.dimension_text() << e.description << '\n';
      if (*verbose) std::cout << std::setw(25) << "" << e.expression << '\n';
    }
    std::cout << std::setw(17) << "quadratic:FILE" << std::setw(8) << "n"
              << "1/2 x'Ax for the symmetric n x n matrix in FILE (.csv or .npy)\n";
    return 0;
  };
}

}  // namespace hessa::cli
