// HDF5 result store. Kill safety without SWMR: every dataset is contiguous and allocated when the file is
// created, so writing a chunk changes raw data only, never HDF5 metadata (set_complete's one attribute aside, a
// single in-place header write); the metadata on disk is the one flushed at creation and stays readable whatever
// instant the writer dies at. The file is set up under a hidden name and renamed into place, so a store visible
// under its name is always whole. (SWMR in HDF5 1.10 marks the superblock and a killed writer leaves a file that
// only `h5clear` reopens, which would defeat --resume.) Damage detection lives in store_integrity.cpp.
#include "hessa/result_store.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <utility>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io/hdf5_support.hpp"
#include "io/store_integrity.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;
using hdf5::Handle;
using hdf5::memory_space;
using hdf5::read_call;
using hdf5::select_rows;
using hdf5::write_call;
using hdf5::write_scalar_attribute;

// --- per-point datasets -----------------------------------------------------------------------------------

enum class Kind { Real, Int32, Int8 };

struct FieldAccess {
  Kind kind;
  double PointAnalysis::*real;  // Real fields
};

// The analysis fields by the names analysis_field_names() gives (the column model of every writer).
const std::map<std::string, FieldAccess>& field_table() {
  static const std::map<std::string, FieldAccess> table = {
      {"f", {Kind::Real, &PointAnalysis::f}},
      {"grad_norm", {Kind::Real, &PointAnalysis::grad_norm}},
      {"lambda_min", {Kind::Real, &PointAnalysis::lambda_min}},
      {"lambda_max", {Kind::Real, &PointAnalysis::lambda_max}},
      {"class", {Kind::Int8, nullptr}},
      {"morse_index", {Kind::Int32, nullptr}},
      {"lr_max", {Kind::Real, &PointAnalysis::lr_max}},
      {"gHg", {Kind::Real, &PointAnalysis::gHg}},
      {"step_opt", {Kind::Real, &PointAnalysis::step_opt}},
      {"step", {Kind::Real, &PointAnalysis::step}},
      {"taylor_pred", {Kind::Real, &PointAnalysis::taylor_pred}},
      {"f_step", {Kind::Real, &PointAnalysis::f_step}},
      {"uphill", {Kind::Int8, nullptr}},
      {"status", {Kind::Int8, nullptr}},
      {"confidence", {Kind::Real, &PointAnalysis::confidence}},
      {"hess_err", {Kind::Real, &PointAnalysis::hess_err}},
      {"grad_err", {Kind::Real, &PointAnalysis::grad_err}},
  };
  return table;
}

enum class Source { Points, Field, Gradient, Hessian, Eigenvalues, Eigenvectors, Extra };

struct DatasetSpec {
  std::string name;  // without the leading '/'
  Source source;
  Kind kind;
  std::vector<hsize_t> row_dims;  // dims after the point axis
  const FieldAccess* field = nullptr;
  std::size_t extra_offset = 0;  // Extra: its first column in ChunkResult::extra_columns
  std::string meaning = {};      // Extra: its `meaning` attribute

  std::size_t values_per_row() const {
    std::size_t v = 1;
    for (hsize_t d : row_dims) v *= std::size_t(d);
    return v;
  }
  std::size_t value_bytes() const { return kind == Kind::Real ? 8 : kind == Kind::Int32 ? 4 : 1; }
  std::size_t row_bytes() const { return values_per_row() * value_bytes(); }
  hid_t file_type() const {
    return kind == Kind::Real ? H5T_IEEE_F64LE : kind == Kind::Int32 ? H5T_STD_I32LE : H5T_STD_I8LE;
  }
  H5T_class_t type_class() const { return kind == Kind::Real ? H5T_FLOAT : H5T_INTEGER; }
  hid_t memory_type() const {
    return kind == Kind::Real ? H5T_NATIVE_DOUBLE : kind == Kind::Int32 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT8;
  }
};

