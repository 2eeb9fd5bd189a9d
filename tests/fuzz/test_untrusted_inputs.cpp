// Regression tests for the findings of the fuzz targets and of the untrusted-input review
// (docs/security.md): each hostile input gives one clear error of the documented type,
// promptly, without a crash, a hang or a large allocation.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "data/image_io.h"
#include "models/bundle.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

using namespace culturegan;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("cg_untrusted_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary).write(s.data(), std::streamsize(s.size()));
}

std::string fuzz_file(const std::string& rel) {
  return read_file(fs::path(CULTUREGAN_FUZZ_DIR) / rel);
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::string decode_error(const std::string& bytes) {
  return error_of<std::runtime_error>([&] {
    data::decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.img");
  });
}

models::GeneratorBundle tiny_stargan(std::vector<std::string> cultures = {"ink", "photo"}) {
  torch::manual_seed(0);
  models::StarGanSpec s;
  s.num_cultures = static_cast<int64_t>(cultures.size());
  s.image_size = 8;
  s.g_conv_dim = 1;
  s.g_res_blocks = 1;
  s.d_conv_dim = 1;
  models::StarGanGenerator g(s);
  return models::make_bundle(g, cultures);
}

std::string bundle_error(const fs::path& p) {
  return error_of<models::BundleError>([&] { models::load_bundle(p.string()); });
}

// Re-zips a bundle's records (optionally deflated, optionally with extra records).
void rezip(const fs::path& from, const fs::path& to, bool compress,
           const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  caffe2::serialize::PyTorchStreamReader reader(from.string());
  std::string zip;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&zip](const void* p, size_t n) -> size_t {
      zip.append(static_cast<const char*>(p), n);
      return n;
    });
    for (const auto& r : reader.getAllRecords()) {
      if (r == "version") continue;
      auto [ptr, n] = reader.getRecord(r);
      writer.writeRecord(r, ptr.get(), n, compress);
    }
    for (const auto& [name, bytes] : extra) writer.writeRecord(name, bytes.data(), bytes.size());
    writer.writeEndOfFile();
  }
  write_file(to, zip);
}

}  // namespace

// ---- images ----

TEST(UntrustedImage, HugePngHeaderIsAClearErrorNotAnAllocation) {
  const std::string msg =
      decode_error(fuzz_file("fuzz_image/regressions/png-60000x60000-header.png"));
  EXPECT_NE(
      msg.find("x.img: cannot decode image: 60000x60000 exceeds the limit of 16384 px per side"),
      std::string::npos)
      << msg;
}

TEST(UntrustedImage, OverlongSideIsRefusedEvenWhenThePixelCountIsSmall) {
  const std::string msg = decode_error(fuzz_file("fuzz_image/regressions/png-20000x1-header.png"));
  EXPECT_NE(msg.find("20000x1 exceeds the limit"), std::string::npos) << msg;
}

TEST(UntrustedImage, JpegHuffmanTableWithMoreThan256CodesIsRefused) {
  for (const char* f : {"fuzz_image/regressions/jpeg-dht-more-than-256-codes.jpg",
                        "fuzz_image/regressions/jpeg-dht-overflow-past-segment-length.jpg"}) {
    const std::string msg = decode_error(fuzz_file(f));
    EXPECT_NE(msg.find("x.img: cannot decode image: corrupt JPEG: a Huffman table (DHT) declares"),
              std::string::npos)
        << f << ": " << msg;
  }
}

TEST(UntrustedImage, OnlyJpegAndPngReachTheDecoder) {
  const std::string gif = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
  const std::string bmp = "BM" + std::string(60, '\0');
  for (const auto& bytes : std::vector<std::string>{gif, bmp})
    EXPECT_NE(decode_error(bytes).find("expected a JPEG or PNG file"), std::string::npos);
}

TEST(UntrustedImage, SeedImagesStillDecode) {
  for (const char* f : {"fuzz_image/seeds/rgb-8x6.png", "fuzz_image/seeds/rgb-16x12.jpg",
                        "fuzz_image/seeds/exif-orientation-6.jpg"}) {
    const std::string b = fuzz_file(f);
    EXPECT_NO_THROW(data::decode_image(reinterpret_cast<const uint8_t*>(b.data()), b.size(), f));
  }
}

