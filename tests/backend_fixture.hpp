// The one "on every backend" fixture: a suite derives from OnBackend<B> and is instantiated by
// HESSA_INSTANTIATE_ON_BACKENDS, so each TEST_P runs once on "cpu" and once on "cuda" (skipped without a GPU).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hessa/backend.hpp"
#include "hessa/jacobian.hpp"
#include "test_support.hpp"

namespace hessa::test {

// How to make the backend of kind B named "cpu" or "cuda": nullptr with the reason in `why` when the CUDA one is
// unavailable. One specialization per backend interface.
template <class B>
struct BackendMaker;

template <>
struct BackendMaker<Backend> {
  static std::unique_ptr<Backend> make(const std::string& name, std::string* why) {
    if (name == "cpu") return make_cpu_backend();
    return make_cuda_backend(why);
  }
};

// The Jacobian interface, until it is merged into Backend (then its suite derives from OnBackend<Backend>).
template <>
struct BackendMaker<JacobianBackend> {
  static std::unique_ptr<JacobianBackend> make(const std::string& name, std::string* why) {
    if (name == "cpu") return make_cpu_jacobian_backend();
    return make_cuda_jacobian_backend(why);
  }
};

// SetUp makes the backend the parameter names and skips the test when that is "cuda" and no GPU is usable.
template <class B = Backend>
class OnBackend : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = BackendMaker<B>::make(GetParam(), &why_);
    HESSA_SKIP_WITHOUT_GPU(backend_, why_);
  }

  std::unique_ptr<B> backend_;
  std::string why_;
};

// Test names end in the backend's name: Prefix/Suite.Test/cpu, Prefix/Suite.Test/cuda.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

#define HESSA_INSTANTIATE_ON_BACKENDS(prefix, suite) \
  INSTANTIATE_TEST_SUITE_P(prefix, suite, ::testing::Values("cpu", "cuda"), ::hessa::test::backend_param_name)

}  // namespace hessa::test
