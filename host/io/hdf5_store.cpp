// HDF5 result store. Kill safety without SWMR: every dataset is contiguous and allocated when the file is
// created, so writing a chunk changes raw data only, never HDF5 metadata; the metadata on disk is the one flushed
// at creation and stays readable whatever instant the writer dies at. (SWMR in HDF5 1.10 marks the superblock
// and a killed writer leaves a file that only `h5clear` reopens, which would defeat --resume.)
#include "hessa/result_store.hpp"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <utility>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {
namespace {

// Owns an HDF5 identifier; closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// HDF5 failures after a file opened are internal (disk full, a bug): std::runtime_error, exit code 1.
hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5: " + what + " failed");
  return id;
}
void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: " + what + " failed");
}

void silence_hdf5_errors() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

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

enum class Source { Points, Field, Gradient, Hessian, Eigenvalues, Eigenvectors };

struct DatasetSpec {
  std::string name;  // without the leading '/'
  Source source;
  Kind kind;
  std::vector<hsize_t> row_dims;  // dims after the point axis
  const FieldAccess* field = nullptr;

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
  hid_t memory_type() const {
    return kind == Kind::Real ? H5T_NATIVE_DOUBLE : kind == Kind::Int32 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT8;
  }
};

std::vector<DatasetSpec> dataset_specs(const StoreLayout& layout) {
  const auto n = hsize_t(layout.n);
  std::vector<DatasetSpec> specs;
  specs.push_back({"points", Source::Points, Kind::Real, {hsize_t(layout.point_columns())}});
  for (const std::string& name : analysis_field_names()) {
    const auto it = field_table().find(name);
    // A new analysis field must be given a storage kind here; failing loudly keeps the names in step.
    if (it == field_table().end()) throw std::logic_error("hdf5 store: no storage kind for field '" + name + "'");
    specs.push_back({name, Source::Field, it->second.kind, {}, &it->second});
  }
  if (layout.gradient) specs.push_back({"gradient", Source::Gradient, Kind::Real, {n}});
  if (layout.hessian) specs.push_back({"hessian", Source::Hessian, Kind::Real, {n, n}});
  if (layout.eigenvalues) specs.push_back({"eigenvalues", Source::Eigenvalues, Kind::Real, {n}});
  if (layout.eigenvectors) specs.push_back({"eigenvectors", Source::Eigenvectors, Kind::Real, {n, n}});
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

// --- attributes -------------------------------------------------------------------------------------------

Handle string_type() {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

void write_string_array_attribute(hid_t object, const char* name, const std::vector<std::string>& values) {
  const Handle type = string_type();
  const hsize_t dims[1] = {hsize_t(values.size())};
  const Handle space(check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"),
                     H5Sclose);
  const Handle attr(check_id(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), name),
                    H5Aclose);
  std::vector<const char*> ptrs;
  for (const std::string& v : values) ptrs.push_back(v.c_str());
  check(H5Awrite(attr.get(), type.get(), ptrs.data()), name);
}

void write_string_attribute(hid_t object, const char* name, const std::string& value) {
  const Handle type = string_type();
  const Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  const Handle attr(check_id(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), name),
                    H5Aclose);
  const char* ptr = value.c_str();
  check(H5Awrite(attr.get(), type.get(), &ptr), name);
}

template <typename T>
void write_scalar_attribute(hid_t object, const char* name, hid_t file_type, hid_t memory_type, T value) {
  const Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  const Handle attr(check_id(H5Acreate2(object, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), name),
                    H5Aclose);
  check(H5Awrite(attr.get(), memory_type, &value), name);
}

