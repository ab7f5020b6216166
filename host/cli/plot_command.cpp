// `hessa plot SCAN.h5 [...]`: the PNG maps of a scan, drawn by scripts/hessa-plot (Python, matplotlib), which
// this runs in place of the hessa process with the same arguments.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "hessa/errors.hpp"

namespace hessa::cli {
namespace {

namespace fs = std::filesystem;

// HESSA_PLOT_SCRIPT, else beside this program: ../scripts/hessa-plot (a build tree in the repository) or
// ../share/hessa/hessa-plot (an installed hessa).
std::string find_plot_script(std::vector<std::string>& tried) {
  if (const char* env = std::getenv("HESSA_PLOT_SCRIPT"); env != nullptr && *env != '\0') {
    tried.emplace_back(env);
    return fs::is_regular_file(env) ? std::string(env) : "";
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& candidate : {exe.parent_path() / ".." / "scripts" / "hessa-plot",
                                    exe.parent_path() / ".." / "share" / "hessa" / "hessa-plot"}) {
    tried.push_back(candidate.lexically_normal().string());
    if (fs::is_regular_file(candidate)) return candidate.lexically_normal().string();
  }
  return "";
}

int run_plot(const std::vector<std::string>& args) {
  std::vector<std::string> tried;
  const std::string script = find_plot_script(tried);
  if (script.empty()) {
    std::string where;
    for (const std::string& t : tried) where += (where.empty() ? "" : ", ") + t;
    throw InputError("hessa plot: scripts/hessa-plot not found (looked at " + where +
                     "); set HESSA_PLOT_SCRIPT to its path");
  }
  std::vector<std::string> words{"python3", script};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execvp("python3", argv.data());
  throw InputError(std::string("hessa plot: cannot run python3: ") + std::strerror(errno) +
                   " (scripts/install-deps installs python3 with numpy, matplotlib and h5py)");
}

}  // namespace

std::function<int()> add_plot_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "plot", "PNG maps of an HDF5 scan (runs scripts/hessa-plot; 'hessa plot --help' lists its options)");
  // Every argument, --help included, belongs to the script.
  cmd->set_help_flag();
  cmd->prefix_command();
  return [cmd]() { return run_plot(cmd->remaining()); };
}

}  // namespace hessa::cli
