// ONNX backend conformance runner over ../shared/onnx-backend-tests (see its README.md).
//
// Every case is converted in memory (converter library), loaded, run and compared with the
// expected outputs written by the ONNX and PyTorch projects. Each case ends up passed, failed
// (with the worst error) or unsupported (with the converter's or engine's reason). The runner
// prints a table and per-suite counts, and exits non-zero if any *required* case did not pass:
//   - pytorch-converted/ and pytorch-operator/: every case except the 3-D ones (Conv3d,
//     AvgPool3d, MaxPool3d, BatchNorm3d, PReLU_3d), which may be unsupported;
//   - light/: all nine CNNs.
// simple/ (sequences, strings, gradients, runtime shapes) is reported but not required.
// float64 tensors stay float64 (.pocket's F64): their inputs are bound and their outputs compared
// as doubles, so values float32 cannot hold (1e-309, 1e198 in some PyTorch cases) must come out
// right.
//
// Tolerances: ONNX's |out - ref| <= atol + rtol * |ref|. Node suites use rtol 1e-3 and
// atol 1e-5 (ONNX uses 1e-7; the looser atol absorbs float32 accumulation-order noise on values
// near zero, e.g. sums of many products that cancel). Light models use rtol 1e-3 (2e-3 for
// DenseNet-121) and ONNX's atol 1e-7. Integer and bool outputs must match exactly.
//
// Each case runs in a forked child (unless --no-fork) so a crash or a hang in one case is
// reported as that case's failure and the rest still run.
//
// Usage: pocket_conformance [--dir DIR] [--suite NAME]... [--case SUBSTRING] [--threads N]
//                           [--timeout SECONDS] [--no-fork] [--quiet]
// DIR defaults to $POCKET_ONNX_BACKEND_TESTS, else the path configured by CMake. Exit status:
// 0 every required case selected passed, 1 some did not, 2 usage error, 77 data absent (skip).
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"
#include "engine/session.h"

namespace fs = std::filesystem;

namespace pocket {
namespace {

enum class Outcome { kPassed, kFailed, kUnsupported };

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPassed: return "passed";
    case Outcome::kFailed: return "FAILED";
    case Outcome::kUnsupported: return "unsupported";
  }
  return "?";
}

struct CaseResult {
  Outcome outcome = Outcome::kFailed;
  double max_abs_err = 0;   // worst |out - ref| over all outputs and data sets
  double worst_excess = 0;  // worst |out - ref| / (atol + rtol |ref|); > 1 fails
  double seconds = 0;
  std::string detail;
};

struct Case {
  std::string suite, name;
  fs::path model;            // model.onnx or light_<net>.onnx
  fs::path dir;              // node suites: the case folder with test_data_set_N/
  fs::path light_output;     // light: light_<net>_output_0.pb
  bool required = false;
  double rtol = 1e-3, atol = 1e-5;
};

// ---------------------------------------------------------------------------------------------
// Host tensors read from onnx.TensorProto.

struct HostTensor {
  int32_t elem_type = 0;     // onnx::TensorProto_DataType
  Shape dims;
  std::vector<double> values;   // floating types
  std::vector<int64_t> ints;    // integer and bool types
  bool is_float() const {
    return elem_type == onnx::TensorProto::FLOAT || elem_type == onnx::TensorProto::DOUBLE ||
           elem_type == onnx::TensorProto::FLOAT16 || elem_type == onnx::TensorProto::BFLOAT16;
  }
  size_t size() const { return is_float() ? values.size() : ints.size(); }
};

