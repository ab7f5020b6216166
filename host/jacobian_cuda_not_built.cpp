// Linked instead of kernels/jacobian.cu when this build has no CUDA backend (HESSA_CUDA=OFF or no nvcc found).
#include "hessa/jacobian.hpp"

namespace hessa {

std::unique_ptr<JacobianBackend> make_cuda_jacobian_backend(std::string* why_unavailable) {
  if (why_unavailable != nullptr)
    *why_unavailable = "this hessa was built without the CUDA backend (configure with -DHESSA_CUDA=ON and nvcc)";
  return nullptr;
}

}  // namespace hessa