std::vector<DatasetSpec> dataset_specs(const StoreLayout& layout) {
  const auto n = hsize_t(layout.n);
  std::vector<DatasetSpec> specs;
  specs.push_back({"points", Source::Points, Kind::Real, {hsize_t(layout.point_columns())}});
  for (const std::string& name : analysis_field_names()) {
    if (!layout.fields.empty() && std::find(layout.fields.begin(), layout.fields.end(), name) == layout.fields.end())
      continue;
    const auto it = field_table().find(name);
    // A new analysis field must be given a storage kind here; failing loudly keeps the names in step.
    if (it == field_table().end()) throw std::logic_error("hdf5 store: no storage kind for field '" + name + "'");
    specs.push_back({name, Source::Field, it->second.kind, {}, &it->second});
  }
  if (layout.gradient) specs.push_back({"gradient", Source::Gradient, Kind::Real, {n}});
  if (layout.hessian) specs.push_back({"hessian", Source::Hessian, Kind::Real, {n, n}});
  if (layout.eigenvalues) specs.push_back({"eigenvalues", Source::Eigenvalues, Kind::Real, {n}});
  if (layout.eigenvectors) specs.push_back({"eigenvectors", Source::Eigenvectors, Kind::Real, {n, n}});
  std::size_t offset = 0;
  for (const ExtraDataset& e : layout.extras) {
    DatasetSpec spec{e.name, Source::Extra, Kind::Real, {}};
    if (e.width > 1) spec.row_dims = {hsize_t(e.width)};
    spec.extra_offset = offset;
    spec.meaning = e.meaning;
    offset += std::size_t(e.width);
    specs.push_back(spec);
  }
  return specs;
}

// Packs chunk rows of one dataset. Matrices keep ChunkResult's per-point order: column-major n x n, so
// /eigenvectors[p, k, :] is eigenvector k and /hessian[p, c, r] = H_rc (= H_cr: H is symmetrized).
std::vector<unsigned char> pack(const DatasetSpec& spec, const double* points, const ChunkResult& r) {
  const std::size_t count = r.count;
  std::vector<unsigned char> bytes(count * spec.row_bytes());
  const auto copy_doubles = [&](const double* src) { std::memcpy(bytes.data(), src, bytes.size()); };
  switch (spec.source) {
    case Source::Points: copy_doubles(points); break;
    case Source::Gradient: copy_doubles(r.gradient.data()); break;
    case Source::Hessian: copy_doubles(r.hessian.data()); break;
    case Source::Eigenvalues: copy_doubles(r.eigenvalues.data()); break;
    case Source::Eigenvectors: copy_doubles(r.eigenvectors.data()); break;
    case Source::Extra: {
      // B x width, row-major, from `width` extra columns.
      const std::size_t m = spec.values_per_row();
      if (r.extra_columns.size() < spec.extra_offset + m) {
        throw std::logic_error("hdf5 store: no extra columns for /" + spec.name);
      }
      for (std::size_t p = 0; p < count; ++p) {
        for (std::size_t k = 0; k < m; ++k)
          std::memcpy(bytes.data() + (p * m + k) * 8, &r.extra_columns[spec.extra_offset + k].at(p), 8);
      }
      break;
    }
    case Source::Field:
      for (std::size_t p = 0; p < count; ++p) {
        const PointAnalysis& a = r.points[p];
        unsigned char* dst = bytes.data() + p * spec.value_bytes();
        if (spec.kind == Kind::Real) {
          const double v = a.*(spec.field->real);
          std::memcpy(dst, &v, 8);
        } else if (spec.kind == Kind::Int32) {
          const std::int32_t v = a.morse_index;
          std::memcpy(dst, &v, 4);
        } else {
          const std::int8_t v = spec.name == "class"    ? std::int8_t(a.point_class)
                                : spec.name == "status" ? std::int8_t(a.status)
                                                        : a.uphill;
          std::memcpy(dst, &v, 1);
        }
      }
      break;
  }
  return bytes;
}

Handle create_dataset(const std::string& path, hid_t where, const char* name, hid_t type, std::vector<hsize_t> dims,
                      hid_t dcpl) {
  const Handle space(
      write_call(path, "H5Screate_simple", [&] { return H5Screate_simple(int(dims.size()), dims.data(), nullptr); }),
      H5Sclose);
  return Handle(write_call(path, std::string("create /") + name,
                           [&] { return H5Dcreate2(where, name, type, space.get(), H5P_DEFAULT, dcpl, H5P_DEFAULT); }),
                H5Dclose);
}

