/* classify.c: image classification with an installed Pocket, in plain C (C API only).
 *
 *   classify MODEL.pocket IMAGE [TOP]
 *
 * Loads a .pocket image classifier, decodes IMAGE (PNG, JPEG, BMP, ... with stb_image), prepares
 * it as the model's metadata says (pocket_model_preprocessing: input size, resize mode, colour
 * order, scale, mean/std, layout; ImageNet defaults when the model has none), runs it and prints
 * the TOP (default 5) classes with their probabilities and the model's labels. Every error is one
 * line on stderr and exit status 1.
 *
 * Build against an installed Pocket: see README.md (CMake: find_package(Pocket); make: pkg-config).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pocket/pocket.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include "stb_image.h"
/* stb_image_resize asserts on float rounding in its filter weights at some scale ratios
 * (harmless: the weights are renormalised right after); keep those asserts out of debug builds. */
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include "stb_image_resize.h"

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "classify: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 1;
}

/* An 8-bit RGB image. */
typedef struct image {
  int width, height;
  unsigned char* rgb;
} image;

/* Resizes `in` to exactly w x h (bilinear with antialiasing on downscale, as pocket-classify does).
 * Returns 0 on failure. */
static int resize_rgb(const image* in, int w, int h, image* out) {
  out->width = w;
  out->height = h;
  out->rgb = malloc((size_t)w * (size_t)h * 3);
  if (!out->rgb) return 0;
  if (in->width == w && in->height == h) {
    memcpy(out->rgb, in->rgb, (size_t)w * (size_t)h * 3);
    return 1;
  }
  return stbir_resize_uint8_generic(in->rgb, in->width, in->height, 0, out->rgb, w, h, 0, 3,
                                    STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                    STBIR_COLORSPACE_LINEAR, NULL);
}

/* The model's w x h view of the image: "stretch" ignores the aspect ratio;
 * "shorter_side_center_crop" scales the shorter side to 256/224 of the input size (torchvision's
 * Resize(256) + CenterCrop(224)) and crops the centre. Returns 0 on failure. */
static int fit_image(const image* in, const pocket_preprocessing* p, image* out) {
  if (strcmp(p->resize, "stretch") == 0) return resize_rgb(in, p->width, p->height, out);
  const int longer = p->width > p->height ? p->width : p->height;
  const int target = (int)lround(256.0 * longer / 224.0);
  int w, h;
  if (in->width <= in->height) {
    w = target;
    h = (int)((long long)target * in->height / in->width);
  } else {
    h = target;
    w = (int)((long long)target * in->width / in->height);
  }
  if (w < p->width) w = p->width;
  if (h < p->height) h = p->height;
  image scaled = {0, 0, NULL};
  if (!resize_rgb(in, w, h, &scaled)) {
    free(scaled.rgb);
    return 0;
  }
  const int top = (int)lround((h - p->height) / 2.0), left = (int)lround((w - p->width) / 2.0);
  out->width = p->width;
  out->height = p->height;
  out->rgb = malloc((size_t)p->width * (size_t)p->height * 3);
  if (!out->rgb) {
    free(scaled.rgb);
    return 0;
  }
  for (int y = 0; y < p->height; ++y)
    memcpy(out->rgb + (size_t)y * p->width * 3, scaled.rgb + ((size_t)(y + top) * w + left) * 3, (size_t)p->width * 3);
  free(scaled.rgb);
  return 1;
}

/* Per-channel value of a mean/std array with 0 (fallback), 1 (all channels) or `channels` entries. */
static float channel_value(const float* v, size_t count, int c, float fallback) {
  if (count == 0) return fallback;
  return count == 1 ? v[0] : v[c];
}

/* Writes the image into a float input: (pixel * scale - mean) / std, in the model's layout and
 * colour order (1 channel: luminance). */
static void to_f32(const image* img, const pocket_preprocessing* p, int channels, float* out) {
  const int nchw = strcmp(p->layout, "NCHW") == 0, bgr = strcmp(p->color_order, "BGR") == 0;
  const size_t plane = (size_t)img->width * img->height;
  for (int c = 0; c < channels; ++c) {
    const float mean = channel_value(p->mean, p->mean_count, c, 0.f);
    const float inv_std = 1.f / channel_value(p->std, p->std_count, c, 1.f);
    for (size_t i = 0; i < plane; ++i) {
      const unsigned char* px = img->rgb + i * 3;
      const float v = channels == 1 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : (float)px[bgr ? 2 - c : c];
      out[nchw ? c * plane + i : i * channels + c] = (v * p->scale - mean) * inv_std;
    }
  }
}

