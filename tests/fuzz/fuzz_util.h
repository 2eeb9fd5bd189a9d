// Shared by the fuzz targets (tests/fuzz/README.md): a private scratch directory, file
// writes, and the rule every target follows: the entry point's documented error type is a
// clean rejection (success); anything else (another exception type, std::bad_alloc, a
// crash, an ASan/UBSan report, a hang) surfaces as a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace culturegan::fuzz {

/// A directory of this process's own under $TMPDIR (or /tmp), created on first use and
/// removed at exit. Never shared between processes (libFuzzer -jobs/-fork are safe).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/culturegan-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::filesystem::path p(templ);
    static std::filesystem::path* to_remove = new std::filesystem::path(p);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*to_remove, ec);
    });
    return p;
  }();
  return dir;
}

/// Writes `bytes` to `path` (truncating). Aborts on failure: the harness itself is broken.
inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// A documented error was thrown, but its message breaks the project's rule (one line,
/// naming the file): report it as a finding.
[[noreturn]] inline void bad_message(const char* why, const std::string& msg) {
  std::fprintf(stderr, "fuzz harness: clean error with a bad message (%s):\n%s\n", why,
               msg.c_str());
  std::abort();
}

/// With CULTUREGAN_FUZZ_VERBOSE set, prints each clean rejection (to see what seeds reach).
inline void note(const std::string& msg) {
  static const bool verbose = std::getenv("CULTUREGAN_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "clean error: %s\n", msg.c_str());
}

/// Checks that a clean error's message names `name` and is one line.
inline void check_message(const std::string& msg, const std::string& name) {
  if (msg.find(name) == std::string::npos) bad_message("does not name the input", msg);
  if (msg.find('\n') != std::string::npos) bad_message("more than one line", msg);
}

/// Splits `data` at the first occurrence of `sep`: {before, after} ({data, ""} without one).
inline std::pair<std::string_view, std::string_view> split_once(std::string_view data,
                                                                std::string_view sep) {
  const size_t at = data.find(sep);
  if (at == std::string_view::npos) return {data, {}};
  return {data.substr(0, at), data.substr(at + sep.size())};
}

}  // namespace culturegan::fuzz
