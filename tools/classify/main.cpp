// pocket-classify: image classification with a .pocket model. Decodes PNG/JPEG (stb_image),
// preprocesses as the model's metadata says (or ImageNet defaults), runs, prints the top K.
// Runs through the public C/C++ API only.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "pocket/pocket.hpp"
#include "tools/classify/model_preprocessing.h"
#include "tools/common/args.h"
#include "tools/common/image.h"
#include "tools/common/tool_util.h"

namespace {

using pocket::api::shape_str;
using pocket::tools::report_error;
constexpr const char* kTool = "pocket-classify";

// True if v already is a probability vector (non-negative, sums to 1).
bool is_probability_vector(const float* v, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(v[i] >= 0.f && v[i] <= 1.f)) return false;
    sum += v[i];
  }
  return std::fabs(sum - 1.0) < 1e-3;
}

std::vector<float> softmax(const float* v, int64_t n) {
  std::vector<float> p(v, v + n);
  const float mx = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (float& x : p) {
    x = std::exp(x - mx);
    sum += x;
  }
  for (float& x : p) x = static_cast<float>(x / sum);
  return p;
}

}  // namespace

static int tool_main(int argc, char** argv) {
  std::vector<std::string> model_path, images;
  int64_t top = 5, threads = 1;
  pocket::tools::ArgParser args(
      kTool, "MODEL.pocket IMAGE... [--top K] [--threads N]",
      "Classifies images (PNG, JPEG, BMP, GIF, ...). Preprocessing comes from the model's metadata\n"
      "(size, layout, colour order, scale, mean/std, resize mode); without it, ImageNet defaults: shorter\n"
      "side resized to 256/224 of the input size, centre crop, scale 1/255, ImageNet mean/std. Softmax is\n"
      "applied unless the output already is a probability vector. Labels come from the metadata.");
  args.positional("MODEL.pocket", &model_path, 1, false, "the classifier");
  args.positional("IMAGE", &images, 1, true, "one or more image files");
  args.option_int("--top", "K", 1, 1000000, &top, "how many classes to print per image (default 5)");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }

  pocket::api::Model model;
  if (auto st = model.load(model_path[0]); !st.ok()) return report_error(kTool, "cannot load model: " + st.message);
  const pocket::tools::ModelPreprocessing meta = pocket::tools::read_model_preprocessing(model.get());
  std::string error;
  pocket::api::Session session;
  if (auto st = session.create(model, static_cast<int>(threads)); !st.ok())
    return report_error(kTool, "cannot prepare model '" + model_path[0] + "': " + st.message);

  // One image input: [N, C, H, W] or [N, H, W, C], float32 or uint8.
  if (session.num_inputs() != 1)
    return report_error(kTool, "an image classifier has one image input; this model has " + std::to_string(session.num_inputs()));
  pocket::api::TensorInfo in;
  (void)session.input_info(0, &in);
  if (in.shape.size() != 4 || (in.dtype != POCKET_F32 && in.dtype != POCKET_U8))
    return report_error(kTool, "input '" + in.name + "' is " + pocket::api::dtype_name(in.dtype) + " " +
                                   shape_str(in.shape) + "; an image input is float32 or uint8 of rank 4");
  std::string layout = meta.present ? meta.p.layout : "";
  if (layout.empty()) {
    if (in.shape[1] == 3 || in.shape[1] == 1) layout = "NCHW";
    else if (in.shape[3] == 3 || in.shape[3] == 1) layout = "NHWC";
    else return report_error(kTool, "cannot tell the layout of input '" + in.name + "' " + shape_str(in.shape) + " (no metadata)");
  }
  const bool nchw = layout == "NCHW";
  const int channels = static_cast<int>(nchw ? in.shape[1] : in.shape[3]);
  const int model_h = static_cast<int>(nchw ? in.shape[2] : in.shape[1]);
  const int model_w = static_cast<int>(nchw ? in.shape[3] : in.shape[2]);
  pocket::tools::Preprocessing pre = meta.present ? meta.p : pocket::tools::imagenet_preprocessing(model_w, model_h, layout);
  pre.layout = layout;
  if (pre.width <= 0) pre.width = model_w;
  if (pre.height <= 0) pre.height = model_h;
  if (!pocket::tools::validate_preprocessing(pre, channels, &error)) return report_error(kTool, error);
  if (pre.width != model_w || pre.height != model_h) {
    std::vector<int64_t> shape = nchw ? std::vector<int64_t>{in.shape[0], channels, pre.height, pre.width}
                                      : std::vector<int64_t>{in.shape[0], pre.height, pre.width, channels};
    if (auto st = session.resize_input(in.name, shape); !st.ok())
      return report_error(kTool, "model input '" + in.name + "' " + shape_str(in.shape) + " cannot take " +
                                     std::to_string(pre.width) + "x" + std::to_string(pre.height) + " images: " + st.message);
    (void)session.input_info(0, &in);
  }

  if (session.num_outputs() < 1) return report_error(kTool, "model has no outputs");
  pocket::api::TensorInfo out;
  (void)session.output_info(0, &out);
  const int64_t batch = std::max<int64_t>(in.shape[0], 1);
  if (out.dtype != POCKET_F32 || out.elements() <= 0 || out.elements() % batch != 0)
    return report_error(kTool, "output '" + out.name + "' is " + pocket::api::dtype_name(out.dtype) + " " +
                                   shape_str(out.shape) + "; expected float32 scores for a batch of " + std::to_string(batch));
  const int64_t classes = out.elements() / batch;
  const std::vector<std::string> labels = model.labels();

  // Decode and preprocess everything first, so a bad file stops us before any output.
  std::vector<pocket::tools::Image> ready(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    pocket::tools::Image decoded;
    if (!pocket::tools::load_image(images[i], &decoded, &error)) return report_error(kTool, error);
    if (!pocket::tools::resize_for_model(decoded, pre, &ready[i], &error))
      return report_error(kTool, "'" + images[i] + "': " + error);
  }

  const size_t per_image = static_cast<size_t>(in.elements() / batch);
  for (size_t first = 0; first < images.size(); first += static_cast<size_t>(batch)) {
    void* dst = session.input_data(0);
    if (!dst) return report_error(kTool, "cannot access input '" + in.name + "'");
    for (int64_t b = 0; b < batch; ++b) {
      // A partial last batch repeats its last image in the unused slots.
      const size_t img = std::min(first + static_cast<size_t>(b), images.size() - 1);
      if (in.dtype == POCKET_F32)
        pocket::tools::image_to_f32(ready[img], pre, channels, static_cast<float*>(dst) + b * per_image);
      else
        pocket::tools::image_to_u8(ready[img], pre, channels, static_cast<uint8_t*>(dst) + b * per_image);
    }
    if (auto st = session.run(); !st.ok()) return report_error(kTool, "run failed: " + st.message);
    const float* scores = session.output<float>(0);
    if (!scores) return report_error(kTool, "output '" + out.name + "' has no data");
    for (int64_t b = 0; b < batch && first + static_cast<size_t>(b) < images.size(); ++b) {
      const float* s = scores + b * classes;
      std::vector<float> probs = is_probability_vector(s, classes) ? std::vector<float>(s, s + classes) : softmax(s, classes);
      std::vector<int64_t> order(static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      const int64_t k = std::min(top, classes);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t a, int64_t c) { return probs[a] > probs[c] || (probs[a] == probs[c] && a < c); });
      std::printf("%s\n", images[first + static_cast<size_t>(b)].c_str());
      for (int64_t r = 0; r < k; ++r) {
        const int64_t c = order[static_cast<size_t>(r)];
        std::string label = c < static_cast<int64_t>(labels.size()) ? labels[c] : "";
        if (label.empty()) label = "class " + std::to_string(c);
        std::printf("  %2lld. %7.4f  %s (%lld)\n", static_cast<long long>(r + 1), probs[c], label.c_str(), static_cast<long long>(c));
      }
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return tool_main(argc, argv); });
}
