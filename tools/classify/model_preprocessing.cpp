#include "tools/classify/model_preprocessing.h"

#include "engine/model.h"

namespace pocket::tools {

bool read_model_preprocessing(const std::string& path, ModelPreprocessing* out, std::string* error) {
  auto model = Model::load_file(path);
  if (!model.ok()) {
    *error = model.status().message();
    return false;
  }
  *out = ModelPreprocessing();
  const fb::Metadata* meta = model.value()->metadata();
  const fb::Preprocessing* pp = meta ? meta->preprocessing() : nullptr;
  if (!pp) return true;
  out->present = true;
  Preprocessing& p = out->p;
  p.width = pp->width();
  p.height = pp->height();
  p.layout = pp->layout() ? pp->layout()->str() : "";
  p.color_order = pp->color_order() && pp->color_order()->size() ? pp->color_order()->str() : "RGB";
  p.scale = pp->scale();
  p.mean.clear();
  p.std.clear();
  if (pp->mean()) p.mean.assign(pp->mean()->begin(), pp->mean()->end());
  if (pp->std()) p.std.assign(pp->std()->begin(), pp->std()->end());
  p.resize = pp->resize() && pp->resize()->size() ? pp->resize()->str() : "shorter_side_center_crop";
  return true;
}

}  // namespace pocket::tools
