// Point readers (CSV, .npy) and result writers (CSV, .npy, .npz, JSON lines), chosen by file extension.
// Readers stream: a chunk at a time. Writers write to a temporary name beside the target and rename on
// finish(); a writer destroyed without finish() removes its temporary file, so a result file exists
// complete or not at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"

namespace hessa {

class PointReader {
 public:
  virtual ~PointReader() = default;
  virtual int dimension() const = 0;
  // Column names from a CSV header; empty when the file has none (or for .npy).
  virtual const std::vector<std::string>& column_names() const = 0;
  // Total number of points when known up front (.npy), else nullopt.
  virtual std::optional<std::size_t> total_points() const = 0;
  // Appends up to `max_points` points (row-major) to `out` after clearing it; returns how many (0 = end).
  // Throws InputError naming file, line and column for a ragged row, a non-numeric cell or NaN/Inf.
  virtual std::size_t read(std::size_t max_points, std::vector<double>& out) = 0;
  // Readers whose points are already in memory (a caller's array) hand out the next rows in place instead: their
  // address, with *count set (0 = end). nullptr: this reader copies, use read().
  virtual const double* read_in_place(std::size_t /*max_points*/, std::size_t* /*count*/) { return nullptr; }
};

// The next up to `max_points` points of `reader`: in place when it holds them in memory, else read into `buffer`.
// Returns their address and sets *count (0 = end).
const double* next_points(PointReader& reader, std::size_t max_points, std::vector<double>& buffer, std::size_t* count);

// Opens `path` by extension (.csv, .txt -> CSV; .npy). Throws InputError when missing/unreadable/unknown.
std::unique_ptr<PointReader> open_point_reader(const std::string& path);

// Reads the caller's `rows` x `n` row-major points in place (read_in_place; nothing is copied), which must outlive
// the reader. `name` says where they came from in messages ("points"). InputError for n < 1 or a NaN / Inf,
// naming its row and column (1-based, as a CSV file's would be).
std::unique_ptr<PointReader> open_point_array(const double* points, std::size_t rows, int n, std::string name,
                                              std::vector<std::string> column_names = {});

struct OutputLayout {
  int n = 0;
  std::vector<std::string> coordinate_names;  // n names: the point's columns in the output
  bool gradient = false;                      // g_0 .. g_{n-1}
  bool hessian = false;                       // H_r_c (row r, column c), n*n columns
  bool eigenvalues = false;                   // lambda_0 .. lambda_{n-1}, ascending
  bool eigenvectors = false;                  // v_k_r: component r of eigenvector k
  std::vector<std::string> extra_columns;     // caller's real-valued columns, last (values: ChunkResult::extra_columns)
  // The columns to write, in this order: names, or prefixes ending in '*' ("H_*"); empty: all of them. .npz writes
  // the arrays of which a column is named (points, f, ..., hessian whole). InputError at open for an unknown name.
  std::vector<std::string> columns;
};

// A chunk's rows rendered ahead into the bytes of its file (ResultWriter::format): blocks [0, used), in order.
struct FormattedChunk {
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t capacity = 0;
    std::size_t size = 0;
  };
  std::vector<Block> blocks;  // kept between chunks, reused
  std::size_t used = 0;
};

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  // Appends one chunk: `points` is row-major count x n, `result` holds the analysis of those points.
  virtual void write(const double* points, const ChunkResult& result) = 0;
  // write() in two halves, for the overlapped pipeline: format() renders the chunk into `into` (on the computing
  // thread, with its OpenMP threads, while the previous chunk is appended), append() writes it; chunks are
  // appended in order. format() returns false, and write() is the way, when this writer renders nothing ahead
  // (binary formats: their bytes are the values) or the chunk's text would be large (over 16 MiB).
  virtual bool format(const double* /*points*/, const ChunkResult& /*result*/, FormattedChunk& /*into*/) {
    return false;
  }
  virtual void append(const FormattedChunk& /*chunk*/) {}
  // Completes the file, writes `metadata_json` beside it as "<path>.meta.json", and renames into place.
  virtual void finish(const std::string& metadata_json) = 0;
};

// One array of a run's results in memory, as the .npz writer would store it: its name ("f", "hessian"), numpy
// type string ("<f8", "<U11"), shape (points first) and bytes in C order.
struct ResultArray {
  std::string name;
  std::string descr;
  std::vector<std::uint64_t> shape;
  std::vector<unsigned char> bytes;
};
// Everything a finished run writes, in memory (a library front end's results): the .npz layout's arrays, the
// coordinates' names and the metadata that would be <path>.meta.json.
struct ResultArrays {
  std::vector<ResultArray> arrays;
  std::vector<std::string> coordinate_names;
  std::string metadata_json;
};
// A writer into memory: the arrays grow chunk by chunk and are moved into *into by finish().
std::unique_ptr<ResultWriter> open_result_arrays(const OutputLayout& layout, ResultArrays* into);

// Where a run's results go when not to a file by extension (open_result_writer): a front end's own writer.
using ResultWriterFactory = std::function<std::unique_ptr<ResultWriter>(const OutputLayout& layout)>;

// Opens a writer by extension (.csv, .npy, .npz, .jsonl). Throws InputError for an unknown extension or
// an unwritable location (checked now, before any computation).
std::unique_ptr<ResultWriter> open_result_writer(const std::string& path, const OutputLayout& layout);

// The per-point column names in output order (coordinates first, then the analysis fields, then optional
// arrays), shared by every format so CSV headers, .npy field names, .npz keys and JSON keys agree.
std::vector<std::string> analysis_field_names();

}  // namespace hessa
