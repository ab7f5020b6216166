// Merging the shard stores of one job (hessa run --shard) into one store: settings and shapes checked, each chunk
// taken from the input that has it done (two inputs that both have it must agree byte for byte), written under
// a temporary name and renamed so that the merged file appears whole or not at all.
#include "jobs/merge_stores.hpp"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/function_spec.hpp"
#include "hessa/errors.hpp"
#include "hessa/result_store.hpp"
#include "jobs/job_file.hpp"

namespace hessa::jobs {

namespace fs = std::filesystem;

MergeOutcome merge_stores(const MergeRequest& args) {
  if (fs::exists(args.out)) throw InputError(args.out, 0, 0, "exists; choose another -o");
  std::vector<std::unique_ptr<ResultStore>> inputs;
  for (const std::string& path : args.inputs) inputs.push_back(ResultStore::open(path, false));
  const StoreLayout& ref = inputs.front()->layout();
  const auto ref_settings = nlohmann::json::parse(ref.settings_json, nullptr, false);
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const StoreLayout& other = inputs[i]->layout();
    const std::vector<std::string> differing =
        result_setting_differences(ref_settings, nlohmann::json::parse(other.settings_json, nullptr, false));
    if (!differing.empty()) {
      throw InputError(args.inputs[i], 0, 0,
                       "its settings differ from " + args.inputs[0] + "'s in: " + join_names(differing));
    }
    if (other.total_points != ref.total_points || other.n != ref.n || other.coordinates != ref.coordinates ||
        other.scan_centre != ref.scan_centre || other.scan_directions != ref.scan_directions ||
        other.chunk_points != ref.chunk_points || other.gradient != ref.gradient || other.hessian != ref.hessian ||
        other.eigenvalues != ref.eigenvalues || other.eigenvectors != ref.eigenvectors || other.extras != ref.extras) {
      throw InputError(args.inputs[i], 0, 0, "its datasets do not have the shape of " + args.inputs[0] + "'s");
    }
  }
  // Which input provides each chunk; a chunk done in two inputs must agree byte for byte.
  const std::size_t chunks = ref.chunk_count();
  std::vector<int> source(chunks, -1);
  std::size_t overlaps = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<std::uint8_t> done = inputs[i]->done_mask();
    for (std::size_t c = 0; c < chunks; ++c) {
      if (!done[c]) continue;
      if (source[c] < 0) {
        source[c] = int(i);
        continue;
      }
      ++overlaps;
      if (inputs[i]->read_chunk_raw(c) != inputs[std::size_t(source[c])]->read_chunk_raw(c)) {
        throw InputError(
            args.inputs[i], 0, 0,
            "chunk " + std::to_string(c) + " disagrees with the same chunk in " + args.inputs[std::size_t(source[c])]);
      }
    }
  }
  std::vector<std::string> missing;
  for (std::size_t c = 0; c < chunks; ++c)
    if (source[c] < 0) missing.push_back(std::to_string(c));
  if (!missing.empty() && !args.allow_incomplete) {
    throw InputError(args.out, 0, 0,
                     std::to_string(missing.size()) + " of " + std::to_string(chunks) +
                         " chunks are done in none of the inputs: " + join_names(missing) +
                         " (run the missing shards, or pass --allow-incomplete)");
  }
  // Written under a temporary name and renamed: the merged file appears whole or not at all.
  const std::string partial = args.out + ".partial";
  fs::remove(partial);
  StoreLayout layout = ref;
  layout.shard = "";
  try {
    auto out = ResultStore::create(partial, layout);
    for (std::size_t c = 0; c < chunks; ++c)
      if (source[c] >= 0) out->write_chunk_raw(c, inputs[std::size_t(source[c])]->read_chunk_raw(c));
    out->set_complete(missing.empty());
  } catch (...) {
    fs::remove(partial);
    throw;
  }
  fs::rename(partial, args.out);
  MergeOutcome outcome;
  outcome.inputs = inputs.size();
  outcome.chunks = chunks;
  outcome.overlaps = overlaps;
  outcome.missing = missing;
  return outcome;
}

}  // namespace hessa::jobs