// /scan/centre (N) and /scan/directions (k x N): what a direction scan's coordinates mean.
void write_scan(const std::string& path, hid_t file, const StoreLayout& layout) {
  const Handle group(
      write_call(path, "create /scan", [&] { return H5Gcreate2(file, "scan", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT); }),
      H5Gclose);
  const auto N = hsize_t(layout.scan_centre.size());
  const std::pair<const char*, std::vector<hsize_t>> arrays[] = {
      {"centre", {N}}, {"directions", {hsize_t(layout.scan_directions.size()) / N, N}}};
  for (const auto& [name, dims] : arrays) {
    const Handle ds = create_dataset(path, group.get(), name, H5T_IEEE_F64LE, dims, H5P_DEFAULT);
    const std::vector<double>& values = std::strcmp(name, "centre") == 0 ? layout.scan_centre : layout.scan_directions;
    write_call(path, std::string("write /scan/") + name,
               [&] { return H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()); });
  }
}

// /scan/centre and /scan/directions, their shapes checked against each other and the points' coordinates.
void read_scan(const std::string& path, hid_t file, std::uintmax_t file_size, StoreLayout& layout) {
  const Handle centre(read_call(path, "open /scan/centre", [&] { return H5Dopen2(file, "scan/centre", H5P_DEFAULT); }),
                      H5Dclose);
  const Handle directions(
      read_call(path, "open /scan/directions", [&] { return H5Dopen2(file, "scan/directions", H5P_DEFAULT); }),
      H5Dclose);
  const std::vector<hsize_t> centre_dims = store::dataset_dims(path, centre.get(), "scan/centre", 1);
  if (centre_dims.size() != 1) throw InputError(path, 0, 0, "damaged: /scan/centre is not a vector");
  const hsize_t N = centre_dims[0], k = hsize_t(layout.point_columns());
  store::check_dataset(path, centre.get(), {"scan/centre", {N}, H5T_FLOAT, 8}, file_size);
  store::check_dataset(path, directions.get(), {"scan/directions", {k, N}, H5T_FLOAT, 8}, file_size);
  layout.scan_centre.resize(std::size_t(N));
  layout.scan_directions.resize(std::size_t(k * N));
  read_call(path, "read /scan/centre", [&] {
    return H5Dread(centre.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, layout.scan_centre.data());
  });
  read_call(path, "read /scan/directions", [&] {
    return H5Dread(directions.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, layout.scan_directions.data());
  });
}

// File access in HDF5's 1.8 formats (low and high bound): superblock v2, object header v2, compact and dense
// group and attribute storage, each with a checksum that libhdf5 verifies on every read. Files open in HDF5 >= 1.8
// (2008) and h5py built on it; not in HDF5 1.6 or older. The 1.10 bound would give superblock v3, whose
// write-access flag a killed writer leaves set (h5clear needed), so 1.8 is also the newest that keeps --resume.
Handle format_2_access(const std::string& path) {
  Handle fapl(write_call(path, "H5Pcreate", [] { return H5Pcreate(H5P_FILE_ACCESS); }), H5Pclose);
  write_call(path, "H5Pset_libver_bounds",
             [&] { return H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18); });
  return fapl;
}

}  // namespace

std::size_t StoreLayout::chunk_size(std::size_t c) const {
  const std::size_t begin = chunk_begin(c);
  return begin >= total_points ? 0 : std::min(chunk_points, total_points - begin);
}

std::size_t StoreLayout::bytes_per_point() const {
  std::size_t bytes = 0;
  for (const DatasetSpec& spec : dataset_specs(*this)) bytes += spec.row_bytes();
  return bytes;
}

struct ResultStore::Impl {
  std::string path;
  Handle file;
  std::vector<DatasetSpec> specs;
  std::vector<Handle> datasets;  // parallel to specs
  Handle done;
  Handle checksum;  // /checksum: CRC-32 of each chunk's rows of every per-point dataset

  void flush(const std::string& what) const {
    write_call(path, what, [&] { return H5Fflush(file.get(), H5F_SCOPE_LOCAL); });
  }
  template <typename T>
  void write_one(const Handle& dataset, const char* name, std::size_t c, hid_t type, T value) const {
    const Handle space = select_rows(path, dataset.get(), c, 1);
    const Handle mem = memory_space(path, 1);
    write_call(path, std::string("writing /") + name + "[" + std::to_string(c) + "]",
               [&] { return H5Dwrite(dataset.get(), type, mem.get(), space.get(), H5P_DEFAULT, &value); });
  }
};

ResultStore::ResultStore(std::string path, StoreLayout layout, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), layout_(std::move(layout)), impl_(std::move(impl)) {}

ResultStore::~ResultStore() = default;

