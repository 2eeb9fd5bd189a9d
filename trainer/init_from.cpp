#include "trainer/init_from.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/bundle.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

namespace culturegan::trainer {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ConfigError(fmt::format("train.init_from = {}: {}", path, what));
}

std::string shape(const torch::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

bool is_checkpoint(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::vector<std::string> source_checkpoint_cultures(const std::string& dir) {
  const std::string why = verify_checkpoint(dir);
  if (!why.empty()) fail(dir, why);
  std::vector<std::string> out;
  try {
    out = checkpoint_cultures(dir);
  } catch (const CheckpointError& e) {
    fail(dir, e.what());
  }
  if (out.empty())
    fail(dir, fmt::format("{}/state.toml: key 'cultures': expected the model's culture names, not "
                          "found (a checkpoint written before culturegan recorded them: start "
                          "from the run's generator.bundle instead)",
                          dir));
  return out;
}

models::GeneratorBundle read_bundle(const std::string& path) {
  try {
    auto b = models::load_bundle(path);
    if (b.model != "stargan")
      fail(path, fmt::format("model: expected a \"stargan\" bundle (the multi-domain translator), "
                             "found \"{}\"",
                             b.model));
    return b;
  } catch (const models::BundleError& e) {
    fail(path, e.what());
  }
}

// Reads the tensors of `ar` that `m` (the same module structure) names, recursively, into
// out["<prefix><name>"] (Module::save writes parameters, buffers, then a sub-archive per child).
void read_archive(torch::serialize::InputArchive& ar, const torch::nn::Module& m,
                  const std::string& prefix, std::map<std::string, torch::Tensor>& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) {
    torch::Tensor t;
    if (ar.try_read(p.key(), t)) out[prefix + p.key()] = t;
  }
  for (const auto& b : m.named_buffers(/*recurse=*/false)) {
    torch::Tensor t;
    if (ar.try_read(b.key(), t, /*is_buffer=*/true)) out[prefix + b.key()] = t;
  }
  for (const auto& c : m.named_children()) {
    torch::serialize::InputArchive sub;
    if (ar.try_read(c.key(), sub)) read_archive(sub, *c.value(), prefix + c.key() + ".", out);
  }
}

// dst ← src along a culture axis: the first `offset` slices as they are, then slice
// offset + k of dst from the source culture of the same name, or the mean of the source's.
void remap(const std::string& path, const std::string& name, const CultureTensor& axis,
           const torch::Tensor& src, torch::Tensor& dst, const std::vector<std::string>& from,
           const std::vector<std::string>& to) {
  const int64_t d = axis.dim, off = axis.offset;
  const int64_t n_from = static_cast<int64_t>(from.size()), n_to = static_cast<int64_t>(to.size());
  bool ok = src.dim() == dst.dim() && d < src.dim() && src.size(d) == off + n_from &&
            dst.size(d) == off + n_to;
  for (int64_t i = 0; ok && i < src.dim(); ++i) ok = i == d || src.size(i) == dst.size(i);
  if (!ok)
    fail(path, fmt::format("tensor '{}': shape {} in the file ({} cultures), {} expected by this "
                           "config ({} cultures)",
                           name, shape(src), n_from, shape(dst), n_to));
  const auto s = src.to(dst.device(), dst.scalar_type());
  if (off > 0) dst.narrow(d, 0, off).copy_(s.narrow(d, 0, off));
  const auto mean = s.narrow(d, off, n_from).mean(d, /*keepdim=*/true);
  for (int64_t k = 0; k < n_to; ++k) {
    const auto it = std::find(from.begin(), from.end(), to[static_cast<size_t>(k)]);
    dst.narrow(d, off + k, 1)
        .copy_(it == from.end() ? mean : s.narrow(d, off + (it - from.begin()), 1));
  }
}

}  // namespace

std::vector<std::string> init_source_cultures(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    fail(path, "expected a generator bundle or a checkpoint directory, found nothing there");
  if (is_checkpoint(path)) return source_checkpoint_cultures(path);
  return read_bundle(path).cultures;
}