std::vector<std::string> read_string_attribute(hid_t object, const char* name) {
  const Handle attr(check_id(H5Aopen(object, name, H5P_DEFAULT), std::string("attribute ") + name), H5Aclose);
  const Handle space(check_id(H5Aget_space(attr.get()), "H5Aget_space"), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<char*> ptrs(std::size_t(count > 0 ? count : 0), nullptr);
  const Handle type = string_type();
  check(H5Aread(attr.get(), type.get(), ptrs.data()), name);
  std::vector<std::string> values;
  for (char* p : ptrs) {
    values.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return values;
}

template <typename T>
T read_scalar_attribute(hid_t object, const char* name, hid_t memory_type) {
  const Handle attr(check_id(H5Aopen(object, name, H5P_DEFAULT), std::string("attribute ") + name), H5Aclose);
  T value{};
  check(H5Aread(attr.get(), memory_type, &value), name);
  return value;
}

// Selects rows [first, first + count) of a dataset of rank 1 + row_dims.size().
Handle select_rows(hid_t dataset, std::size_t first, std::size_t count) {
  Handle space(check_id(H5Dget_space(dataset), "H5Dget_space"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  const auto r = static_cast<std::size_t>(rank);
  std::vector<hsize_t> dims(r), start(r, 0);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  start[0] = hsize_t(first);
  dims[0] = hsize_t(count);
  check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, dims.data(), nullptr),
        "H5Sselect_hyperslab");
  return space;
}

Handle memory_space(std::size_t values) {
  const hsize_t dims[1] = {hsize_t(values)};
  return Handle(check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"), H5Sclose);
}

// /scan/centre (N) and /scan/directions (k x N): what a direction scan's coordinates mean.
void write_matrix(hid_t group, const char* name, const std::vector<double>& values, std::vector<hsize_t> dims) {
  const Handle space(check_id(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "H5Screate_simple"), H5Sclose);
  const Handle ds(check_id(H5Dcreate2(group, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           std::string("create /scan/") + name),
                  H5Dclose);
  check(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), name);
}

void write_scan(hid_t file, const StoreLayout& layout) {
  const Handle group(check_id(H5Gcreate2(file, "scan", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create /scan"),
                     H5Gclose);
  const auto N = hsize_t(layout.scan_centre.size());
  write_matrix(group.get(), "centre", layout.scan_centre, {N});
  write_matrix(group.get(), "directions", layout.scan_directions, {hsize_t(layout.scan_directions.size()) / N, N});
}

std::vector<double> read_all(hid_t file, const char* path) {
  const Handle ds(check_id(H5Dopen2(file, path, H5P_DEFAULT), std::string("open ") + path), H5Dclose);
  const Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space"), H5Sclose);
  std::vector<double> values(std::size_t(H5Sget_simple_extent_npoints(space.get())));
  check(H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path);
  return values;
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
  Handle file;
  std::vector<DatasetSpec> specs;
  std::vector<Handle> datasets;  // parallel to specs
  Handle done;

  void flush() const { check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "H5Fflush"); }
  void set_done(std::size_t c) const {
    const Handle space = select_rows(done.get(), c, 1);
    const Handle mem = memory_space(1);
    const std::uint8_t one = 1;
    check(H5Dwrite(done.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, &one), "write /done");
  }
};

ResultStore::ResultStore(std::string path, StoreLayout layout, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), layout_(std::move(layout)), impl_(std::move(impl)) {}

ResultStore::~ResultStore() = default;

std::unique_ptr<ResultStore> ResultStore::create(const std::string& path, const StoreLayout& layout) {
  silence_hdf5_errors();
  if (std::filesystem::exists(path)) throw InputError(path, 0, 0, "exists; use --resume or delete it");
  auto impl = std::make_unique<Impl>();
  impl->file = Handle(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (impl->file.get() < 0) throw InputError(path, 0, 0, "cannot create the HDF5 file (is the directory writable?)");
  const hid_t file = impl->file.get();

  // Contiguous, allocated now, never filled: later writes touch raw data only (see the file comment).
  const Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"), H5Pclose);
  check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout");
  check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  check(H5Pset_obj_track_times(dcpl.get(), 0), "H5Pset_obj_track_times");

  impl->specs = dataset_specs(layout);
  for (const DatasetSpec& spec : impl->specs) {
    std::vector<hsize_t> dims{hsize_t(layout.total_points)};
    dims.insert(dims.end(), spec.row_dims.begin(), spec.row_dims.end());
    const Handle space(check_id(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "H5Screate_simple"),
                       H5Sclose);
    Handle ds(check_id(H5Dcreate2(file, spec.name.c_str(), spec.file_type(), space.get(), H5P_DEFAULT, dcpl.get(),
                                  H5P_DEFAULT),
                       "create /" + spec.name),
              H5Dclose);
    if (spec.name == "class") {
      std::vector<std::string> names;
      for (int c = 0; c < 6; ++c) names.emplace_back(class_name(PointClass(c)));
      write_string_array_attribute(ds.get(), "names", names);
    } else if (spec.name == "status") {
      std::vector<std::string> names;
      for (int s = 0; s < 3; ++s) names.emplace_back(status_name(PointStatus(s)));
      write_string_array_attribute(ds.get(), "names", names);
    } else if (spec.name == "uphill") {
      write_string_array_attribute(ds.get(), "meaning", {"1: the step raised f, 0: it did not, -1: no step"});
    } else if (spec.name == "morse_index") {
      write_string_array_attribute(ds.get(), "meaning", {"number of negative eigenvalues, -1 when unknown"});
    }
    impl->datasets.push_back(std::move(ds));
  }
  {
    const hsize_t dims[1] = {hsize_t(layout.chunk_count())};
    const Handle space(check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"), H5Sclose);
    impl->done = Handle(check_id(H5Dcreate2(file, "done", H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                            H5P_DEFAULT),
                                 "create /done"),
                        H5Dclose);
    const std::vector<std::uint8_t> zeros(layout.chunk_count(), 0);
    check(H5Dwrite(impl->done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()), "write /done");
  }
  if (!layout.scan_centre.empty()) write_scan(file, layout);
  write_string_attribute(file, "hessa_version", HESSA_VERSION);
  write_scalar_attribute<std::int32_t>(file, "dimension", H5T_STD_I32LE, H5T_NATIVE_INT32, std::int32_t(layout.n));
  write_string_attribute(file, "settings", layout.settings_json);
  write_scalar_attribute<std::uint64_t>(file, "chunk_points", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                                        std::uint64_t(layout.chunk_points));
  write_string_array_attribute(file, "coordinate_names", layout.coordinate_names);
  write_string_attribute(file, "shard", layout.shard);
  write_scalar_attribute<std::uint8_t>(file, "complete", H5T_STD_U8LE, H5T_NATIVE_UINT8, 0);
  impl->flush();
  return std::unique_ptr<ResultStore>(new ResultStore(path, layout, std::move(impl)));
}

std::unique_ptr<ResultStore> ResultStore::open(const std::string& path, bool writable) {
  silence_hdf5_errors();
  if (!std::filesystem::exists(path)) throw InputError(path, 0, 0, "no such file");
  auto impl = std::make_unique<Impl>();
  impl->file = Handle(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (impl->file.get() < 0) {
    throw InputError(path, 0, 0,
                     "cannot open as HDF5 (not an HDF5 file, open in another process, or killed before its first "
                     "chunk was set up: delete it)");
  }
  const hid_t file = impl->file.get();
  if (H5Aexists(file, "settings") <= 0 || H5Lexists(file, "done", H5P_DEFAULT) <= 0 ||
      H5Lexists(file, "points", H5P_DEFAULT) <= 0) {
    throw InputError(path, 0, 0, "not a hessa result store (no /done, /points or 'settings')");
  }
  StoreLayout layout;
  layout.settings_json = read_string_attribute(file, "settings").at(0);
  layout.chunk_points = std::size_t(read_scalar_attribute<std::uint64_t>(file, "chunk_points", H5T_NATIVE_UINT64));
  layout.coordinate_names = read_string_attribute(file, "coordinate_names");
  layout.shard = H5Aexists(file, "shard") > 0 ? read_string_attribute(file, "shard").at(0) : "";
  layout.gradient = H5Lexists(file, "gradient", H5P_DEFAULT) > 0;
  layout.hessian = H5Lexists(file, "hessian", H5P_DEFAULT) > 0;
  layout.eigenvalues = H5Lexists(file, "eigenvalues", H5P_DEFAULT) > 0;
  layout.eigenvectors = H5Lexists(file, "eigenvectors", H5P_DEFAULT) > 0;
  {
    const Handle ds(check_id(H5Dopen2(file, "points", H5P_DEFAULT), "open /points"), H5Dclose);
    const Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space"), H5Sclose);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2) throw InputError(path, 0, 0, "/points is not B x n");
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    layout.total_points = std::size_t(dims[0]);
    layout.coordinates = int(dims[1]);
  }
  layout.n = H5Aexists(file, "dimension") > 0 ? read_scalar_attribute<std::int32_t>(file, "dimension", H5T_NATIVE_INT32)
                                               : layout.coordinates;
  if (H5Lexists(file, "scan", H5P_DEFAULT) > 0) {
    layout.scan_centre = read_all(file, "scan/centre");
    layout.scan_directions = read_all(file, "scan/directions");
  }
  if (layout.chunk_points == 0) throw InputError(path, 0, 0, "chunk_points is 0");
  impl->specs = dataset_specs(layout);
  for (const DatasetSpec& spec : impl->specs) {
    const hid_t id = H5Dopen2(file, spec.name.c_str(), H5P_DEFAULT);
    if (id < 0) throw InputError(path, 0, 0, "missing dataset /" + spec.name + " (written by another hessa version?)");
    impl->datasets.emplace_back(id, H5Dclose);
  }
  impl->done = Handle(check_id(H5Dopen2(file, "done", H5P_DEFAULT), "open /done"), H5Dclose);
  return std::unique_ptr<ResultStore>(new ResultStore(path, std::move(layout), std::move(impl)));
}

std::vector<std::uint8_t> ResultStore::done_mask() const {
  std::vector<std::uint8_t> mask(layout_.chunk_count(), 0);
  check(H5Dread(impl_->done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask.data()), "read /done");
  return mask;
}

bool ResultStore::complete() const {
  return read_scalar_attribute<std::uint8_t>(impl_->file.get(), "complete", H5T_NATIVE_UINT8) != 0;
}

void ResultStore::write_chunk(std::size_t c, const double* points, const ChunkResult& result) {
  if (result.count != layout_.chunk_size(c)) throw std::logic_error("write_chunk: wrong number of points");
  std::vector<std::vector<unsigned char>> rows;
  for (const DatasetSpec& spec : impl_->specs) rows.push_back(pack(spec, points, result));
  write_chunk_raw(c, rows);
}

std::vector<std::vector<unsigned char>> ResultStore::read_chunk_raw(std::size_t c) const {
  const std::size_t first = layout_.chunk_begin(c), count = layout_.chunk_size(c);
  std::vector<std::vector<unsigned char>> rows;
  for (std::size_t d = 0; d < impl_->specs.size(); ++d) {
    const DatasetSpec& spec = impl_->specs[d];
    std::vector<unsigned char> bytes(count * spec.row_bytes());
    const Handle space = select_rows(impl_->datasets[d].get(), first, count);
    const Handle mem = memory_space(count * spec.values_per_row());
    check(H5Dread(impl_->datasets[d].get(), spec.memory_type(), mem.get(), space.get(), H5P_DEFAULT, bytes.data()),
          "read /" + spec.name);
    rows.push_back(std::move(bytes));
  }
  return rows;
}

void ResultStore::write_chunk_raw(std::size_t c, const std::vector<std::vector<unsigned char>>& rows) {
  const std::size_t first = layout_.chunk_begin(c), count = layout_.chunk_size(c);
  if (rows.size() != impl_->specs.size()) throw std::logic_error("write_chunk_raw: dataset count differs");
  for (std::size_t d = 0; d < impl_->specs.size(); ++d) {
    const DatasetSpec& spec = impl_->specs[d];
    if (rows[d].size() != count * spec.row_bytes()) throw std::logic_error("write_chunk_raw: row size differs");
    const Handle space = select_rows(impl_->datasets[d].get(), first, count);
    const Handle mem = memory_space(count * spec.values_per_row());
    check(H5Dwrite(impl_->datasets[d].get(), spec.memory_type(), mem.get(), space.get(), H5P_DEFAULT, rows[d].data()),
          "write /" + spec.name);
  }
  impl_->flush();  // the chunk's data first ...
  impl_->set_done(c);
  impl_->flush();  // ... then its flag
}

void ResultStore::set_complete(bool complete) {
  const Handle attr(check_id(H5Aopen(impl_->file.get(), "complete", H5P_DEFAULT), "open attribute complete"),
                    H5Aclose);
  const std::uint8_t value = complete ? 1 : 0;
  check(H5Awrite(attr.get(), H5T_NATIVE_UINT8, &value), "write attribute complete");
  impl_->flush();
}

}  // namespace hessa
