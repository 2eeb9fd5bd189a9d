#include "models/bundle.h"

#include "common/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::models {
namespace {

constexpr const char* kFormat = "culturegan-generator-bundle";

// The spec keys of each model kind, in write order: `required` ones first, then `optional`
// ones (added later; a bundle written before them lacks them, and reads as if they were 0).
struct SpecKeys {
  std::vector<std::string> required, optional;
};
const std::map<std::string, SpecKeys>& spec_keys() {
  static const std::map<std::string, SpecKeys> keys = {
      {"stargan",
       {{"num_cultures", "image_size", "g_conv_dim", "g_res_blocks", "d_conv_dim", "d_layers"},
        {"conditioning", "upsample"}}},
      {"starganv2",
       {{"num_cultures", "image_size", "g_conv_dim", "g_res_blocks", "d_conv_dim", "z_dim",
         "style_dim"},
        {}}},
      {"cyclegan", {{"num_cultures", "image_size", "g_conv_dim", "g_res_blocks"}, {"upsample"}}},
      {"dcgan", {{"num_cultures", "image_size", "z_dim", "g_conv_dim"}, {"upsample"}}}};
  return keys;
}

// CRC-32 over a canonical byte stream of the bundle's content.
std::string checksum(const GeneratorBundle& b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&](const std::string& s) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size()));
  };
  add(b.model);
  std::string spec;  // the spec's values in order, comma-separated
  for (const auto& [key, v] : b.spec) spec += (spec.empty() ? "" : ",") + std::to_string(v);
  add(spec);
  for (const auto& c : b.cultures) add(c + "\n");
  add(b.normalisation);
  for (const auto& [name, t] : b.weights) {
    add(name);
    auto c = t.contiguous().to(torch::kFloat);
    const auto* p = static_cast<const Bytef*>(c.data_ptr());
    size_t n = static_cast<size_t>(c.numel()) * sizeof(float);
    while (n > 0) {
      const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      crc = crc32(crc, p, chunk);
      p += chunk;
      n -= chunk;
    }
  }
  return fmt::format("{:08x}", crc);
}

c10::impl::GenericDict to_dict(const GeneratorBundle& b) {
  c10::impl::GenericDict spec(c10::StringType::get(), c10::IntType::get());
  for (const auto& [key, v] : b.spec) spec.insert(key, v);
  c10::List<std::string> cultures;
  for (const auto& c : b.cultures) cultures.push_back(c);
  c10::impl::GenericDict weights(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : b.weights) weights.insert(name, t);
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("format", std::string(kFormat));
  d.insert("version", kBundleVersion);
  d.insert("model", b.model);
  d.insert("spec", spec);
  d.insert("cultures", cultures);
  d.insert("image_size", b.image_size());
  d.insert("normalisation", b.normalisation);
  d.insert("weights", weights);
  d.insert("checksum", checksum(b));
  return d;
}

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& msg) {
  throw BundleError(fmt::format("{}: {}: {}", path, field, msg));
}

c10::IValue field(const c10::impl::GenericDict& d, const std::string& path, const std::string& key,
                  const std::string& prefix = "") {
  auto it = d.find(key);
  if (it == d.end())
    fail(path, prefix + key, "missing (not a culturegan generator bundle, or damaged)");
  return it->value();
}

}  // namespace

int64_t GeneratorBundle::spec_value(const std::string& key) const {
  for (const auto& [k, v] : spec)
    if (k == key) return v;
  throw BundleError(fmt::format("spec.{}: missing from the {} bundle", key, model));
}

int64_t GeneratorBundle::spec_value_or(const std::string& key, int64_t fallback) const {
  for (const auto& [k, v] : spec)
    if (k == key) return v;
  return fallback;
}

void add_weights(GeneratorBundle& b, const std::string& prefix, const torch::nn::Module& module) {
  const std::string pre = prefix.empty() ? "" : prefix + ".";
  for (const auto& p : module.named_parameters())
    b.weights.emplace_back(pre + p.key(),
                           p.value().detach().to(torch::kCPU, torch::kFloat).clone());
  for (const auto& p : module.named_buffers())
    b.weights.emplace_back(pre + p.key(),
                           p.value().detach().to(torch::kCPU, torch::kFloat).clone());
}

