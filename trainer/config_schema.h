// The config schema: the single source of every key's type, default (the Config struct's
// initialiser), allowed values, the model kinds that read it and its one-line doc. The parser
// (config.cpp), the resolved TOML and docs/config.md all come from this table.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "trainer/config.h"

namespace culturegan::trainer {

enum class KeyType { kInt, kFloat, kBool, kString, kStringArray, kChoice };

/// A numeric range: lo (< or <=) value (< or <=) hi; a side is absent when not has_*.
struct Range {
  bool has_lo = false, lo_open = false, has_hi = false, hi_open = false;
  double lo = 0, hi = 0;
  bool contains(double v) const;
  std::string text() const;  ///< "> 0", ">= 0", "in [0,1)"
};

struct KeySpec {
  std::string key;  ///< "section.leaf"
  KeyType type;
  std::vector<std::string> choices;  ///< kChoice: the names, in doc order
  std::optional<Range> range;        ///< kInt, kFloat
  unsigned owners = 0;               ///< bitmask of 1 << ModelKind; 0 = every kind
  bool required = false;
  std::string doc;
  /// Stores a node of the right type (choices already validated) into the config.
  std::function<void(Config&, const toml::node&)> set;
  /// Writes the key's value into `out[section][leaf]`.
  std::function<void(const Config&, toml::table&)> get;

  bool read_by(ModelKind kind) const {
    return owners == 0 || (owners & (1u << static_cast<unsigned>(kind))) != 0;
  }
};

/// Every key, in documentation order.
const std::vector<KeySpec>& config_schema();
/// The KeySpec of `key`, or nullptr.
const KeySpec* find_key(const std::string& key);

/// A key that a model kind reads under another name (the paper's symbol): setting `old_key`
/// with model.kind = `kind` is an error naming `new_key`.
struct RenamedKey {
  std::string old_key;
  ModelKind kind;
  std::string new_key;
};
const std::vector<RenamedKey>& renamed_keys();

}  // namespace culturegan::trainer
