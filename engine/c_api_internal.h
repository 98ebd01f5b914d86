// What the C API's implementation files share (engine/c_api.cpp, engine/c_api_pacing.cpp,
// engine/pipelines/*/c_api_*.cpp): the handle structs behind pocket.h's opaque types, the one
// thread-local error message, and call_guarded(), the wrapper every extern "C" entry point that
// returns a pocket_status runs its body in, so that no C++ exception crosses the C API.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "engine/status.h"
#include "pocket/pocket.h"

struct pocket_model {
  std::shared_ptr<const pocket::Model> model;
  std::vector<std::string> labels;
};

struct pocket_session {
  std::unique_ptr<pocket::Session> session;
  std::string notices;      // session->notices() joined with '\n'
  uint64_t generation = 0;  // bumped by every successful resize (outputs no longer hold the last run's)

  void refresh_notices();
};

namespace pocket::capi {

// The message pocket_last_error() returns (and pocket_text_last_error(), pocket_speech_last_error()).
std::string& last_error();

// Sets the thread's message to "function: message" (or message alone when function is NULL) and
// returns code. Never throws: under memory pressure the message may be cut to what fits.
pocket_status fail(pocket_status code, const char* function, const char* message) noexcept;
inline pocket_status fail(pocket_status code, const char* function, const std::string& message) noexcept {
  return fail(code, function, message.c_str());
}
// POCKET_OK, or the status's code with its message (prefixed by nothing: it names its subject).
pocket_status to_c(const pocket::Status& status) noexcept;

// POCKET_OK when every pointer is non-NULL; else POCKET_INVALID_ARGUMENT with
// "function: <name> must not be NULL" for the first NULL one.
struct Arg {
  const void* pointer;
  const char* name;
};
pocket_status require(const char* function, std::initializer_list<Arg> args) noexcept;

// Runs body (returning pocket_status) and maps what escapes it: std::bad_alloc to
// POCKET_OUT_OF_MEMORY, any other std::exception to POCKET_INTERNAL with its what(), anything else
// to POCKET_INTERNAL. The message starts with function.
template <class F>
pocket_status call_guarded(const char* function, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(POCKET_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return fail(POCKET_INTERNAL, function, e.what());
  } catch (...) {
    return fail(POCKET_INTERNAL, function, "unknown exception");
  }
}

}  // namespace pocket::capi