namespace {

// Removes the partial file of a set-up that failed (disk full, a bug) before its store was renamed into place.
struct PartialFile {
  std::string path;
  bool published = false;
  ~PartialFile() {
    std::error_code ec;
    if (!published) fs::remove(path, ec);
  }
};

// The names of /class and /status codes and the meaning of /uphill and /morse_index, as dataset attributes.
void write_dataset_attributes(const std::string& path, const DatasetSpec& spec, hid_t ds) {
  if (spec.name == "class") {
    std::vector<std::string> names;
    for (int c = 0; c < 6; ++c) names.emplace_back(class_name(PointClass(c)));
    hdf5::write_string_array_attribute(path, ds, "names", names);
  } else if (spec.name == "status") {
    std::vector<std::string> names;
    for (int s = 0; s < 3; ++s) names.emplace_back(status_name(PointStatus(s)));
    hdf5::write_string_array_attribute(path, ds, "names", names);
  } else if (spec.name == "uphill") {
    hdf5::write_string_array_attribute(path, ds, "meaning", {"1: the step raised f, 0: it did not, -1: no step"});
  } else if (spec.name == "morse_index") {
    hdf5::write_string_array_attribute(path, ds, "meaning", {"number of negative eigenvalues, -1 when unknown"});
  } else if (!spec.meaning.empty()) {
    hdf5::write_string_array_attribute(path, ds, "meaning", {spec.meaning});
  }
}

}  // namespace

std::unique_ptr<ResultStore> ResultStore::create(const std::string& path, const StoreLayout& layout) {
  hdf5::silence_errors();
  if (fs::exists(path)) throw InputError(path, 0, 0, "exists; use --resume to continue it, or write to another output");
  store::remove_stale_partials(path);
  PartialFile partial{store::partial_path(path)};
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const Handle fapl = format_2_access(path);
  // Links and attributes stay in the (checksummed) object headers: no fractal heaps, whose blocks libhdf5 may
  // leave without checksums.
  const Handle fcpl(write_call(path, "H5Pcreate", [] { return H5Pcreate(H5P_FILE_CREATE); }), H5Pclose);
  write_call(path, "H5Pset_link_phase_change", [&] { return H5Pset_link_phase_change(fcpl.get(), 256, 200); });
  write_call(path, "H5Pset_attr_phase_change", [&] { return H5Pset_attr_phase_change(fcpl.get(), 64, 48); });
  errno = 0;
  impl->file = Handle(H5Fcreate(partial.path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get()), H5Fclose);
  if (impl->file.get() < 0) hdf5::fail_writing(path, "creating the HDF5 file", errno);
  const hid_t file = impl->file.get();

  // Contiguous, allocated now, never filled: later writes touch raw data only (see the file comment).
  const Handle dcpl(write_call(path, "H5Pcreate", [] { return H5Pcreate(H5P_DATASET_CREATE); }), H5Pclose);
  write_call(path, "H5Pset_layout", [&] { return H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS); });
  write_call(path, "H5Pset_alloc_time", [&] { return H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY); });
  write_call(path, "H5Pset_fill_time", [&] { return H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER); });
  write_call(path, "H5Pset_obj_track_times", [&] { return H5Pset_obj_track_times(dcpl.get(), 0); });

  impl->specs = dataset_specs(layout);
  for (const DatasetSpec& spec : impl->specs) {
    std::vector<hsize_t> dims{hsize_t(layout.total_points)};
    dims.insert(dims.end(), spec.row_dims.begin(), spec.row_dims.end());
    Handle ds = create_dataset(path, file, spec.name.c_str(), spec.file_type(), dims, dcpl.get());
    write_dataset_attributes(path, spec, ds.get());
    impl->datasets.push_back(std::move(ds));
  }
  const hsize_t chunks = hsize_t(layout.chunk_count());
  impl->done = create_dataset(path, file, "done", H5T_STD_U8LE, {chunks}, dcpl.get());
  const std::vector<std::uint8_t> zeros(layout.chunk_count(), 0);
  write_call(path, "writing /done",
             [&] { return H5Dwrite(impl->done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()); });
  impl->checksum = create_dataset(path, file, "checksum", H5T_STD_U32LE, {chunks}, dcpl.get());
  if (!layout.scan_centre.empty()) write_scan(path, file, layout);
  write_scalar_attribute<std::uint32_t>(path, file, "store_format", H5T_STD_U32LE, H5T_NATIVE_UINT32, store::kFormat);
  hdf5::write_string_attribute(path, file, "hessa_version", HESSA_VERSION);
  write_scalar_attribute<std::int32_t>(path, file, "dimension", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                       std::int32_t(layout.n));
  hdf5::write_string_attribute(path, file, "settings", layout.settings_json);
  write_scalar_attribute<std::uint64_t>(path, file, "chunk_points", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                                        std::uint64_t(layout.chunk_points));
  hdf5::write_string_array_attribute(path, file, "coordinate_names", layout.coordinate_names);
  hdf5::write_string_attribute(path, file, "shard", layout.shard);
  if (!layout.extras.empty()) {
    std::vector<std::string> names;
    for (const ExtraDataset& e : layout.extras) names.push_back(e.name);
    hdf5::write_string_array_attribute(path, file, "extra_datasets", names);
  }
  if (!layout.fields.empty()) hdf5::write_string_array_attribute(path, file, "fields", layout.fields);
  write_scalar_attribute<std::uint32_t>(path, file, "layout_crc32", H5T_STD_U32LE, H5T_NATIVE_UINT32,
                                        store::layout_checksum(layout));
  write_scalar_attribute<std::uint8_t>(path, file, "complete", H5T_STD_U8LE, H5T_NATIVE_UINT8, 0);
  impl->flush("setting up the store");
  void* handle = nullptr;
  write_call(path, "H5Fget_vfd_handle", [&] { return H5Fget_vfd_handle(file, fapl.get(), &handle); });
  store::publish(partial.path, path, *static_cast<int*>(handle));
  partial.published = true;
  return std::unique_ptr<ResultStore>(new ResultStore(path, layout, std::move(impl)));
}

