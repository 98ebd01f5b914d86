// classify.cpp: image classification with an installed Pocket, in C++ (pocket/pocket.hpp: RAII
// handles over the C API, no exceptions).
//
//   classify_cpp MODEL.pocket IMAGE [TOP]
//
// Same behaviour and output as classify.c: the model's preprocessing metadata (size, resize mode,
// colour order, scale, mean/std, layout; ImageNet defaults without it), one run, the TOP (default
// 5) classes with probabilities and labels. Errors: one line on stderr, exit status 1.
#include <pocket/pocket.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include "stb_image.h"
// stb_image_resize asserts on float rounding in its filter weights at some scale ratios
// (harmless: the weights are renormalised right after); keep those asserts out of debug builds.
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include "stb_image_resize.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "classify_cpp: %s\n", message.c_str());
  return 1;
}

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;  // height * width * 3
};

// What the model wants, from pocket_model_preprocessing (or ImageNet defaults).
struct Preprocessing {
  int width = 0, height = 0;
  std::string layout = "NCHW", color_order = "RGB", resize = "shorter_side_center_crop";
  std::vector<float> mean{0.485f, 0.456f, 0.406f}, std{0.229f, 0.224f, 0.225f};
  float scale = 1.f / 255.f;
};

bool load_image(const char* path, Image* out, std::string* error) {
  int comp = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load(path, &out->width, &out->height, &comp, 3),
                                                        stbi_image_free);
  if (!data) {
    *error = std::string("cannot read image '") + path + "': " + stbi_failure_reason();
    return false;
  }
  out->rgb.assign(data.get(), data.get() + static_cast<size_t>(out->width) * out->height * 3);
  return true;
}

// Bilinear (triangle filter, antialiased on downscale), like pocket-classify.
bool resize_rgb(const Image& in, int w, int h, Image* out) {
  out->width = w;
  out->height = h;
  out->rgb.assign(static_cast<size_t>(w) * h * 3, 0);
  if (in.width == w && in.height == h) {
    out->rgb = in.rgb;
    return true;
  }
  return stbir_resize_uint8_generic(in.rgb.data(), in.width, in.height, 0, out->rgb.data(), w, h, 0, 3,
                                    STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                    STBIR_COLORSPACE_LINEAR, nullptr) != 0;
}

// "stretch": straight to w x h. "shorter_side_center_crop": shorter side to 256/224 of the input
// size (torchvision's Resize(256) + CenterCrop(224)), then the centre.
bool fit_image(const Image& in, const Preprocessing& p, Image* out) {
  if (p.resize == "stretch") return resize_rgb(in, p.width, p.height, out);
  const int target = static_cast<int>(std::lround(256.0 * std::max(p.width, p.height) / 224.0));
  int w = target, h = target;
  if (in.width <= in.height) h = static_cast<int>(static_cast<long long>(target) * in.height / in.width);
  else w = static_cast<int>(static_cast<long long>(target) * in.width / in.height);
  w = std::max(w, p.width);
  h = std::max(h, p.height);
  Image scaled;
  if (!resize_rgb(in, w, h, &scaled)) return false;
  const int top = static_cast<int>(std::lround((h - p.height) / 2.0));
  const int left = static_cast<int>(std::lround((w - p.width) / 2.0));
  out->width = p.width;
  out->height = p.height;
  out->rgb.resize(static_cast<size_t>(p.width) * p.height * 3);
  for (int y = 0; y < p.height; ++y)
    std::memcpy(&out->rgb[static_cast<size_t>(y) * p.width * 3], &scaled.rgb[(static_cast<size_t>(y + top) * w + left) * 3],
                static_cast<size_t>(p.width) * 3);
  return true;
}

// Channel c of pixel i as the model wants it (colour order; 1 channel: luminance), 0..255.
float pixel(const Image& img, const Preprocessing& p, int channels, size_t i, int c) {
  const unsigned char* px = &img.rgb[i * 3];
  if (channels == 1) return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
  return px[p.color_order == "BGR" ? 2 - c : c];
}

float channel_value(const std::vector<float>& v, int c, float fallback) {
  if (v.empty()) return fallback;
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
}

