#include "tools/classify/model_preprocessing.h"

namespace pocket::tools {

ModelPreprocessing read_model_preprocessing(const pocket_model* model) {
  ModelPreprocessing out;
  pocket_preprocessing pp{};
  if (!pocket_model_preprocessing(model, &pp)) return out;
  out.present = true;
  Preprocessing& p = out.p;
  p.width = pp.width;
  p.height = pp.height;
  p.layout = pp.layout;
  p.color_order = pp.color_order;
  p.resize = pp.resize;
  p.scale = pp.scale;
  p.mean.assign(pp.mean, pp.mean + pp.mean_count);
  p.std.assign(pp.std, pp.std + pp.std_count);
  return out;
}

}  // namespace pocket::tools
