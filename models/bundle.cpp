#include "models/bundle.h"

#include "common/atomic_write.h"
#include "common/torch_compat.h"

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
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

// The first line of a library's message, printable ASCII only, at most 200 bytes (LibTorch's
// unpickler quotes the input's bytes in some messages).
std::string one_line(const std::string& what) {
  std::string out;
  for (char c : what.substr(0, what.find('\n'))) {
    if (out.size() >= 200) break;
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? c : '?';
  }
  return out;
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

// ---- What is checked before LibTorch deserialises a bundle (docs/security.md) ----

// Bounds-checked in-memory reader for PyTorchStreamReader (caffe2's MemoryReadAdapter does
// not check `pos + n`).
class BytesReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BytesReader(const std::vector<char>& bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = std::min<size_t>(n, bytes_.size() - static_cast<size_t>(pos));
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<char>& bytes_;
};

// The zip's entry list, through LibTorch's own reader: only the records torch::pickle_save
// writes ("data.pkl", "version", "data/<n>" tensor storages; LibTorch 2.x adds "byteorder" and
// ".data/serialization_id"), each starting inside the file.
void check_entries(const std::string& path, const std::vector<char>& bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK\x03\x04", 4) != 0)
    fail(path, "file",
         fmt::format("expected a culturegan generator bundle (a zip archive written by "
                     "torch::pickle_save), found {} bytes that do not start with a zip header",
                     bytes.size()));
  std::vector<std::string> records;
  try {
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BytesReader>(bytes));
    records = reader.getAllRecords();
    if (records.size() > kMaxBundleRecords)
      fail(path, "file",
           fmt::format("expected at most {} archive entries, found {}", kMaxBundleRecords,
                       records.size()));
    bool has_pickle = false;
    for (const auto& r : records) {
      bool ok = r == "data.pkl" || r == "version" || r == ".data/version" || r == "byteorder" ||
                r == ".data/serialization_id";
      if (!ok && r.size() > 5 && r.size() <= 15 && r.compare(0, 5, "data/") == 0)
        ok = std::all_of(r.begin() + 5, r.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!ok)
        fail(path, "file",
             fmt::format("unexpected archive entry '{}' (a bundle holds data.pkl, version, "
                         "byteorder, .data/serialization_id and data/<n> tensor storages only)",
                         r.substr(0, 80)));
      has_pickle |= r == "data.pkl";
      if (reader.getRecordOffset(r) > bytes.size())
        fail(path, "file", fmt::format("archive entry '{}' starts beyond the end of the file", r));
    }
    if (!has_pickle) fail(path, "file", "archive has no data.pkl entry (not a bundle)");
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    why = why.substr(0, why.find('\n'));
    fail(path, "file",
         fmt::format("expected a zip archive (torch pickle), cannot read its entry "
                     "list ({} bytes): {}",
                     bytes.size(), why));
  } catch (const BundleError&) {
    throw;
  } catch (const std::exception& e) {
    fail(path, "file",
         fmt::format("expected a zip archive (torch pickle), cannot read its entry "
                     "list ({} bytes): {}",
                     bytes.size(), one_line(e.what())));
  }
}

// While a bundle is unpickled on this thread, no single CPU allocation may exceed the file's
// size: torch::pickle_save stores every record uncompressed, so a record (or tensor) larger
// than the file is a lie of the zip's central directory (a deflated entry claiming gigabytes)
// and is refused before the memory is taken. Other threads are not affected.
thread_local size_t t_alloc_limit = 0;
thread_local size_t t_alloc_refused = 0;

class BoundedCpuAllocator final : public c10::Allocator {
 public:
  explicit BoundedCpuAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t n) CULTUREGAN_ALLOCATE_CONST override {
    if (t_alloc_limit != 0 && n > t_alloc_limit) {
      t_alloc_refused = n;
      TORCH_CHECK(false, "allocation of ", n, " bytes refused while reading a bundle");
    }
    return base_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }
#if CULTUREGAN_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    base_->copy_data(dest, src, count);
  }
#endif

 private:
  c10::Allocator* base_;
};

