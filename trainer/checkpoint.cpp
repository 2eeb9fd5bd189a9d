#include "trainer/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/atomic_write.h"
#include "models/memory_format.h"
#include "trainer/build_info.h"

namespace culturegan::trainer {
namespace fs = std::filesystem;
namespace {

std::string crc_of_file(const fs::path& p, uintmax_t* size) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw CheckpointError(fmt::format("{}: cannot open for reading", p.string()));
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  uintmax_t total = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n));
    total += static_cast<uintmax_t>(n);
  }
  if (size) *size = total;
  return fmt::format("{:08x}", crc);
}

// The shared atomic-write unit, its errors as CheckpointError (same text).
void fsync_path(const fs::path& p, bool directory) {
  try {
    common::fsync_path(p.string(), directory);
  } catch (const common::AtomicWriteError& e) {
    throw CheckpointError(e.what());
  }
}

void write_text(const fs::path& p, const std::string& text) {
  try {
    common::write_file(p.string(), text);
  } catch (const common::AtomicWriteError& e) {
    throw CheckpointError(e.what());
  }
}

// Serialises an archive into memory. Writing straight to a file makes torch's stream writer
// throw from its destructor when the disk is full (std::terminate); memory never fails, and
// write_text() then reports ENOSPC/EPERM/EIO as a CheckpointError naming the file.
std::string archive_bytes(torch::serialize::OutputArchive& ar) {
  std::string buf;
  ar.save_to([&buf](const void* data, size_t n) -> size_t {
    buf.append(static_cast<const char*>(data), n);
    return n;
  });
  return buf;
}

// The checkpoint's small text files (state.toml, latest): regular files of at most 16 MiB, so
// a FIFO or /dev/zero in their place is an error, not a hang.
std::string read_text(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    throw CheckpointError(fmt::format("{}: cannot open", p.string()));
  const uintmax_t size = fs::file_size(p, ec);
  if (ec || size > (uintmax_t{16} << 20))
    throw CheckpointError(fmt::format("{}: expected a text file of at most 16 MiB, found {} bytes",
                                      p.string(), size));
  std::ifstream in(p, std::ios::binary);
  if (!in) throw CheckpointError(fmt::format("{}: cannot open", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string step_name(int64_t step) { return fmt::format("step-{:09d}", step); }

}  // namespace

std::vector<std::string> checkpoint_cultures(const std::string& dir) {
  const fs::path state_path = fs::path(dir) / "state.toml";
  std::vector<std::string> out;
  try {
    const toml::table t = toml::parse(read_text(state_path), state_path.string());
    if (const auto* names = t["cultures"].as_array())
      for (const auto& n : *names) {
        auto v = n.value<std::string>();
        if (!v)
          throw CheckpointError(
              fmt::format("{}: key 'cultures': expected strings", state_path.string()));
        out.push_back(*v);
      }
  } catch (const toml::parse_error& e) {
    throw CheckpointError(
        fmt::format("{}: not valid TOML: {}", state_path.string(), e.description()));
  }
  return out;
}

namespace {

// A MANIFEST entry names a file of the checkpoint directory itself: one plain name.
bool plain_name(const std::string& f) {
  return !f.empty() && f != "." && f != ".." && f.find('/') == std::string::npos &&
         f.find('\0') == std::string::npos;
}

// verify_checkpoint, also returning the names the MANIFEST lists (all verified when "").
std::string verify_manifest(const std::string& dir, std::vector<std::string>* listed) {
  const fs::path manifest = fs::path(dir) / "MANIFEST";
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec))
    return fmt::format("{}: missing (incomplete checkpoint)", manifest.string());
  std::ifstream in(manifest);
  if (!in) return fmt::format("{}: missing (incomplete checkpoint)", manifest.string());
  std::string crc, file;
  uintmax_t size = 0;
  int files = 0;
  while (in >> crc >> size >> file) {
    // Someone else's checkpoint must not make us read outside it (or /dev/zero, a FIFO: a
    // hang), so only regular files of this directory, and their size is checked first.
    if (!plain_name(file))
      return fmt::format("{}: entry '{}': expected a file name inside the checkpoint directory",
                         manifest.string(), file.substr(0, 200));
    const fs::path p = fs::path(dir) / file;
    const auto st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st)) return fmt::format("{}: listed in MANIFEST but missing", p.string());
    if (!fs::is_regular_file(st))
      return fmt::format(
          "{}: expected a regular file (MANIFEST), found a link, directory or device", p.string());
    const uintmax_t on_disk = fs::file_size(p, ec);
    if (ec || on_disk != size)
      return fmt::format("{}: expected {} bytes (MANIFEST), found {}: truncated", p.string(), size,
                         ec ? 0 : on_disk);
    uintmax_t got_size = 0;
    std::string got;
    try {
      got = crc_of_file(p, &got_size);
    } catch (const CheckpointError& e) {
      return e.what();
    }
    if (got_size != size)
      return fmt::format("{}: expected {} bytes (MANIFEST), found {}: truncated", p.string(), size,
                         got_size);
    if (got != crc)
      return fmt::format("{}: expected CRC-32 {} (MANIFEST), found {}: damaged", p.string(), crc,
                         got);
    if (listed) listed->push_back(file);
    ++files;
  }
  if (files == 0) return fmt::format("{}: lists no files", manifest.string());
  return "";
}

}  // namespace

