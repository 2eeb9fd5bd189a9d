// Writes the fuzz targets' seed corpora (small real files, each < 20 KB) with the project's
// own writers: PNG/JPEG through stb, corpora through data::CorpusWriter, checkpoint
// MANIFEST/state.toml as Checkpointer::save writes them (a real run's, verbatim), and the
// configs under configs/. Bundles: make_bundle_seeds.cpp (LibTorch). Deterministic; the output
// is committed under tests/fuzz/<target>/seeds/ (and .../regressions/ for the size-cap cases).
// Usage: fuzz_make_seeds SOURCE_DIR   (writes SOURCE_DIR/tests/fuzz/<target>/seeds/*)
#include <stb_image_write.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data/corpus_writer.h"
#include "data/image_io.h"
#include "data/sha256.h"

using namespace culturegan;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void put(const std::string& target, const std::string& name, const std::string& bytes,
         const char* sub = "seeds") {
  const fs::path dir = g_root / target / sub;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  std::printf("%-60s %6zu bytes\n", (dir / name).c_str(), bytes.size());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_mem(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
}

std::vector<uint8_t> pattern(int w, int h, int comp) {
  std::vector<uint8_t> px(size_t(w) * h * comp);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + i / 7) % 251);
  return px;
}

std::string png(int w, int h, int comp) {
  std::string out;
  const auto px = pattern(w, h, comp);
  stbi_write_png_to_func(append_mem, &out, w, h, comp, px.data(), w * comp);
  return out;
}

std::string jpg(int w, int h, int comp, int quality) {
  std::string out;
  const auto px = pattern(w, h, comp);
  stbi_write_jpg_to_func(append_mem, &out, w, h, comp, px.data(), quality);
  return out;
}

// A JPEG with an APP1 Exif segment holding IFD0 Orientation = `o` (big-endian TIFF).
std::string jpg_with_exif(int o) {
  const std::string j = jpg(12, 8, 3, 75);
  std::string tiff = std::string("MM\0\x2a\0\0\0\x08", 8);
  tiff += std::string("\0\x01", 2);                    // one entry
  tiff += std::string("\x01\x12\0\x03\0\0\0\x01", 8);  // tag 0x0112, SHORT, count 1
  tiff += std::string("\0", 1) + char(o) + std::string("\0\0", 2);
  tiff += std::string("\0\0\0\0", 4);  // no next IFD
  const std::string body = std::string("Exif\0\0", 6) + tiff;
  const size_t len = body.size() + 2;
  std::string app1 = std::string("\xff\xe1", 2) + char(len >> 8) + char(len & 0xff) + body;
  return j.substr(0, 2) + app1 + j.substr(2);
}