struct AllocLimitGuard {
  explicit AllocLimitGuard(size_t limit) {
    static std::once_flag once;
    std::call_once(once, [] {
      static BoundedCpuAllocator bounded(c10::GetCPUAllocator());
      c10::SetCPUAllocator(&bounded, /*priority=*/255);
    });
    t_alloc_limit = limit;
    t_alloc_refused = 0;
  }
  ~AllocLimitGuard() { t_alloc_limit = 0; }
  AllocLimitGuard(const AllocLimitGuard&) = delete;
  AllocLimitGuard& operator=(const AllocLimitGuard&) = delete;
};

// Ranges of the spec values (every model kind), checked before anything is built from them.
struct SpecRange {
  int64_t lo, hi;
};
const std::map<std::string, SpecRange>& spec_ranges() {
  static const std::map<std::string, SpecRange> r = {
      {"num_cultures", {1, 4096}}, {"image_size", {1, 8192}}, {"g_conv_dim", {1, 4096}},
      {"g_res_blocks", {0, 64}},   {"d_conv_dim", {1, 4096}}, {"d_layers", {0, 16}},
      {"z_dim", {1, 4096}},        {"style_dim", {1, 4096}},  {"conditioning", {0, 1}},
      {"upsample", {0, 2}}};
  return r;
}

bool power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// A lower bound on the generator's parameter count for `b.spec` (only weight tensors every
// such network has; double: no overflow). A spec that claims more parameters than the weights
// stored is refused before the network is built, so the file's size bounds the allocation.
double min_parameters(const GeneratorBundle& b) {
  auto v = [&](const char* k) { return static_cast<double>(b.spec_value_or(k, 0)); };
  const double g = v("g_conv_dim"), res = v("g_res_blocks"), c = v("num_cultures");
  if (b.model == "stargan" || b.model == "cyclegan") {
    // first conv (3 [+ C] → g, 7x7 or 3x3 ≥ 9 taps), two stride-2 convs g→2g→4g (≥ 9 taps),
    // and per residual block two 3x3 convs 4g → 4g.
    return 9 * 3 * g + 9 * (2 * g * g + 8 * g * g) + res * 2 * 9 * 16 * g * g;
  }
  if (b.model == "starganv2") {
    // G: ResBlk(g,2g), ResBlk(2g,4g) (3x3 c1, c2), 2·res ResBlks 4g→4g; F: C heads of 256x256.
    return 9 * (g * g + 2 * g * g + 4 * g * g + 8 * g * g) + res * 2 * 2 * 9 * 16 * g * g +
           c * 256 * 256;
  }
  if (b.model == "dcgan") {
    const double s = v("image_size");
    const double layers = std::max(1.0, std::log2(std::max(s, 8.0)) - 2);
    const double width = g * std::pow(2.0, layers - 1);  // the first (widest) layer
    return (v("z_dim") + c) * width * 16 + (layers >= 2 ? 9 * width * (width / 2) : 0);
  }
  return 0;
}

void check_spec(const std::string& path, const GeneratorBundle& b) {
  for (const auto& [k, value] : b.spec) {
    const auto r = spec_ranges().find(k);
    if (r != spec_ranges().end() && (value < r->second.lo || value > r->second.hi))
      fail(
          path, "spec." + k,
          fmt::format("expected a value in [{}, {}], found {}", r->second.lo, r->second.hi, value));
  }
  const int64_t s = b.spec_value("image_size");
  if (b.model == "dcgan" && (!power_of_two(s) || s < 8))
    fail(path, "spec.image_size", fmt::format("expected a power of two >= 8 (dcgan), found {}", s));
  if (b.model == "starganv2" && (!power_of_two(s) || s < 16))
    fail(path, "spec.image_size",
         fmt::format("expected a power of two >= 16 (starganv2), found {}", s));
  if (b.model == "cyclegan" && b.num_cultures() != 2)
    fail(path, "spec.num_cultures",
         fmt::format("expected 2 (cyclegan: domains A and B), found {}", b.num_cultures()));
}

// Culture names become parts of output file names (culturegan-infer --target all writes
// OUT/<image>_<culture>.png): one path component, printable, no separators.
void check_culture_name(const std::string& path, size_t i, const std::string& name) {
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f || ch == '/' || ch == '\\';
  });
  if (name.empty() || name.size() > 255 || name == "." || name == ".." || bad_char)
    fail(path, fmt::format("cultures[{}]", i),
         fmt::format("expected a name of 1..255 printable bytes without '/' or '\\' (it becomes "
                     "part of output file names), found {:?} ({} bytes)",
                     name.substr(0, 64), name.size()));
}

