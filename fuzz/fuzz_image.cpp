// libFuzzer target: image decoding (tools/common/image.*: stb_image for PNG, JPEG, BMP, GIF, PPM,
// PSD, TGA, HDR, PIC) and the classification preprocessing on the result: both resize modes to a
// small size, then NCHW/NHWC float and uint8 conversion. The first input byte picks the
// preprocessing; the rest is the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/common/image.h"

namespace {
// Declared sizes above this are not decoded: the reader accepts 64 Mpixel, and stb_image fills a
// BMP/GIF/JPEG raster that the file is too short for from nothing, so a 40-byte header made a
// multi-second input under ASan (timeouts; the limit itself is tested in the unit tests).
constexpr int64_t kMaxFuzzPixels = int64_t{1} << 22;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ++data, --size;
  pocket::tools::Image img;
  std::string error;
  if (!pocket::tools::decode_image(data, size, &img, &error, kMaxFuzzPixels)) {
    if (error.empty()) std::abort();
    return 0;
  }
  if (img.width <= 0 || img.height <= 0 ||
      img.rgb.size() != static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3)
    std::abort();
  // Large images (up to the reader's 64 Mpixel limit) decode fine; resizing them per input would
  // only slow the search down.
  if (static_cast<int64_t>(img.width) * img.height > (1 << 20)) return 0;

  const int side = 1 + (mode & 31);
  pocket::tools::Preprocessing p = pocket::tools::imagenet_preprocessing(side, 1 + ((mode >> 2) & 31),
                                                                         (mode & 64) ? "NHWC" : "NCHW");
  p.resize = (mode & 128) ? "stretch" : "shorter_side_center_crop";
  p.color_order = (mode & 32) ? "BGR" : "RGB";
  const int channels = (mode & 2) ? 1 : 3;
  if (channels == 1) p.mean = {0.5f}, p.std = {0.25f};
  if (!pocket::tools::validate_preprocessing(p, channels, &error)) std::abort();
  pocket::tools::Image resized;
  if (!pocket::tools::resize_for_model(img, p, &resized, &error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  if (resized.width != p.width || resized.height != p.height ||
      resized.rgb.size() != static_cast<size_t>(p.width) * p.height * 3)
    std::abort();
  std::vector<float> f(static_cast<size_t>(p.width) * p.height * channels);
  pocket::tools::image_to_f32(resized, p, channels, f.data());
  std::vector<uint8_t> u(f.size());
  pocket::tools::image_to_u8(resized, p, channels, u.data());
  return 0;
}
