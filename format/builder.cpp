#include "format/builder.h"

#include <cstring>
#include <sstream>

namespace pocket::format {

AttrDesc AttrDesc::Int(std::string n, int64_t v) {
  AttrDesc a; a.name = std::move(n); a.type = fb::AttrType::Int; a.i = v; return a;
}
AttrDesc AttrDesc::Float(std::string n, float v) {
  AttrDesc a; a.name = std::move(n); a.type = fb::AttrType::Float; a.f = v; return a;
}
AttrDesc AttrDesc::String(std::string n, std::string v) {
  AttrDesc a; a.name = std::move(n); a.type = fb::AttrType::String; a.s = std::move(v); return a;
}
AttrDesc AttrDesc::Ints(std::string n, std::vector<int64_t> v) {
  AttrDesc a; a.name = std::move(n); a.type = fb::AttrType::Ints; a.ints = std::move(v); return a;
}
AttrDesc AttrDesc::Floats(std::string n, std::vector<float> v) {
  AttrDesc a; a.name = std::move(n); a.type = fb::AttrType::Floats; a.floats = std::move(v); return a;
}

int32_t ModelDesc::add_tensor(TensorDesc t) {
  tensors.push_back(std::move(t));
  return static_cast<int32_t>(tensors.size() - 1);
}

namespace {

// Offsets of each constant inside the weight segment, and the segment size.
std::vector<uint64_t> layout_weights(const ModelDesc& m, uint64_t* segment_size) {
  std::vector<uint64_t> offsets(m.tensors.size(), 0);
  uint64_t pos = 0;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    if (!m.tensors[i].has_data) continue;
    offsets[i] = pos;
    pos = align_up(pos + m.tensors[i].data.size(), kWeightAlignment);
  }
  *segment_size = pos;
  return offsets;
}

flatbuffers::Offset<fb::Metadata> build_metadata(flatbuffers::FlatBufferBuilder& b,
                                                 const MetadataDesc& md) {
  flatbuffers::Offset<fb::Preprocessing> pre = 0;
  if (md.has_preprocessing) {
    const PreprocessDesc& p = md.preprocessing;
    pre = fb::CreatePreprocessingDirect(b, p.width, p.height, p.layout.c_str(),
                                        p.color_order.c_str(), &p.mean, &p.std, p.scale,
                                        p.resize.c_str());
  }
  std::vector<flatbuffers::Offset<flatbuffers::String>> labels;
  for (const auto& l : md.labels) labels.push_back(b.CreateString(l));
  std::vector<flatbuffers::Offset<fb::KeyValue>> props;
  for (const auto& [k, v] : md.properties) props.push_back(fb::CreateKeyValueDirect(b, k.c_str(), v.c_str()));
  flatbuffers::Offset<fb::Tokenizer> tok = 0;
  if (md.has_tokenizer) {
    const TokenizerDesc& t = md.tokenizer;
    std::vector<flatbuffers::Offset<flatbuffers::String>> vocab, merges;
    vocab.reserve(t.vocab.size());
    for (const auto& v : t.vocab) vocab.push_back(b.CreateString(v));
    for (const auto& m : t.merges) merges.push_back(b.CreateString(m));
    std::vector<flatbuffers::Offset<fb::KeyValue>> specials;
    for (const auto& [k, v] : t.special_tokens) specials.push_back(fb::CreateKeyValueDirect(b, k.c_str(), v.c_str()));
    tok = fb::CreateTokenizerDirect(b, t.kind.c_str(), &vocab, &merges, t.lowercase, t.strip_accents, t.max_length,
                                    &specials, &t.suppress_tokens);
  }
  flatbuffers::Offset<fb::AudioFrontEnd> audio = 0;
  if (md.has_audio) {
    const AudioDesc& a = md.audio;
    audio = fb::CreateAudioFrontEndDirect(b, a.kind.c_str(), a.sample_rate, a.n_fft, a.hop_length, a.n_mels,
                                          a.chunk_seconds);
  }
  return fb::CreateMetadataDirect(b, md.producer.c_str(), md.producer_version.c_str(),
                                  md.task.c_str(), md.source.c_str(), pre, &labels, &props, tok, audio);
}

std::vector<uint8_t> build_flatbuffer(const ModelDesc& m, const std::vector<uint64_t>& offsets,
                                      uint64_t weights_offset, uint64_t weights_size) {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorDesc& t = m.tensors[i];
    std::vector<flatbuffers::Offset<flatbuffers::String>> dim_names;
    for (const auto& d : t.dim_names) dim_names.push_back(b.CreateString(d));
    flatbuffers::Offset<fb::Quantization> q = 0;
    if (t.has_quant)
      q = fb::CreateQuantizationDirect(b, &t.quant.scales, &t.quant.zero_points, t.quant.axis,
                                       t.quant.block_size);
    tensors.push_back(fb::CreateTensorDirect(
        b, t.name.c_str(), t.dtype, &t.shape, t.dim_names.empty() ? nullptr : &dim_names,
        t.has_data, t.has_data ? offsets[i] : 0, t.has_data ? t.data.size() : 0, q));
  }
  std::vector<flatbuffers::Offset<fb::Node>> nodes;
  for (const NodeDesc& n : m.nodes) {
    std::vector<flatbuffers::Offset<fb::Attribute>> attrs;
    for (const AttrDesc& a : n.attrs) {
      attrs.push_back(fb::CreateAttributeDirect(
          b, a.name.c_str(), a.type, a.i, a.f,
          a.type == fb::AttrType::String ? a.s.c_str() : nullptr,
          a.type == fb::AttrType::Ints ? &a.ints : nullptr,
          a.type == fb::AttrType::Floats ? &a.floats : nullptr));
    }
    nodes.push_back(fb::CreateNodeDirect(b, n.op, n.name.c_str(), &n.inputs, &n.outputs, &attrs));
  }
  auto graph = fb::CreateGraphDirect(b, &tensors, &nodes, &m.inputs, &m.outputs);
  auto meta = build_metadata(b, m.metadata);
  auto model = fb::CreateModel(b, kFormatMajor, kFormatMinor, graph, meta, weights_offset, weights_size);
  fb::FinishSizePrefixedModelBuffer(b, model);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace

uint64_t write(const ModelDesc& m, std::ostream& out) {
  uint64_t segment_size = 0;
  std::vector<uint64_t> offsets = layout_weights(m, &segment_size);
  // The weights offset is stored inside the FlatBuffer, whose size depends on it only through
  // the width of one scalar field: build once to learn the size, then again with the offset.
  std::vector<uint8_t> head = build_flatbuffer(m, offsets, 0, segment_size);
  uint64_t weights_offset = align_up(head.size() + kWeightAlignment, kWeightAlignment);
  head = build_flatbuffer(m, offsets, weights_offset, segment_size);
  if (head.size() > weights_offset) return 0;

  out.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
  static const char zeros[kWeightAlignment] = {};
  uint64_t pos = head.size();
  auto pad_to = [&](uint64_t target) {
    while (pos < target) {
      uint64_t n = std::min<uint64_t>(target - pos, kWeightAlignment);
      out.write(zeros, static_cast<std::streamsize>(n));
      pos += n;
    }
  };
  pad_to(weights_offset);
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorDesc& t = m.tensors[i];
    if (!t.has_data) continue;
    pad_to(weights_offset + offsets[i]);
    out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
    pos += t.data.size();
  }
  pad_to(weights_offset + segment_size);
  return out ? pos : 0;
}

std::vector<uint8_t> serialize(const ModelDesc& m) {
  std::ostringstream os(std::ios::binary);
  write(m, os);
  std::string s = os.str();
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace pocket::format
