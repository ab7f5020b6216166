// The one "on every backend" fixture: a suite derives from OnBackend and is instantiated by
// HESSA_INSTANTIATE_ON_BACKENDS, so each TEST_P runs once on "cpu" and once on "cuda" (skipped without a GPU).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hessa/backend.hpp"
#include "test_support.hpp"

namespace hessa::test {

// SetUp makes the backend the parameter names ("cpu" or "cuda", through the one factory) and skips the test when
// that is "cuda" and no GPU is usable.
class OnBackend : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = make_backend(GetParam() == "cpu" ? BackendKind::Cpu : BackendKind::Cuda, &why_);
    HESSA_SKIP_WITHOUT_GPU(backend_, why_);
  }

  std::unique_ptr<Backend> backend_;
  std::string why_;
};

// Test names end in the backend's name: Prefix/Suite.Test/cpu, Prefix/Suite.Test/cuda.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

#define HESSA_INSTANTIATE_ON_BACKENDS(prefix, suite) \
  INSTANTIATE_TEST_SUITE_P(prefix, suite, ::testing::Values("cpu", "cuda"), ::hessa::test::backend_param_name)

}  // namespace hessa::test
