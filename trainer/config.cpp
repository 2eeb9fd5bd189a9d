#include "trainer/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace culturegan::trainer {
namespace {

enum class Kind { kInt, kFloat, kBool, kString, kStringArray };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kInt:
      return "an integer";
    case Kind::kFloat:
      return "a number";
    case Kind::kBool:
      return "a boolean";
    case Kind::kString:
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

// One schema entry: a dotted key, its kind, and where it lives in Config.
struct Entry {
  const char* key;
  Kind kind;
  std::function<void(Config&, const toml::node&)> set;
  std::function<void(const Config&, toml::table&)> get;
};

template <typename S, typename F>
Entry entry(const char* key, Kind kind, S Config::*section, F S::*field) {
  return Entry{key, kind,
               [section, field, kind](Config& c, const toml::node& n) {
                 auto& dst = (c.*section).*field;
                 using V = std::decay_t<decltype(dst)>;
                 if constexpr (std::is_same_v<V, std::vector<std::string>>) {
                   dst.clear();
                   for (const auto& e : *n.as_array()) dst.push_back(*e.value<std::string>());
                 } else if constexpr (std::is_same_v<V, double>) {
                   dst = *n.value<double>();  // integers promote
                 } else {
                   dst = *n.value<V>();
                 }
                 (void)kind;
               },
               [section, field, key](const Config& c, toml::table& out) {
                 const auto& v = (c.*section).*field;
                 using V = std::decay_t<decltype(v)>;
                 std::string k(key);
                 const auto dot = k.find('.');
                 const std::string sect = k.substr(0, dot), leaf = k.substr(dot + 1);
                 if (!out.contains(sect)) out.insert(sect, toml::table{});
                 auto* t = out[sect].as_table();
                 if constexpr (std::is_same_v<V, std::vector<std::string>>) {
                   toml::array a;
                   for (const auto& s : v) a.push_back(s);
                   t->insert_or_assign(leaf, std::move(a));
                 } else {
                   t->insert_or_assign(leaf, v);
                 }
               }};
}

const std::vector<Entry>& schema() {
  static const std::vector<Entry> s = {
      entry("run.dir", Kind::kString, &Config::run, &RunConfig::dir),
      entry("data.corpus", Kind::kString, &Config::data, &DataConfig::corpus),
      entry("data.image_size", Kind::kInt, &Config::data, &DataConfig::image_size),
      entry("data.threads", Kind::kInt, &Config::data, &DataConfig::threads),
      entry("data.prefetch", Kind::kInt, &Config::data, &DataConfig::prefetch),
      entry("data.hflip", Kind::kBool, &Config::data, &DataConfig::hflip),
      entry("data.no_flip_cultures", Kind::kStringArray, &Config::data,
            &DataConfig::no_flip_cultures),
      entry("data.culture_balanced", Kind::kBool, &Config::data, &DataConfig::culture_balanced),
      entry("model.kind", Kind::kString, &Config::model, &ModelConfig::kind),
      entry("model.g_conv_dim", Kind::kInt, &Config::model, &ModelConfig::g_conv_dim),
      entry("model.g_res_blocks", Kind::kInt, &Config::model, &ModelConfig::g_res_blocks),
      entry("model.d_conv_dim", Kind::kInt, &Config::model, &ModelConfig::d_conv_dim),
      entry("model.d_layers", Kind::kInt, &Config::model, &ModelConfig::d_layers),
      entry("model.z_dim", Kind::kInt, &Config::model, &ModelConfig::z_dim),
      entry("model.spectral_norm", Kind::kBool, &Config::model, &ModelConfig::spectral_norm),
      entry("model.domain_a", Kind::kInt, &Config::model, &ModelConfig::domain_a),
      entry("model.domain_b", Kind::kInt, &Config::model, &ModelConfig::domain_b),
      entry("loss.adversarial", Kind::kString, &Config::loss, &LossConfig::adversarial),
      entry("loss.lambda_cls", Kind::kFloat, &Config::loss, &LossConfig::lambda_cls),
      entry("loss.lambda_rec", Kind::kFloat, &Config::loss, &LossConfig::lambda_rec),
      entry("loss.lambda_id", Kind::kFloat, &Config::loss, &LossConfig::lambda_id),
      entry("loss.gp_lambda", Kind::kFloat, &Config::loss, &LossConfig::gp_lambda),
      entry("loss.r1_gamma", Kind::kFloat, &Config::loss, &LossConfig::r1_gamma),
      entry("loss.r1_interval", Kind::kInt, &Config::loss, &LossConfig::r1_interval),
      entry("loss.diffaugment", Kind::kString, &Config::loss, &LossConfig::diffaugment),
      entry("optim.g_lr", Kind::kFloat, &Config::optim, &OptimConfig::g_lr),
      entry("optim.d_lr", Kind::kFloat, &Config::optim, &OptimConfig::d_lr),
      entry("optim.beta1", Kind::kFloat, &Config::optim, &OptimConfig::beta1),
      entry("optim.beta2", Kind::kFloat, &Config::optim, &OptimConfig::beta2),
      entry("optim.n_critic", Kind::kInt, &Config::optim, &OptimConfig::n_critic),
      entry("optim.decay_start", Kind::kInt, &Config::optim, &OptimConfig::decay_start),
      entry("train.steps", Kind::kInt, &Config::train, &TrainConfig::steps),
      entry("train.batch_size", Kind::kInt, &Config::train, &TrainConfig::batch_size),
      entry("train.seed", Kind::kInt, &Config::train, &TrainConfig::seed),
      entry("train.ema_beta", Kind::kFloat, &Config::train, &TrainConfig::ema_beta),
      entry("train.log_every_s", Kind::kFloat, &Config::train, &TrainConfig::log_every_s),
      entry("train.sample_every", Kind::kInt, &Config::train, &TrainConfig::sample_every),
      entry("train.threads", Kind::kInt, &Config::train, &TrainConfig::threads),
      entry("train.precision", Kind::kString, &Config::train, &TrainConfig::precision),
      entry("train.device", Kind::kString, &Config::train, &TrainConfig::device),
      entry("train.non_finite", Kind::kString, &Config::train, &TrainConfig::non_finite),
      entry("train.max_minutes", Kind::kFloat, &Config::train, &TrainConfig::max_minutes),
      entry("train.pool_size", Kind::kInt, &Config::train, &TrainConfig::pool_size),
      entry("checkpoint.every", Kind::kInt, &Config::checkpoint, &CheckpointConfig::every),
      entry("checkpoint.keep", Kind::kInt, &Config::checkpoint, &CheckpointConfig::keep),
      entry("distributed.backend", Kind::kString, &Config::distributed,
            &DistributedConfig::backend),
      entry("distributed.bucket_mb", Kind::kFloat, &Config::distributed,
            &DistributedConfig::bucket_mb),
      entry("distributed.first_bucket_mb", Kind::kFloat, &Config::distributed,
            &DistributedConfig::first_bucket_mb),
      entry("distributed.timeout_s", Kind::kFloat, &Config::distributed,
            &DistributedConfig::timeout_s),
      entry("distributed.check_every", Kind::kInt, &Config::distributed,
            &DistributedConfig::check_every),
      entry("distributed.scrub_non_finite", Kind::kBool, &Config::distributed,
            &DistributedConfig::scrub_non_finite),
      entry("sample.source_culture", Kind::kString, &Config::sample, &SampleConfig::source_culture),
      entry("sample.count", Kind::kInt, &Config::sample, &SampleConfig::count),
      entry("eval.every", Kind::kInt, &Config::eval, &EvalConfig::every),
      entry("eval.classifier", Kind::kString, &Config::eval, &EvalConfig::classifier),
      entry("eval.classifier_width", Kind::kInt, &Config::eval, &EvalConfig::classifier_width),
  };
  return s;
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

const Entry* find_entry(const std::string& key) {
  for (const auto& e : schema())
    if (key == e.key) return &e;
  return nullptr;
}

std::string unknown_key_message(const std::string& at, const std::string& key) {
  std::string best;
  size_t best_d = 4;
  for (const auto& e : schema()) {
    const size_t d = edit_distance(key, e.key);
    if (d < best_d) best_d = d, best = e.key;
  }
  return fmt::format("{}: key '{}' is unknown{}", at, key,
                     best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best));
}

// Applies every leaf of `t` (prefix = dotted path so far) to cfg, checking the schema.
void apply_table(Config& cfg, const toml::table& t, const std::string& prefix,
                 const std::string& origin) {
  for (const auto& [k, node] : t) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const Entry* e = find_entry(key);
    if (!e && node.is_table()) {
      apply_table(cfg, *node.as_table(), key, origin);
      continue;
    }
    if (!e) {
      const auto& src = k.source();
      const std::string at =
          src.begin.line == 0 ? where(origin, node)
                              : fmt::format("{}:{}:{}", origin, src.begin.line, src.begin.column);
      throw ConfigError(unknown_key_message(at, key));
    }
    if (!kind_matches(e->kind, node))
      throw ConfigError(fmt::format("{}: key '{}': expected {}, found {}", where(origin, node), key,
                                    kind_name(e->kind), found_name(node)));
    e->set(cfg, node);
  }
}

