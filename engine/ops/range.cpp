// Range. Inputs start, limit, delta: scalars of one dtype (float32, int64, int32), constants or
// known at prepare. Output 1-D, length max(ceil((limit - start) / delta), 0), element
// i = start + i * delta. A small Range is evaluated once at prepare by the session; a large one
// fills its output in run().
#include <cmath>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class RangeOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 3, 3, 1, 1));
    dtype_ = ctx.in(0).dtype;
    if (dtype_ != DType::F32 && dtype_ != DType::I64 && dtype_ != DType::I32)
      return ctx.fail(StatusCode::kUnsupported, describe("start", ctx.in(0)) + " has dtype " + dtype_name(dtype_) +
                                                    "; Range takes float32, int64 or int32");
    for (size_t k = 1; k < 3; ++k)
      if (ctx.in(k).dtype != dtype_)
        return ctx.fail(StatusCode::kInvalidModel, describe("input", ctx.in(k)) + " is " + dtype_name(ctx.in(k).dtype) +
                                                       " but start is " + dtype_name(dtype_));
    double fs, fl, fd;
    int64_t is, il, id;
    POCKET_RETURN_IF_ERROR(prepare_scalar(ctx, 0, "start", &fs, &is));
    POCKET_RETURN_IF_ERROR(prepare_scalar(ctx, 1, "limit", &fl, &il));
    POCKET_RETURN_IF_ERROR(prepare_scalar(ctx, 2, "delta", &fd, &id));
    int64_t n = 0;
    if (dtype_ == DType::F32) {
      if (fd == 0 || !std::isfinite(fs) || !std::isfinite(fl) || !std::isfinite(fd))
        return ctx.fail(StatusCode::kInvalidModel, "start, limit and delta must be finite with delta != 0");
      const float s = static_cast<float>(fs), l = static_cast<float>(fl), d = static_cast<float>(fd);
      const double len = std::ceil((static_cast<double>(l) - s) / d);
      if (len > static_cast<double>(int64_t{1} << 40))
        return ctx.fail(StatusCode::kInvalidModel, "the output would have " + std::to_string(len) + " elements");
      n = len > 0 ? static_cast<int64_t>(len) : 0;
      fstart_ = s;
      fdelta_ = d;
    } else {
      if (id == 0) return ctx.fail(StatusCode::kInvalidModel, "delta is 0");
      // ceil((l - s) / d) without overflow for the int32/int64 ranges a model can hold.
      const __int128 span = static_cast<__int128>(il) - is;
      __int128 len = span / id;
      if (len * id != span && ((span > 0) == (id > 0))) ++len;
      if (len > (static_cast<__int128>(1) << 40))
        return ctx.fail(StatusCode::kInvalidModel, "the output would have more than 2^40 elements");
      n = len > 0 ? static_cast<int64_t>(len) : 0;
      istart_ = is;
      idelta_ = id;
    }
    ctx.out(0).dtype = dtype_;
    ctx.out(0).shape = {n};
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& y = ctx.out(0);
    const int64_t n = y.elements();
    switch (dtype_) {
      case DType::F32:
        for (int64_t i = 0; i < n; ++i) y.as<float>()[i] = fstart_ + static_cast<float>(i) * fdelta_;
        break;
      case DType::I64:
        for (int64_t i = 0; i < n; ++i) y.as<int64_t>()[i] = element(i);
        break;
      default:
        for (int64_t i = 0; i < n; ++i) y.as<int32_t>()[i] = static_cast<int32_t>(element(i));
        break;
    }
  }
  std::string kernel_name() const override { return "range"; }

 private:
  // start + i * delta. Every element lies between start and limit, so it fits, but i * delta alone
  // need not (start near INT64_MAX, delta near -INT64_MAX / 9): computed modulo 2^64, exact.
  int64_t element(int64_t i) const {
    return static_cast<int64_t>(static_cast<uint64_t>(istart_) +
                                static_cast<uint64_t>(i) * static_cast<uint64_t>(idelta_));
  }

  DType dtype_ = DType::F32;
  float fstart_ = 0, fdelta_ = 1;
  int64_t istart_ = 0, idelta_ = 1;
};

}  // namespace

std::unique_ptr<Op> make_range_op() { return std::make_unique<RangeOp>(); }

}  // namespace pocket
