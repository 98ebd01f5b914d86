#include "engine/op.h"

#include <cstring>

namespace pocket {

const fb::Attribute* Attrs::find(const char* name) const {
  if (!node_ || !node_->attributes()) return nullptr;
  for (const fb::Attribute* a : *node_->attributes()) {
    if (a && a->name() && std::strcmp(a->name()->c_str(), name) == 0) return a;
  }
  return nullptr;
}

int64_t Attrs::i(const char* name, int64_t fallback) const {
  const fb::Attribute* a = find(name);
  if (!a) return fallback;
  if (a->type() == fb::AttrType::Float) {
    // A float attribute read as an integer: NaN, infinities and values beyond int64 (a hostile
    // file) fall back instead of an undefined conversion.
    const float v = a->f();
    if (!(v > -9.2e18f && v < 9.2e18f)) return fallback;
    return static_cast<int64_t>(v);
  }
  return a->i();
}

float Attrs::f(const char* name, float fallback) const {
  const fb::Attribute* a = find(name);
  if (!a) return fallback;
  if (a->type() == fb::AttrType::Int) return static_cast<float>(a->i());
  return a->f();
}

std::string Attrs::s(const char* name, const std::string& fallback) const {
  const fb::Attribute* a = find(name);
  if (!a || !a->s()) return fallback;
  return a->s()->str();
}

std::vector<int64_t> Attrs::ints(const char* name, std::vector<int64_t> fallback) const {
  const fb::Attribute* a = find(name);
  if (!a || !a->ints()) return fallback;
  return std::vector<int64_t>(a->ints()->begin(), a->ints()->end());
}

std::vector<float> Attrs::floats(const char* name, std::vector<float> fallback) const {
  const fb::Attribute* a = find(name);
  if (!a || !a->floats()) return fallback;
  return std::vector<float>(a->floats()->begin(), a->floats()->end());
}

std::string OpContext::op_name() const {
  std::string s = node ? fb::EnumNameOpType(node->op()) : "?";
  if (node && node->name() && node->name()->size()) s += " '" + node->name()->str() + "'";
  return s;
}

Status OpContext::fail(StatusCode code, const std::string& what) const {
  return Status(code, op_name() + ": " + what);
}

OpFactory op_factory(fb::OpType op) {
  static const OpTable table = [] {
    OpTable t;
    register_nn_ops(t);
    register_tensor_ops(t);
    register_elementwise_ops(t);
    register_quant_ops(t);
    return t;
  }();
  int i = static_cast<int>(op);
  if (i < 0 || i > static_cast<int>(fb::OpType::MAX)) return nullptr;
  return table.factories[i];
}

}  // namespace pocket