const char* onnx_type_name(int32_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return "float32";
    case onnx::TensorProto::DOUBLE: return "float64";
    case onnx::TensorProto::FLOAT16: return "float16";
    case onnx::TensorProto::BFLOAT16: return "bfloat16";
    case onnx::TensorProto::INT64: return "int64";
    case onnx::TensorProto::INT32: return "int32";
    case onnx::TensorProto::INT16: return "int16";
    case onnx::TensorProto::INT8: return "int8";
    case onnx::TensorProto::UINT8: return "uint8";
    case onnx::TensorProto::UINT16: return "uint16";
    case onnx::TensorProto::UINT32: return "uint32";
    case onnx::TensorProto::UINT64: return "uint64";
    case onnx::TensorProto::BOOL: return "bool";
    case onnx::TensorProto::STRING: return "string";
    default: return "other";
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(man), -24);
  } else if (exp == 31) {
    f = man ? NAN : INFINITY;
  } else {
    f = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= sign;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <class T>
std::vector<T> raw_as(const std::string& raw) {
  std::vector<T> v(raw.size() / sizeof(T));
  std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
  return v;
}

// "" on success, else why the tensor cannot be used.
std::string from_proto(const onnx::TensorProto& p, HostTensor* t) {
  t->elem_type = p.data_type();
  t->dims.assign(p.dims().begin(), p.dims().end());
  if (p.data_location() == onnx::TensorProto::EXTERNAL) return "tensor data stored externally";
  const int64_t n = num_elements(t->dims);
  if (n < 0) return "bad tensor dims " + shape_str(t->dims);
  const bool raw = p.has_raw_data();
  const std::string& r = p.raw_data();
  auto fill_f = [&](const auto& src) { t->values.assign(src.begin(), src.end()); };
  auto fill_i = [&](const auto& src) { t->ints.assign(src.begin(), src.end()); };
  switch (p.data_type()) {
    case onnx::TensorProto::FLOAT: raw ? fill_f(raw_as<float>(r)) : fill_f(p.float_data()); break;
    case onnx::TensorProto::DOUBLE: raw ? fill_f(raw_as<double>(r)) : fill_f(p.double_data()); break;
    case onnx::TensorProto::FLOAT16: {
      std::vector<uint16_t> bits;
      if (raw) bits = raw_as<uint16_t>(r);
      else for (int32_t b : p.int32_data()) bits.push_back(static_cast<uint16_t>(b));
      for (uint16_t b : bits) t->values.push_back(half_to_float(b));
      break;
    }
    case onnx::TensorProto::INT64: raw ? fill_i(raw_as<int64_t>(r)) : fill_i(p.int64_data()); break;
    case onnx::TensorProto::INT32: raw ? fill_i(raw_as<int32_t>(r)) : fill_i(p.int32_data()); break;
    case onnx::TensorProto::INT16: raw ? fill_i(raw_as<int16_t>(r)) : fill_i(p.int32_data()); break;
    case onnx::TensorProto::INT8: raw ? fill_i(raw_as<int8_t>(r)) : fill_i(p.int32_data()); break;
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: raw ? fill_i(raw_as<uint8_t>(r)) : fill_i(p.int32_data()); break;
    case onnx::TensorProto::UINT16: raw ? fill_i(raw_as<uint16_t>(r)) : fill_i(p.int32_data()); break;
    case onnx::TensorProto::UINT32: raw ? fill_i(raw_as<uint32_t>(r)) : fill_i(p.uint64_data()); break;
    default:
      return std::string("tensors of type ") + onnx_type_name(p.data_type()) + " are not supported";
  }
  if (static_cast<int64_t>(t->size()) != n)
    return "tensor has " + std::to_string(t->size()) + " values for dims " + shape_str(t->dims);
  return "";
}

bool read_file(const fs::path& path, std::string* bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  bytes->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

std::string read_tensor(const fs::path& path, HostTensor* t) {
  std::string bytes;
  if (!read_file(path, &bytes)) return "cannot read " + path.string();
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes))
    return path.filename().string() + " is not a TensorProto (a sequence or map?)";
  return from_proto(p, t);
}

// Host values -> bytes of the session's dtype. "" on success.
std::string to_dtype(const HostTensor& t, DType dtype, std::vector<uint8_t>* bytes) {
  const size_t n = t.size();
  auto put = [&](auto tag) {
    using T = decltype(tag);
    bytes->resize(n * sizeof(T));
    T* out = reinterpret_cast<T*>(bytes->data());
    for (size_t i = 0; i < n; ++i)
      out[i] = t.is_float() ? static_cast<T>(t.values[i]) : static_cast<T>(t.ints[i]);
  };
  const bool f64 = t.elem_type == onnx::TensorProto::DOUBLE;
  if (t.is_float() && dtype != (f64 ? DType::F64 : DType::F32))
    return std::string("a ") + onnx_type_name(t.elem_type) + " input bound to a " +
           dtype_name(dtype) + " model input";
  switch (dtype) {
    case DType::F64: put(double{}); return "";
    case DType::F32: put(float{}); return "";
    case DType::I64: put(int64_t{}); return "";
    case DType::I32: put(int32_t{}); return "";
    case DType::I8: put(int8_t{}); return "";
    case DType::U8:
    case DType::BOOL: put(uint8_t{}); return "";
    default: return std::string("model inputs of dtype ") + dtype_name(dtype) + " are not supported";
  }
}

