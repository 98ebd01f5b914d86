// Constants of the .pocket container shared by the writer (converter/) and the reader (engine/).
//
// Layout: [uint32 flatbuffer size][FlatBuffer, identifier "PCKT"][zero padding][weight segment]
// The weight segment starts at Model.weights_offset (a multiple of kWeightAlignment) and holds
// every constant tensor at a kWeightAlignment-aligned offset.
#pragma once

#include <cstdint>

namespace pocket::format {

inline constexpr uint32_t kFormatMajor = 1;
inline constexpr uint32_t kFormatMinor = 2;
inline constexpr uint64_t kWeightAlignment = 64;
inline constexpr const char* kFileIdentifier = "PCKT";

inline constexpr uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace pocket::format