void load_weights(const GeneratorBundle& bundle, const std::string& prefix,
                  torch::nn::Module& module, const std::string& origin) {
  torch::NoGradGuard no_grad;
  const std::string pre = prefix.empty() ? "" : prefix + ".";
  std::map<std::string, torch::Tensor> by_name(bundle.weights.begin(), bundle.weights.end());
  auto load = [&](const std::string& name, torch::Tensor& dst) {
    auto it = by_name.find(pre + name);
    if (it == by_name.end())
      fail(origin, "weights", fmt::format("missing tensor '{}'", pre + name));
    if (!it->second.sizes().equals(dst.sizes()))
      fail(origin, "weights",
           fmt::format("tensor '{}': expected shape {}, found {}", pre + name,
                       fmt::join(dst.sizes(), "x"), fmt::join(it->second.sizes(), "x")));
    dst.copy_(it->second);
  };
  for (auto& p : module.named_parameters()) load(p.key(), p.value());
  for (auto& p : module.named_buffers()) load(p.key(), p.value());
  module.eval();
}

GeneratorBundle make_bundle(const StarGanGenerator& generator,
                            const std::vector<std::string>& cultures) {
  GeneratorBundle b;
  const StarGanSpec& s = generator->spec();
  b.model = "stargan";
  b.spec = {{"num_cultures", s.num_cultures}, {"image_size", s.image_size},
            {"g_conv_dim", s.g_conv_dim},     {"g_res_blocks", s.g_res_blocks},
            {"d_conv_dim", s.d_conv_dim},     {"d_layers", s.d_layers},
            {"conditioning", s.conditioning}, {"upsample", s.upsample}};
  b.cultures = cultures;
  add_weights(b, "", *generator);
  return b;
}

GeneratorBundle make_starganv2_bundle(const StarGanV2Spec& s, const torch::nn::Module& g,
                                      const torch::nn::Module& f, const torch::nn::Module& e,
                                      const std::vector<std::string>& cultures) {
  GeneratorBundle b;
  b.model = "starganv2";
  b.spec = {{"num_cultures", s.num_cultures}, {"image_size", s.image_size},
            {"g_conv_dim", s.g_conv_dim},     {"g_res_blocks", s.g_res_blocks},
            {"d_conv_dim", s.d_conv_dim},     {"z_dim", s.z_dim},
            {"style_dim", s.style_dim}};
  b.cultures = cultures;
  add_weights(b, "G", g);
  add_weights(b, "F", f);
  add_weights(b, "E", e);
  return b;
}

GeneratorBundle make_cyclegan_bundle(int64_t image_size, int64_t g_conv_dim, int64_t res_blocks,
                                     const torch::nn::Module& g_ab, const torch::nn::Module& g_ba,
                                     const std::vector<std::string>& cultures) {
  // The decoder's layers follow from the modules themselves, so the spec cannot disagree.
  auto upsample_of = [](const torch::nn::Module& m) {
    const auto* r = dynamic_cast<const ResnetGeneratorImpl*>(&m);
    return r ? r->upsample() : int64_t{0};
  };
  const int64_t upsample = upsample_of(g_ab);
  if (upsample_of(g_ba) != upsample)
    throw BundleError(
        fmt::format("cyclegan bundle: G_AB has upsample {}, G_BA {}", upsample, upsample_of(g_ba)));
  GeneratorBundle b;
  b.model = "cyclegan";
  b.spec = {{"num_cultures", 2},
            {"image_size", image_size},
            {"g_conv_dim", g_conv_dim},
            {"g_res_blocks", res_blocks},
            {"upsample", upsample}};
  b.cultures = cultures;
  add_weights(b, "G_AB", g_ab);
  add_weights(b, "G_BA", g_ba);
  return b;
}

GeneratorBundle make_dcgan_bundle(const DcganSpec& s, const torch::nn::Module& g,
                                  const std::vector<std::string>& cultures) {
  GeneratorBundle b;
  b.model = "dcgan";
  b.spec = {{"num_cultures", s.num_cultures},
            {"image_size", s.image_size},
            {"z_dim", s.z_dim},
            {"g_conv_dim", s.g_conv_dim},
            {"upsample", s.upsample}};
  b.cultures = cultures;
  add_weights(b, "G", g);
  return b;
}

void save_bundle(const std::string& path, const GeneratorBundle& bundle) {
  const std::vector<char> bytes = torch::pickle_save(to_dict(bundle));
  try {
    common::write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
  } catch (const common::AtomicWriteError& e) {
    throw BundleError(e.what());
  }
}

