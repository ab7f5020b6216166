// Code generation: syntax tree -> bytecode, with stack-depth checks against the interpreter's fixed limits
// and a dry run that proves every x[...] index stays inside 0..n-1 (indices depend only on loop counters,
// so one run visits every index the program will ever read).
#include <algorithm>

#include "expression/ast.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/errors.hpp"

namespace hessa {

CompiledFunction::CompiledFunction(std::vector<detail::Instruction> code, std::vector<SourcePosition> positions,
                                   int dimension, std::string source)
    : code_(std::move(code)), positions_(std::move(positions)), dimension_(dimension), source_(std::move(source)) {}

namespace {
struct PlainPoint {
  const double* x;
  double operator()(int k) const { return x[k]; }
};
}  // namespace

double CompiledFunction::operator()(const double* x) const { return detail::evaluate<double>(view(), PlainPoint{x}); }

namespace expr {
namespace {

using detail::Instruction;
using detail::Op;

class Emitter {
 public:
  Emitter(const std::string& source, const ExpressionOptions& options) : source_(source), options_(options) {}

  void emit_tree(const SyntaxTree& tree) {
    if (int(tree.bindings.size()) > detail::kMaxLocals) {
      fail(source_, options_.source_name, tree.bindings[detail::kMaxLocals].value->pos,
           "more than " + std::to_string(detail::kMaxLocals) + " bindings");
    }
    for (const Binding& b : tree.bindings) {
      emit_scalar(*b.value);
      emit(Op::StoreLocal, b.value->pos, b.slot);
    }
    emit_scalar(*tree.result);
  }

  std::vector<Instruction> code;
  std::vector<SourcePosition> positions;

 private:
  int emit(Op op, SourcePosition pos, int a = 0, int b = 0, double value = 0.0) {
    code.push_back(Instruction{op, a, b, value});
    positions.push_back(pos);
    track_depth(op, pos);
    return int(code.size()) - 1;
  }

  // Keeps the running scalar/integer stack depths and rejects programs the interpreter cannot hold.
  void track_depth(Op op, SourcePosition pos) {
    switch (op) {
      case Op::Const: case Op::LoadX: case Op::LoadLocal: case Op::LoopBegin: ++sp_; break;
      case Op::LoadXDyn: case Op::IToScalar: ++sp_; --isp_; break;
      case Op::StoreLocal: case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Pow:
      case Op::Atan2: case Op::Hypot: case Op::Min: case Op::Max: case Op::LoopSumEnd: case Op::LoopProdEnd:
        --sp_;
        break;
      case Op::IConst: case Op::ILoadLoop: ++isp_; break;
      case Op::IAdd: case Op::ISub: case Op::IMul: --isp_; break;
      default: break;
    }
    if (op == Op::LoopBegin) isp_ -= 2;
    if (sp_ > detail::kMaxStack || isp_ > detail::kMaxIntStack) {
      fail(source_, options_.source_name, pos,
           "expression nested too deeply for the evaluator (more than " + std::to_string(detail::kMaxStack) +
               " pending values); split it with bindings 'name = ...;'");
    }
  }

  void emit_int(const Node& node) {
    switch (node.kind) {
      case NodeKind::Number: emit(Op::IConst, node.pos, int(node.value)); return;
      case NodeKind::LoopIndex: emit(Op::ILoadLoop, node.pos, node.index); return;
      case NodeKind::Unary:
        emit_int(*node.kids[0]);
        emit(Op::INeg, node.pos);
        return;
      case NodeKind::Binary: {
        emit_int(*node.kids[0]);
        emit_int(*node.kids[1]);
        const Op op = node.op == Op::Add ? Op::IAdd : node.op == Op::Sub ? Op::ISub : Op::IMul;
        emit(op, node.pos);
        return;
      }
      default: fail(source_, options_.source_name, node.pos, "internal error: not an integer expression");
    }
  }