std::string verify_checkpoint(const std::string& dir) { return verify_manifest(dir, nullptr); }
std::string verify_checkpoint(const std::string& dir, std::vector<std::string>* listed) {
  return verify_manifest(dir, listed);
}

Checkpointer::Checkpointer(std::string run_dir, int64_t keep)
    : root_((fs::path(run_dir) / "checkpoints").string()), keep_(std::max<int64_t>(1, keep)) {}

std::vector<std::string> Checkpointer::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return out;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos)
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Checkpointer::save(const TrainingState& state, GanAlgorithm& algo, const Config& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path final_dir = fs::path(root_) / step_name(state.step);
  const fs::path tmp =
      fs::path(root_) / fmt::format("{}.tmp-{}", step_name(state.step), ::getpid());
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec)
    throw CheckpointError(
        fmt::format("{}: cannot create checkpoint directory: {}", root_, ec.message()));
  // Temp dirs of a save that crashed (kill -9 mid-save) are never valid: remove them.
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos || name.find(".old-") != std::string::npos) {
      std::error_code ignore;
      fs::remove_all(e.path(), ignore);
    }
  }
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw CheckpointError(fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));
  std::vector<std::string> files;
  try {
    for (auto& [name, module] : algo.modules()) {
      torch::serialize::OutputArchive ar;
      module->save(ar);
      write_text(tmp / (name + ".pt"), archive_bytes(ar));
      files.push_back(name + ".pt");
    }
    for (auto& [name, opt] : algo.optimizers()) {
      torch::serialize::OutputArchive ar;
      opt->save(ar);
      write_text(tmp / (name + ".pt"), archive_bytes(ar));
      files.push_back(name + ".pt");
    }
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      torch::Tensor rng;
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        rng = gen.get_state();
      }
      std::ostringstream bytes;
      torch::save(rng, bytes);
      write_text(tmp / "rng.pt", bytes.str());
      files.push_back("rng.pt");
    }
    toml::table st;
    st.insert("step", state.step);
    st.insert("epoch", state.sampler.epoch);
    st.insert("world_size", state.world_size);
    st.insert("config_hash", state.config_hash);
    st.insert("sampler", toml::table{{"seed", static_cast<int64_t>(state.sampler.seed)},
                                     {"epoch", state.sampler.epoch},
                                     {"consumed", state.sampler.consumed}});
    if (!state.cultures.empty()) {
      toml::array names;
      for (const auto& c : state.cultures) names.push_back(c);
      st.insert("cultures", std::move(names));
    }
    if (state.ada) {
      // p and the sign sum also as their IEEE-754 bits: resume is bitwise.
      int64_t p_bits = 0, sum_bits = 0;
      std::memcpy(&p_bits, &state.ada->p, sizeof p_bits);
      std::memcpy(&sum_bits, &state.ada->sign_sum, sizeof sum_bits);
      int64_t rt_bits = 0;
      std::memcpy(&rt_bits, &state.ada->r_t, sizeof rt_bits);
      st.insert("ada", toml::table{{"p", state.ada->p},
                                   {"p_bits", p_bits},
                                   {"sign_sum_bits", sum_bits},
                                   {"images", state.ada->images},
                                   {"r_t_bits", rt_bits}});
    }
    toml::table versions;
    for (const auto& [k, v] : library_versions()) versions.insert(k, v);
    st.insert("versions", std::move(versions));
    {
      const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      st.insert("saved_unix_s", static_cast<int64_t>(now));
    }
    std::stringstream ss;
    ss << st << "\n";
    write_text(tmp / "state.toml", ss.str());
    files.push_back("state.toml");
    write_text(tmp / "config.toml", cfg.to_toml());
    files.push_back("config.toml");
    std::string manifest;
    for (const auto& f : files) {
      uintmax_t size = 0;
      const std::string crc = crc_of_file(tmp / f, &size);
      manifest += fmt::format("{} {} {}\n", crc, size, f);
      fsync_path(tmp / f, false);
    }
    write_text(tmp / "MANIFEST", manifest);
    fsync_path(tmp / "MANIFEST", false);
    fsync_path(tmp, true);
  } catch (const c10::Error& e) {
    fs::remove_all(tmp, ec);
    throw CheckpointError(
        fmt::format("{}: cannot write checkpoint: {}", tmp.string(), e.what_without_backtrace()));
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    throw CheckpointError(e.what());
  }
  uintmax_t bytes = 0;
  for (const auto& e : fs::directory_iterator(tmp, ec))
    if (e.is_regular_file()) bytes += e.file_size();
  // A checkpoint of the same step already there (a resumed run saving again) is moved aside
  // first, so a complete step-N exists at every moment but one rename.
  try {
    common::commit_directory(tmp.string(), final_dir.string());
  } catch (const common::AtomicWriteError& e) {
    throw CheckpointError(e.what());
  }
  // Point `latest` at it atomically. On failure `latest` still names the previous
  // checkpoint; the new directory is complete and verifies, so resolve("auto") may still use
  // it. The failure is reported all the same.
  try {
    common::write_file_atomically((fs::path(root_) / "latest").string(),
                                  final_dir.filename().string() + "\n");
  } catch (const common::AtomicWriteError& e) {
    throw CheckpointError(e.what());
  }
  // Keep the newest `keep`.
  auto all = list();
  for (size_t i = 0; i + static_cast<size_t>(keep_) < all.size(); ++i) fs::remove_all(all[i], ec);
  last_bytes_ = static_cast<uint64_t>(bytes);
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return final_dir.string();
}