void apply_override(Config& cfg, const std::string& assignment) {
  const std::string origin = fmt::format("--set {}", assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("{}: expected key=value, found no '='", origin));
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const Entry* e = find_entry(key);
  if (!e) throw ConfigError(unknown_key_message(origin, key));
  toml::table parsed;
  bool as_toml = true;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    as_toml = false;
  }
  if (as_toml && !kind_matches(e->kind, *parsed["v"].node()) && e->kind == Kind::kString)
    as_toml = false;  // e.g. --set run.dir=2024 → the string "2024"
  if (!as_toml) {
    parsed = toml::table{};
    parsed.insert("v", value);
  }
  const toml::node& n = *parsed["v"].node();
  if (!kind_matches(e->kind, n))
    throw ConfigError(fmt::format("{}: key '{}': expected {}, found {}", origin, key,
                                  kind_name(e->kind), found_name(n)));
  e->set(cfg, n);
}

void check_one_of(const std::string& origin, const char* key, const std::string& v,
                  std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (v == a) return;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : " | ") + std::string(a);
  throw ConfigError(
      fmt::format("{}: key '{}': expected one of {}, found \"{}\"", origin, key, list, v));
}

void check_positive(const std::string& origin, const char* key, double v, bool allow_zero = false) {
  if (v < 0 || (!allow_zero && v == 0))
    throw ConfigError(fmt::format("{}: key '{}': expected a value {} 0, found {}", origin, key,
                                  allow_zero ? ">=" : ">", v));
}

