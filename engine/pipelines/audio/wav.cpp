#include "engine/pipelines/audio/wav.h"

#include <cmath>
#include <cstring>
#include <fstream>

namespace pocket::audio {
namespace {

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

// The 14 bytes after the format code in KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT.
constexpr uint8_t kGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

Status parse_fmt(const uint8_t* p, uint32_t size, WavInfo* info, int32_t* block_align) {
  if (size < 16) return invalid_argument("wav: fmt chunk has " + std::to_string(size) + " bytes, needs at least 16");
  int32_t tag = u16(p);
  info->channels = u16(p + 2);
  const uint32_t rate = u32(p + 4);
  *block_align = u16(p + 12);
  info->bits_per_sample = u16(p + 14);
  if (tag == 0xFFFE) {
    if (size < 40) return invalid_argument("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk has " + std::to_string(size) + " bytes, needs 40");
    const int32_t cb = u16(p + 16);
    if (cb < 22) return invalid_argument("wav: WAVE_FORMAT_EXTENSIBLE extension size " + std::to_string(cb) + " is below 22");
    const int32_t valid_bits = u16(p + 18);
    if (valid_bits > info->bits_per_sample)
      return invalid_argument("wav: valid bits " + std::to_string(valid_bits) + " exceed the container's " +
                              std::to_string(info->bits_per_sample));
    if (std::memcmp(p + 26, kGuidTail, sizeof(kGuidTail)) != 0)
      return unsupported("wav: WAVE_FORMAT_EXTENSIBLE sub-format is not PCM or IEEE float");
    tag = u16(p + 24);
    info->extensible = true;
  }
  info->format = tag;
  if (tag != 1 && tag != 3)
    return unsupported("wav: format code " + std::to_string(tag) + " is not PCM (1), IEEE float (3) or extensible");
  if (info->channels == 0) return invalid_argument("wav: zero channels");
  if (info->channels > kMaxWavChannels)
    return invalid_argument("wav: " + std::to_string(info->channels) + " channels (at most " + std::to_string(kMaxWavChannels) + ")");
  if (rate == 0 || rate > static_cast<uint32_t>(kMaxWavSampleRate))
    return invalid_argument("wav: sample rate " + std::to_string(rate) + " Hz is out of range (1.." +
                            std::to_string(kMaxWavSampleRate) + ")");
  info->sample_rate = static_cast<int32_t>(rate);
  const int32_t bits = info->bits_per_sample;
  if (tag == 1 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
    return unsupported("wav: PCM with " + std::to_string(bits) + " bits per sample (8, 16, 24 or 32 are supported)");
  if (tag == 3 && bits != 32 && bits != 64)
    return unsupported("wav: IEEE float with " + std::to_string(bits) + " bits per sample (32 or 64 are supported)");
  if (*block_align != info->channels * bits / 8)
    return invalid_argument("wav: block align " + std::to_string(*block_align) + " is not channels (" +
                            std::to_string(info->channels) + ") x bytes per sample (" + std::to_string(bits / 8) + ")");
  return Status::Ok();
}

float sample_at(const uint8_t* p, int32_t format, int32_t bits) {
  if (format == 3) {
    if (bits == 32) {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    double d;
    std::memcpy(&d, p, 8);
    return static_cast<float>(d);
  }
  switch (bits) {
    case 8: return (static_cast<int>(p[0]) - 128) * (1.0f / 128.0f);
    case 16: return static_cast<int16_t>(u16(p)) * (1.0f / 32768.0f);
    case 24: {
      int32_t v = static_cast<int32_t>(p[0] | (p[1] << 8) | (p[2] << 16));
      if (v & 0x800000) v -= 0x1000000;
      return static_cast<float>(v) * (1.0f / 8388608.0f);
    }
    default: return static_cast<float>(static_cast<int32_t>(u32(p)) * (1.0 / 2147483648.0));
  }
}

}  // namespace

Status decode_wav(const void* data, size_t size, Audio* out) {
  const auto* b = static_cast<const uint8_t*>(data);
  if (size < 12) return invalid_argument("wav: file has " + std::to_string(size) + " bytes, too short for a RIFF header");
  if (std::memcmp(b, "RIFF", 4) != 0) {
    if (std::memcmp(b, "RF64", 4) == 0) return unsupported("wav: RF64 files are not supported");
    return invalid_argument("wav: not a RIFF file (no 'RIFF' at the start)");
  }
  if (std::memcmp(b + 8, "WAVE", 4) != 0) return invalid_argument("wav: RIFF file is not WAVE");
  // The RIFF size is often wrong (streamed writers); chunks are walked to the real end.
  WavInfo info;
  int32_t block_align = 0;
  bool have_fmt = false;
  const uint8_t* pcm = nullptr;
  uint64_t pcm_bytes = 0;
  size_t pos = 12;
  while (pos + 8 <= size) {
    const uint8_t* id = b + pos;
    const uint32_t csize = u32(b + pos + 4);
    const size_t body = pos + 8;
    const uint64_t avail = size - body;
    if (std::memcmp(id, "fmt ", 4) == 0) {
      if (have_fmt) return invalid_argument("wav: two fmt chunks");
      if (csize > avail) return invalid_argument("wav: truncated file: fmt chunk of " + std::to_string(csize) + " bytes, " + std::to_string(avail) + " left");
      POCKET_RETURN_IF_ERROR(parse_fmt(b + body, csize, &info, &block_align));
      have_fmt = true;
    } else if (std::memcmp(id, "data", 4) == 0) {
      if (pcm) return invalid_argument("wav: two data chunks");
      pcm = b + body;
      if (csize == 0xFFFFFFFFu) {
        pcm_bytes = avail;  // size unknown when written (streaming): to the end of the file
      } else if (csize > avail) {
        return invalid_argument("wav: truncated file: data chunk of " + std::to_string(csize) + " bytes, " +
                                std::to_string(avail) + " left");
      } else {
        pcm_bytes = csize;
      }
      if (csize == 0xFFFFFFFFu) break;
    } else if (csize > avail) {
      break;  // a truncated trailing chunk we do not need
    }
    const uint64_t next = static_cast<uint64_t>(body) + csize + (csize & 1u);
    if (next > size) break;
    pos = static_cast<size_t>(next);
  }
  if (!have_fmt) return invalid_argument("wav: no fmt chunk");
  if (!pcm) return invalid_argument("wav: no data chunk");
  info.frames = static_cast<int64_t>(pcm_bytes / static_cast<uint64_t>(block_align));
  const int32_t bytes_per = info.bits_per_sample / 8;
  std::vector<float> mono(static_cast<size_t>(info.frames));
  const float inv = 1.0f / static_cast<float>(info.channels);
  for (int64_t f = 0; f < info.frames; ++f) {
    const uint8_t* frame = pcm + f * block_align;
    float sum = 0.f;
    for (int32_t c = 0; c < info.channels; ++c) sum += sample_at(frame + c * bytes_per, info.format, info.bits_per_sample);
    const float v = info.channels == 1 ? sum : sum * inv;
    if (!std::isfinite(v))
      return invalid_argument("wav: sample " + std::to_string(f) + " is not a finite number");
    mono[static_cast<size_t>(f)] = v;
  }
  out->sample_rate = info.sample_rate;
  out->samples = std::move(mono);
  out->info = info;
  return Status::Ok();
}

Status read_wav_file(const std::string& path, Audio* out) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return io_error("cannot open audio file '" + path + "'");
  const std::streamoff n = f.tellg();
  if (n < 0) return io_error("cannot read audio file '" + path + "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  f.seekg(0);
  if (n > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), n)) return io_error("cannot read audio file '" + path + "'");
  Status st = decode_wav(bytes.data(), bytes.size(), out);
  if (!st.ok()) return Status(st.code(), "'" + path + "': " + st.message());
  return Status::Ok();
}

}  // namespace pocket::audio
