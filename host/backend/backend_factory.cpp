// The one factory, make_backend, and its conveniences. Linked into hessa_backend_cuda (with kernels/ or with
// host/backend/cuda_not_built.cpp), not hessa_core: it calls both backends' constructors, and the static hessa_core
// comes after hessa_backend_cuda on link lines, so from hessa_core the CUDA side would be an undefined reference.
#include <memory>
#include <string>

#include "hessa/backend.hpp"
#include "hessa/detail/backend_factory.hpp"

namespace hessa {

std::unique_ptr<Backend> make_backend(BackendKind kind, std::string* why_unavailable) {
  switch (kind) {
    case BackendKind::Cpu: return detail::new_cpu_backend();
    case BackendKind::Cuda: break;
  }
  return detail::new_cuda_backend(why_unavailable);
}

std::unique_ptr<Backend> make_cpu_backend() { return make_backend(BackendKind::Cpu, nullptr); }

std::unique_ptr<Backend> make_cuda_backend(std::string* why_unavailable) {
  return make_backend(BackendKind::Cuda, why_unavailable);
}

}  // namespace hessa
