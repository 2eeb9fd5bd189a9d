#include "data/ingest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "common/atomic_write.h"
#include "data/corpus_format.h"
#include "data/corpus_reader.h"
#include "data/corpus_writer.h"
#include "data/progress.h"
#include "data/sha256.h"

namespace culturegan::data {
namespace fs = std::filesystem;
namespace {

struct SourceFile {
  std::string rel;  // "<culture>/<file>"
  fs::path full;
  int32_t label = 0;
  bool image_ext = false;
};

struct Decoded {
  bool ok = false;
  std::string error;
  Sha256Digest hash{};
  std::vector<uint8_t> pixels;  // S*S*3
  bool gray = false;
};

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

bool has_image_ext(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<std::string> sorted_names(const fs::path& dir, bool want_dirs) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (hidden(entry.path())) continue;
    if (want_dirs ? entry.is_directory() : entry.is_regular_file())
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());  // byte order: independent of locale
  return names;
}

Decoded decode_one(const SourceFile& f, const IngestOptions& opt) {
  Decoded d;
  try {
    std::ifstream in(f.full, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open file");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    d.hash = sha256(bytes.data(), bytes.size());
    RgbImage img =
        resize_square(decode_image(bytes.data(), bytes.size(), f.rel), opt.size, opt.policy);
    d.gray = true;
    for (size_t i = 0; d.gray && i < img.pixels.size(); i += 3)
      d.gray = img.pixels[i] == img.pixels[i + 1] && img.pixels[i] == img.pixels[i + 2];
    d.pixels = std::move(img.pixels);
    d.ok = true;
  } catch (const std::exception& e) {
    d.error = e.what();
  }
  return d;
}

}  // namespace

IngestReport ingest(const IngestOptions& opt, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.size < 1 || opt.size > format::kMaxImageSize)
    throw std::invalid_argument("--size: expected a value in [1, 8192], found " +
                                std::to_string(opt.size));
  if (!(opt.val_fraction >= 0.0 && opt.val_fraction < 1.0))
    throw std::invalid_argument("--val-fraction: expected a value in [0, 1), found " +
                                std::to_string(opt.val_fraction));
  const fs::path input(opt.input_dir);
  std::error_code ec;
  if (!fs::is_directory(input, ec))
    throw IngestError(opt.input_dir + ": input folder does not exist or is not a folder");

  IngestReport report;
  report.cultures = sorted_names(input, true);
  if (report.cultures.empty())
    throw IngestError(opt.input_dir + ": no culture sub-folders (expected DIR/<culture>/*.jpg)");
  std::vector<SourceFile> files;
  for (size_t c = 0; c < report.cultures.size(); ++c)
    for (const std::string& name : sorted_names(input / report.cultures[c], false)) {
      SourceFile f;
      f.rel = report.cultures[c] + "/" + name;
      f.full = input / report.cultures[c] / name;
      f.label = static_cast<int32_t>(c);
      f.image_ext = has_image_ext(f.full);
      files.push_back(std::move(f));
    }
  report.files_seen = static_cast<int64_t>(files.size());
  report.per_culture.assign(report.cultures.size(), 0);

  auto warn = [&](const std::string& line) {
    if (opt.strict) throw IngestError(line + " (--strict)");
    report.warnings.push_back(line);
    log << (opt.progress && opt.progress_tty ? "\n" : "") << "warning: " << line << '\n';
  };

  CorpusWriterOptions wopt;
  wopt.image_size = opt.size;
  wopt.gzip_level = opt.gzip_level;
  wopt.chunk_images = opt.chunk_images;
  const std::string partial = opt.output_path + ".partial";
  CorpusWriter writer(partial, report.cultures, wopt);

  const int threads =
      opt.threads > 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  report.threads = threads;
  const size_t window = static_cast<size_t>(threads) * 16;
  std::map<Sha256Digest, std::string> seen;  // content hash -> first path
  ProgressBar bar("ingest", report.files_seen, opt.progress, opt.progress_tty, log);
  for (size_t begin = 0; begin < files.size(); begin += window) {
    const size_t end = std::min(files.size(), begin + window);
    std::vector<Decoded> results(end - begin);
    std::atomic<size_t> next{begin};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < end;)
        if (files[i].image_ext) results[i - begin] = decode_one(files[i], opt);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (size_t i = begin; i < end; ++i) {
      const SourceFile& f = files[i];
      Decoded& d = results[i - begin];
      if (!f.image_ext) {
        ++report.not_image;
        warn(fmt::format("{}: skipped: not an image file (expected .jpg, .jpeg or .png)", f.rel));
        continue;
      }
      if (!d.ok) {
        ++report.unreadable;
        warn(fmt::format("skipped: {}", d.error));
        continue;
      }
      auto [it, inserted] = seen.emplace(d.hash, f.rel);
      if (!inserted) {
        ++report.duplicates;
        const std::string line = fmt::format("{}: duplicate of {} (sha256 {}); removed", f.rel,
                                             it->second, to_hex(d.hash));
        report.warnings.push_back(line);
        log << (opt.progress && opt.progress_tty ? "\n" : "") << "duplicate: " << line << '\n';
        continue;
      }
      writer.append(d.pixels.data(), f.label, f.rel, d.hash);
      ++report.per_culture[static_cast<size_t>(f.label)];
      report.grayscale += d.gray ? 1 : 0;
    }
    bar.update(static_cast<int64_t>(end));
  }
  bar.finish();
  for (size_t c = 0; c < report.cultures.size(); ++c)
    if (report.per_culture[c] == 0)
      throw IngestError(fmt::format("{}: culture folder '{}' has no usable images", opt.input_dir,
                                    report.cultures[c]));
  report.images_written = writer.size();
  writer.finish(opt.val_fraction, opt.seed);
  // fsync the finished HDF5 file, rename it into place, fsync the folder.
  common::commit_file(partial, opt.output_path);

  // Read the result back: validates it and gives the split counts.
  const CorpusReader check(opt.output_path);
  report.train_per_culture.assign(report.cultures.size(), 0);
  report.val_per_culture.assign(report.cultures.size(), 0);
  for (int64_t i = 0; i < check.size(); ++i)
    ++(check.split()[size_t(i)] == format::kVal
           ? report.val_per_culture
           : report.train_per_culture)[size_t(check.labels()[size_t(i)])];
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace culturegan::data
