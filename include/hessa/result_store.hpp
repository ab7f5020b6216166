// The HDF5 result store of batch jobs (`hessa run`, `hessa merge`): full-size datasets allocated up front, one
// `done` flag per chunk, so a run can be killed, resumed, sharded and merged. Layout documented in README.md
// ("Batch jobs"), with its checksums. Only host/io/ (hdf5_store.cpp and its helpers) sees the HDF5 API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"

namespace hessa {

struct ExtraDataset {
  std::string name;     // without the leading '/'
  int width = 1;        // values per point
  std::string meaning;  // the dataset's `meaning` attribute (written at creation; not read back)
  bool operator==(const ExtraDataset& o) const { return name == o.name && width == o.width; }
};

struct StoreLayout {
  std::size_t total_points = 0;
  int n = 0;                                  // dimension of g, H and the eigenvalues
  int coordinates = 0;                        // columns of /points (the scan's coordinates); 0: n
  std::size_t chunk_points = 0;               // the unit of resume, sharding and merging
  std::vector<std::string> coordinate_names;  // `coordinates` names
  // A direction scan's resolved centre (/scan/centre, length N) and directions (/scan/directions, k x N);
  // empty otherwise. Points map to centre + sum_a points[a] directions[a].
  std::vector<double> scan_centre;
  std::vector<double> scan_directions;
  bool gradient = false;      // /gradient    B x n
  bool hessian = false;       // /hessian     B x n x n
  bool eigenvalues = false;   // /eigenvalues B x n (ascending)
  bool eigenvectors = false;  // /eigenvectors B x n x n: [p, k, :] is eigenvector k
  // The analysis fields stored (/f, /lambda_min, /class, ...: names of analysis_field_names(), kept in that order);
  // empty: all of them. A job's [output] columns; listed in the root attribute `fields` when not all.
  std::vector<std::string> fields;
  // Further per-point real datasets, B (width 1) or B x width, filled from ChunkResult::extra_columns in order
  // (dataset i takes the next `width` columns): the probe directions' /direction_curvature and /direction_taylor,
  // the Lanczos analysis's datasets. Listed in the root attribute `extra_datasets`.
  std::vector<ExtraDataset> extras;
  std::string settings_json;  // the job's resolved settings
  std::string shard;          // "" for a whole job, else "K/N"

  int point_columns() const { return coordinates > 0 ? coordinates : n; }
  std::size_t chunk_count() const { return (total_points + chunk_points - 1) / chunk_points; }
  // Points of chunk c: [chunk_begin(c), chunk_begin(c) + chunk_size(c)).
  std::size_t chunk_begin(std::size_t c) const { return c * chunk_points; }
  std::size_t chunk_size(std::size_t c) const;
  // Bytes one point takes in the file's per-point datasets (what a chunk adds to the disk's usage).
  std::size_t bytes_per_point() const;
};

class ResultStore {
 public:
  // A new file at `path` (InputError when it exists or cannot be created); every dataset allocated now,
  // done flags all 0, complete = 0. Set up under a hidden name and renamed to `path` when whole.
  static std::unique_ptr<ResultStore> create(const std::string& path, const StoreLayout& layout);
  // An existing file. InputError (never a crash) when it is missing, not a hessa store of format 2, or damaged:
  // its superblock is checked before libhdf5 parses it, HDF5 verifies its metadata checksums, and the layout
  // checksum and every dataset's shape and extent in the file are verified here.
  static std::unique_ptr<ResultStore> open(const std::string& path, bool writable);

  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  const std::string& path() const { return path_; }
  const StoreLayout& layout() const { return layout_; }
  std::vector<std::uint8_t> done_mask() const;
  bool complete() const;

  // Writes chunk c (points row-major, result for chunk_size(c) points) and its checksum, flushes, then sets
  // done[c] = 1 and flushes again: a killed process leaves done[c] = 1 only when all of the chunk's data is in the
  // file. A full disk or read-only file system is an InputError naming the system's error.
  void write_chunk(std::size_t c, const double* points, const ChunkResult& result);
  // Every per-point dataset's rows of done chunk c, as raw bytes in a fixed dataset order (for merge); InputError
  // when they do not match the chunk's checksum.
  std::vector<std::vector<unsigned char>> read_chunk_raw(std::size_t c) const;
  // The inverse of read_chunk_raw (from a store with the same layout), with the same flush/done protocol.
  void write_chunk_raw(std::size_t c, const std::vector<std::vector<unsigned char>>& rows);
  void set_complete(bool complete);
  // Reads every done chunk and checks it against its checksum (InputError naming the first damaged chunk).
  void verify_done_chunks() const;

 private:
  struct Impl;
  ResultStore(std::string path, StoreLayout layout, std::unique_ptr<Impl> impl);
  std::string path_;
  StoreLayout layout_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hessa
