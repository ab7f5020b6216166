// open_point_reader (host/io/point_reader.cpp): missing, unreadable and unknown files are InputErrors that carry the
// OS's reason or the extensions it knows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io_support.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;

using test::input_error;
using test::ScratchDir;
using test::write_bytes;

TEST(PointReader, MissingUnreadableAndUnknownFilesAreInputErrors) {
  ScratchDir dir;
  EXPECT_NE(input_error([&] { open_point_reader(dir.file("absent.csv")); }).message().find("No such file or directory"),
            std::string::npos);
  EXPECT_NE(input_error([&] { open_point_reader(dir.path().string() + "/sub.npy"); }).message().find("No such file"),
            std::string::npos);
  fs::create_directory(dir.file("folder.csv"));
  EXPECT_NE(input_error([&] { open_point_reader(dir.file("folder.csv")); }).message().find("directory"),
            std::string::npos);
  write_bytes(dir.file("pts.dat"), "1,2\n");
  const InputError e = input_error([&] { open_point_reader(dir.file("pts.dat")); });
  EXPECT_EQ(e.source(), dir.file("pts.dat"));
  EXPECT_NE(e.message().find(".csv, .txt or .npy"), std::string::npos) << e.message();
}

TEST(PointReader, UnreadableFileReportsTheOsReason) {
  ScratchDir dir;
  const std::string path = dir.file("secret.csv");
  write_bytes(path, "1,2\n");
  fs::permissions(path, fs::perms::none);
  if (::access(path.c_str(), R_OK) == 0) GTEST_SKIP() << "permissions are not enforced (running as root)";
  EXPECT_NE(input_error([&] { open_point_reader(path); }).message().find("Permission denied"), std::string::npos);
}

}  // namespace
}  // namespace hessa