// ---- config ----

TEST(UntrustedConfig, SetBareWordMustBeUtf8TextWithoutControlCharacters) {
  for (const std::string& bad : std::vector<std::string>{"/tmp/\xff\xfe",
                                                         "a\x01"
                                                         "b",
                                                         "\xc0\xaf", "\xed\xa0\x80"}) {
    const std::string msg = error_of<trainer::ConfigError>([&] {
      trainer::parse_config("[data]\ncorpus = \"c.h5\"\n", "x.toml", {"run.dir=" + bad});
    });
    EXPECT_NE(msg.find("--set run.dir="), std::string::npos) << msg;
    EXPECT_NE(msg.find("key 'run.dir': expected a TOML value or a plain word (UTF-8 text"),
              std::string::npos)
        << msg;
  }
  // Plain words, UTF-8 included, still work.
  const auto cfg = trainer::parse_config("[data]\ncorpus = \"c.h5\"\n", "x.toml",
                                         {"run.dir=/tmp/r\xc3\xa9sum\xc3\xa9"});
  EXPECT_EQ(cfg.run.dir, "/tmp/r\xc3\xa9sum\xc3\xa9");
  EXPECT_EQ(trainer::parse_config(cfg.to_toml(), "again.toml").hash(), cfg.hash());
}

// ---- bundles ----

