// Range (interval) analysis of the integer subexpressions: every value each one can take, computed in int64, so
// index and loop arithmetic that could overflow the interpreter's int32 is refused at compile time, at the node
// that overflows, and so that dynamic indices proven inside 0..n-1 need no dry run.
#include <algorithm>
#include <array>
#include <limits>

#include "expression/ast.hpp"

namespace hessa::expr {
namespace {

using detail::Op;

constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

// Interval arithmetic for + - * (operands already lie in int32, so no product leaves int64).
IntRange combine(Op op, IntRange a, IntRange b) {
  if (a.empty() || b.empty()) return {};
  if (op == Op::Add) return {a.lo + b.lo, a.hi + b.hi};
  if (op == Op::Sub) return {a.lo - b.hi, a.hi - b.lo};
  const std::array<std::int64_t, 4> corners = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
  return {*std::min_element(corners.begin(), corners.end()), *std::max_element(corners.begin(), corners.end())};
}

class RangeChecker {
 public:
  RangeChecker(const std::string& source, const ExpressionOptions& options) : source_(source), options_(options) {}

  // Post-order walk with an explicit stack: a flat sum is a left-nested chain tens of thousands of levels deep.
  // A loop slot gets its range once the loop's bounds are known, before its body is entered.
  void check(Node& root) {
    struct Frame {
      Node* node;
      std::size_t next_kid;
    };
    std::vector<Frame> stack{{&root, 0}};
    while (!stack.empty()) {
      Frame& top = stack.back();
      Node& node = *top.node;
      if (top.next_kid < node.kids.size()) {
        if (node.kind == NodeKind::Reduce && top.next_kid == 2) enter_loop(node);
        Node* kid = node.kids[top.next_kid++].get();
        stack.push_back({kid, 0});
        continue;
      }
      finish(node);
      stack.pop_back();
    }
  }

  bool all_indices_proven() const { return all_indices_proven_; }

 private:
  // The index runs from the lower bound's value to the upper bound's, so it stays in [min lo, max hi]; an empty
  // interval means the body never runs.
  void enter_loop(const Node& reduce) {
    const IntRange lo = reduce.kids[0]->range;
    const IntRange hi = reduce.kids[1]->range;
    loop_ranges_[std::size_t(reduce.index)] = lo.empty() || hi.empty() ? IntRange{} : IntRange{lo.lo, hi.hi};
  }

  void finish(Node& node) {
    if (node.kind == NodeKind::IndexedX) {
      const IntRange k = node.kids[0]->range;
      if (!k.empty() && (k.lo < 0 || k.hi > options_.dimension - 1)) all_indices_proven_ = false;
      return;
    }
    if (!node.is_int) return;
    switch (node.kind) {
      case NodeKind::Number: node.range = {std::int64_t(node.value), std::int64_t(node.value)}; break;
      case NodeKind::LoopIndex: node.range = loop_ranges_[std::size_t(node.index)]; break;
      case NodeKind::Unary: {
        const IntRange a = node.kids[0]->range;
        node.range = a.empty() ? IntRange{} : IntRange{-a.hi, -a.lo};
        break;
      }
      case NodeKind::Binary: node.range = combine(node.op, node.kids[0]->range, node.kids[1]->range); break;
      default: fail(source_, options_.source_name, node.pos, "internal error: unexpected integer node");
    }
    if (!node.range.empty() && (node.range.lo < kInt32Min || node.range.hi > kInt32Max)) {
      fail(source_, options_.source_name, node.pos,
           "integer expression can leave the 32-bit range: its value may be anywhere in [" +
               std::to_string(node.range.lo) + ", " + std::to_string(node.range.hi) + "] for the loop indices' " +
               "ranges, but index and bound arithmetic is limited to [" + std::to_string(kInt32Min) + ", " +
               std::to_string(kInt32Max) + "]");
    }
  }

  const std::string& source_;
  const ExpressionOptions& options_;
  std::array<IntRange, detail::kMaxLoopDepth> loop_ranges_{};
  bool all_indices_proven_ = true;
};

}  // namespace

bool check_integer_ranges(SyntaxTree& tree, const std::string& source, const ExpressionOptions& options) {
  RangeChecker checker(source, options);
  for (Binding& binding : tree.bindings) checker.check(*binding.value);
  checker.check(*tree.result);
  return checker.all_indices_proven();
}

}  // namespace hessa::expr
