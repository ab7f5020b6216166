// Backend choice and chunk planning for every run.
#include "engine/backend_choice.hpp"

#include "hessa/errors.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa {

std::unique_ptr<Backend> choose_backend(const std::string& wanted, const NoticeSink& notice) {
  if (wanted == "cpu") return make_backend(BackendKind::Cpu, nullptr);
  std::string why;
  if (auto gpu = make_backend(BackendKind::Cuda, &why)) return gpu;
  if (wanted == "cuda") throw InputError("--backend cuda: no usable GPU: " + why);
  notify(notice, "no usable GPU (" + why + "); using the CPU backend");
  return make_backend(BackendKind::Cpu, nullptr);
}

std::size_t memory_limit_bytes(const std::string& memory, const std::string& what) {
  return memory.empty() ? 0 : parse_memory_size(memory, what + " " + memory);
}

std::size_t plan_chunk_points(std::size_t requested, const std::string& memory, std::size_t per_point,
                              std::size_t backend_capacity, const std::string& what, const NoticeSink& notice) {
  const MemoryBudget budget = host_memory_budget(memory_limit_bytes(memory));
  const ChunkPlan plan = plan_chunk(requested, per_point, backend_capacity, budget, what);
  if (!plan.notice.empty()) notify(notice, plan.notice);
  return plan.points;
}

}  // namespace hessa
