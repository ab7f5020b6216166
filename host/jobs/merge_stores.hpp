// `hessa merge`: the shard stores of one job -> one store.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hessa::jobs {

struct MergeRequest {
  std::vector<std::string> inputs;  // shard stores of one job
  std::string out;                  // must not exist
  bool allow_incomplete = false;    // write the merged store even when chunks are done in no input
};

struct MergeOutcome {
  std::size_t inputs = 0;
  std::size_t chunks = 0;            // of the job
  std::size_t overlaps = 0;          // chunks done in two inputs (identical, or the merge fails)
  std::vector<std::string> missing;  // chunk numbers done in no input
};

// InputError when the inputs are not shards of one job, disagree, or (without allow_incomplete) miss chunks.
MergeOutcome merge_stores(const MergeRequest& request);

}  // namespace hessa::jobs
