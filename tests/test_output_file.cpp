// Atomic output (host/io/output_file.cpp's TempFile, through every result writer): a hidden temporary file beside
// the target, renamed into place by finish() and removed otherwise; failures at open time and on write name the
// file and the OS's reason.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io_support.hpp"
#include "result_sample.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;

using test::chunk;
using test::full_layout;
using test::input_error;
using test::kMetadata;
using test::read_bytes;
using test::ScratchDir;
using test::write_bytes;
using test::write_two_chunks;

TEST(ResultWriters, DestroyedWithoutFinishLeavesNoFileAndKeepsTheOldOne) {
  for (const char* name : {"out.csv", "out.jsonl", "out.npy", "out.npz"}) {
    SCOPED_TRACE(name);
    ScratchDir dir;
    const std::string path = dir.file(name);
    write_bytes(path, "previous results");
    {
      auto writer = open_result_writer(path, full_layout());
      auto [points, result] = chunk(0, 3);
      writer->write(points.data(), result);
      const std::vector<std::string> during = dir.entries();
      EXPECT_GE(during.size(), 2u);
      EXPECT_EQ(during.back().rfind(std::string(".") + name + ".tmp-", 0), std::string::npos);
      EXPECT_EQ(during.front().rfind(std::string(".") + name + ".tmp-", 0), 0u) << during.front();
    }
    EXPECT_EQ(dir.entries(), (std::vector<std::string>{name}));
    EXPECT_EQ(read_bytes(path), "previous results");
  }
}

TEST(ResultWriters, FinishReplacesAnExistingFile) {
  ScratchDir dir;
  const std::string path = dir.file("out.csv");
  write_bytes(path, "previous results");
  write_bytes(path + ".meta.json", "old");
  write_two_chunks(path);
  EXPECT_EQ(read_bytes(path).rfind("x,y,z,f,", 0), 0u);
  EXPECT_EQ(read_bytes(path + ".meta.json"), kMetadata + "\n");
  EXPECT_EQ(dir.entries().size(), 2u);
}

TEST(ResultWriters, UnwritableOrUnknownOutputFailsAtOpen) {
  ScratchDir dir;
  write_bytes(dir.file("plain_file"), "");
  struct Case {
    std::string path;
    const char* message_part;
  };
  const Case cases[] = {
      {dir.file("missing_dir/out.csv"), "No such file or directory"},
      {dir.file("plain_file/out.npz"), "Not a directory"},
      {dir.file("out.h5"), "unsupported output extension '.h5' (expected .csv, .npy, .npz or .jsonl)"},
      {dir.file("out"), "unsupported output no extension"},
      {dir.path().string(), "unsupported output"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const InputError e = input_error([&] { open_result_writer(c.path, full_layout()); });
    EXPECT_EQ(e.source(), c.path);
    EXPECT_NE(e.message().find(c.message_part), std::string::npos) << e.message();
  }
  fs::create_directory(dir.file("dir.csv"));
  EXPECT_NE(input_error([&] { open_result_writer(dir.file("dir.csv"), full_layout()); }).message().find("directory"),
            std::string::npos);
}

TEST(ResultWriters, ReadOnlyDirectoryFailsAtOpen) {
  ScratchDir dir;
  const fs::path readonly = dir.path() / "readonly";
  fs::create_directory(readonly);
  fs::permissions(readonly, fs::perms::owner_read | fs::perms::owner_exec);
  if (::access(readonly.c_str(), W_OK) == 0) GTEST_SKIP() << "permissions are not enforced (running as root)";
  const InputError e = input_error([&] { open_result_writer((readonly / "out.jsonl").string(), full_layout()); });
  EXPECT_NE(e.message().find("Permission denied"), std::string::npos) << e.message();
}

TEST(ResultWriters, FailedWriteNamesTheFileAndTheOsReason) {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG, as a full disk fails with ENOSPC: the same code path.
  ScratchDir dir;
  const std::string path = dir.file("big.csv");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  std::string message;
  {
    auto writer = open_result_writer(path, full_layout());
    auto [points, result] = chunk(0, 3);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    try {
      for (int k = 0; k < 1000; ++k) writer->write(points.data(), result);
      writer->finish("{}");
    } catch (const InputError& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
  }
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace hessa
