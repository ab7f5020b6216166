// Where the chunks of `hessa run` are computed and where their results go: one
// process writing its own store, or (host/jobs/run_mpi.cpp, under mpirun) MPI
// ranks that compute chunks and send them to rank 0, which owns the file.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/pipeline.hpp"

namespace hessa::jobs {

class ChunkTeam {
 public:
  // Writes one finished chunk into the output (called on the writer only, for
  // its own and received chunks).
  using WriteChunk = std::function<void(std::size_t chunk, const double* points, const ChunkResult& result)>;

  virtual ~ChunkTeam() = default;
  // True for the process that owns the output file and prints progress,
  // messages and the summary.
  virtual bool writer() const = 0;
  // "" for one process, else e.g. "2 MPI ranks" (for the summary).
  virtual std::string describe() const = 0;
  // Called by every process after its set-up, with the error it raised (or
  // none). Returns 0 when all succeeded. Otherwise exactly one message is
  // printed (one process: the error rethrown for main() to print; MPI: the
  // lowest failing rank prints it) and every process returns the exit code (2
  // for an InputError).
  virtual int agree(std::exception_ptr setup_error) = 0;
  // Before the backend is made: under MPI, a rank picks its node-local GPU
  // (HESSA_CUDA_DEVICE) unless one is set.
  virtual void bind_device(const std::string& wanted_backend) = 0;
  // Given the chunks still to do (as the writer found them), returns this
  // process's share; `write` is kept for deliver() and finish().
  virtual std::vector<std::size_t> share(const std::vector<std::size_t>& pending, WriteChunk write) = 0;
  // A chunk of this process's share is computed: write it (writer) or send it
  // to the writer. `points` has point_columns values a point (a direction scan's
  // coordinates: not result.n when the Hessian is of the full space).
  virtual void deliver(std::size_t chunk, const double* points, int point_columns, const ChunkResult& result) = 0;
  // Whether deliver() may run on a thread of its own, overlapping the next chunk's computation (one process: it
  // only writes the file). MPI ranks call MPI from the main thread alone.
  virtual bool delivers_on_any_thread() const = 0;
  // After this process's share: the writer waits for every other process's
  // chunks; senders wait for their sends.
  virtual void finish() = 0;
  // Adds up every process's summary into the writer's (per-class counts,
  // points, chunks, the lambda range).
  virtual void combine(RunSummary& summary) = 0;
  // Called inside a catch handler on a failure after set-up: rethrows (one
  // process) or aborts every rank.
  [[noreturn]] virtual void fail() = 0;
};

// The MPI team when this build has MPI (HESSA_WITH_MPI) and the process was
// started by an MPI launcher, else the single-process team: `hessa run` without
// mpirun behaves the same in either build.
std::unique_ptr<ChunkTeam> make_chunk_team();

}  // namespace hessa::jobs