// Session output -> doubles (or int64s for integer dtypes). "" on success.
std::string from_value(const Value& v, std::vector<double>* f, std::vector<int64_t>* i) {
  const int64_t n = v.elements();
  auto get = [&](auto tag, auto* dst) {
    using T = decltype(tag);
    const T* p = v.as<const T>();
    dst->assign(p, p + n);
  };
  switch (v.dtype) {
    case DType::F64: get(double{}, f); return "";
    case DType::F32: get(float{}, f); return "";
    case DType::I64: get(int64_t{}, i); return "";
    case DType::I32: get(int32_t{}, i); return "";
    case DType::I8: get(int8_t{}, i); return "";
    case DType::U8:
    case DType::BOOL: get(uint8_t{}, i); return "";
    default: return std::string("outputs of dtype ") + dtype_name(v.dtype) + " are not compared";
  }
}

// ---------------------------------------------------------------------------------------------
// One case.

struct GraphIo {
  std::vector<std::string> inputs, outputs;  // non-initializer inputs, outputs, in order
  std::vector<Shape> input_shapes;
};

std::string graph_io(const std::string& model_bytes, GraphIo* io) {
  onnx::ModelProto m;
  if (!m.ParseFromString(model_bytes)) return "model.onnx is not a ModelProto";
  std::vector<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.push_back(t.name());
  for (const auto& in : m.graph().input()) {
    if (std::find(inits.begin(), inits.end(), in.name()) != inits.end()) continue;
    io->inputs.push_back(in.name());
    Shape s;
    for (const auto& d : in.type().tensor_type().shape().dim())
      s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    io->input_shapes.push_back(s);
  }
  for (const auto& out : m.graph().output()) io->outputs.push_back(out.name());
  return "";
}

// Compares one output; updates result's errors. "" when within tolerance.
std::string compare(const std::string& what, const Value& v, const HostTensor& ref, const Case& c,
                    CaseResult* r) {
  if (shape_str(v.shape) != shape_str(ref.dims))
    return what + ": shape " + shape_str(v.shape) + ", expected " + shape_str(ref.dims);
  std::vector<double> f;
  std::vector<int64_t> ints;
  if (std::string e = from_value(v, &f, &ints); !e.empty()) return what + ": " + e;
  const size_t n = ref.size();
  char buf[256];
  if (!ref.is_float() || !ints.empty()) {
    // Integer (or bool) reference, or integer output: exact match.
    if (ref.is_float() || !f.empty())
      return what + ": dtype " + dtype_name(v.dtype) + ", expected " + onnx_type_name(ref.elem_type);
    for (size_t i = 0; i < n; ++i)
      if (ints[i] != ref.ints[i]) {
        std::snprintf(buf, sizeof buf, "%s[%zu] = %lld, expected %lld", what.c_str(), i,
                      static_cast<long long>(ints[i]), static_cast<long long>(ref.ints[i]));
        r->max_abs_err = std::max(r->max_abs_err, std::fabs(double(ints[i] - ref.ints[i])));
        r->worst_excess = INFINITY;
        return buf;
      }
    return "";
  }
  size_t worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < n; ++i) {
    const double a = f[i], b = ref.values[i];
    double err = std::fabs(a - b), excess;
    if (std::isnan(a) && std::isnan(b)) {
      err = 0, excess = 0;
    } else if (std::isinf(b) && a == b) {
      err = 0, excess = 0;
    } else {
      excess = std::isnan(err) ? INFINITY : err / (c.atol + c.rtol * std::fabs(b));
      if (std::isnan(err)) err = INFINITY;
    }
    r->max_abs_err = std::max(r->max_abs_err, err);
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  r->worst_excess = std::max(r->worst_excess, worst_excess);
  if (worst_excess <= 1) return "";
  std::snprintf(buf, sizeof buf, "%s[%zu] = %.7g, expected %.7g (|err| %.3g > %.1e + %.1e*|ref|)",
                what.c_str(), worst, f[worst], ref.values[worst], std::fabs(f[worst] - ref.values[worst]),
                c.atol, c.rtol);
  return buf;
}

bool is_unsupported(const Status& s) { return s.code() == StatusCode::kUnsupported; }

