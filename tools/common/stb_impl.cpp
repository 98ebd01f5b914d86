// The one translation unit that compiles stb_image and stb_image_resize (Debian libstb-dev
// ships headers; the implementation is built here, so nothing extra is linked).
#define STB_IMAGE_IMPLEMENTATION
// The formats the tools document (PNG, JPEG, BMP, GIF, PPM/PGM). PSD, PIC, HDR and TGA are left
// out: nobody feeds them to a classifier, and TGA (no magic bytes) would be tried on any input.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
#define STBI_NO_STDIO_DEPRECATION
// stb_image_resize asserts on float rounding of its own coefficients when shrinking some sizes
// (a debug assert, harmless); without NDEBUG it would abort a Debug build.
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
