// Temporary output files renamed into place on commit, and CSV formatting shared by every writer.
#include "io/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "hessa/errors.hpp"

namespace hessa::io {

std::string os_error(const std::string& what) { return what + ": " + std::strerror(errno); }

TempFile::TempFile(const std::string& target, std::string source, const std::string& tag)
    : target_(target), source_(std::move(source)) {
  static std::atomic<unsigned> sequence{0};
  const std::filesystem::path t(target);
  const std::filesystem::path dir = t.has_parent_path() ? t.parent_path() : std::filesystem::path(".");
  for (int attempt = 0; fd_ < 0; ++attempt) {
    const std::string name =
        "." + t.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(sequence++) + tag;
    temp_ = (dir / name).string();
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && (errno != EEXIST || attempt > 100))
      throw InputError(source_, 0, 0, os_error("cannot create a file in directory '" + dir.string() + "'"));
  }
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void TempFile::write(const void* data, std::size_t size) {
  write_at(size_, data, size);
  size_ += size;
}

void TempFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t done = ::pwrite(fd_, p, std::min<std::size_t>(size, 1 << 30), off_t(offset));
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) fail("cannot write");
    p += done;
    offset += std::uint64_t(done);
    size -= std::size_t(done);
  }
}

void TempFile::sync() {
  if (::fsync(fd_) != 0) fail("cannot flush to disk");
}

void TempFile::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close");
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename " + temp_ + " to " + target_);
  committed_ = true;
}

void TempFile::fail(const std::string& what) const { throw InputError(source_, 0, 0, os_error(what)); }

void sync_directory_of(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void append_csv_name(std::string& out, const std::string& name) {
  if (name.find_first_of(",\"\r\n") == std::string::npos) {
    out += name;
    return;
  }
  out += '"';
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

void append_double(std::string& out, double v) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);  // the shortest digits that read back as v
  out.append(buf, result.ptr);
}

}  // namespace hessa::io
