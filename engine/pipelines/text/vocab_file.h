// Reading a WordPiece vocab.txt: one token per line, the token's id is its line number (from 0).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace pocket::text {

// Parses vocab.txt bytes. Accepts LF or CRLF line ends, a UTF-8 byte-order mark and empty lines
// at the end. Fails (naming `name` and the line) on: no tokens, invalid UTF-8, a NUL byte, a tab
// (a "token<TAB>score" file is not a vocab.txt), an empty line before the last token, a token
// over 1000 bytes, or a token listed twice.
Status parse_vocab_txt(std::string_view bytes, const std::string& name, std::vector<std::string>* vocab);
// Reads and parses a file (io error naming the path when it cannot be read).
Status read_vocab_txt(const std::string& path, std::vector<std::string>* vocab);

}  // namespace pocket::text