std::optional<std::string> Checkpointer::resolve(const std::string& resume,
                                                 std::vector<std::string>* notes) const {
  if (resume != "auto") {
    const std::string why = verify_checkpoint(resume);
    if (!why.empty()) throw CheckpointError(fmt::format("--resume {}: {}", resume, why));
    return resume;
  }
  auto all = list();
  // Prefer what `latest` names, then every other complete one, newest first.
  std::string latest;
  try {
    latest = read_text(fs::path(root_) / "latest");
    latest.erase(latest.find_last_not_of(" \n\r\t") + 1);
  } catch (const CheckpointError&) {
  }
  if (!latest.empty() && !plain_name(latest)) {
    if (notes)
      notes->push_back(fmt::format("{}/latest: ignored: expected a checkpoint name, found '{}'",
                                   root_, latest.substr(0, 200)));
    latest.clear();
  }
  std::vector<std::string> order;
  if (!latest.empty()) order.push_back((fs::path(root_) / latest).string());
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (std::find(order.begin(), order.end(), *it) == order.end()) order.push_back(*it);
  bool skipped = false;
  std::error_code ec_latest;
  if (!latest.empty() && !fs::is_directory(order.front(), ec_latest)) {
    if (notes)
      notes->push_back(fmt::format("{}/latest names {}, which does not exist", root_, latest));
    skipped = true;
  }
  for (const auto& dir : order) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    const std::string why = verify_checkpoint(dir);
    if (why.empty()) {
      if (skipped && notes)
        notes->push_back(fmt::format("using the previous good checkpoint {}", dir));
      return dir;
    }
    if (notes) notes->push_back(fmt::format("skipping damaged checkpoint {}: {}", dir, why));
    skipped = true;
  }
  if (skipped && notes) notes->push_back("no checkpoint verifies");
  return std::nullopt;
}

