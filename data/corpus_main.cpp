// culturegan-corpus check FILE | info FILE
//   check: validates the schema, reads every image (chunk checksums), looks for duplicate
//          content hashes, prints a per-culture table. Exit 0 valid, 1 invalid.
//   info:  prints the summary (size, cultures, split, storage layout).
#include <algorithm>
#include <iostream>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "data/corpus_format.h"
#include "data/corpus_reader.h"

using namespace culturegan::data;

namespace {

void print_table(const CorpusReader& r) {
  const size_t c = r.cultures().size();
  std::vector<int64_t> train(c, 0), val(c, 0);
  for (int64_t i = 0; i < r.size(); ++i)
    ++(r.split()[size_t(i)] == format::kVal ? val : train)[size_t(r.labels()[size_t(i)])];
  std::cout << fmt::format("{:>5}  {:<28} {:>7} {:>7} {:>7}  {}\n", "label", "culture", "images",
                           "train", "val", "size");
  for (size_t k = 0; k < c; ++k)
    std::cout << fmt::format("{:>5}  {:<28} {:>7} {:>7} {:>7}  {}x{}\n", k, r.cultures()[k],
                             r.culture_counts()[k], train[k], val[k], r.image_size(),
                             r.image_size());
  std::cout << fmt::format("{:>5}  {:<28} {:>7} {:>7} {:>7}\n", "", "total", r.size(),
                           r.train_indices().size(), r.val_indices().size());
}

int check(const std::string& path) {
  const CorpusReader r(path);
  // Every image must read back (fletcher32 checksums catch corrupt chunks).
  const int64_t step = std::max<int64_t>(1, r.layout().chunk_images) * 16;
  std::vector<uint8_t> buf(size_t(step) * r.image_size() * r.image_size() * 3);
  for (int64_t i = 0; i < r.size(); i += step)
    r.read_images(i, std::min(step, r.size() - i), buf.data());
  const std::vector<Sha256Digest> hashes = r.read_content_hashes();
  std::map<Sha256Digest, int64_t> seen;
  for (int64_t i = 0; i < r.size(); ++i) {
    auto [it, inserted] = seen.emplace(hashes[size_t(i)], i);
    if (!inserted)
      throw CorpusError(
          fmt::format("{}: dataset /content_sha256: expected unique hashes, found image {} ({}) "
                      "equal to image {} ({})",
                      path, i, r.source_path(i), it->second, r.source_path(it->second)));
  }
  for (int64_t i = 0; i < r.size(); ++i)
    if (r.source_path(i).empty())
      throw CorpusError(fmt::format(
          "{}: dataset /source_paths: expected a non-empty path, found an empty one at index {}",
          path, i));
  std::cout << fmt::format("{}: OK, corpus format v{}, {} images of {}x{}, {} cultures\n", path,
                           r.layout().schema_version, r.size(), r.image_size(), r.image_size(),
                           r.cultures().size());
  print_table(r);
  return 0;
}

int info(const std::string& path) {
  const CorpusReader r(path);
  const CorpusLayout l = r.layout();
  std::cout << fmt::format("file:            {} ({:.1f} MiB)\n", path, l.file_bytes / 1048576.0);
  std::cout << fmt::format("schema version:  {}\n", l.schema_version);
  std::cout << fmt::format("images:          {} of {}x{}x3 uint8 ({} train, {} val)\n", r.size(),
                           r.image_size(), r.image_size(), r.train_indices().size(),
                           r.val_indices().size());
  std::string names;
  for (size_t k = 0; k < r.cultures().size(); ++k)
    names += fmt::format("{}{} ({})", k ? ", " : "", r.cultures()[k], r.culture_counts()[k]);
  std::cout << fmt::format("cultures:        {}: {}\n", r.cultures().size(), names);
  std::cout << fmt::format("storage:         {}, gzip {}, fletcher32 {}\n",
                           l.chunk_images > 0 ? fmt::format("chunks of {} image{}", l.chunk_images,
                                                            l.chunk_images == 1 ? "" : "s")
                                              : std::string("contiguous"),
                           l.gzip_level > 0 ? std::to_string(l.gzip_level) : std::string("off"),
                           l.fletcher32 ? "on" : "off");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"culturegan-corpus: inspect and validate a culturegan corpus file"};
  app.require_subcommand(1);
  std::string file;
  CLI::App* check_cmd = app.add_subcommand("check", "validate FILE and print a per-culture table");
  check_cmd->add_option("FILE", file, "corpus file")->required();
  CLI::App* info_cmd = app.add_subcommand("info", "print a summary of FILE");
  info_cmd->add_option("FILE", file, "corpus file")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return check_cmd->parsed() ? check(file) : info(file);
  } catch (const std::exception& e) {
    std::cerr << "culturegan-corpus: error: " << e.what() << '\n';
    return 1;
  }
}