void validate(const Config& c, const std::string& origin) {
  if (c.data.corpus.empty())
    throw ConfigError(fmt::format("{}: key 'data.corpus': required, not set", origin));
  check_positive(origin, "data.image_size", double(c.data.image_size));
  if (c.data.image_size % 4 != 0)
    throw ConfigError(fmt::format("{}: key 'data.image_size': expected a multiple of 4, found {}",
                                  origin, c.data.image_size));
  check_positive(origin, "data.threads", double(c.data.threads));
  check_positive(origin, "data.prefetch", double(c.data.prefetch));
  check_one_of(origin, "model.kind", c.model.kind, {"stargan", "starganv2", "dcgan", "cyclegan"});
  check_positive(origin, "model.g_conv_dim", double(c.model.g_conv_dim));
  check_positive(origin, "model.g_res_blocks", double(c.model.g_res_blocks), true);
  check_positive(origin, "model.d_conv_dim", double(c.model.d_conv_dim));
  check_positive(origin, "model.d_layers", double(c.model.d_layers), true);
  check_one_of(origin, "loss.adversarial", c.loss.adversarial,
               {"lsgan", "bce", "hinge", "wgan-gp"});
  check_positive(origin, "model.z_dim", double(c.model.z_dim));
  check_positive(origin, "model.domain_a", double(c.model.domain_a), true);
  check_positive(origin, "model.domain_b", double(c.model.domain_b), true);
  if (c.model.domain_a == c.model.domain_b)
    throw ConfigError(
        fmt::format("{}: keys 'model.domain_a', 'model.domain_b': expected two different cultures, "
                    "found {} twice",
                    origin, c.model.domain_a));
  check_positive(origin, "loss.lambda_id", c.loss.lambda_id, true);
  check_positive(origin, "loss.gp_lambda", c.loss.gp_lambda, true);
  check_positive(origin, "loss.r1_gamma", c.loss.r1_gamma, true);
  check_positive(origin, "loss.r1_interval", double(c.loss.r1_interval));
  {
    std::stringstream items(c.loss.diffaugment);
    std::string item;
    while (std::getline(items, item, ','))
      check_one_of(origin, "loss.diffaugment", item, {"color", "translation", "cutout"});
  }
  check_positive(origin, "optim.decay_start", double(c.optim.decay_start), true);
  check_positive(origin, "train.pool_size", double(c.train.pool_size), true);
  check_positive(origin, "optim.g_lr", c.optim.g_lr);
  check_positive(origin, "optim.d_lr", c.optim.d_lr);
  if (c.optim.beta1 < 0 || c.optim.beta1 >= 1 || c.optim.beta2 < 0 || c.optim.beta2 >= 1)
    throw ConfigError(fmt::format(
        "{}: keys 'optim.beta1', 'optim.beta2': expected values in [0,1), found {} and {}", origin,
        c.optim.beta1, c.optim.beta2));
  check_positive(origin, "optim.n_critic", double(c.optim.n_critic));
  check_positive(origin, "train.steps", double(c.train.steps));
  check_positive(origin, "train.batch_size", double(c.train.batch_size));
  if (c.train.ema_beta < 0 || c.train.ema_beta >= 1)
    throw ConfigError(fmt::format("{}: key 'train.ema_beta': expected a value in [0,1), found {}",
                                  origin, c.train.ema_beta));
  check_positive(origin, "train.log_every_s", c.train.log_every_s, true);
  check_positive(origin, "train.sample_every", double(c.train.sample_every), true);
  check_positive(origin, "train.threads", double(c.train.threads), true);
  check_one_of(origin, "train.precision", c.train.precision, {"fp32", "bf16"});
  check_one_of(origin, "train.device", c.train.device, {"auto", "cpu", "cuda"});
  check_one_of(origin, "train.non_finite", c.train.non_finite, {"stop", "skip"});
  check_positive(origin, "train.max_minutes", c.train.max_minutes, true);
  check_positive(origin, "checkpoint.every", double(c.checkpoint.every), true);
  check_positive(origin, "checkpoint.keep", double(c.checkpoint.keep));
  check_one_of(origin, "distributed.backend", c.distributed.backend, {"auto", "mpi", "nccl"});
  check_positive(origin, "distributed.bucket_mb", c.distributed.bucket_mb);
  check_positive(origin, "distributed.first_bucket_mb", c.distributed.first_bucket_mb);
  check_positive(origin, "distributed.timeout_s", c.distributed.timeout_s);
  check_positive(origin, "distributed.check_every", double(c.distributed.check_every), true);
  check_positive(origin, "sample.count", double(c.sample.count), true);
  check_positive(origin, "eval.every", double(c.eval.every), true);
  check_positive(origin, "eval.classifier_width", double(c.eval.classifier_width));
  if (c.eval.every > 0 && c.eval.classifier.empty())
    throw ConfigError(fmt::format(
        "{}: key 'eval.classifier': eval.every = {} needs a culture classifier file (make one "
        "with `culturegan-eval --corpus C.h5 --classifier FILE`), found none",
        origin, c.eval.every));
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
  apply_table(cfg, table, "", origin);
  for (const auto& o : overrides) apply_override(cfg, o);
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
  for (const auto& e : schema()) e.get(*this, out);
  std::stringstream ss;
  ss << out << "\n";
  return ss.str();
}

std::string Config::hash() const {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : to_toml()) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

}  // namespace culturegan::trainer