std::unique_ptr<ResultStore> ResultStore::open(const std::string& path, bool writable) {
  hdf5::silence_errors();
  if (!fs::exists(path)) throw InputError(path, 0, 0, "no such file");
  store::check_superblock(path);
  std::error_code ec;
  const std::uintmax_t file_size = fs::file_size(path, ec);
  if (ec) throw InputError(path, 0, 0, "cannot be read: " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const Handle fapl = format_2_access(path);
  errno = 0;
  impl->file = Handle(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (impl->file.get() < 0) {
    const int e = hdf5::reported_errno(errno);
    if (e == EAGAIN || e == EWOULDBLOCK) {
      throw InputError(path, 0, 0, "is open in another process (a hessa run still writing it?)");
    }
    if (writable && (e == EACCES || e == EROFS || e == EPERM)) {
      throw InputError(path, 0, 0, std::string("cannot be opened for writing: ") + std::strerror(e));
    }
    hdf5::fail_reading(path, "opening the file");
  }
  const hid_t file = impl->file.get();
  const std::int64_t format =
      hdf5::has_attribute(path, file, "store_format") ? hdf5::read_integer_attribute(path, file, "store_format") : 0;
  if (format != std::int64_t(store::kFormat)) {
    throw InputError(path, 0, 0,
                     format == 0 ? "not a hessa result store of format 2 (no 'store_format' attribute)"
                                 : "has store format " + std::to_string(format) + "; this hessa reads format 2");
  }
  StoreLayout layout;
  layout.settings_json = hdf5::read_string_attribute(path, file, "settings", 1).at(0);
  layout.chunk_points = std::size_t(hdf5::read_integer_attribute(path, file, "chunk_points"));
  layout.coordinate_names = hdf5::read_string_attribute(path, file, "coordinate_names", 1 << 20);
  layout.shard = hdf5::read_string_attribute(path, file, "shard", 1).at(0);
  layout.n = int(hdf5::read_integer_attribute(path, file, "dimension"));
  layout.gradient = hdf5::has_link(path, file, "gradient");
  layout.hessian = hdf5::has_link(path, file, "hessian");
  layout.eigenvalues = hdf5::has_link(path, file, "eigenvalues");
  layout.eigenvectors = hdf5::has_link(path, file, "eigenvectors");
  {
    const Handle ds(read_call(path, "open /points", [&] { return H5Dopen2(file, "points", H5P_DEFAULT); }), H5Dclose);
    const std::vector<hsize_t> dims = store::dataset_dims(path, ds.get(), "points", 2);
    if (dims.size() != 2) throw InputError(path, 0, 0, "damaged: /points is not B x n");
    store::check_dataset(path, ds.get(), {"points", dims, H5T_FLOAT, 8}, file_size);
    layout.total_points = std::size_t(dims[0]);
    layout.coordinates = int(dims[1]);
  }
  if (hdf5::has_link(path, file, "scan")) read_scan(path, file, file_size, layout);
  if (hdf5::has_attribute(path, file, "extra_datasets")) {
    for (const std::string& name : hdf5::read_string_attribute(path, file, "extra_datasets", 1 << 10)) {
      const bool valid = !name.empty() && name.size() < 256 && name.find_first_of("/.") == std::string::npos &&
                         hdf5::has_link(path, file, name.c_str());
      if (!valid) throw InputError(path, 0, 0, "damaged: extra dataset '" + name + "' is missing");
      const Handle ds(read_call(path, "open /" + name, [&] { return H5Dopen2(file, name.c_str(), H5P_DEFAULT); }),
                      H5Dclose);
      const std::vector<hsize_t> dims = store::dataset_dims(path, ds.get(), name, 2);
      if (dims.empty() || (dims.size() == 2 && (dims[1] < 2 || dims[1] > (hsize_t(1) << 31)))) {
        throw InputError(path, 0, 0, "damaged: /" + name + " is not B or B x m");
      }
      layout.extras.push_back({name, dims.size() == 2 ? int(dims[1]) : 1, ""});
    }
  }
  if (hdf5::has_attribute(path, file, "fields")) {
    const std::vector<std::string> known = analysis_field_names();
    for (const std::string& name : hdf5::read_string_attribute(path, file, "fields", 64)) {
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw InputError(path, 0, 0, "damaged: 'fields' names '" + name + "', which is no analysis field");
      layout.fields.push_back(name);
    }
    if (layout.fields.empty()) throw InputError(path, 0, 0, "damaged: 'fields' is empty");
  }
  if (layout.chunk_points == 0 || layout.total_points == 0 || layout.n <= 0 || layout.coordinates <= 0) {
    throw InputError(path, 0, 0, "damaged: impossible sizes (chunk_points, points or dimension 0)");
  }
  const auto stored_crc = std::uint32_t(hdf5::read_integer_attribute(path, file, "layout_crc32"));
  if (stored_crc != store::layout_checksum(layout)) {
    throw InputError(path, 0, 0,
                     "damaged: metadata checksum failed: the settings, attributes and dataset shapes do not match "
                     "'layout_crc32'");
  }
  impl->specs = dataset_specs(layout);
  for (const DatasetSpec& spec : impl->specs) {
    Handle ds(read_call(path, "open /" + spec.name, [&] { return H5Dopen2(file, spec.name.c_str(), H5P_DEFAULT); }),
              H5Dclose);
    std::vector<hsize_t> dims{hsize_t(layout.total_points)};
    dims.insert(dims.end(), spec.row_dims.begin(), spec.row_dims.end());
    store::check_dataset(path, ds.get(), {spec.name, dims, spec.type_class(), spec.value_bytes()}, file_size);
    impl->datasets.push_back(std::move(ds));
  }
  const hsize_t chunks = hsize_t(layout.chunk_count());
  impl->done = Handle(read_call(path, "open /done", [&] { return H5Dopen2(file, "done", H5P_DEFAULT); }), H5Dclose);
  store::check_dataset(path, impl->done.get(), {"done", {chunks}, H5T_INTEGER, 1}, file_size);
  impl->checksum =
      Handle(read_call(path, "open /checksum", [&] { return H5Dopen2(file, "checksum", H5P_DEFAULT); }), H5Dclose);
  store::check_dataset(path, impl->checksum.get(), {"checksum", {chunks}, H5T_INTEGER, 4}, file_size);
  return std::unique_ptr<ResultStore>(new ResultStore(path, std::move(layout), std::move(impl)));
}

std::vector<std::uint8_t> ResultStore::done_mask() const {
  std::vector<std::uint8_t> mask(layout_.chunk_count(), 0);
  read_call(path_, "reading /done",
            [&] { return H5Dread(impl_->done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask.data()); });
  for (std::size_t c = 0; c < mask.size(); ++c) {
    if (mask[c] > 1) {
      throw InputError(path_, 0, 0,
                       "damaged: /done[" + std::to_string(c) + "] is " + std::to_string(mask[c]) + ", not 0 or 1");
    }
  }
  return mask;
}

bool ResultStore::complete() const {
  const std::int64_t value = hdf5::read_integer_attribute(path_, impl_->file.get(), "complete");
  if (value != 0 && value != 1) throw InputError(path_, 0, 0, "damaged: attribute 'complete' is not 0 or 1");
  return value == 1;
}

void ResultStore::write_chunk(std::size_t c, const double* points, const ChunkResult& result) {
  if (result.count != layout_.chunk_size(c)) throw std::logic_error("write_chunk: wrong number of points");
  std::vector<std::vector<unsigned char>> rows;
  for (const DatasetSpec& spec : impl_->specs) rows.push_back(pack(spec, points, result));
  write_chunk_raw(c, rows);
}

std::vector<std::vector<unsigned char>> ResultStore::read_chunk_raw(std::size_t c) const {
  if (c >= layout_.chunk_count()) throw std::logic_error("read_chunk_raw: no such chunk");
  const std::size_t first = layout_.chunk_begin(c), count = layout_.chunk_size(c);
  std::vector<std::vector<unsigned char>> rows;
  for (std::size_t d = 0; d < impl_->specs.size(); ++d) {
    const DatasetSpec& spec = impl_->specs[d];
    std::vector<unsigned char> bytes(count * spec.row_bytes());
    const Handle space = select_rows(path_, impl_->datasets[d].get(), first, count);
    const Handle mem = memory_space(path_, count * spec.values_per_row());
    read_call(path_, "reading /" + spec.name, [&] {
      return H5Dread(impl_->datasets[d].get(), spec.memory_type(), mem.get(), space.get(), H5P_DEFAULT, bytes.data());
    });
    rows.push_back(std::move(bytes));
  }
  std::uint32_t stored = 0;
  {
    const Handle space = select_rows(path_, impl_->checksum.get(), c, 1);
    const Handle mem = memory_space(path_, 1);
    read_call(path_, "reading /checksum", [&] {
      return H5Dread(impl_->checksum.get(), H5T_NATIVE_UINT32, mem.get(), space.get(), H5P_DEFAULT, &stored);
    });
  }
  if (stored != store::chunk_checksum(rows)) {
    throw InputError(path_, 0, 0,
                     "damaged: chunk " + std::to_string(c) + "'s data (points " + std::to_string(first) + " to " +
                         std::to_string(first + count - 1) + ") does not match its checksum");
  }
  return rows;
}

void ResultStore::verify_done_chunks() const {
  const std::vector<std::uint8_t> done = done_mask();
  for (std::size_t c = 0; c < done.size(); ++c)
    if (done[c]) read_chunk_raw(c);
}

void ResultStore::write_chunk_raw(std::size_t c, const std::vector<std::vector<unsigned char>>& rows) {
  const std::size_t first = layout_.chunk_begin(c), count = layout_.chunk_size(c);
  if (rows.size() != impl_->specs.size()) throw std::logic_error("write_chunk_raw: dataset count differs");
  const std::string what = "writing chunk " + std::to_string(c);
  for (std::size_t d = 0; d < impl_->specs.size(); ++d) {
    const DatasetSpec& spec = impl_->specs[d];
    if (rows[d].size() != count * spec.row_bytes()) throw std::logic_error("write_chunk_raw: row size differs");
    const Handle space = select_rows(path_, impl_->datasets[d].get(), first, count);
    const Handle mem = memory_space(path_, count * spec.values_per_row());
    write_call(path_, what, [&] {
      return H5Dwrite(impl_->datasets[d].get(), spec.memory_type(), mem.get(), space.get(), H5P_DEFAULT,
                      rows[d].data());
    });
  }
  impl_->write_one(impl_->checksum, "checksum", c, H5T_NATIVE_UINT32, store::chunk_checksum(rows));
  impl_->flush(what);  // the chunk's data and checksum first ...
  impl_->write_one(impl_->done, "done", c, H5T_NATIVE_UINT8, std::uint8_t(1));
  impl_->flush(what);  // ... then its flag
}

void ResultStore::set_complete(bool complete) {
  const Handle attr(write_call(path_, "opening attribute 'complete'",
                               [&] { return H5Aopen(impl_->file.get(), "complete", H5P_DEFAULT); }),
                    H5Aclose);
  const std::uint8_t value = complete ? 1 : 0;
  write_call(path_, "writing attribute 'complete'", [&] { return H5Awrite(attr.get(), H5T_NATIVE_UINT8, &value); });
  impl_->flush("marking the store complete");
}

}  // namespace hessa
