// Writes the bundle fuzz target's seeds with models::save_bundle: tiny stargan (planes, cin),
// cyclegan and dcgan bundles (widths 1, 8 px), each as the file as is and as the harness's
// record list (fuzz_bundle.cpp). starganv2 has none: its mapping network alone is 256 KB.
// Usage: fuzz_make_bundle_seeds SOURCE_DIR   (writes SOURCE_DIR/tests/fuzz/fuzz_bundle/seeds/*)
#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/bundle.h"

using namespace culturegan;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = g_root / target / "seeds";
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

// Bundle seeds: the file as is (first byte 0) and its records in the harness's record-list
// form (first byte 1), so mutations can reach past the zip's CRCs.
void bundle_seed(const std::string& name, const models::GeneratorBundle& b) {
  const fs::path p = fs::temp_directory_path() / "fuzz-seed.bundle";
  models::save_bundle(p.string(), b);
  const std::string bytes = read_file(p);
  put("fuzz_bundle", name + ".raw", std::string(1, '\0') + bytes);
  caffe2::serialize::PyTorchStreamReader reader(p.string());
  std::string records(1, '\1');
  for (const auto& r : reader.getAllRecords()) {
    if (r == "version") continue;  // the writer adds it
    auto [ptr, n] = reader.getRecord(r);
    records += r + "\n";
    for (int i = 0; i < 4; ++i) records += char((n >> (8 * i)) & 0xff);
    records.append(static_cast<const char*>(ptr.get()), n);
  }
  put("fuzz_bundle", name + ".records", records);
  fs::remove(p);
}

void bundle_seeds() {
  torch::manual_seed(0);
  for (int64_t cond : {0, 1}) {
    models::StarGanSpec s;
    s.num_cultures = 2;
    s.image_size = 8;
    s.g_conv_dim = 1;
    s.g_res_blocks = 1;
    s.d_conv_dim = 1;
    s.conditioning = cond;
    s.upsample = cond;  // 0 transposed, 1 nearest
    models::StarGanGenerator g(s);
    bundle_seed(cond ? "stargan-cin" : "stargan-planes", models::make_bundle(g, {"ink", "photo"}));
  }
  {
    models::ResnetGenerator ab(1, 1), ba(1, 1);
    bundle_seed("cyclegan", models::make_cyclegan_bundle(8, 1, 1, *ab, *ba, {"ink", "photo"}));
  }
  {
    models::DcganSpec s;
    s.num_cultures = 2;
    s.image_size = 8;
    s.z_dim = 2;
    s.g_conv_dim = 1;
    models::DcganGenerator g(s);
    bundle_seed("dcgan", models::make_dcgan_bundle(s, *g, {"ink", "photo"}));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_bundle_seeds SOURCE_DIR\n");
    return 2;
  }
  g_root = fs::path(argv[1]) / "tests" / "fuzz";
  bundle_seeds();
  return 0;
}
