// Linked instead of kernels/ when this build has no CUDA backend (HESSA_CUDA=OFF or no nvcc found): the one stub
// of the one backend family.
#include "hessa/backend.hpp"
#include "hessa/detail/backend_factory.hpp"
#include "hessa/detail/cuda_model.hpp"
#include "hessa/errors.hpp"

namespace hessa {

bool cuda_backend_compiled() { return false; }

int cuda_device_count() { return 0; }

std::unique_ptr<Backend> detail::new_cuda_backend(std::string* why_unavailable) {
  if (why_unavailable != nullptr)
    *why_unavailable = "this hessa was built without the CUDA backend (configure with -DHESSA_CUDA=ON and nvcc)";
  return nullptr;
}

bool detail::cuda_model_gradient_available(std::string* why) {
  if (why != nullptr) *why = "this hessa was built without the CUDA backend (configure with -DHESSA_CUDA=ON and nvcc)";
  return false;
}

void detail::cuda_mlp_loss_gradient(const MlpModel&, const double*, std::size_t, double*, double*) {
  throw DeviceError("this hessa was built without the CUDA backend");
}

}  // namespace hessa
