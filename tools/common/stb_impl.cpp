// The one translation unit that compiles stb_image and stb_image_resize (Debian libstb-dev
// ships headers; the implementation is built here, so nothing extra is linked).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO_DEPRECATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
