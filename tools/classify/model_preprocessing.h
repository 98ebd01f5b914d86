// Reads Metadata.preprocessing of a loaded model for pocket-classify (C API:
// pocket_model_preprocessing).
#pragma once

#include <string>

#include "pocket/pocket.h"
#include "tools/common/image.h"

namespace pocket::tools {

struct ModelPreprocessing {
  bool present = false;   // the file has a preprocessing table
  Preprocessing p;        // its values (fields left at 0/empty when absent)
};

ModelPreprocessing read_model_preprocessing(const pocket_model* model);

}  // namespace pocket::tools