/* The same for a uint8 input: raw pixel values. */
static void to_u8(const image* img, const pocket_preprocessing* p, int channels, unsigned char* out) {
  const int nchw = strcmp(p->layout, "NCHW") == 0, bgr = strcmp(p->color_order, "BGR") == 0;
  const size_t plane = (size_t)img->width * img->height;
  for (int c = 0; c < channels; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const unsigned char* px = img->rgb + i * 3;
      const float v = channels == 1 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : (float)px[bgr ? 2 - c : c];
      const float r = roundf(v);
      out[nchw ? c * plane + i : i * channels + c] = (unsigned char)(r < 0.f ? 0.f : r > 255.f ? 255.f : r);
    }
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s MODEL.pocket IMAGE [TOP]\n", argv[0]);
    return 2;
  }
  int top = 5;
  if (argc == 4) {
    char* end = NULL;
    long v = strtol(argv[3], &end, 10);
    if (*argv[3] == '\0' || *end != '\0' || v < 1 || v > 1000000) return fail("TOP must be a whole number >= 1", argv[3]);
    top = (int)v;
  }

  int rc = 1;
  pocket_model* model = NULL;
  pocket_session* session = NULL;
  image decoded = {0, 0, NULL}, fitted = {0, 0, NULL};
  float* probs = NULL;
  int* order = NULL;

  if (pocket_model_load(argv[1], &model) != POCKET_OK) {
    fail("cannot load model", pocket_last_error());
    goto done;
  }
  if (pocket_session_create(model, NULL, &session) != POCKET_OK) {
    fail("cannot prepare model", pocket_last_error());
    goto done;
  }

  /* One image input: float32 or uint8, [N, C, H, W] or [N, H, W, C]. */
  pocket_tensor_info in;
  if (pocket_session_num_inputs(session) != 1 || pocket_session_input_info(session, 0, &in) != POCKET_OK ||
      in.rank != 4 || (in.dtype != POCKET_F32 && in.dtype != POCKET_U8)) {
    fail("not an image classifier", "expected one float32 or uint8 input of rank 4");
    goto done;
  }
  /* Preprocessing from the metadata, or ImageNet defaults (NCHW if the shape says so). */
  static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
  pocket_preprocessing pre;
  if (!pocket_model_preprocessing(model, &pre)) {
    pre.width = pre.height = 0;
    pre.layout = (in.shape[1] == 1 || in.shape[1] == 3) ? "NCHW" : "NHWC";
    pre.color_order = "RGB";
    pre.resize = "shorter_side_center_crop";
    pre.mean = imagenet_mean;
    pre.std = imagenet_std;
    pre.mean_count = pre.std_count = 3;
    pre.scale = 1.f / 255.f;
  }
  const int nchw = strcmp(pre.layout, "NCHW") == 0;
  if (!nchw && strcmp(pre.layout, "NHWC") != 0) {
    fail("unknown layout in the model's metadata", pre.layout);
    goto done;
  }
  if (strcmp(pre.resize, "stretch") != 0 && strcmp(pre.resize, "shorter_side_center_crop") != 0) {
    fail("unknown resize mode in the model's metadata", pre.resize);
    goto done;
  }
  if (strcmp(pre.color_order, "RGB") != 0 && strcmp(pre.color_order, "BGR") != 0) {
    fail("unknown colour order in the model's metadata", pre.color_order);
    goto done;
  }
  for (size_t i = 0; i < pre.std_count; ++i)
    if (!(pre.std[i] > 0.f) || !isfinite(pre.std[i])) {
      fail("the model's metadata has a std that is not positive", in.name);
      goto done;
    }
  if (!isfinite(pre.scale)) {
    fail("the model's metadata has a scale that is not finite", in.name);
    goto done;
  }
  const int channels = (int)(nchw ? in.shape[1] : in.shape[3]);
  if (channels != 1 && channels != 3) {
    fail("the image input must have 1 or 3 channels", in.name);
    goto done;
  }
  if ((pre.mean_count > 1 && pre.mean_count != (size_t)channels) || (pre.std_count > 1 && pre.std_count != (size_t)channels)) {
    fail("the model's mean/std do not match its channel count", in.name);
    goto done;
  }
  if (pre.width <= 0) pre.width = (int)(nchw ? in.shape[3] : in.shape[2]);
  if (pre.height <= 0) pre.height = (int)(nchw ? in.shape[2] : in.shape[1]);
  if (pre.width <= 0 || pre.height <= 0 || pre.width > 16384 || pre.height > 16384) {
    fail("the model's input size is not a usable image size", in.name);
    goto done;
  }
  /* A model whose metadata asks for another size than its input shape: resize the input. */
  if (pre.width != (nchw ? in.shape[3] : in.shape[2]) || pre.height != (nchw ? in.shape[2] : in.shape[1])) {
    int64_t shape[4] = {in.shape[0], nchw ? channels : pre.height, nchw ? pre.height : pre.width, nchw ? pre.width : channels};
    if (pocket_session_resize_input(session, in.name, shape, 4) != POCKET_OK ||
        pocket_session_input_info(session, 0, &in) != POCKET_OK) {
      fail("cannot resize the model's input to the metadata's image size", pocket_last_error());
      goto done;
    }
  }

  int comp = 0;
  decoded.rgb = stbi_load(argv[2], &decoded.width, &decoded.height, &comp, 3);
  if (!decoded.rgb) {
    fprintf(stderr, "classify: cannot read image '%s': %s\n", argv[2], stbi_failure_reason());
    goto done;
  }
  if (!fit_image(&decoded, &pre, &fitted)) {
    fail("cannot resize the image", argv[2]);
    goto done;
  }

  /* Every image of the batch (usually 1) gets the same picture. */
  void* dst = NULL;
  if (pocket_session_input_data(session, 0, &dst) != POCKET_OK) {
    fail("cannot access the input", pocket_last_error());
    goto done;
  }
  const int64_t batch = in.shape[0] > 0 ? in.shape[0] : 1;
  const size_t per_image = (size_t)channels * pre.width * pre.height;
  for (int64_t b = 0; b < batch; ++b) {
    if (in.dtype == POCKET_F32) to_f32(&fitted, &pre, channels, (float*)dst + b * per_image);
    else to_u8(&fitted, &pre, channels, (unsigned char*)dst + b * per_image);
  }
  if (pocket_session_run(session) != POCKET_OK) {
    fail("run failed", pocket_last_error());
    goto done;
  }

  pocket_tensor_info out;
  const void* data = NULL;
  if (pocket_session_num_outputs(session) < 1 || pocket_session_output_info(session, 0, &out) != POCKET_OK ||
      out.dtype != POCKET_F32 || pocket_session_output_data(session, 0, &data) != POCKET_OK) {
    fail("the model's first output is not float32 scores", NULL);
    goto done;
  }
  const size_t classes = out.bytes / sizeof(float) / (size_t)batch;
  if (classes == 0) {
    fail("the model's output is empty", out.name);
    goto done;
  }
  const float* scores = (const float*)data; /* the first image of the batch */

  /* Probabilities: the scores themselves if they already are a probability vector, else softmax. */
  probs = malloc(classes * sizeof(float));
  order = malloc(classes * sizeof(int));
  if (!probs || !order) {
    fail("out of memory", NULL);
    goto done;
  }
  double sum = 0;
  int is_prob = 1;
  for (size_t i = 0; i < classes; ++i) {
    if (!(scores[i] >= 0.f && scores[i] <= 1.f)) is_prob = 0;
    sum += scores[i];
  }
  if (!is_prob || fabs(sum - 1.0) >= 1e-3) {
    float mx = scores[0];
    for (size_t i = 1; i < classes; ++i) mx = scores[i] > mx ? scores[i] : mx;
    sum = 0;
    for (size_t i = 0; i < classes; ++i) sum += probs[i] = expf(scores[i] - mx);
    for (size_t i = 0; i < classes; ++i) probs[i] = (float)(probs[i] / sum);
  } else {
    memcpy(probs, scores, classes * sizeof(float));
  }

  /* Top-k by selection (highest probability first, lower index on ties). */
  const size_t k = (size_t)top < classes ? (size_t)top : classes;
  for (size_t i = 0; i < classes; ++i) order[i] = (int)i;
  for (size_t r = 0; r < k; ++r) {
    size_t best = r;
    for (size_t i = r + 1; i < classes; ++i)
      if (probs[order[i]] > probs[order[best]] || (probs[order[i]] == probs[order[best]] && order[i] < order[best])) best = i;
    const int t = order[r];
    order[r] = order[best];
    order[best] = t;
  }
  printf("%s\n", argv[2]);
  const size_t num_labels = pocket_model_num_labels(model);
  for (size_t r = 0; r < k; ++r) {
    const int c = order[r];
    const char* label = (size_t)c < num_labels ? pocket_model_label(model, (size_t)c) : NULL;
    if (label && *label) printf("  %2d. %7.4f  %s (%d)\n", (int)r + 1, probs[c], label, c);
    else printf("  %2d. %7.4f  class %d (%d)\n", (int)r + 1, probs[c], c, c);
  }
  rc = 0;

done:
  free(order);
  free(probs);
  free(fitted.rgb);
  stbi_image_free(decoded.rgb);
  pocket_session_free(session);
  pocket_model_free(model);
  return rc;
}
