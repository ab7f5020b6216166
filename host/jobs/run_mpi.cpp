// The MPI ChunkTeam. Chunk pending[i] (the writer's list of chunks not done,
// broadcast) goes to rank i % size. A rank sends each finished chunk to rank 0
// as a header (chunk, count, n, array sizes, payload bytes) followed by the
// payload (points, the PointAnalysis records, the optional arrays) in pieces
// below MPI's int count limit. Rank 0 polls for them between its own chunks and
// writes in arrival order through the store's usual done-flag protocol, so the
// file is resumable exactly as a single-process one. No parallel HDF5: only
// rank 0 touches the file.
#include "jobs/run_mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessa/backend.hpp"
#include "hessa/errors.hpp"

namespace hessa::jobs {
namespace {

constexpr int kHeaderTag = 71;
constexpr int kPayloadTag = 72;
constexpr std::size_t kPieceBytes = std::size_t(1) << 30;  // below INT_MAX bytes per message

// chunk, count, n, gradient, hessian, eigenvalues, eigenvectors (element
// counts), payload bytes, extra columns (each of count values, after the eigenvectors), point columns.
using Header = std::array<std::uint64_t, 10>;

void append_bytes(std::vector<unsigned char>& out, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  out.insert(out.end(), p, p + bytes);
}

class Unpacker {
 public:
  explicit Unpacker(const std::vector<unsigned char>& bytes) : bytes_(bytes) {}
  template <class T>
  void take(std::vector<T>& out, std::size_t count) {
    if (offset_ + count * sizeof(T) > bytes_.size()) throw std::runtime_error("MPI chunk message too short");
    out.resize(count);
    if (count) std::memcpy(out.data(), bytes_.data() + offset_, count * sizeof(T));
    offset_ += count * sizeof(T);
  }
  bool at_end() const { return offset_ == bytes_.size(); }

 private:
  const std::vector<unsigned char>& bytes_;
  std::size_t offset_ = 0;
};

class MpiTeam final : public ChunkTeam {
 public:
  MpiTeam() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED,
                    &provided);  // OpenMP threads make no MPI calls
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;  // the ranks on this node
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
  }
  ~MpiTeam() override {
    wait_for_sends();
    MPI_Finalize();
  }

  bool writer() const override { return rank_ == 0; }
  std::string describe() const override { return std::to_string(size_) + " MPI ranks"; }

  int agree(std::exception_ptr setup_error) override {
    // The lowest failing rank (rank 0 when the job or the output is wrong)
    // prints the one message, as main() would, before any rank exits: mpirun
    // ends the whole job when the first rank exits non-zero, output not yet
    // forwarded included. Then every rank returns the same exit code.
    int mine = setup_error ? rank_ : size_, reporter = size_;
    MPI_Allreduce(&mine, &reporter, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (reporter == size_) return 0;
    int code = 1;
    if (rank_ == reporter) {
      try {
        std::rethrow_exception(setup_error);
      } catch (const InputError& e) {
        code = 2;
        std::fprintf(stderr, "hessa: error: %s\n", e.what());
      } catch (const DeviceError& e) {
        std::fprintf(stderr, "hessa: device error: %s\n", e.what());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hessa: internal error: %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "hessa: internal error\n");
      }
      std::fflush(stderr);
    }
    MPI_Bcast(&code, 1, MPI_INT, reporter, MPI_COMM_WORLD);
    return code;
  }

  void bind_device(const std::string& wanted_backend) override {
    // Rank r of a node takes the node's GPU r modulo the GPUs it sees. Local:
    // no MPI call here.
    const char* set = std::getenv("HESSA_CUDA_DEVICE");
    if (wanted_backend == "cpu" || (set != nullptr && *set != '\0')) return;
    const int devices = cuda_device_count();
    if (devices > 0) setenv("HESSA_CUDA_DEVICE", std::to_string(local_rank_ % devices).c_str(), 1);
  }

  std::vector<std::size_t> share(const std::vector<std::size_t>& pending, WriteChunk write) override {
    write_ = std::move(write);
    std::vector<std::uint64_t> all(pending.begin(), pending.end());
    std::uint64_t count = all.size();
    MPI_Bcast(&count, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    all.resize(count);
    if (count) MPI_Bcast(all.data(), int(count), MPI_UINT64_T, 0, MPI_COMM_WORLD);
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (int(i % std::size_t(size_)) == rank_) {
        mine.push_back(all[i]);
      } else {
        ++expected_;
      }
    }
    return mine;
  }