void check_weights(const std::string& path, const GeneratorBundle& b, size_t file_bytes) {
  double total = 0;
  for (const auto& [name, t] : b.weights) {
    const std::string what = fmt::format("weights['{}']", name.substr(0, 120));
    if (!t.defined()) fail(path, what, "expected a tensor, found an undefined one");
    if (t.scalar_type() != torch::kFloat)
      fail(path, what,
           fmt::format("expected dtype float32, found {}", c10::toString(t.scalar_type())));
    if (!t.device().is_cpu() || t.layout() != torch::kStrided)
      fail(path, what, "expected a dense CPU tensor");
    if (t.dim() > 8)
      fail(path, what, fmt::format("expected at most 8 dimensions, found {}", t.dim()));
    if (static_cast<double>(t.numel()) * 4 > static_cast<double>(file_bytes))
      fail(path, what,
           fmt::format("{} elements: more than the file's {} bytes hold", t.numel(), file_bytes));
    total += static_cast<double>(t.numel());
  }
  const double need = min_parameters(b);
  if (need > total)
    fail(path, "spec",
         fmt::format("the {} spec needs at least {:.0f} parameters, the bundle stores {:.0f}",
                     b.model, need, total));
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
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path, "file", "cannot open (no such file)");
  if (!fs::is_regular_file(st))
    fail(path, "file", "expected a regular file (a bundle), found a directory, device or pipe");
  const uintmax_t file_bytes = fs::file_size(path, ec);
  if (ec) fail(path, "file", "cannot read its size: " + ec.message());
  if (file_bytes > kMaxBundleBytes)
    fail(path, "file",
         fmt::format("{} bytes exceeds the limit of {} bytes for a bundle", file_bytes,
                     kMaxBundleBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "file", "cannot open");
  std::vector<char> bytes(static_cast<size_t>(file_bytes));
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<uintmax_t>(in.gcount()) != file_bytes)
    fail(path, "file", "changed size while being read");
  check_entries(path, bytes);
  c10::IValue root;
  try {
    AllocLimitGuard guard(bytes.size());
    root = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    if (t_alloc_refused != 0)
      fail(path, "file",
           fmt::format("an archive entry claims {} bytes, more than the whole file ({} bytes): "
                       "damaged or not a bundle",
                       t_alloc_refused, bytes.size()));
    fail(
        path, "file",
        fmt::format(
            "expected a culturegan generator bundle (torch pickle), cannot parse it ({} bytes): {}",
            bytes.size(), one_line(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    // LibTorch 1.13's unpickler also throws std::out_of_range (a memo index past its table),
    // std::runtime_error and torch::jit::ErrorReport (a type tag that does not parse): found
    // by fuzz_bundle.
    fail(
        path, "file",
        fmt::format(
            "expected a culturegan generator bundle (torch pickle), cannot parse it ({} bytes): {}",
            bytes.size(), one_line(e.what())));
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
    const c10::IValue cultures = field(d, path, "cultures");  // outlives the loop's range
    for (const auto& c : cultures.toListRef()) b.cultures.push_back(c.toStringRef());
    b.normalisation = field(d, path, "normalisation").toStringRef();
    for (const auto& kv : field(d, path, "weights").toGenericDict())
      b.weights.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
  } catch (const c10::Error& e) {
    fail(path, "content",
         fmt::format("a field has the wrong type: {}", one_line(e.what_without_backtrace())));
  }
  check_spec(path, b);
  if (static_cast<int64_t>(b.cultures.size()) != b.num_cultures())
    fail(path, "cultures",
         fmt::format("expected {} names (spec.num_cultures), found {}", b.num_cultures(),
                     b.cultures.size()));
  for (size_t i = 0; i < b.cultures.size(); ++i) check_culture_name(path, i, b.cultures[i]);
  check_weights(path, b, bytes.size());
  const auto sum = field(d, path, "checksum");
  if (!sum.isString()) fail(path, "checksum", "expected a string of 8 hex digits");
  const std::string want = sum.toStringRef();
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