  void emit_scalar(const Node& node) {
    if (node.is_int && node.kind != NodeKind::Number) {
      emit_int(node);
      emit(Op::IToScalar, node.pos);
      return;
    }
    switch (node.kind) {
      case NodeKind::Number: emit(Op::Const, node.pos, 0, 0, node.value); return;
      case NodeKind::Variable: emit(Op::LoadX, node.pos, node.index); return;
      case NodeKind::IndexedX:
        emit_int(*node.kids[0]);
        emit(Op::LoadXDyn, node.pos);
        return;
      case NodeKind::Local: emit(Op::LoadLocal, node.pos, node.index); return;
      case NodeKind::LoopIndex: break;  // integer: handled above
      case NodeKind::Unary:
        emit_scalar(*node.kids[0]);
        emit(node.op, node.pos);
        return;
      case NodeKind::Binary: {
        const Node& exponent = *node.kids[1];
        emit_scalar(*node.kids[0]);
        if (node.op == Op::Pow && exponent.kind == NodeKind::Number && exponent.is_int &&
            std::fabs(exponent.value) <= 64) {
          emit(Op::PowI, node.pos, int(exponent.value));  // x^2: multiplications, exact and fast
          return;
        }
        emit_scalar(exponent);
        emit(node.op, node.pos);
        return;
      }
      case NodeKind::Reduce: {
        emit_int(*node.kids[0]);
        emit_int(*node.kids[1]);
        const double identity = node.op == Op::LoopSumEnd ? 0.0 : 1.0;
        const int begin = emit(Op::LoopBegin, node.pos, node.index, 0, identity);
        emit_scalar(*node.kids[2]);
        emit(node.op, node.pos, node.index, begin + 1);
        code[std::size_t(begin)].b = int(code.size());
        return;
      }
    }
    fail(source_, options_.source_name, node.pos, "internal error: unknown node");
  }

  const std::string& source_;
  const ExpressionOptions& options_;
  int sp_ = 0;
  int isp_ = 0;
};

// A name as shown in a message: hostile input can be megabytes long.
std::string shown_name(const std::string& name) {
  constexpr std::size_t kShown = 40;
  if (name.size() <= kShown) return name;
  return name.substr(0, kShown) + "... (" + std::to_string(name.size()) + " characters)";
}

void check_name_list(const ExpressionOptions& options) {
  if (!options.variable_names.empty() && int(options.variable_names.size()) != options.dimension) {
    throw InputError("--vars names " + std::to_string(options.variable_names.size()) +
                     " variables but the points have " + std::to_string(options.dimension) + " coordinates");
  }
  for (std::size_t k = 0; k < options.variable_names.size(); ++k) {
    const std::string& name = options.variable_names[k];
    if (!is_identifier(name)) throw InputError("--vars: '" + shown_name(name) + "' is not a valid name");
    if (std::find(options.variable_names.begin(), options.variable_names.begin() + long(k), name) !=
        options.variable_names.begin() + long(k)) {
      throw InputError("--vars: '" + shown_name(name) + "' is given twice");
    }
  }
  for (const auto& [name, value] : options.parameters) {
    if (!is_identifier(name)) throw InputError("--param: '" + shown_name(name) + "' is not a valid name");
  }
}

}  // namespace
}  // namespace expr

// A plain loop: std::regex_match recurses once per character and overflows the stack on a name of some 50 000
// characters.
bool is_identifier(const std::string& name) {
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return letter(c) || digit(c); });
}

CompiledFunction compile_expression(const std::string& source, const ExpressionOptions& options) {
  if (options.dimension < 1) throw InputError(options.source_name + ": the dimension n must be at least 1");
  expr::check_name_list(options);
  const auto tokens = expr::tokenize(source, options.source_name);
  const expr::SyntaxTree tree = expr::parse(tokens, source, options);
  expr::Emitter emitter(source, options);
  emitter.emit_tree(tree);
  CompiledFunction f(std::move(emitter.code), std::move(emitter.positions), options.dimension, source);

  // Dry run at the origin: reports the first x[...] whose index leaves 0..n-1.
  const std::vector<double> origin(std::size_t(options.dimension), 0.0);
  int bad_pc = -1;
  int bad_index = 0;
  struct Origin {
    const double* x;
    double operator()(int k) const { return x[k]; }
  };
  detail::evaluate<double>(f.view(), Origin{origin.data()}, &bad_pc, &bad_index);
  if (bad_pc >= 0) {
    expr::fail(source, options.source_name, f.position_of(bad_pc),
               "index " + std::to_string(bad_index) + " is outside x[0.." + std::to_string(options.dimension - 1) +
                   "] for some value of the loop indices (n = " + std::to_string(options.dimension) + ")");
  }
  return f;
}

}  // namespace hessa
