// QuantizeReport as a terminal table and as JSON.
#include <cmath>
#include <cstdio>
#include <map>

#include "converter/quantize/quantize.h"

namespace pocket::converter::quantize {

namespace {

std::string kib(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", b / 1024.0);
  return buf;
}

std::string db_text(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  if (db < 0 && db == -1) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", db);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

// A JSON number, or null for "not measured" (< 0 sentinel -1) and non-finite values.
std::string json_db(double db) {
  if (db == -1 || !std::isfinite(db)) return std::isinf(db) && db > 0 ? "\"inf\"" : "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", db);
  return buf;
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string rpad(std::string s, size_t w) {
  if (s.size() < w) s.insert(0, w - s.size(), ' ');
  return s;
}

}  // namespace

std::string QuantizeReport::text() const {
  std::string o;
  std::map<std::string, int> counts;
  size_t wname = 5, wop = 2;
  for (const LayerReport& l : layers) {
    ++counts[l.precision];
    wname = std::max(wname, std::min<size_t>(l.name.size(), 48));
    wop = std::max(wop, l.op.size());
  }
  o += "quantization: " + std::string(precision_name(precision));
  if (!method.empty()) o += ", calibration " + method + " on " + std::to_string(samples) + " samples";
  else if (samples > 0) o += ", " + std::to_string(samples) + " samples measured";
  o += "\n";
  o += "  " + pad("layer", wname) + "  " + pad("op", wop) + "  " + pad("precision", 12) + "  " + rpad("SQNR dB", 8) + "  " +
       rpad("KiB fp32", 9) + "  " + rpad("KiB", 8) + "  reason\n";
  for (const LayerReport& l : layers) {
    std::string name = l.name.size() > 48 ? "..." + l.name.substr(l.name.size() - 45) : l.name;
    o += "  " + pad(name, wname) + "  " + pad(l.op, wop) + "  " + pad(l.precision, 12) + "  " + rpad(db_text(l.sqnr_db), 8) +
         "  " + rpad(kib(l.bytes_fp32), 9) + "  " + rpad(kib(l.bytes), 8) + "  " + l.reason + "\n";
  }
  o += "  layers:";
  for (const auto& [p, c] : counts) o += " " + p + " " + std::to_string(c);
  o += "\n";
  char buf[160];
  const double ratio = weight_bytes_fp32 ? static_cast<double>(weight_bytes) / weight_bytes_fp32 : 1.0;
  std::snprintf(buf, sizeof buf, "  weights: %s KiB -> %s KiB (%.3fx)\n", kib(weight_bytes_fp32).c_str(),
                kib(weight_bytes).c_str(), ratio);
  o += buf;
  if (precision == Precision::kInt8) o += "  transitions (QuantizeLinear/DequantizeLinear): " + std::to_string(transitions) + "\n";
  if (model_sqnr_db != -1) o += "  model output SQNR vs fp32: " + db_text(model_sqnr_db) + " dB\n";
  for (const std::string& n : notes) o += "  note: " + n + "\n";
  return o;
}

std::string QuantizeReport::json() const {
  std::string o = "{";
  o += "\"precision\":" + json_string(precision_name(precision));
  o += ",\"method\":" + (method.empty() ? std::string("null") : json_string(method));
  o += ",\"samples\":" + std::to_string(samples);
  o += ",\"layers\":[";
  for (size_t k = 0; k < layers.size(); ++k) {
    const LayerReport& l = layers[k];
    if (k) o += ",";
    o += "{\"name\":" + json_string(l.name) + ",\"op\":" + json_string(l.op) + ",\"precision\":" + json_string(l.precision) +
         ",\"sqnr_db\":" + json_db(l.sqnr_db) + ",\"bytes_fp32\":" + std::to_string(l.bytes_fp32) +
         ",\"bytes\":" + std::to_string(l.bytes) + ",\"reason\":" + json_string(l.reason) + "}";
  }
  o += "],\"transitions\":" + std::to_string(transitions);
  o += ",\"model_sqnr_db\":" + json_db(model_sqnr_db);
  o += ",\"weight_bytes_fp32\":" + std::to_string(weight_bytes_fp32);
  o += ",\"weight_bytes\":" + std::to_string(weight_bytes);
  o += ",\"notes\":[";
  for (size_t k = 0; k < notes.size(); ++k) o += (k ? "," : "") + json_string(notes[k]);
  o += "]}";
  return o;
}

}  // namespace pocket::converter::quantize
