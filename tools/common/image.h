// Image decoding (PNG, JPEG, BMP, GIF, PPM/PGM via stb_image; JPEG Huffman tables are checked
// first) and classification preprocessing: resize ("stretch" or "shorter_side_center_crop"),
// colour order, scale/mean/std, NCHW or NHWC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pocket::tools {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major, RGB
};

// Decodes PNG, JPEG, BMP, GIF or PPM/PGM into 8-bit RGB. Errors name the file.
bool load_image(const std::string& path, Image* out, std::string* error);
// max_pixels: images declaring more width x height are refused before decoding (the default is the
// reader's 64 Mpixel limit; the fuzz target passes less).
bool decode_image(const void* bytes, size_t size, Image* out, std::string* error, int64_t max_pixels = int64_t{1} << 26);

struct Preprocessing {
  int width = 0, height = 0;          // model input size
  std::string layout = "NCHW";        // "NCHW" or "NHWC"
  std::string color_order = "RGB";    // "RGB" or "BGR"
  float scale = 1.0f / 255.0f;        // applied first
  std::vector<float> mean, std;       // per channel (or one for all), applied after scale
  std::string resize = "shorter_side_center_crop";
};

// ImageNet-style defaults for a width x height input: scale 1/255, ImageNet mean/std, shorter side
// resized to 256/224 of the input size, then a centre crop.
Preprocessing imagenet_preprocessing(int width, int height, const std::string& layout);

// Checks the values make sense for `channels` channels (1 or 3); error names the field.
bool validate_preprocessing(const Preprocessing& p, int channels, std::string* error);

// Resizes to exactly p.width x p.height. "stretch" ignores the aspect ratio;
// "shorter_side_center_crop" scales the shorter side to round(256/224 * max(width, height)),
// like torchvision's Resize(256) + CenterCrop(224), then crops the centre. Triangle (bilinear)
// filter with antialiasing on downscale, in the image's own colour space, like PIL.
bool resize_for_model(const Image& in, const Preprocessing& p, Image* out, std::string* error);

// Writes a p.width x p.height image into one batch slot of a float input with `channels`
// (1: luminance, 3: colour) channels, in p.layout: (pixel * scale - mean) / std.
void image_to_f32(const Image& img, const Preprocessing& p, int channels, float* out);
// Same for a uint8 input: the raw pixel values, no scale or normalisation.
void image_to_u8(const Image& img, const Preprocessing& p, int channels, uint8_t* out);

}  // namespace pocket::tools
