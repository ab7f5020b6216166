// Model losses: an MLP's loss on a data set as a function of its flat parameter vector. The layout, the
// activations and the losses are documented in README.md ("Model losses") and in detail/mlp.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hessa/detail/mlp.hpp"
#include "hessa/types.hpp"

namespace hessa {

// Samples as rows: features (samples x features) and targets (samples x targets), row-major.
struct Dataset {
  std::size_t samples = 0;
  int features = 0;
  int targets = 0;
  std::vector<double> x;
  std::vector<double> y;
};

struct MlpModel {
  std::vector<std::int32_t> widths;          // layers = [inputs, hidden..., outputs]; at least 2
  Activation activation = Activation::Tanh;  // after every layer but the last
  LossKind loss = LossKind::Mse;
  Dataset data;

  int layer_count() const { return int(widths.size()) - 1; }
  int outputs() const { return widths.back(); }
  std::int64_t parameter_count() const;
  int max_width() const;
  // Target columns the data set must have: the outputs for mse, 1 (class index or 0/1 label) otherwise.
  int target_columns() const { return loss == LossKind::Mse ? outputs() : 1; }
  // The loss of one parameter vector by the direct forward pass (detail::mlp_loss_direct on doubles, no BLAS).
  double loss_at(const double* parameters) const;
  // The model and its data set as the direct (hyper-dual) forward pass reads them, in host memory.
  detail::MlpView view() const;
};

const char* activation_name(Activation a);  // "tanh", "relu", "sigmoid", "gelu"
const char* loss_name(LossKind l);          // "mse", "cross_entropy", "logistic"
// The inverses; return false for an unknown name.
bool activation_from_name(const std::string& name, Activation* a);
bool loss_from_name(const std::string& name, LossKind* l);

// Splits a table whose rows are samples (features, then targets) into a Dataset. Returns "" when it fits
// the model, else what is wrong (column count, a class index out of range, a logistic label outside [0, 1]).
std::string make_dataset(const std::vector<double>& rows, int columns, const MlpModel& model, Dataset* out);

}  // namespace hessa
