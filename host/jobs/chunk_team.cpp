// The single-process ChunkTeam (every chunk of the share written at once) and
// the choice between it and MPI.
#include "jobs/chunk_team.hpp"

#ifdef HESSA_WITH_MPI
#include "jobs/run_mpi.hpp"
#endif

namespace hessa::jobs {
namespace {

class SerialTeam final : public ChunkTeam {
 public:
  bool writer() const override { return true; }
  std::string describe() const override { return ""; }
  int agree(std::exception_ptr setup_error) override {
    if (setup_error) std::rethrow_exception(setup_error);
    return 0;
  }
  void bind_device(const std::string&) override {}  // HESSA_CUDA_DEVICE, if set, picks the GPU as usual
  std::vector<std::size_t> share(const std::vector<std::size_t>& pending, WriteChunk write) override {
    write_ = std::move(write);
    return pending;
  }
  void deliver(std::size_t chunk, const double* points, int /*point_columns*/, const ChunkResult& result) override {
    write_(chunk, points, result);
  }
  bool delivers_on_any_thread() const override { return true; }
  void finish() override {}
  void combine(RunSummary&) override {}
  [[noreturn]] void fail() override { throw; }

 private:
  WriteChunk write_;
};

}  // namespace

std::unique_ptr<ChunkTeam> make_chunk_team() {
#ifdef HESSA_WITH_MPI
  if (launched_by_mpi()) return make_mpi_team();
#endif
  return std::make_unique<SerialTeam>();
}

}  // namespace hessa::jobs