TEST(UntrustedBundle, DeviceDirectoryAndFifoAreRefusedWithoutReading) {
  const fs::path d = temp_dir("bundle_special");
  EXPECT_NE(bundle_error("/dev/zero").find("/dev/zero: file: expected a regular file"),
            std::string::npos);
  EXPECT_NE(bundle_error(d).find("expected a regular file"), std::string::npos);
  const fs::path fifo = d / "pipe.bundle";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto done = std::async(std::launch::async, [&] { return bundle_error(fifo); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "hangs";
  EXPECT_NE(done.get().find("expected a regular file"), std::string::npos);
}

TEST(UntrustedBundle, NotAZipIsOneError) {
  const fs::path d = temp_dir("bundle_notzip");
  write_file(d / "x.bundle", "hello, not a bundle");
  EXPECT_NE(
      bundle_error(d / "x.bundle").find("x.bundle: file: expected a culturegan generator bundle"),
      std::string::npos);
}

TEST(UntrustedBundle, UnexpectedArchiveEntryIsRefused) {
  const fs::path d = temp_dir("bundle_entry");
  models::save_bundle((d / "ok.bundle").string(), tiny_stargan());
  rezip(d / "ok.bundle", d / "extra.bundle", false, {{"code/__torch__.py", "print('hi')"}});
  EXPECT_NE(bundle_error(d / "extra.bundle").find("unexpected archive entry 'code/__torch__.py'"),
            std::string::npos);
  rezip(d / "ok.bundle", d / "same.bundle", false);  // the same records: loads
  EXPECT_NO_THROW(models::load_bundle((d / "same.bundle").string()));
}

TEST(UntrustedBundle, EntryClaimingMoreThanTheFileIsRefusedBeforeAllocating) {
  const fs::path d = temp_dir("bundle_claim");
  auto b = tiny_stargan();
  b.weights.emplace_back("zeros", torch::zeros({1 << 20}));  // 4 MiB that deflate to ~4 KiB
  models::save_bundle((d / "big.bundle").string(), b);
  rezip(d / "big.bundle", d / "deflated.bundle", true);
  ASSERT_LT(fs::file_size(d / "deflated.bundle"), 1u << 20);
  const std::string msg = bundle_error(d / "deflated.bundle");
  EXPECT_NE(msg.find("an archive entry claims 4194304 bytes, more than the whole file"),
            std::string::npos)
      << msg;
}

TEST(UntrustedBundle, CultureNamesCannotLeaveTheOutputFolder) {
  const fs::path d = temp_dir("bundle_names");
  for (const std::string& bad :
       std::vector<std::string>{"../../evil", "a/b", "..", "", std::string("x\ny")}) {
    models::save_bundle((d / "x.bundle").string(), tiny_stargan({"ink", bad}));
    const std::string msg = bundle_error(d / "x.bundle");
    EXPECT_NE(msg.find("x.bundle: cultures[1]: expected a name of 1..255 printable bytes"),
              std::string::npos)
        << msg;
  }
}

TEST(UntrustedBundle, SpecClaimingAHugeNetworkIsRefusedBeforeBuildingIt) {
  const fs::path d = temp_dir("bundle_spec");
  auto b = tiny_stargan();
  for (auto& [k, v] : b.spec)
    if (k == "g_conv_dim") v = 4096;  // would be ~10 GB of residual-block weights
  models::save_bundle((d / "x.bundle").string(), b);
  std::string msg = bundle_error(d / "x.bundle");
  EXPECT_NE(msg.find("x.bundle: spec: the stargan spec needs at least"), std::string::npos) << msg;
  for (auto& [k, v] : b.spec)
    if (k == "g_conv_dim") v = 1 << 20;
  models::save_bundle((d / "x.bundle").string(), b);
  msg = bundle_error(d / "x.bundle");
  EXPECT_NE(msg.find("x.bundle: spec.g_conv_dim: expected a value in [1, 4096], found 1048576"),
            std::string::npos)
      << msg;
}

TEST(UntrustedBundle, WeightsMustBeFloat32) {
  const fs::path d = temp_dir("bundle_dtype");
  auto b = tiny_stargan();
  b.weights.front().second = b.weights.front().second.to(torch::kDouble);
  models::save_bundle((d / "x.bundle").string(), b);
  const std::string msg = bundle_error(d / "x.bundle");
  EXPECT_NE(msg.find("expected dtype float32, found Double"), std::string::npos) << msg;
}

TEST(UntrustedBundle, SeedBundlesLoadAndBuild) {
  for (const auto& e :
       fs::directory_iterator(fs::path(CULTUREGAN_FUZZ_DIR) / "fuzz_bundle/seeds")) {
    if (e.path().extension() != ".raw") continue;
    const fs::path d = temp_dir("bundle_seed");
    write_file(d / "x.bundle", read_file(e.path()).substr(1));
    EXPECT_NO_THROW(models::load_bundle((d / "x.bundle").string())) << e.path();
  }
}

// ---- checkpoints ----

TEST(UntrustedCheckpoint, ManifestCannotPointOutsideTheDirectoryOrAtADevice) {
  const fs::path d = temp_dir("ckpt_manifest");
  write_file(d / "outside.txt", "x");
  fs::create_directories(d / "ck");
  write_file(d / "ck" / "state.toml", "step = 1\n");
  for (const std::string& entry : std::vector<std::string>{
           "00000000 0 /dev/zero", "00000000 1 ../outside.txt", "00000000 0 .."}) {
    write_file(d / "ck" / "MANIFEST", entry + "\n");
    auto done = std::async(std::launch::async,
                           [&] { return trainer::verify_checkpoint((d / "ck").string()); });
    ASSERT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready)
        << entry << ": hangs";
    const std::string why = done.get();
    EXPECT_NE(why.find("expected a file name inside the checkpoint directory"), std::string::npos)
        << entry << ": " << why;
  }
  // A symlink to a device inside the directory: refused by type, before reading.
  fs::create_symlink("/dev/zero", d / "ck" / "G.pt");
  write_file(d / "ck" / "MANIFEST", "00000000 0 G.pt\n");
  EXPECT_NE(trainer::verify_checkpoint((d / "ck").string()).find("expected a regular file"),
            std::string::npos);
}

TEST(UntrustedCheckpoint, SizeIsCheckedBeforeReading) {
  const fs::path d = temp_dir("ckpt_size");
  write_file(d / "state.toml", "step = 1\n");
  write_file(d / "MANIFEST", "00000000 99999999999 state.toml\n");
  EXPECT_NE(
      trainer::verify_checkpoint(d.string()).find("expected 99999999999 bytes (MANIFEST), found 9"),
      std::string::npos);
}

TEST(UntrustedCheckpoint, ReplayedFuzzSeedsDoNotThrowFromVerify) {
  for (const auto& e :
       fs::directory_iterator(fs::path(CULTUREGAN_FUZZ_DIR) / "fuzz_checkpoint/seeds")) {
    const fs::path d = temp_dir("ckpt_seed");
    write_file(d / "MANIFEST", read_file(e.path()));
    EXPECT_FALSE(trainer::verify_checkpoint(d.string()).empty());
  }
}
