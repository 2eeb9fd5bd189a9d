#include "trainer/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "trainer/config_schema.h"

namespace culturegan::trainer {
namespace {

using Kind = KeyType;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kInt:
      return "an integer";
    case Kind::kFloat:
      return "a number";
    case Kind::kBool:
      return "a boolean";
    case Kind::kString:
    case Kind::kChoice:
      return "a string";
    case Kind::kStringArray:
      return "an array of strings";
  }
  return "?";
}

std::string found_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::integer:
      return fmt::format("integer {}", *n.value<int64_t>());
    case toml::node_type::floating_point:
      return fmt::format("float {}", *n.value<double>());
    case toml::node_type::boolean:
      return fmt::format("boolean {}", *n.value<bool>());
    case toml::node_type::string:
      return fmt::format("string \"{}\"", *n.value<std::string>());
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

std::string found_value(const toml::node& n) {
  if (n.is_integer()) return fmt::format("{}", *n.value<int64_t>());
  return fmt::format("{}", *n.value<double>());
}

bool kind_matches(Kind k, const toml::node& n) {
  switch (k) {
    case Kind::kInt:
      return n.is_integer();
    case Kind::kFloat:
      return n.is_number();
    case Kind::kBool:
      return n.is_boolean();
    case Kind::kString:
    case Kind::kChoice:
      return n.is_string();
    case Kind::kStringArray: {
      const auto* a = n.as_array();
      return a &&
             std::all_of(a->begin(), a->end(), [](const toml::node& e) { return e.is_string(); });
    }
  }
  return false;
}

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string where(const std::string& origin, const toml::node& n) {
  const auto& src = n.source();
  if (src.begin.line == 0) return origin;
  return fmt::format("{}:{}:{}", origin, src.begin.line, src.begin.column);
}

std::string unknown_key_message(const std::string& at, const std::string& key) {
  std::string best;
  size_t best_d = 4;
  for (const auto& e : config_schema()) {
    const size_t d = edit_distance(key, e.key);
    if (d < best_d) best_d = d, best = e.key;
  }
  std::string renamed;
  for (const auto& r : renamed_keys())
    if (r.old_key == key)
      renamed += fmt::format("{}'{}' for model.kind = \"{}\"", renamed.empty() ? "" : ", ",
                             r.new_key, to_string(r.kind));
  if (!renamed.empty())
    return fmt::format("{}: key '{}' is unknown (renamed: {})", at, key, renamed);
  return fmt::format("{}: key '{}' is unknown{}", at, key,
                     best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best));
}

// What parsing saw: where each key was set (for the model.kind checks at the end) and the
// renamed keys met (an error for the kind that renamed them, unknown otherwise).
struct Seen {
  std::vector<std::pair<std::string, std::string>> set;      // key, where
  std::vector<std::pair<std::string, std::string>> renamed;  // old key, where
};

bool is_renamed(const std::string& key) {
  for (const auto& r : renamed_keys())
    if (r.old_key == key) return true;
  return false;
}

// Type, choice and range of one value; then stores it.
void store(Config& cfg, const KeySpec& e, const toml::node& node, const std::string& at) {
  if (!kind_matches(e.type, node))
    throw ConfigError(fmt::format("{}: key '{}': expected {}, found {}", at, e.key,
                                  kind_name(e.type), found_name(node)));
  if (e.type == Kind::kChoice) {
    const std::string v = *node.value<std::string>();
    if (std::find(e.choices.begin(), e.choices.end(), v) == e.choices.end())
      throw ConfigError(fmt::format("{}: key '{}': expected one of {}, found \"{}\"", at, e.key,
                                    fmt::join(e.choices, " | "), v));
  }
  if (e.range && node.is_number()) {
    const double v = *node.value<double>();
    if (!e.range->contains(v))
      throw ConfigError(fmt::format("{}: key '{}': expected a value {}, found {}", at, e.key,
                                    e.range->text(), found_value(node)));
  }
  e.set(cfg, node);
}

// Applies every leaf of `t` (prefix = dotted path so far) to cfg, checking the schema.
void apply_table(Config& cfg, const toml::table& t, const std::string& prefix,
                 const std::string& origin, Seen& seen) {
  for (const auto& [k, node] : t) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const KeySpec* e = find_key(key);
    if (!e && node.is_table()) {
      apply_table(cfg, *node.as_table(), key, origin, seen);
      continue;
    }
    const auto& src = k.source();
    const std::string at = src.begin.line == 0
                               ? where(origin, node)
                               : fmt::format("{}:{}:{}", origin, src.begin.line, src.begin.column);
    if (!e && is_renamed(key)) {
      seen.renamed.emplace_back(key, at);
      continue;
    }
    if (!e) throw ConfigError(unknown_key_message(at, key));
    store(cfg, *e, node, where(origin, node));
    seen.set.emplace_back(key, at);
  }
}

