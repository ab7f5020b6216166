// Code generation: syntax tree -> bytecode, with checks against the interpreter's fixed limits (stack depths,
// program size, work per evaluation) and, where range analysis cannot prove every x[...] index inside 0..n-1,
// a dry run (indices depend only on loop counters, so one run visits every index the program will ever read).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>

#include "expression/ast.hpp"
#include "expression/trace.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/errors.hpp"

namespace hessa {

CompiledFunction::CompiledFunction(std::vector<detail::Instruction> code, std::vector<SourcePosition> positions,
                                   int dimension, std::string source)
    : code_(std::move(code)), positions_(std::move(positions)), dimension_(dimension), source_(std::move(source)) {
  expr::TraceResult trace = expr::trace_program(view(), kMaxTapeNodes);
  tape_ = std::move(trace.nodes);
  why_no_tape_ = std::move(trace.why_not);
}

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

// A program may have at most this many instructions. The interpreter's program counter is an int32; a million
// instructions (a 61 000-term sum needs 122 000) keeps a program's code and positions under 32 MiB, which the GPU
// backend copies to every device.
constexpr std::size_t kMaxProgramSize = std::size_t(1) << 20;

// Upper bound on instructions executed per evaluation (each instruction weighted by the trip-count bounds of its
// enclosing loops). 2^24 is about 0.1 s of interpretation per evaluation (seconds under the sanitizers), and a
// Hessian needs O(n^2) evaluations per point: a program above it is a runaway loop, not a function (a double sum
// over n = 1000 coordinates still fits). It also bounds the dry run below.
constexpr std::uint64_t kMaxWorkPerEvaluation = std::uint64_t(1) << 24;

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

// How many times a loop's body can run at most, from the ranges of its bounds.
std::uint64_t trip_count_bound(const Node& reduce) {
  const IntRange lo = reduce.kids[0]->range;
  const IntRange hi = reduce.kids[1]->range;
  if (lo.empty() || hi.empty() || lo.lo > hi.hi) return 0;
  return std::uint64_t(hi.hi - lo.lo) + 1;
}

// Emits bytecode from a tree whose integer ranges are known (check_integer_ranges). Iterative, with an explicit
// work list, because trees can be tens of thousands of levels deep (a flat sum is a left-nested chain).
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
    if (work_ > kMaxWorkPerEvaluation) {
      const std::string bound =
          work_ == std::numeric_limits<std::uint64_t>::max() ? "more than 2^64" : "up to " + std::to_string(work_);
      fail(source_, options_.source_name, work_limit_pos_,
           "the program can execute " + bound + " instructions per evaluation (from the ranges of its " +
               "sum/prod bounds), more than the limit of " + std::to_string(kMaxWorkPerEvaluation) +
               "; shrink the loop ranges");
    }
  }

  std::vector<Instruction> code;
  std::vector<SourcePosition> positions;

 private:
  enum class Step {
    Scalar,     // emit `node` as a scalar
    Integer,    // emit `node` on the integer stack
    Emit,       // emit `op` with operand `a` at `node`'s position
    BeginLoop,  // LoopBegin of the Reduce `node`; enter its loop
    EndLoop,    // LoopSumEnd/LoopProdEnd of the Reduce `node`; leave its loop and patch its LoopBegin
  };
  struct Task {
    Step step;
    const Node* node;
    Op op = Op::Const;
    int a = 0;
  };

  int emit(Op op, SourcePosition pos, int a = 0, int b = 0, double value = 0.0) {
    if (code.size() >= kMaxProgramSize) {
      fail(source_, options_.source_name, pos,
           "expression too large: more than " + std::to_string(kMaxProgramSize) +
               " instructions (the limit of a compiled program); split it into smaller functions");
    }
    code.push_back(Instruction{op, a, b, value});
    positions.push_back(pos);
    track_depth(op, pos);
    const std::uint64_t weight = loop_weights_.empty() ? 1 : loop_weights_.back();
    const bool was_within_limit = work_ <= kMaxWorkPerEvaluation;
    work_ = saturating_add(work_, weight);
    if (was_within_limit && work_ > kMaxWorkPerEvaluation) {
      work_limit_pos_ = open_loops_.empty() ? pos : open_loops_.back()->pos;  // the loop that tips it over
    }
    return int(code.size()) - 1;
  }

  // Keeps the running scalar/integer stack depths and rejects programs the interpreter cannot hold.
  void track_depth(Op op, SourcePosition pos) {
    switch (op) {
      case Op::Const:
      case Op::LoadX:
      case Op::LoadLocal:
      case Op::LoopBegin: ++sp_; break;
      case Op::LoadXDyn:
      case Op::IToScalar:
        ++sp_;
        --isp_;
        break;
      case Op::StoreLocal:
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Pow:
      case Op::Atan2:
      case Op::Hypot:
      case Op::Min:
      case Op::Max:
      case Op::LoopSumEnd:
      case Op::LoopProdEnd: --sp_; break;
      case Op::IConst:
      case Op::ILoadLoop: ++isp_; break;
      case Op::IAdd:
      case Op::ISub:
      case Op::IMul: --isp_; break;
      default: break;
    }
    if (op == Op::LoopBegin) isp_ -= 2;
    if (sp_ > detail::kMaxStack || isp_ > detail::kMaxIntStack) {
      fail(source_, options_.source_name, pos,
           "expression nested too deeply for the evaluator (more than " + std::to_string(detail::kMaxStack) +
               " pending values); split it with bindings 'name = ...;'");
    }
  }

  void emit_scalar(const Node& root) {
    tasks_.push_back({Step::Scalar, &root});
    while (!tasks_.empty()) {
      const Task task = tasks_.back();
      tasks_.pop_back();
      run(task);
    }
  }

  // Pushes steps to run in the given order (the work list is a stack).
  void then(std::initializer_list<Task> steps) {
    for (auto it = std::rbegin(steps); it != std::rend(steps); ++it) tasks_.push_back(*it);
  }

  void run(const Task& task) {
    const Node& node = *task.node;
    switch (task.step) {
      case Step::Scalar: return run_scalar(node);
      case Step::Integer: return run_integer(node);
      case Step::Emit: emit(task.op, node.pos, task.a); return;
      case Step::BeginLoop: {
        const double identity = node.op == Op::LoopSumEnd ? 0.0 : 1.0;
        loop_begins_.push_back(emit(Op::LoopBegin, node.pos, node.index, 0, identity));
        const std::uint64_t outer = loop_weights_.empty() ? 1 : loop_weights_.back();
        loop_weights_.push_back(saturating_mul(outer, trip_count_bound(node)));
        open_loops_.push_back(&node);
        return;
      }
      case Step::EndLoop: {
        const int begin = loop_begins_.back();
        loop_begins_.pop_back();
        emit(node.op, node.pos, node.index, begin + 1);  // runs once per trip: weighted inside the loop
        loop_weights_.pop_back();
        open_loops_.pop_back();
        code[std::size_t(begin)].b = int(code.size());
        return;
      }
    }
  }

  void run_integer(const Node& node) {
    switch (node.kind) {
      case NodeKind::Number: emit(Op::IConst, node.pos, int(node.value)); return;
      case NodeKind::LoopIndex: emit(Op::ILoadLoop, node.pos, node.index); return;
      case NodeKind::Unary: then({{Step::Integer, node.kids[0].get()}, {Step::Emit, &node, Op::INeg}}); return;
      case NodeKind::Binary: {
        const Op op = node.op == Op::Add ? Op::IAdd : node.op == Op::Sub ? Op::ISub : Op::IMul;
        then({{Step::Integer, node.kids[0].get()}, {Step::Integer, node.kids[1].get()}, {Step::Emit, &node, op}});
        return;
      }
      default: fail(source_, options_.source_name, node.pos, "internal error: not an integer expression");
    }
  }

  void run_scalar(const Node& node) {
    if (node.is_int && node.kind != NodeKind::Number) {
      then({{Step::Integer, &node}, {Step::Emit, &node, Op::IToScalar}});
      return;
    }
    switch (node.kind) {
      case NodeKind::Number: emit(Op::Const, node.pos, 0, 0, node.value); return;
      case NodeKind::Variable: emit(Op::LoadX, node.pos, node.index); return;
      case NodeKind::IndexedX: then({{Step::Integer, node.kids[0].get()}, {Step::Emit, &node, Op::LoadXDyn}}); return;
      case NodeKind::Local: emit(Op::LoadLocal, node.pos, node.index); return;
      case NodeKind::LoopIndex: break;  // integer: handled above
      case NodeKind::Unary: then({{Step::Scalar, node.kids[0].get()}, {Step::Emit, &node, node.op}}); return;
      case NodeKind::Binary: {
        const Node& exponent = *node.kids[1];
        if (node.op == Op::Pow && exponent.kind == NodeKind::Number && exponent.is_int &&
            std::fabs(exponent.value) <= 64) {
          // x^2: multiplications, exact and fast
          then({{Step::Scalar, node.kids[0].get()}, {Step::Emit, &node, Op::PowI, int(exponent.value)}});
          return;
        }
        then({{Step::Scalar, node.kids[0].get()}, {Step::Scalar, &exponent}, {Step::Emit, &node, node.op}});
        return;
      }
      case NodeKind::Reduce:
        then({{Step::Integer, node.kids[0].get()},
              {Step::Integer, node.kids[1].get()},
              {Step::BeginLoop, &node},
              {Step::Scalar, node.kids[2].get()},
              {Step::EndLoop, &node}});
        return;
    }
    fail(source_, options_.source_name, node.pos, "internal error: unknown node");
  }

  const std::string& source_;
  const ExpressionOptions& options_;
  int sp_ = 0;
  int isp_ = 0;
  std::vector<Task> tasks_;
  std::vector<int> loop_begins_;             // LoopBegin of each open loop, to patch its exit jump
  std::vector<std::uint64_t> loop_weights_;  // product of the open loops' trip-count bounds
  std::vector<const Node*> open_loops_;
  std::uint64_t work_ = 0;  // upper bound on instructions executed per evaluation
  SourcePosition work_limit_pos_;
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
  expr::SyntaxTree tree = expr::parse(tokens, source, options);
  const bool indices_proven = expr::check_integer_ranges(tree, source, options);
  expr::Emitter emitter(source, options);
  emitter.emit_tree(tree);
  CompiledFunction f(std::move(emitter.code), std::move(emitter.positions), options.dimension, source);
  if (indices_proven) return f;

  // Some index's range reaches outside 0..n-1 (ranges over-approximate: x[i-j] for j <= i). Dry run at the
  // origin, exact and bounded by kMaxWorkPerEvaluation: reports the first x[...] whose index leaves 0..n-1.
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