GeneratorBundle load_bundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "file", "cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue root;
  try {
    root = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    why = why.substr(0, why.find('\n'));
    fail(
        path, "file",
        fmt::format(
            "expected a culturegan generator bundle (torch pickle), cannot parse it ({} bytes): {}",
            bytes.size(), why));
  }
  if (!root.isGenericDict()) fail(path, "file", "expected a dict at the top level");
  const auto d = root.toGenericDict();
  const auto fmt_v = field(d, path, "format");
  if (!fmt_v.isString() || fmt_v.toStringRef() != kFormat)
    fail(path, "format", fmt::format("expected \"{}\"", kFormat));
  const auto ver = field(d, path, "version");
  if (!ver.isInt() || ver.toInt() != kBundleVersion)
    fail(path, "version",
         fmt::format("expected {}, found {}", kBundleVersion,
                     ver.isInt() ? std::to_string(ver.toInt()) : "non-integer"));
  GeneratorBundle b;
  try {
    b.model = field(d, path, "model").toStringRef();
    const auto keys = spec_keys().find(b.model);
    if (keys == spec_keys().end())
      fail(path, "model",
           fmt::format("expected \"stargan\", \"starganv2\", \"cyclegan\" or \"dcgan\", found "
                       "\"{}\"",
                       b.model));
    const auto spec = field(d, path, "spec").toGenericDict();
    for (const auto& k : keys->second.required)
      b.spec.emplace_back(k, field(spec, path, k, "spec.").toInt());
    for (const auto& k : keys->second.optional)
      if (auto it = spec.find(k); it != spec.end()) b.spec.emplace_back(k, it->value().toInt());
    if (static_cast<size_t>(spec.size()) != b.spec.size()) {
      std::vector<std::string> unknown;
      for (const auto& kv : spec) {
        const std::string& k = kv.key().toStringRef();
        if (std::none_of(b.spec.begin(), b.spec.end(), [&](const auto& e) { return e.first == k; }))
          unknown.push_back(k);
      }
      const auto& optional = keys->second.optional;
      fail(path, "spec",
           fmt::format(
               "expected the {} keys {} (optional: {}), found unknown key(s) {}", b.model,
               fmt::join(keys->second.required, ", "),
               optional.empty() ? std::string("none") : fmt::to_string(fmt::join(optional, ", ")),
               fmt::join(unknown, ", ")));
    }
    for (const auto& c : field(d, path, "cultures").toListRef())
      b.cultures.push_back(c.toStringRef());
    b.normalisation = field(d, path, "normalisation").toStringRef();
    for (const auto& kv : field(d, path, "weights").toGenericDict())
      b.weights.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
  } catch (const c10::Error& e) {
    fail(path, "content",
         fmt::format("a field has the wrong type: {}", e.what_without_backtrace()));
  }
  if (static_cast<int64_t>(b.cultures.size()) != b.num_cultures())
    fail(path, "cultures",
         fmt::format("expected {} names (spec.num_cultures), found {}", b.num_cultures(),
                     b.cultures.size()));
  const std::string want = field(d, path, "checksum").toStringRef();
  const std::string got = checksum(b);
  if (want != got)
    fail(path, "checksum",
         fmt::format("expected {} (stored), computed {}: the file is damaged", want, got));
  return b;
}

StarGanSpec stargan_spec(const GeneratorBundle& bundle, const std::string& origin) {
  if (bundle.model != "stargan")
    fail(origin, "model", fmt::format("expected \"stargan\", found \"{}\"", bundle.model));
  StarGanSpec spec;
  spec.num_cultures = bundle.num_cultures();
  spec.image_size = bundle.image_size();
  spec.g_conv_dim = bundle.spec_value("g_conv_dim");
  spec.g_res_blocks = bundle.spec_value("g_res_blocks");
  spec.d_conv_dim = bundle.spec_value("d_conv_dim");
  spec.d_layers = bundle.spec_value("d_layers");
  spec.conditioning = bundle.spec_value_or("conditioning", kConditioningPlanes);
  spec.upsample = bundle.spec_value_or("upsample", kUpsampleTransposed);
  try {
    spec.validate();
  } catch (const std::invalid_argument& e) {
    fail(origin, "spec", e.what());
  }
  return spec;
}

StarGanGenerator make_generator(const GeneratorBundle& bundle, const std::string& origin) {
  StarGanGenerator g(stargan_spec(bundle, origin));
  load_weights(bundle, "", *g, origin);
  return g;
}

}  // namespace culturegan::models
