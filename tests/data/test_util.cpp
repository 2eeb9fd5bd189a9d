#include "tests/data/test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "data/corpus_writer.h"

namespace culturegan::testutil {

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* env = std::getenv("TMPDIR");
  std::filesystem::path base = env && *env ? env : "/tmp";
  const auto dir = base / ("culturegan-test-" + tag + "-" + std::to_string(getpid()) + "-" +
                           std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

data::RgbImage pattern_image(int width, int height, int seed) {
  data::RgbImage img;
  img.width = width;
  img.height = height;
  img.pixels.resize(size_t(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[(size_t(y) * width + x) * 3 + c] =
            static_cast<uint8_t>((x * 5 + y * 3 * (c + 1) + seed * 31 + c * 70) % 256);
  return img;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string make_corpus(const std::string& dir, const std::vector<int>& counts, int size,
                        double val_fraction, int chunk_images, int gzip) {
  std::vector<std::string> cultures;
  for (size_t c = 0; c < counts.size(); ++c) cultures.push_back("c" + std::to_string(c));
  const std::string path = dir + "/corpus.h5";
  data::CorpusWriterOptions opt;
  opt.image_size = size;
  opt.chunk_images = chunk_images;
  opt.gzip_level = gzip;
  data::CorpusWriter w(path, cultures, opt);
  std::vector<uint8_t> img(size_t(size) * size * 3);
  int64_t i = 0;
  for (size_t c = 0; c < counts.size(); ++c)
    for (int k = 0; k < counts[c]; ++k, ++i) {
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          for (int ch = 0; ch < 3; ++ch)
            img[(size_t(y) * size + x) * 3 + ch] = corpus_pixel(i, x, ch);
      data::Sha256Digest h{};
      for (int b = 0; b < 8; ++b) h[b] = static_cast<uint8_t>(i >> (8 * b));
      w.append(img.data(), static_cast<int32_t>(c),
               cultures[c] + "/img" + std::to_string(k) + ".png", h);
    }
  w.finish(val_fraction, 7);
  return path;
}

}  // namespace culturegan::testutil