std::string first_line(const std::string& s) {
  const std::string line = s.substr(0, s.find('\n'));
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

CaseResult run_case(const Case& c, int threads) {
  CaseResult r;
  auto fail = [&](Outcome o, std::string why) {
    r.outcome = o;
    r.detail = std::move(why);
    return r;
  };
  std::string model_bytes;
  if (!read_file(c.model, &model_bytes)) return fail(Outcome::kFailed, "cannot read " + c.model.string());
  GraphIo io;
  if (std::string e = graph_io(model_bytes, &io); !e.empty()) return fail(Outcome::kFailed, e);

  converter::ConvertOptions options;
  converter::ConvertReport report;
  auto bytes = converter::convert_onnx_bytes(model_bytes.data(), model_bytes.size(), options, &report);
  if (!bytes.ok())
    return fail(is_unsupported(bytes.status()) ? Outcome::kUnsupported : Outcome::kFailed,
                "convert: " + first_line(bytes.status().message()));
  auto model = Model::load_buffer(bytes->data(), bytes->size());
  if (!model.ok()) return fail(Outcome::kFailed, "load: " + first_line(model.status().message()));
  std::vector<uint8_t>().swap(*bytes);
  SessionOptions so;
  so.num_threads = threads;
  auto session = Session::create(*model, so);
  if (!session.ok())
    return fail(is_unsupported(session.status()) ? Outcome::kUnsupported : Outcome::kFailed,
                "session: " + first_line(session.status().message()));
  Session& s = **session;

  // Expected data: node suites from test_data_set_N/, light models from one output file.
  struct DataSet {
    std::string name;
    std::vector<HostTensor> inputs, outputs;
  };
  std::vector<DataSet> sets;
  if (!c.light_output.empty()) {
    DataSet d{"light", {}, {}};
    if (io.inputs.empty() || num_elements(io.input_shapes[0]) <= 0)
      return fail(Outcome::kFailed, "light model without a static first input");
    HostTensor x;
    x.elem_type = onnx::TensorProto::FLOAT;
    x.dims = io.input_shapes[0];
    const int64_t n = num_elements(x.dims);
    x.values.resize(n);
    for (int64_t i = 0; i < n; ++i)  // arange(n).reshape(shape) / n, in float32
      x.values[i] = static_cast<float>(static_cast<double>(i) / static_cast<double>(n));
    d.inputs.push_back(std::move(x));
    HostTensor y;
    if (std::string e = read_tensor(c.light_output, &y); !e.empty()) return fail(Outcome::kFailed, e);
    d.outputs.push_back(std::move(y));
    sets.push_back(std::move(d));
  } else {
    for (int n = 0;; ++n) {
      const fs::path dir = c.dir / ("test_data_set_" + std::to_string(n));
      if (!fs::is_directory(dir)) break;
      DataSet d{dir.filename().string(), {}, {}};
      for (int k = 0; fs::exists(dir / ("input_" + std::to_string(k) + ".pb")); ++k) {
        HostTensor t;
        if (std::string e = read_tensor(dir / ("input_" + std::to_string(k) + ".pb"), &t); !e.empty())
          return fail(Outcome::kUnsupported, "input_" + std::to_string(k) + ": " + e);
        d.inputs.push_back(std::move(t));
      }
      for (int k = 0; fs::exists(dir / ("output_" + std::to_string(k) + ".pb")); ++k) {
        HostTensor t;
        if (std::string e = read_tensor(dir / ("output_" + std::to_string(k) + ".pb"), &t); !e.empty())
          return fail(Outcome::kUnsupported, "output_" + std::to_string(k) + ": " + e);
        d.outputs.push_back(std::move(t));
      }
      sets.push_back(std::move(d));
    }
    if (sets.empty()) return fail(Outcome::kFailed, "no test_data_set_N folders");
  }

  for (const DataSet& d : sets) {
    if (d.inputs.size() != io.inputs.size())
      return fail(Outcome::kFailed, d.name + " has " + std::to_string(d.inputs.size()) +
                                        " inputs, the model " + std::to_string(io.inputs.size()));
    for (size_t k = 0; k < d.inputs.size(); ++k) {  // .pb names may be empty: map by position
      const std::string& name = io.inputs[k];
      const int idx = s.find_input(name);
      if (idx < 0) return fail(Outcome::kFailed, "converted model has no input '" + name + "'");
      const HostTensor& t = d.inputs[k];
      const DType want = s.input(idx).dtype;
      std::vector<uint8_t> data;
      if (std::string e = to_dtype(t, want, &data); !e.empty())
        return fail(Outcome::kUnsupported, "input '" + name + "': " + e);
      Status st = s.set_input(name, want, t.dims, data.data());
      if (!st.ok() && shape_str(s.input(idx).shape) != shape_str(t.dims)) {
        st = s.resize_input(name, t.dims);
        if (st.ok()) st = s.set_input(name, want, t.dims, data.data());
      }
      if (!st.ok()) return fail(Outcome::kFailed, "set_input '" + name + "': " + first_line(st.message()));
    }
    s.run();
    if (d.outputs.size() > io.outputs.size())
      return fail(Outcome::kFailed, d.name + " expects more outputs than the model has");
    for (size_t k = 0; k < d.outputs.size(); ++k) {
      const int idx = s.find_output(io.outputs[k]);
      if (idx < 0)
        return fail(Outcome::kFailed, "converted model has no output '" + io.outputs[k] + "'");
      std::string e = compare("output '" + io.outputs[k] + "'", s.output(idx), d.outputs[k], c, &r);
      if (!e.empty()) return fail(Outcome::kFailed, e);
    }
  }
  r.outcome = Outcome::kPassed;
  r.detail = std::to_string(sets.size()) + " data set(s)";
  return r;
}

// Runs a case in a child process so that a crash or hang is that case's failure.
CaseResult run_case_isolated(const Case& c, int threads, int timeout_s) {
  int fds[2];
  if (pipe(fds) != 0) return run_case(c, threads);
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return run_case(c, threads);
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(timeout_s));
    const CaseResult r = run_case(c, threads);
    char head[128];
    const int len = std::snprintf(head, sizeof head, "%d %.17g %.17g\n",
                                  static_cast<int>(r.outcome), r.max_abs_err, r.worst_excess);
    std::string msg(head, len);
    msg += r.detail;
    for (size_t off = 0; off < msg.size();) {
      const ssize_t w = write(fds[1], msg.data() + off, msg.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, got);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CaseResult r;
  if (WIFSIGNALED(status)) {
    r.outcome = Outcome::kFailed;
    r.detail = WTERMSIG(status) == SIGALRM
                   ? "timed out after " + std::to_string(timeout_s) + " s"
                   : std::string("crashed: ") + strsignal(WTERMSIG(status));
    return r;
  }
  int outcome = 1, consumed = 0;
  // sscanf, unlike istream, reads "inf" and "nan".
  if (std::sscanf(msg.c_str(), "%d %lf %lf%n", &outcome, &r.max_abs_err, &r.worst_excess,
                  &consumed) != 3) {
    r.outcome = Outcome::kFailed;
    r.detail = "child exited with status " + std::to_string(WEXITSTATUS(status)) + " and no result";
    return r;
  }
  r.detail = msg.substr(std::min(msg.size(), static_cast<size_t>(consumed) + 1));
  r.outcome = static_cast<Outcome>(outcome);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Discovery and reporting.

bool optional_3d(const std::string& name) {
  for (const char* p : {"test_Conv3d", "test_AvgPool3d", "test_MaxPool3d", "test_BatchNorm3d",
                        "test_PReLU_3d"})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

std::vector<Case> discover(const fs::path& root, const std::vector<std::string>& suites,
                           const std::string& filter) {
  std::vector<Case> cases;
  auto wanted = [&](const std::string& suite) {
    return suites.empty() || std::find(suites.begin(), suites.end(), suite) != suites.end();
  };
  for (const char* suite : {"pytorch-converted", "pytorch-operator", "simple"}) {
    if (!wanted(suite) || !fs::is_directory(root / suite)) continue;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root / suite))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& d : dirs) {
      Case c;
      c.suite = suite;
      c.name = d.filename().string();
      c.model = d / "model.onnx";
      c.dir = d;
      c.required = c.suite != "simple" && !optional_3d(c.name);
      if (filter.empty() || c.name.find(filter) != std::string::npos) cases.push_back(c);
    }
  }
  if (wanted("light") && fs::is_directory(root / "light")) {
    std::vector<fs::path> models;
    for (const auto& e : fs::directory_iterator(root / "light"))
      if (e.path().extension() == ".onnx") models.push_back(e.path());
    std::sort(models.begin(), models.end());
    for (const fs::path& m : models) {
      Case c;
      c.suite = "light";
      c.name = m.stem().string();
      c.model = m;
      c.light_output = m.parent_path() / (c.name + "_output_0.pb");
      c.required = true;
      c.rtol = c.name.find("densenet121") != std::string::npos ? 2e-3 : 1e-3;
      c.atol = 1e-7;
      if (filter.empty() || c.name.find(filter) != std::string::npos) cases.push_back(c);
    }
  }
  return cases;
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--dir DIR] [--suite pytorch-converted|pytorch-operator|simple|light]...\n"
               "          [--case SUBSTRING] [--threads N] [--timeout SECONDS] [--no-fork] [--quiet]\n",
               argv0);
  return 2;
}

