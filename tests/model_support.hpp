// Seeded models for the model-loss tests (test_model.cpp, test_backend_parity.cpp): uniform numbers that are the same
// with every compiler, and small MLPs on random data sets built through make_dataset.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hessa/model.hpp"

namespace hessa::test {

// Uniform numbers in [lo, hi) from std::mt19937's 32-bit output, which the standard specifies exactly (unlike
// std::uniform_real_distribution's mapping): the same seed gives the same data with every compiler.
class Uniform {
 public:
  explicit Uniform(std::uint32_t seed) : engine_(seed) {}
  double operator()(double lo, double hi) { return lo + (hi - lo) * (double(engine_()) * 0x1.0p-32); }
  std::uint32_t bits() { return engine_(); }

 private:
  std::mt19937 engine_;
};

// A model on `samples` seeded random samples: features in [-1, 1); targets in [-1, 1) (mse), a class index
// (cross_entropy) or a label, 0, 1 and now and then a soft 0.25 (logistic). Built through make_dataset, which
// must accept it.
inline MlpModel make_model(std::vector<std::int32_t> widths, Activation activation, LossKind loss, int samples,
                           std::uint32_t seed) {
  MlpModel model;
  model.widths = std::move(widths);
  model.activation = activation;
  model.loss = loss;
  Uniform u(seed);
  const int features = model.widths.front(), outputs = model.widths.back();
  const int targets = loss == LossKind::Mse ? outputs : 1;
  std::vector<double> rows;
  for (int s = 0; s < samples; ++s) {
    for (int i = 0; i < features; ++i) rows.push_back(u(-1, 1));
    if (loss == LossKind::Mse) {
      for (int j = 0; j < targets; ++j) rows.push_back(u(-1, 1));
    } else if (loss == LossKind::CrossEntropy) {
      rows.push_back(double(u.bits() % std::uint32_t(outputs)));
    } else {
      rows.push_back(s % 7 == 3 ? 0.25 : double(u.bits() % 2));
    }
  }
  const std::string why = make_dataset(rows, features + targets, model, &model.data);
  EXPECT_EQ(why, "");
  return model;
}

}  // namespace hessa::test