template <class T>
void write_input(const Image& img, const Preprocessing& p, int channels, T* out) {
  const bool nchw = p.layout == "NCHW";
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (int c = 0; c < channels; ++c) {
    const float mean = channel_value(p.mean, c, 0.f), inv_std = 1.f / channel_value(p.std, c, 1.f);
    for (size_t i = 0; i < plane; ++i) {
      const float v = pixel(img, p, channels, i, c);
      T& dst = out[nchw ? c * plane + i : i * channels + c];
      if constexpr (std::is_same_v<T, float>) dst = (v * p.scale - mean) * inv_std;
      else dst = static_cast<T>(std::clamp(std::round(v), 0.f, 255.f));  // uint8 input: raw pixels
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODEL.pocket IMAGE [TOP]\n", argv[0]);
    return 2;
  }
  long top = 5;
  if (argc == 4) {
    char* end = nullptr;
    top = std::strtol(argv[3], &end, 10);
    if (*argv[3] == '\0' || *end != '\0' || top < 1 || top > 1000000)
      return fail(std::string("TOP must be a whole number >= 1: ") + argv[3]);
  }

  pocket::api::Model model;
  if (auto st = model.load(argv[1]); !st.ok()) return fail("cannot load model: " + st.message);
  pocket::api::Session session;
  if (auto st = session.create(model); !st.ok()) return fail("cannot prepare model: " + st.message);

  pocket::api::TensorInfo in;
  if (session.num_inputs() != 1 || !session.input_info(0, &in).ok() || in.shape.size() != 4 ||
      (in.dtype != POCKET_F32 && in.dtype != POCKET_U8))
    return fail("not an image classifier: expected one float32 or uint8 input of rank 4");

  Preprocessing pre;
  pocket_preprocessing meta;
  if (pocket_model_preprocessing(model.get(), &meta)) {
    pre.width = meta.width;
    pre.height = meta.height;
    pre.layout = meta.layout;
    pre.color_order = meta.color_order;
    pre.resize = meta.resize;
    pre.mean.assign(meta.mean, meta.mean + meta.mean_count);
    pre.std.assign(meta.std, meta.std + meta.std_count);
    pre.scale = meta.scale;
  } else {
    pre.layout = in.shape[1] == 1 || in.shape[1] == 3 ? "NCHW" : "NHWC";
  }
  if (pre.layout != "NCHW" && pre.layout != "NHWC") return fail("unknown layout in the model's metadata: " + pre.layout);
  if (pre.resize != "stretch" && pre.resize != "shorter_side_center_crop")
    return fail("unknown resize mode in the model's metadata: " + pre.resize);
  if (pre.color_order != "RGB" && pre.color_order != "BGR")
    return fail("unknown colour order in the model's metadata: " + pre.color_order);
  for (float s : pre.std)
    if (!(s > 0.f) || !std::isfinite(s)) return fail("the model's metadata has a std that is not positive");
  if (!std::isfinite(pre.scale)) return fail("the model's metadata has a scale that is not finite");
  const bool nchw = pre.layout == "NCHW";
  const int channels = static_cast<int>(nchw ? in.shape[1] : in.shape[3]);
  if (channels != 1 && channels != 3) return fail("the image input '" + in.name + "' must have 1 or 3 channels");
  auto fits = [&](const std::vector<float>& v) { return v.size() <= 1 || v.size() == static_cast<size_t>(channels); };
  if (!fits(pre.mean) || !fits(pre.std)) return fail("the model's mean/std do not match its channel count");
  const int64_t model_w = nchw ? in.shape[3] : in.shape[2], model_h = nchw ? in.shape[2] : in.shape[1];
  if (pre.width <= 0) pre.width = static_cast<int>(model_w);
  if (pre.height <= 0) pre.height = static_cast<int>(model_h);
  if (pre.width <= 0 || pre.height <= 0 || pre.width > 16384 || pre.height > 16384)
    return fail("the model's input size is not a usable image size");
  if (pre.width != model_w || pre.height != model_h) {
    std::vector<int64_t> shape = nchw ? std::vector<int64_t>{in.shape[0], channels, pre.height, pre.width}
                                      : std::vector<int64_t>{in.shape[0], pre.height, pre.width, channels};
    if (auto st = session.resize_input(in.name, shape); !st.ok())
      return fail("cannot resize the model's input to the metadata's image size: " + st.message);
    (void)session.input_info(0, &in);
  }

  Image decoded, fitted;
  std::string error;
  if (!load_image(argv[2], &decoded, &error)) return fail(error);
  if (!fit_image(decoded, pre, &fitted)) return fail(std::string("cannot resize the image ") + argv[2]);

  void* dst = session.input_data(0);
  if (!dst) return fail("cannot access the input");
  const int64_t batch = std::max<int64_t>(in.shape[0], 1);
  const size_t per_image = static_cast<size_t>(channels) * pre.width * pre.height;
  for (int64_t b = 0; b < batch; ++b) {  // every slot of the batch gets the same picture
    if (in.dtype == POCKET_F32) write_input(fitted, pre, channels, static_cast<float*>(dst) + b * per_image);
    else write_input(fitted, pre, channels, static_cast<unsigned char*>(dst) + b * per_image);
  }
  if (auto st = session.run(); !st.ok()) return fail("run failed: " + st.message);

  pocket::api::TensorInfo out;
  const float* scores = session.output<float>(0);
  if (session.num_outputs() < 1 || !session.output_info(0, &out).ok() || out.dtype != POCKET_F32 || !scores)
    return fail("the model's first output is not float32 scores");
  const size_t classes = static_cast<size_t>(out.elements() / batch);
  if (classes == 0) return fail("the model's output '" + out.name + "' is empty");

  // Probabilities: the scores if they already are a probability vector, else softmax.
  std::vector<float> probs(scores, scores + classes);
  double sum = 0;
  bool is_prob = true;
  for (float s : probs) {
    is_prob = is_prob && s >= 0.f && s <= 1.f;
    sum += s;
  }
  if (!is_prob || std::fabs(sum - 1.0) >= 1e-3) {
    const float mx = *std::max_element(probs.begin(), probs.end());
    sum = 0;
    for (float& p : probs) sum += p = std::exp(p - mx);
    for (float& p : probs) p = static_cast<float>(p / sum);
  }
  std::vector<size_t> order(classes);
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t k = std::min(static_cast<size_t>(top), classes);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](size_t a, size_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  const std::vector<std::string> labels = model.labels();
  std::printf("%s\n", argv[2]);
  for (size_t r = 0; r < k; ++r) {
    const size_t c = order[r];
    const std::string label = c < labels.size() && !labels[c].empty() ? labels[c] : "class " + std::to_string(c);
    std::printf("  %2zu. %7.4f  %s (%zu)\n", r + 1, probs[c], label.c_str(), c);
  }
  return 0;
}