int main_impl(int argc, char** argv) {
  std::string dir, filter;
  std::vector<std::string> suites;
  int threads = 1, timeout_s = 600;
  bool fork_cases = true, quiet = false;
  if (const char* env = std::getenv("POCKET_ONNX_BACKEND_TESTS"); env && *env) dir = env;
#ifdef POCKET_ONNX_BACKEND_TESTS_DIR
  if (dir.empty()) dir = POCKET_ONNX_BACKEND_TESTS_DIR;
#endif
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--dir" && (v = next())) dir = v;
    else if (a == "--suite" && (v = next())) suites.push_back(v);
    else if (a == "--case" && (v = next())) filter = v;
    else if (a == "--threads" && (v = next())) threads = std::max(1, std::atoi(v));
    else if (a == "--timeout" && (v = next())) timeout_s = std::max(1, std::atoi(v));
    else if (a == "--no-fork") fork_cases = false;
    else if (a == "--quiet") quiet = true;
    else return usage(argv[0]);
  }
  if (dir.empty() || !fs::is_directory(dir)) {
    std::printf("conformance: SKIPPED: ONNX backend test data not found at '%s' "
                "(set POCKET_ONNX_BACKEND_TESTS or --dir)\n", dir.c_str());
    return 77;
  }
  const std::vector<Case> cases = discover(dir, suites, filter);
  if (cases.empty()) {
    std::printf("conformance: no cases selected under %s\n", dir.c_str());
    return 2;
  }
  std::printf("conformance: %zu case(s) from %s, %d thread(s)\n", cases.size(), dir.c_str(), threads);

  struct Counts { int passed = 0, failed = 0, unsupported = 0; };
  std::map<std::string, Counts> per_suite;
  std::vector<std::pair<const Case*, CaseResult>> missed;
  Counts required;
  int required_total = 0;
  std::printf("%-18s %-52s %-4s %-11s %9s %7s  %s\n", "suite", "case", "req", "result", "max|err|",
              "seconds", "detail");
  for (const Case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    CaseResult r = fork_cases ? run_case_isolated(c, threads, timeout_s) : run_case(c, threads);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Counts& sc = per_suite[c.suite];
    (r.outcome == Outcome::kPassed ? sc.passed
     : r.outcome == Outcome::kFailed ? sc.failed : sc.unsupported)++;
    if (c.required) {
      ++required_total;
      if (r.outcome == Outcome::kPassed) ++required.passed;
      else missed.emplace_back(&c, r);
    }
    if (!quiet || r.outcome != Outcome::kPassed) {
      char err[32] = "-";
      if (r.outcome != Outcome::kUnsupported) std::snprintf(err, sizeof err, "%.2e", r.max_abs_err);
      std::printf("%-18s %-52s %-4s %-11s %9s %7.2f  %s\n", c.suite.c_str(), c.name.c_str(),
                  c.required ? "yes" : "", outcome_name(r.outcome), err, r.seconds, r.detail.c_str());
      std::fflush(stdout);
    }
  }
  std::printf("\n%-18s %7s %7s %12s\n", "suite", "passed", "failed", "unsupported");
  for (const auto& [suite, n] : per_suite)
    std::printf("%-18s %7d %7d %12d\n", suite.c_str(), n.passed, n.failed, n.unsupported);
  std::printf("\nrequired cases: %d/%d passed, %zu not passed\n", required.passed, required_total,
              missed.size());
  for (const auto& [c, r] : missed)
    std::printf("  required %s/%s %s: %s\n", c->suite.c_str(), c->name.c_str(), outcome_name(r.outcome),
                r.detail.c_str());
  return missed.empty() ? 0 : 1;
}

}  // namespace
}  // namespace pocket

int main(int argc, char** argv) { return pocket::main_impl(argc, argv); }