void be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += char((v >> (8 * i)) & 0xff);
}
void png_chunk(std::string& s, const char* type, const std::string& data) {
  be32(s, uint32_t(data.size()));
  const std::string td = std::string(type, 4) + data;
  s += td;
  be32(s, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
}
// A valid PNG header claiming w x h RGB pixels, with a tiny IDAT: a few dozen bytes that
// would make an unchecked decoder allocate w*h*3.
std::string png_header_only(uint32_t w, uint32_t h) {
  std::string s = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  be32(ihdr, w);
  be32(ihdr, h);
  ihdr += std::string("\x08\x02\0\0\0", 5);
  png_chunk(s, "IHDR", ihdr);
  png_chunk(s, "IDAT", std::string("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9));
  png_chunk(s, "IEND", "");
  return s;
}

void image_seeds() {
  put("fuzz_image", "rgb-8x6.png", png(8, 6, 3));
  put("fuzz_image", "gray-5x7.png", png(5, 7, 1));
  put("fuzz_image", "rgba-6x6.png", png(6, 6, 4));
  put("fuzz_image", "rgb-16x12.jpg", jpg(16, 12, 3, 80));
  put("fuzz_image", "gray-9x9.jpg", jpg(9, 9, 1, 60));
  put("fuzz_image", "exif-orientation-6.jpg", jpg_with_exif(6));
  put("fuzz_image", "exif-orientation-3.jpg", jpg_with_exif(3));
  // Issue 16: a 60,000 x 60,000 PNG header must give a clear error, not a 10 GB allocation.
  put("fuzz_image", "png-60000x60000-header.png", png_header_only(60000, 60000), "regressions");
  put("fuzz_image", "png-20000x1-header.png", png_header_only(20000, 1), "regressions");
}

std::string corpus(int size, int n, int gzip, int chunk) {
  const fs::path p = fs::temp_directory_path() / "fuzz-seed-corpus.h5";
  {
    data::CorpusWriterOptions o;
    o.image_size = size;
    o.gzip_level = gzip;
    o.chunk_images = chunk;
    data::CorpusWriter w(p.string(), {"ink", "photo"}, o);
    for (int i = 0; i < n; ++i) {
      auto px = pattern(size, size, 3);
      px[0] = uint8_t(i);
      w.append(px.data(), i % 2, "c/" + std::to_string(i) + ".png",
               data::sha256(px.data(), px.size()));
    }
    w.finish(0.25, 1);
  }
  std::string bytes = read_file(p);
  fs::remove(p);
  return bytes;
}

void corpus_seeds() {
  put("fuzz_corpus", "s4-n4.h5", corpus(4, 4, 0, 4));
  put("fuzz_corpus", "s4-n6-gzip-chunk2.h5", corpus(4, 6, 1, 2));
  put("fuzz_corpus", "s2-n2.h5", corpus(2, 2, 0, 1));
}

void checkpoint_seeds() {
  const std::string manifest =
      "4c16ffc8 989400 G.pt\ne3845953 2837166 D.pt\nde831726 989400 G_ema.pt\n"
      "301730ca 1957438 optim_G.pt\n3d7a0b95 5668286 optim_D.pt\n442e4ec2 6598 rng.pt\n"
      "39fb64f5 285 state.toml\nb6472495 1113 config.toml\n";
  const std::string state =
      "config_hash = '538dbba035dd1761'\nepoch = 7\nsaved_unix_s = 1796120217\nstep = 1000\n"
      "world_size = 2\n\n[sampler]\nconsumed = 2000\nepoch = 7\nseed = 1\n\n[versions]\n"
      "culturegan = '0.1.0'\nfmt = '9.1.0'\nhdf5 = '1.10.8'\nmpi = 'Open MPI v4.1.4'\n"
      "tomlplusplus = '3.3.0'\ntorch = '1.13.0'\nzlib = '1.2.13'\n";
  const std::string sep = "\n#--state.toml\n";
  put("fuzz_checkpoint", "run.ckpt", manifest + sep + state);
  put("fuzz_checkpoint", "cultures-ada.ckpt",
      "00000000 10 G.pt\n" + sep + "step = 12\nworld_size = 1\ncultures = ['ink', 'photo']\n" +
          "[sampler]\nconsumed = 24\nepoch = 0\nseed = 3\n[ada]\np_bits = 4591870180066957722\n" +
          "sign_sum_bits = 0\nr_t_bits = 4602678819172646912\nimages = 96\n");
}

void config_seeds(const fs::path& src) {
  for (const auto& e : fs::directory_iterator(src / "configs"))
    if (e.path().extension() == ".toml")
      put("fuzz_config", e.path().filename().string(), read_file(e.path()));
  put("fuzz_config", "minimal-with-sets.toml",
      "[data]\ncorpus = \"c.h5\"\n\n#--set\ntrain.steps=10\nrun.dir=/tmp/r\n"
      "model.kind=\"dcgan\"\noptim.g_lr=2e-4\ndata.no_flip_cultures=[\"ink\"]\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds SOURCE_DIR\n");
    return 2;
  }
  g_root = fs::path(argv[1]) / "tests" / "fuzz";
  image_seeds();
  corpus_seeds();
  checkpoint_seeds();
  config_seeds(argv[1]);
  return 0;
}
