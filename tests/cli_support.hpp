// Running the real `hessa` binary from tests: its exit code and output, in a scratch directory per test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace hessa::test {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, stdout and stderr together.
inline CliRun run_command(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Runs `hessa ARGS` (the binary CMake built: HESSA_EXE).
inline CliRun run_hessa(const std::string& args) { return run_command(std::string(HESSA_EXE) + " " + args); }

// Starts `hessa ARGS` in the background with OMP_NUM_THREADS=2, stdout and stderr into `log` (default: discarded),
// for tests that kill or signal a run; the caller waits for it (waitpid / wait4).
inline pid_t spawn_hessa(const std::vector<std::string>& args, const std::string& log = "/dev/null") {
  std::vector<char*> argv{const_cast<char*>(HESSA_EXE)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    setenv("OMP_NUM_THREADS", "2", 1);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    execv(HESSA_EXE, argv.data());
    _exit(127);
  }
  return child;
}

// A fixture with a fresh directory per test (named after the test), removed afterwards.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hessa_test_" + std::to_string(getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

}  // namespace hessa::test
