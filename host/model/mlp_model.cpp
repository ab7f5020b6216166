// MLP model losses: names, the parameter count, data-set checks, and a plain reference evaluation.
#include "hessa/model.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "hessa/objective.hpp"

namespace hessa {

std::int64_t MlpModel::parameter_count() const { return detail::layer_weight_offset(widths.data(), layer_count()); }

int MlpModel::max_width() const { return *std::max_element(widths.begin(), widths.end()); }

detail::MlpView MlpModel::view() const {
  return {widths.data(), layer_count(), activation, loss, data.x.data(), data.y.data(), std::int64_t(data.samples),
          data.features, data.targets,  max_width()};
}

namespace {

// Plain parameter reads for the direct forward pass: the hyper-dual path's code, run on doubles.
struct PlainParameters {
  const double* theta;
  double operator()(int k) const { return theta[k]; }
};

}  // namespace

double MlpModel::loss_at(const double* parameters) const {
  std::vector<double> scratch(2 * std::size_t(max_width()));
  return detail::mlp_loss_direct(view(), PlainParameters{parameters}, scratch.data());
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Tanh: return "tanh";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Gelu: return "gelu";
  }
  return "?";
}

const char* loss_name(LossKind l) {
  switch (l) {
    case LossKind::Mse: return "mse";
    case LossKind::CrossEntropy: return "cross_entropy";
    case LossKind::Logistic: return "logistic";
  }
  return "?";
}

bool activation_from_name(const std::string& name, Activation* a) {
  for (Activation c : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu}) {
    if (name == activation_name(c)) {
      *a = c;
      return true;
    }
  }
  return false;
}

bool loss_from_name(const std::string& name, LossKind* l) {
  for (LossKind c : {LossKind::Mse, LossKind::CrossEntropy, LossKind::Logistic}) {
    if (name == loss_name(c)) {
      *l = c;
      return true;
    }
  }
  return false;
}

std::string make_dataset(const std::vector<double>& rows, int columns, const MlpModel& model, Dataset* out) {
  const int features = model.widths.front();
  const int targets = model.target_columns();
  if (columns != features + targets) {
    std::ostringstream m;
    m << "has " << columns << " columns, but layers[0] = " << features << " with loss " << loss_name(model.loss)
      << " needs " << features << " feature" << (features == 1 ? "" : "s") << " + " << targets << " target"
      << (targets == 1 ? "" : "s") << " = " << features + targets << " columns";
    return m.str();
  }
  const std::size_t samples = rows.size() / std::size_t(columns);
  if (samples == 0) return "has no samples";
  Dataset d;
  d.samples = samples;
  d.features = features;
  d.targets = targets;
  d.x.reserve(samples * std::size_t(features));
  d.y.reserve(samples * std::size_t(targets));
  for (std::size_t s = 0; s < samples; ++s) {
    const double* row = rows.data() + s * std::size_t(columns);
    d.x.insert(d.x.end(), row, row + features);
    d.y.insert(d.y.end(), row + features, row + columns);
    const double y = row[features];
    std::ostringstream m;
    if (model.loss == LossKind::CrossEntropy && !(y >= 0 && y < model.outputs() && y == std::floor(y))) {
      m << "sample " << s + 1 << ": class label " << y << " is not an integer in 0.." << model.outputs() - 1
        << " (cross_entropy with " << model.outputs() << " outputs)";
      return m.str();
    }
    if (model.loss == LossKind::Logistic && !(y >= 0 && y <= 1)) {
      m << "sample " << s + 1 << ": logistic target " << y << " is outside [0, 1]";
      return m.str();
    }
  }
  *out = std::move(d);
  return "";
}

void AffineSubspace::map(const double* y, double* x) const {
  for (int m = 0; m < n; ++m) x[m] = origin[std::size_t(m)];
  for (int a = 0; a < k; ++a) {
    const double* d = directions.data() + std::size_t(a) * std::size_t(n);
    for (int m = 0; m < n; ++m) x[m] += y[a] * d[m];
  }
}

}  // namespace hessa