// Offset of the first byte that is not well-formed UTF-8 text without control characters
// (what TOML itself requires of a document), or npos.
size_t bad_text_at(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return i;
      ++i;
      continue;
    }
    const int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
    if (n < 0 || c < 0xc2 || c > 0xf4 || i + static_cast<size_t>(n) >= s.size()) return i;
    uint32_t cp = c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((d & 0xc0) != 0x80) return i;
      cp = cp << 6 | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += static_cast<size_t>(n) + 1;
  }
  return std::string::npos;
}

void apply_override(Config& cfg, const std::string& assignment, Seen& seen) {
  const std::string origin = fmt::format("--set {}", assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("{}: expected key=value, found no '='", origin));
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const KeySpec* e = find_key(key);
  if (!e && is_renamed(key)) {
    seen.renamed.emplace_back(key, origin);
    return;
  }
  if (!e) throw ConfigError(unknown_key_message(origin, key));
  toml::table parsed;
  bool as_toml = true;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    as_toml = false;
  }
  const bool stringy = e->type == Kind::kString || e->type == Kind::kChoice;
  if (as_toml && !kind_matches(e->type, *parsed["v"].node()) && stringy)
    as_toml = false;  // e.g. --set run.dir=2024 → the string "2024"
  if (!as_toml) {
    // A TOML document is UTF-8 without raw control characters: so is a bare word, or the
    // resolved config.toml (and a resume from it) would not give back the same value.
    if (const size_t at = bad_text_at(value); at != std::string::npos)
      throw ConfigError(fmt::format(
          "{}: key '{}': expected a TOML value or a plain word (UTF-8 text without control "
          "characters), found byte 0x{:02x} at offset {} of the value",
          origin, key, static_cast<unsigned char>(value[at]), at));
    parsed = toml::table{};
    parsed.insert("v", value);
  }
  store(cfg, *e, *parsed["v"].node(), origin);
  seen.set.emplace_back(key, origin);
}

// Keys set for another model kind: renamed ones name their new key; others name the kinds
// that read them (a key that does nothing is an error, not a silent no-op).
void check_kind(const Config& c, const Seen& seen) {
  const ModelKind kind = c.model.kind;
  for (const auto& [key, at] : seen.renamed) {
    for (const auto& r : renamed_keys())
      if (r.old_key == key && r.kind == kind)
        throw ConfigError(fmt::format(
            "{}: key '{}': model.kind = \"{}\" reads this as '{}' (the paper's name); rename it",
            at, key, to_string(kind), r.new_key));
    throw ConfigError(unknown_key_message(at, key));
  }
  for (const auto& [key, at] : seen.set) {
    const KeySpec* e = find_key(key);
    if (e->read_by(kind)) continue;
    for (const auto& r : renamed_keys())
      if (r.old_key == key && r.kind == kind)
        throw ConfigError(fmt::format(
            "{}: key '{}': model.kind = \"{}\" reads this as '{}' (the paper's name); rename it",
            at, key, to_string(kind), r.new_key));
    std::vector<std::string> readers;
    for (const auto& [name, k] : choice_names<ModelKind>())
      if (e->read_by(k)) readers.push_back(name);
    throw ConfigError(fmt::format(
        "{}: key '{}' is read by model.kind = {} only; with model.kind = \"{}\" it would do "
        "nothing: remove it",
        at, key, fmt::join(readers, " | "), to_string(kind)));
  }
}

