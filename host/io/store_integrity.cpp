// Integrity of the result store: a superblock check before libhdf5 parses the file, the layout and chunk
// checksums, dataset shapes held to the layout, and set-up under a hidden name renamed into place when whole.
#include "io/store_integrity.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "hessa/errors.hpp"
#include "io/hdf5_support.hpp"

// Chunk checksums are taken over the rows in memory (native) byte order and must mean the same on every host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "store checksums assume a little-endian host");

namespace hessa::store {
namespace fs = std::filesystem;
using hdf5::Handle;
using hdf5::read_call;

void check_superblock(const std::string& path) {
  unsigned char head[12] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, 0, std::string("cannot be read: ") + std::strerror(errno));
  in.read(reinterpret_cast<char*>(head), sizeof head);
  static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (in.gcount() < std::streamsize(sizeof head) || std::memcmp(head, signature, 8) != 0) {
    throw InputError(path, 0, 0, "not a hessa result store (no HDF5 signature at its start: another file, or damaged)");
  }
  if (head[8] < 2) {
    throw InputError(path, 0, 0,
                     "has an HDF5 superblock of version " + std::to_string(head[8]) +
                         ", without checksums: written by a hessa before store format 2 (or by another program, or "
                         "damaged); this hessa reads only checksummed stores: rerun the job into a new output");
  }
  if (head[8] != 2 || head[9] != 8 || head[10] != 8) {
    throw InputError(path, 0, 0,
                     "damaged or not written by hessa (HDF5 superblock version " + std::to_string(head[8]) +
                         ", offset/length sizes " + std::to_string(head[9]) + "/" + std::to_string(head[10]) +
                         "; hessa writes version 2 with 8/8)");
  }
}

namespace {

// Length-prefixed fields, so that no two layouts serialize alike.
class Serializer {
 public:
  void add(const std::string& s) {
    add(std::uint64_t(s.size()));
    text_ += s;
  }
  void add(std::uint64_t v) { text_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void add(const std::vector<double>& values) {
    add(std::uint64_t(values.size()));
    text_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::uint32_t crc_of(std::uint32_t crc, const void* data, std::size_t size) {
  return std::uint32_t(crc32_z(crc, static_cast<const Bytef*>(data), size));
}

}  // namespace

std::uint32_t layout_checksum(const StoreLayout& layout) {
  Serializer s;
  s.add(std::uint64_t(kFormat));
  s.add(std::uint64_t(layout.total_points));
  s.add(std::uint64_t(layout.n));
  s.add(std::uint64_t(layout.point_columns()));
  s.add(std::uint64_t(layout.chunk_points));
  s.add(std::uint64_t(layout.coordinate_names.size()));
  for (const std::string& name : layout.coordinate_names) s.add(name);
  s.add(layout.scan_centre);
  s.add(layout.scan_directions);
  s.add(std::uint64_t(layout.gradient) | std::uint64_t(layout.hessian) << 1 | std::uint64_t(layout.eigenvalues) << 2 |
        std::uint64_t(layout.eigenvectors) << 3);
  s.add(layout.settings_json);
  s.add(layout.shard);
  for (const ExtraDataset& e : layout.extras) {  // (nothing added for a store without them, as before they existed)
    s.add(e.name);
    s.add(std::uint64_t(e.width));
  }
  for (const std::string& field : layout.fields) s.add("field " + field);  // (likewise: nothing when all are stored)
  return crc_of(0, s.text().data(), s.text().size());
}

std::uint32_t chunk_checksum(const std::vector<std::vector<unsigned char>>& rows) {
  std::uint32_t crc = 0;
  for (const std::vector<unsigned char>& r : rows) crc = crc_of(crc, r.data(), r.size());
  return crc;
}

std::vector<hsize_t> dataset_dims(const std::string& path, hid_t dataset, const std::string& name, int max_rank) {
  const Handle space(read_call(path, "shape of /" + name, [&] { return H5Dget_space(dataset); }), H5Sclose);
  const int rank = read_call(path, "rank of /" + name, [&] { return H5Sget_simple_extent_ndims(space.get()); });
  if (rank > max_rank) throw InputError(path, 0, 0, "damaged: /" + name + " has rank " + std::to_string(rank));
  std::vector<hsize_t> dims(std::size_t(rank), 0);
  read_call(path, "shape of /" + name, [&] { return H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr); });
  return dims;
}

void check_dataset(const std::string& path, hid_t dataset, const ExpectedDataset& expected, std::uintmax_t file_size) {
  const std::string& name = expected.name;
  const std::vector<hsize_t> dims = dataset_dims(path, dataset, name, 8);
  if (dims != expected.dims) {
    const auto shape = [](const std::vector<hsize_t>& d) {
      std::string text;
      for (std::size_t k = 0; k < d.size(); ++k) text += (k ? " x " : "") + std::to_string(d[k]);
      return text.empty() ? std::string("scalar") : text;
    };
    throw InputError(path, 0, 0,
                     "damaged: /" + name + " is " + shape(dims) + ", the store's layout says " + shape(expected.dims));
  }
  const Handle type(read_call(path, "type of /" + name, [&] { return H5Dget_type(dataset); }), H5Tclose);
  if (H5Tget_class(type.get()) != expected.type_class || H5Tget_size(type.get()) != expected.type_size) {
    throw InputError(path, 0, 0, "damaged: /" + name + " does not have the type hessa writes");
  }
  std::uintmax_t bytes = expected.type_size;
  for (hsize_t d : dims) {
    if (d != 0 && bytes > file_size / d) throw InputError(path, 0, 0, "damaged: /" + name + " is larger than the file");
    bytes *= d;
  }
  if (bytes == 0) return;
  const haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF || offset > file_size || bytes > file_size - offset) {
    throw InputError(path, 0, 0, "damaged: /" + name + "'s data lies outside the file (truncated?)");
  }
}

std::string partial_path(const std::string& path) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  const fs::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".partial-" + host + "-" + std::to_string(getpid())))
      .string();
}

void remove_stale_partials(const std::string& path) {
  const std::string mine = partial_path(path);
  const std::string prefix = mine.substr(0, mine.rfind('-') + 1);  // ".NAME.partial-HOST-"
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = (fs::path(path).parent_path() / entry.path().filename()).string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = pid_t(std::stol(pid_text));
    if (kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

void publish(const std::string& partial, const std::string& path, int fd) {
  if (fsync(fd) != 0) {
    throw InputError(path, 0, 0, std::string("cannot be written: fsync failed: ") + std::strerror(errno));
  }
  // Atomic and never over an existing file; file systems without RENAME_NOREPLACE get link + unlink, as atomic.
  int result = renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (result != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
    result = link(partial.c_str(), path.c_str());
    if (result == 0) unlink(partial.c_str());
  }
  if (result != 0) {
    const int e = errno;
    if (e == EEXIST) throw InputError(path, 0, 0, "exists; use --resume to continue it, or write to another output");
    throw InputError(path, 0, 0, std::string("cannot be created: ") + std::strerror(e));
  }
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    fsync(dir_fd);  // the rename itself survives a crash; a failure here costs durability, not correctness
    close(dir_fd);
  }
}

}  // namespace hessa::store
