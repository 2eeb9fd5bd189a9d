// Fuzz target: config parse + validate (trainer::parse_config), TOML text and --set values.
// Input: TOML text, optionally followed by a line "#--set" and then one override per line
// ("key=value", as given to --set).
// Clean rejection: trainer::ConfigError naming the file ("fuzz.toml") or the flag ("--set").
// A config that parses must round-trip: parse_config(cfg.to_toml()) succeeds and has the same
// hash (config.h documents it; checkpoints and resume rely on it).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"
#include "trainer/config.h"

using namespace culturegan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto [toml_text, sets] = fuzz::split_once(all, "\n#--set\n");
  std::vector<std::string> overrides;
  for (size_t at = 0; at < sets.size();) {
    size_t nl = sets.find('\n', at);
    if (nl == std::string_view::npos) nl = sets.size();
    overrides.emplace_back(sets.substr(at, nl - at));
    at = nl + 1;
  }
  const std::string origin = "fuzz.toml";
  trainer::Config cfg;
  try {
    cfg = trainer::parse_config(std::string(toml_text), origin, overrides);
  } catch (const trainer::ConfigError& e) {
    const std::string msg = e.what();
    fuzz::note(msg);
    if (msg.find(origin) == std::string::npos && msg.find("--set") == std::string::npos)
      fuzz::bad_message("names neither the file nor the --set flag", msg);
    return 0;
  }
  const std::string text = cfg.to_toml();
  trainer::Config again;
  try {
    again = trainer::parse_config(text, "resolved.toml");
  } catch (const trainer::ConfigError& e) {
    std::fprintf(stderr, "the resolved config does not parse again: %s\n--- resolved:\n%s\n",
                 e.what(), text.c_str());
    std::abort();
  }
  if (again.hash() != cfg.hash()) {
    std::fprintf(stderr, "round trip changed the config:\n--- first:\n%s\n--- second:\n%s\n",
                 text.c_str(), again.to_toml().c_str());
    std::abort();
  }
  return 0;
}
