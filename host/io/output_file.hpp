// Output files shared by every writer: a temporary file beside the target that becomes the target only on
// commit(), directory sync for durable renames, and locale-free CSV formatting that round-trips doubles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hessa::io {

// "what: strerror(errno)".
std::string os_error(const std::string& what);

// A file created under a hidden name beside `target` (".<name>.tmp-<pid>-<seq><tag>"); removed by the
// destructor unless commit() renamed it onto `target`. Errors name `source`, the user's output path.
class TempFile {
 public:
  TempFile(const std::string& target, std::string source, const std::string& tag = "");
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void write_at(std::uint64_t offset, const void* data, std::size_t size);
  void sync();    // fsync
  void commit();  // closes and renames onto the target; the caller has synced
  const std::string& temp_path() const { return temp_; }
  std::uint64_t size() const { return size_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;

  std::string target_;
  std::string source_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
  std::uint64_t size_ = 0;
};

// Makes renames in `path`'s directory durable; best effort (some file systems refuse fsync on directories).
void sync_directory_of(const std::string& path);

// A CSV header cell: quoted (with "" for ") only when it holds a comma, quote or line break.
void append_csv_name(std::string& out, const std::string& name);

// The shortest decimal that reads back as exactly v (std::to_chars, no locale): "0.1", not "0.10000000000000001".
void append_double(std::string& out, double v);

}  // namespace hessa::io
