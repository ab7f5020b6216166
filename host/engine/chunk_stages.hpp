// The overlapped chunk loop: while chunk i computes, chunk i + 1 is read and chunk i - 1 is written, each stage on
// its own thread, with a fixed number of chunk buffers ("slots") circulating between them, so memory stays bounded
// and known. Shared by `hessa analyze` (run_analysis) and `hessa run` (the job runner).
#pragma once

#include <cstddef>
#include <functional>

namespace hessa {

// The three stages of one chunk, each given the slot (0 .. slots - 1) that holds the chunk's buffers. A slot is
// used by one stage at a time: fill, then compute, then drain, and only then refilled.
struct ChunkStages {
  std::function<bool(std::size_t slot)> fill;     // the next chunk into the slot; false when there is none
  std::function<void(std::size_t slot)> compute;  // on the calling thread (the backend's and OpenMP's home)
  std::function<void(std::size_t slot)> drain;    // writes the chunk out
};

// Runs every chunk through fill -> compute -> drain. Chunks are computed and drained in the order they were
// filled. slots == 1: the plain serial loop on this thread. slots >= 2: fill and drain run on their own threads.
//
// A failure behaves as in the serial loop: when chunk i's stage s throws, every chunk before i is still drained,
// nothing at or after (i, s) in serial order runs, and the exception is rethrown here; of several failures the one
// first in serial order wins (the message does not depend on thread timing). A chunk read ahead of the failure
// is dropped unused.
void run_chunk_stages(const ChunkStages& stages, std::size_t slots);

}  // namespace hessa
