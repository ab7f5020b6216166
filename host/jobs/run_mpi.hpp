// `mpirun -np K hessa run JOB.toml`: ranks split the chunks still to do; rank 0
// owns the one output file and writes every chunk, its own and those the other
// ranks send it. Compiled only when HESSA_MPI is on.
#pragma once

#include <memory>

#include "jobs/chunk_team.hpp"

namespace hessa::jobs {

// True when an MPI launcher (mpirun / mpiexec, or srun with PMI/PMIx) started
// this process.
bool launched_by_mpi();
// Initializes MPI (finalized when the team is destroyed); one per process.
std::unique_ptr<ChunkTeam> make_mpi_team();

}  // namespace hessa::jobs