  bool delivers_on_any_thread() const override { return false; }  // MPI_Init, not MPI_Init_thread
  void deliver(std::size_t chunk, const double* points, int point_columns, const ChunkResult& result) override {
    if (writer()) {
      write_(chunk, points, result);
      while (receive_one(false)) {
      }
      return;
    }
    wait_for_sends();  // the previous chunk's buffer is reused
    // (The points' own columns: a full-space direction scan's result.n is the function's, not the scan's.)
    const std::size_t point_values = result.count * std::size_t(point_columns);
    send_buffer_.clear();
    append_bytes(send_buffer_, points, point_values * sizeof(double));
    append_bytes(send_buffer_, result.points.data(), result.points.size() * sizeof(PointAnalysis));
    for (const std::vector<double>* v : {&result.gradient, &result.hessian, &result.eigenvalues, &result.eigenvectors})
      append_bytes(send_buffer_, v->data(), v->size() * sizeof(double));
    for (const std::vector<double>& column : result.extra_columns)
      append_bytes(send_buffer_, column.data(), column.size() * sizeof(double));
    header_ = {chunk,
               result.count,
               std::uint64_t(result.n),
               result.gradient.size(),
               result.hessian.size(),
               result.eigenvalues.size(),
               result.eigenvectors.size(),
               send_buffer_.size(),
               result.extra_columns.size(),
               std::uint64_t(point_columns)};
    requests_.emplace_back();
    MPI_Isend(header_.data(), int(header_.size()), MPI_UINT64_T, 0, kHeaderTag, MPI_COMM_WORLD, &requests_.back());
    for (std::size_t at = 0; at < send_buffer_.size(); at += kPieceBytes) {
      requests_.emplace_back();
      MPI_Isend(send_buffer_.data() + at, int(std::min(kPieceBytes, send_buffer_.size() - at)), MPI_BYTE, 0,
                kPayloadTag, MPI_COMM_WORLD, &requests_.back());
    }
  }

  void finish() override {
    if (writer()) {
      while (received_ < expected_) receive_one(true);
    } else {
      wait_for_sends();
    }
  }

  void combine(RunSummary& summary) override {
    std::array<std::uint64_t, 9> counts{summary.points, summary.failed, summary.chunks};
    for (std::size_t c = 0; c < 6; ++c) counts[3 + c] = summary.per_class[c];
    std::array<std::uint64_t, 9> total{};
    MPI_Reduce(counts.data(), total.data(), int(counts.size()), MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    double lambda_min = summary.lambda_min, lambda_max = summary.lambda_max;
    MPI_Reduce(&summary.lambda_min, &lambda_min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&summary.lambda_max, &lambda_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (!writer()) return;
    summary.points = total[0];
    summary.failed = total[1];
    summary.chunks = total[2];
    for (std::size_t c = 0; c < 6; ++c) summary.per_class[c] = total[3 + c];
    summary.lambda_min = lambda_min;
    summary.lambda_max = lambda_max;
  }

  [[noreturn]] void fail() override {
    std::string what = "unknown error";
    int code = 1;
    try {
      throw;
    } catch (const InputError& e) {
      what = e.what();
      code = 2;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "hessa: error on MPI rank %d of %d: %s; aborting every rank\n", rank_, size_, what.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // MPI_Abort does not return
  }

 private:
  // Receives one chunk from any rank and writes it; when not `block`, only if
  // one is waiting. False if none.
  bool receive_one(bool block) {
    if (received_ == expected_) return false;
    MPI_Status status;
    if (block) {
      MPI_Probe(MPI_ANY_SOURCE, kHeaderTag, MPI_COMM_WORLD, &status);
    } else {
      int waiting = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, kHeaderTag, MPI_COMM_WORLD, &waiting, &status);
      if (!waiting) return false;
    }
    const int source = status.MPI_SOURCE;
    Header header{};
    MPI_Recv(header.data(), int(header.size()), MPI_UINT64_T, source, kHeaderTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    receive_buffer_.resize(header[7]);
    for (std::size_t at = 0; at < receive_buffer_.size(); at += kPieceBytes) {
      MPI_Recv(receive_buffer_.data() + at, int(std::min(kPieceBytes, receive_buffer_.size() - at)), MPI_BYTE, source,
               kPayloadTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    const std::size_t count = header[1];
    received_result_.count = count;
    received_result_.n = int(header[2]);
    Unpacker in(receive_buffer_);
    in.take(received_points_, count * header[9]);
    in.take(received_result_.points, count);
    in.take(received_result_.gradient, header[3]);
    in.take(received_result_.hessian, header[4]);
    in.take(received_result_.eigenvalues, header[5]);
    in.take(received_result_.eigenvectors, header[6]);
    received_result_.extra_columns.resize(header[8]);
    for (std::vector<double>& column : received_result_.extra_columns) in.take(column, count);
    if (!in.at_end()) throw std::runtime_error("MPI chunk message from rank " + std::to_string(source) + " too long");
    write_(header[0], received_points_.data(), received_result_);
    ++received_;
    return true;
  }

  void wait_for_sends() {
    if (requests_.empty()) return;
    MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0;
  WriteChunk write_;
  std::size_t expected_ = 0,
              received_ = 0;  // chunks the writer receives from other ranks
  Header header_{};
  std::vector<unsigned char> send_buffer_, receive_buffer_;
  std::vector<MPI_Request> requests_;
  std::vector<double> received_points_;
  ChunkResult received_result_;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

std::unique_ptr<ChunkTeam> make_mpi_team() { return std::make_unique<MpiTeam>(); }

}  // namespace hessa::jobs