// ada.pipeline's operations (trainer/algorithms/ada.cpp implements each).
bool is_ada_op(const std::string& op) {
  static const char* const ops[] = {"xflip", "rotate90", "translate",  "scale",    "rotate",
                                    "aniso", "cutout",   "brightness", "contrast", "saturation"};
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

// Checks that involve several keys or the content of a string.
void validate(const Config& c, const std::string& origin) {
  if (c.data.corpus.empty())
    throw ConfigError(fmt::format("{}: key 'data.corpus': required, not set", origin));
  if (c.data.image_size % 4 != 0)
    throw ConfigError(fmt::format("{}: key 'data.image_size': expected a multiple of 4, found {}",
                                  origin, c.data.image_size));
  if (c.cyclegan.domain_a == c.cyclegan.domain_b)
    throw ConfigError(fmt::format(
        "{}: keys 'cyclegan.domain_a', 'cyclegan.domain_b': expected two different cultures, "
        "found {} twice",
        origin, c.cyclegan.domain_a));
  {
    std::stringstream items(c.loss.diffaugment);
    std::string item;
    while (std::getline(items, item, ','))
      if (item != "color" && item != "translation" && item != "cutout")
        throw ConfigError(fmt::format(
            "{}: key 'loss.diffaugment': expected one of color | translation | cutout, found "
            "\"{}\"",
            origin, item));
  }
  for (const auto& op : c.ada.pipeline)
    if (!is_ada_op(op))
      throw ConfigError(fmt::format(
          "{}: key 'ada.pipeline': expected a list of xflip | rotate90 | translate | scale | "
          "rotate | aniso | cutout | brightness | contrast | saturation, found \"{}\"",
          origin, op));
  if (c.eval.every > 0 && c.eval.classifier.empty())
    throw ConfigError(fmt::format(
        "{}: key 'eval.classifier': eval.every = {} needs a culture classifier file (make one "
        "with `culturegan-eval --corpus C.h5 --classifier FILE`), found none",
        origin, c.eval.every));
}

std::string type_name(const KeySpec& k) {
  switch (k.type) {
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kBool:
      return "bool";
    case Kind::kString:
      return "string";
    case Kind::kStringArray:
      return "[string]";
    case Kind::kChoice:
      return "string";
  }
  return "?";
}

}  // namespace

Config parse_config(const std::string& toml_text, const std::string& origin,
                    const std::vector<std::string>& overrides) {
  toml::table table;
  try {
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& err) {
    throw ConfigError(fmt::format("{}:{}:{}: not valid TOML: {}", origin, err.source().begin.line,
                                  err.source().begin.column, err.description()));
  }
  Config cfg;
  Seen seen;
  apply_table(cfg, table, "", origin, seen);
  for (const auto& o : overrides) apply_override(cfg, o, seen);
  check_kind(cfg, seen);
  validate(cfg, origin);
  return cfg;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, overrides);
}

std::string Config::to_toml() const {
  toml::table out;
  for (const auto& e : config_schema())
    if (e.read_by(model.kind)) e.get(*this, out);
  std::stringstream ss;
  ss << out << "\n";
  return ss.str();
}

std::string Config::hash() const {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : to_toml()) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

std::string config_reference_markdown() {
  std::string out =
      "# Configuration keys\n\n"
      "<!-- Generated by `culturegan-train --config-docs` from trainer/config_schema.cpp; "
      "the test config_docs_up_to_date fails when they differ. Do not edit by hand. -->\n\n"
      "`culturegan-train --config FILE [--set key=value ...]`. Every key is optional except\n"
      "`data.corpus`; the resolved config (every key the model kind reads, defaults filled in) "
      "is\nwritten to `run.dir/config.toml` and into every checkpoint, with its hash. Unknown "
      "keys, wrong\ntypes, out-of-range values and keys that the chosen `model.kind` does not "
      "read stop the run\nwith one line naming the file (or the `--set` flag), the "
      "line:column, the key, what was\nexpected and what was found. `--set` takes a TOML "
      "value; a bare word that is not valid TOML\n(or a value for a string key) is a string. "
      "Keys renamed to a paper's symbol (StarGAN v2's\nλ_sty, λ_ds, λ_cyc; CycleGAN's "
      "settings) name their new key when the old one is used.\n\n"
      "| key | type | default | allowed | read by | meaning |\n|---|---|---|---|---|---|\n";
  const Config defaults;
  toml::table values;
  for (const auto& e : config_schema()) e.get(defaults, values);
  for (const auto& e : config_schema()) {
    const auto [sect, leaf] = [&] {
      const auto dot = e.key.find('.');
      return std::make_pair(e.key.substr(0, dot), e.key.substr(dot + 1));
    }();
    std::stringstream v;
    v << values[sect][leaf];
    std::string shown = e.required ? "(required)" : "`" + v.str() + "`";
    std::string allowed;
    if (e.type == Kind::kChoice) {
      for (const auto& c : e.choices) allowed += (allowed.empty() ? "`" : " \\| `") + c + "`";
    } else if (e.range) {
      allowed = e.range->text();
    }
    std::string readers;
    if (e.owners == 0) {
      readers = "all";
    } else {
      for (const auto& [name, k] : choice_names<ModelKind>())
        if (e.read_by(k)) readers += (readers.empty() ? "" : ", ") + name;
    }
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", e.key, type_name(e), shown, allowed,
                       readers, e.doc);
  }
  return out;
}

}  // namespace culturegan::trainer