TrainingState Checkpointer::load(const std::string& dir, GanAlgorithm& algo) const {
  std::vector<std::string> listed;
  const std::string why = verify_manifest(dir, &listed);
  if (!why.empty()) throw CheckpointError(why);
  const fs::path d(dir);
  // Only files the MANIFEST lists (so verified above: regular, size, CRC-32) are read.
  auto need_listed = [&](const std::string& f) {
    if (std::find(listed.begin(), listed.end(), f) == listed.end())
      throw CheckpointError(
          fmt::format("{}: not listed in MANIFEST (incomplete checkpoint)", (d / f).string()));
  };
  for (auto& [name, module] : algo.modules()) need_listed(name + ".pt");
  for (auto& [name, opt] : algo.optimizers()) need_listed(name + ".pt");
  need_listed("rng.pt");
  need_listed("state.toml");
  try {
    for (auto& [name, module] : algo.modules()) {
      torch::serialize::InputArchive ar;
      ar.load_from((d / (name + ".pt")).string());
      const auto layout =
          models::memory_format_of(*module);  // train.channels_last's, not the file's
      module->load(ar);
      models::to_memory_format(*module, layout);
    }
    for (auto& [name, opt] : algo.optimizers()) {
      torch::serialize::InputArchive ar;
      ar.load_from((d / (name + ".pt")).string());
      opt->load(ar);
    }
    torch::Tensor rng;
    torch::load(rng, (d / "rng.pt").string());
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  } catch (const c10::Error& e) {
    throw CheckpointError(fmt::format("{}: does not match this model (different config?): {}", dir,
                                      std::string(e.what_without_backtrace()).substr(0, 300)));
  }
  TrainingState st;
  const fs::path state_path = d / "state.toml";
  try {
    const toml::table t = toml::parse_file(state_path.string());
    auto need = [&](const char* key) -> int64_t {
      auto v = t.at_path(key).value<int64_t>();
      if (!v)
        throw CheckpointError(
            fmt::format("{}: key '{}': expected an integer, not found", state_path.string(), key));
      return *v;
    };
    st.step = need("step");
    st.world_size = need("world_size");
    st.sampler.seed = static_cast<uint64_t>(need("sampler.seed"));
    st.sampler.epoch = need("sampler.epoch");
    st.sampler.consumed = need("sampler.consumed");
    st.config_hash = t.at_path("config_hash").value_or(std::string());
    st.cultures = checkpoint_cultures(dir);
    if (t["ada"].as_table()) {
      AdaState a;
      int64_t bits = need("ada.p_bits");
      std::memcpy(&a.p, &bits, sizeof bits);
      bits = need("ada.sign_sum_bits");
      std::memcpy(&a.sign_sum, &bits, sizeof bits);
      bits = need("ada.r_t_bits");
      std::memcpy(&a.r_t, &bits, sizeof bits);
      a.images = need("ada.images");
      if (!(a.p >= 0 && a.p <= 1))
        throw CheckpointError(
            fmt::format("{}: key 'ada.p_bits': expected a probability in [0,1], "
                        "found {}",
                        state_path.string(), a.p));
      st.ada = a;
    }
  } catch (const toml::parse_error& e) {
    throw CheckpointError(
        fmt::format("{}: not valid TOML: {}", state_path.string(), e.description()));
  }
  return st;
}

}  // namespace culturegan::trainer
