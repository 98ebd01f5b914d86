// Reads Metadata.preprocessing of a .pocket file for pocket-classify. The C API does not expose
// the metadata yet, so this maps the file with engine/model.h (a second, cheap, read-only map).
#pragma once

#include <string>

#include "tools/common/image.h"

namespace pocket::tools {

struct ModelPreprocessing {
  bool present = false;   // the file has a preprocessing table
  Preprocessing p;        // its values (fields left at 0/empty when absent)
};

bool read_model_preprocessing(const std::string& path, ModelPreprocessing* out, std::string* error);

}  // namespace pocket::tools
