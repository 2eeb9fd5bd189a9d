#include "trainer/models/bundle.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::models {
namespace {

constexpr const char* kFormat = "culturegan-generator-bundle";

// CRC-32 over a canonical byte stream of the bundle's content.
std::string checksum(const GeneratorBundle& b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&](const std::string& s) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size()));
  };
  add(b.model);
  add(fmt::format("{},{},{},{},{},{}", b.spec.num_cultures, b.spec.image_size, b.spec.g_conv_dim,
                  b.spec.g_res_blocks, b.spec.d_conv_dim, b.spec.d_layers));
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
  spec.insert("num_cultures", b.spec.num_cultures);
  spec.insert("image_size", b.spec.image_size);
  spec.insert("g_conv_dim", b.spec.g_conv_dim);
  spec.insert("g_res_blocks", b.spec.g_res_blocks);
  spec.insert("d_conv_dim", b.spec.d_conv_dim);
  spec.insert("d_layers", b.spec.d_layers);
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
  d.insert("image_size", b.spec.image_size);
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

GeneratorBundle make_bundle(const StarGanGenerator& generator,
                            const std::vector<std::string>& cultures) {
  GeneratorBundle b;
  b.spec = generator->spec();
  b.cultures = cultures;
  for (const auto& p : generator->named_parameters())
    b.weights.emplace_back(p.key(), p.value().detach().to(torch::kCPU, torch::kFloat).clone());
  for (const auto& p : generator->named_buffers())
    b.weights.emplace_back(p.key(), p.value().detach().to(torch::kCPU, torch::kFloat).clone());
  return b;
}

void save_bundle(const std::string& path, const GeneratorBundle& bundle) {
  const std::vector<char> bytes = torch::pickle_save(to_dict(bundle));
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw BundleError(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw BundleError(fmt::format("{}: write failed: {}", tmp, std::strerror(e)));
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw BundleError(fmt::format("{}: fsync/close failed: {}", tmp, std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw BundleError(
        fmt::format("{}: cannot rename from {}: {}", path, tmp, std::strerror(errno)));
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
    const auto spec = field(d, path, "spec").toGenericDict();
    auto get = [&](const char* k) { return field(spec, path, k, "spec.").toInt(); };
    b.spec.num_cultures = get("num_cultures");
    b.spec.image_size = get("image_size");
    b.spec.g_conv_dim = get("g_conv_dim");
    b.spec.g_res_blocks = get("g_res_blocks");
    b.spec.d_conv_dim = get("d_conv_dim");
    b.spec.d_layers = get("d_layers");
    for (const auto& c : field(d, path, "cultures").toListRef())
      b.cultures.push_back(c.toStringRef());
    b.normalisation = field(d, path, "normalisation").toStringRef();
    for (const auto& kv : field(d, path, "weights").toGenericDict())
      b.weights.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
  } catch (const c10::Error& e) {
    fail(path, "content",
         fmt::format("a field has the wrong type: {}", e.what_without_backtrace()));
  }
  if (b.model != "stargan")
    fail(path, "model", fmt::format("expected \"stargan\", found \"{}\"", b.model));
  if (static_cast<int64_t>(b.cultures.size()) != b.spec.num_cultures)
    fail(path, "cultures",
         fmt::format("expected {} names (spec.num_cultures), found {}", b.spec.num_cultures,
                     b.cultures.size()));
  const std::string want = field(d, path, "checksum").toStringRef();
  const std::string got = checksum(b);
  if (want != got)
    fail(path, "checksum",
         fmt::format("expected {} (stored), computed {}: the file is damaged", want, got));
  return b;
}

StarGanGenerator make_generator(const GeneratorBundle& bundle, const std::string& origin) {
  StarGanGenerator g(bundle.spec);
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> by_name(bundle.weights.begin(), bundle.weights.end());
  auto load = [&](const std::string& name, torch::Tensor& dst) {
    auto it = by_name.find(name);
    if (it == by_name.end()) fail(origin, "weights", fmt::format("missing tensor '{}'", name));
    if (!it->second.sizes().equals(dst.sizes()))
      fail(origin, "weights",
           fmt::format("tensor '{}': expected shape {}, found {}", name,
                       fmt::join(dst.sizes(), "x"), fmt::join(it->second.sizes(), "x")));
    dst.copy_(it->second);
  };
  for (auto& p : g->named_parameters()) load(p.key(), p.value());
  for (auto& p : g->named_buffers()) load(p.key(), p.value());
  g->eval();
  return g;
}

}  // namespace culturegan::models