std::vector<std::string> merged_cultures(const std::vector<std::string>& corpus,
                                         const std::vector<std::string>& source) {
  std::vector<std::string> out = corpus;
  for (const auto& c : source)
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

std::string initialize_from(const std::string& path, GanAlgorithm& algo,
                            const std::vector<std::string>& model_cultures) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    fail(path, "expected a generator bundle or a checkpoint directory, found nothing there");
  // The source's tensors, "<module>.<name>", and the modules it holds.
  std::map<std::string, torch::Tensor> src;
  std::vector<std::string> held, fresh, source_cultures;
  const bool checkpoint = is_checkpoint(path);
  if (checkpoint) {
    source_cultures = source_checkpoint_cultures(path);
    // Only archives the MANIFEST lists (verified: regular file, size, CRC-32) reach LibTorch.
    std::vector<std::string> listed;
    const std::string why = verify_checkpoint(path, &listed);
    if (!why.empty()) fail(path, why);
    for (auto& [name, module] : algo.modules()) {
      const fs::path file = fs::path(path) / (name + ".pt");
      const bool is_listed = std::find(listed.begin(), listed.end(), name + ".pt") != listed.end();
      if (!is_listed && fs::exists(file, ec))
        fail(path, fmt::format("{}: not listed in MANIFEST: a file the checkpoint did not write "
                               "is not read",
                               file.string()));
      if (!is_listed) {
        fresh.push_back(name);
        continue;
      }
      try {
        torch::serialize::InputArchive ar;
        ar.load_from(file.string());
        read_archive(ar, *module, name + ".", src);
      } catch (const c10::Error& e) {
        fail(path, fmt::format("{}: cannot read: {}", file.string(),
                               std::string(e.what_without_backtrace()).substr(0, 200)));
      }
      held.push_back(name);
    }
  } else {
    const auto bundle = read_bundle(path);
    source_cultures = bundle.cultures;
    for (auto& [name, module] : algo.modules()) {
      if (name != "G" && name != "G_ema") {
        fresh.push_back(name);
        continue;
      }
      for (const auto& [w, t] : bundle.weights) src[name + "." + w] = t;
      held.push_back(name);
    }
  }
  if (held.empty())
    fail(path, fmt::format("holds none of this model's networks ({})", [&] {
           std::vector<std::string> n;
           for (auto& [name, m] : algo.modules()) n.push_back(name);
           return fmt::format("{}", fmt::join(n, ", "));
         }()));
  const auto axes = algo.culture_tensors();
  auto axis_of = [&](const std::string& full) -> const CultureTensor* {
    for (const auto& a : axes)
      if (a.name == full) return &a;
    return nullptr;
  };
  torch::NoGradGuard no_grad;
  for (auto& [name, module] : algo.modules()) {
    if (std::find(held.begin(), held.end(), name) == held.end()) continue;
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& p : module->named_parameters()) tensors.emplace_back(p.key(), p.value());
    for (const auto& b : module->named_buffers()) tensors.emplace_back(b.key(), b.value());
    for (auto& [key, dst] : tensors) {
      const std::string full = name + "." + key;
      const auto it = src.find(full);
      if (it == src.end())
        fail(path, fmt::format("tensor '{}': missing in the file (another architecture: compare "
                               "model.* with the config that trained it)",
                               full));
      if (const auto* axis = axis_of(full)) {
        remap(path, full, *axis, it->second, dst, source_cultures, model_cultures);
      } else if (!it->second.sizes().equals(dst.sizes())) {
        fail(path, fmt::format("tensor '{}': shape {} in the file, {} expected by this config",
                               full, shape(it->second), shape(dst)));
      } else {
        dst.copy_(it->second);
      }
    }
  }
  std::vector<std::string> matched, added;
  for (const auto& c : model_cultures) {
    const bool known =
        std::find(source_cultures.begin(), source_cultures.end(), c) != source_cultures.end();
    (known ? matched : added).push_back(c);
  }
  return fmt::format(
      "initialised from {} {}: loaded {}; fresh {}; cultures: {} from the weights ({}), {} new "
      "({}: the mean of the weights' cultures)",
      checkpoint ? "checkpoint" : "bundle", path, fmt::join(held, ", "),
      fresh.empty() ? std::string("none") : fmt::format("{}", fmt::join(fresh, ", ")),
      matched.size(), fmt::join(matched, ", "), added.size(),
      added.empty() ? std::string("none") : fmt::format("{}", fmt::join(added, ", ")));
}

}  // namespace culturegan::trainer
