#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <stb_image_write.h>

#include "data/corpus_reader.h"
#include "data/ingest.h"
#include "tests/data/test_util.h"

using namespace culturegan;

namespace {

// in/<culture>/ with PNGs of different sizes; returns the input folder.
std::string make_folder(const std::string& dir, bool with_defects) {
  const std::string in = dir + "/in";
  const std::vector<std::pair<std::string, int>> cultures = {
      {"ukiyo_e", 3}, {"chinese_ink", 5}, {"monet", 2}};
  int seed = 0;
  for (const auto& [name, n] : cultures) {
    std::filesystem::create_directories(in + "/" + name);
    for (int k = 0; k < n; ++k, ++seed)
      data::save_png(in + "/" + name + "/img" + std::to_string(k) + ".png",
                     testutil::pattern_image(20 + 3 * k, 12 + 5 * k, seed));
  }
  if (with_defects) {
    testutil::write_file(in + "/monet/broken.jpg", "\xff\xd8\xff garbage");
    testutil::write_file(in + "/monet/notes.txt", "hello");
    std::filesystem::copy_file(in + "/chinese_ink/img1.png", in + "/chinese_ink/zz_copy.png");
    testutil::write_file(in + "/monet/.hidden.png", "ignored");
  }
  return in;
}

data::IngestOptions options(const std::string& in, const std::string& out) {
  data::IngestOptions o;
  o.input_dir = in;
  o.output_path = out;
  o.size = 16;
  o.val_fraction = 0.25;
  o.seed = 3;
  o.threads = 2;
  return o;
}

}  // namespace

TEST(Ingest, RoundTripMatchesDecodedAndResizedImages) {
  const std::string dir = testutil::temp_dir("ingest");
  const std::string in = make_folder(dir, false);
  std::ostringstream log;
  const data::IngestReport r = data::ingest(options(in, dir + "/c.h5"), log);
  EXPECT_EQ(r.images_written, 10);
  EXPECT_FALSE(std::filesystem::exists(dir + "/c.h5.partial"));
  data::CorpusReader reader(dir + "/c.h5");
  EXPECT_EQ(reader.cultures(), (std::vector<std::string>{"chinese_ink", "monet", "ukiyo_e"}));
  EXPECT_EQ(reader.culture_counts(), (std::vector<int64_t>{5, 2, 3}));
  EXPECT_EQ(reader.image_size(), 16);
  ASSERT_EQ(reader.size(), 10);
  EXPECT_EQ(reader.source_path(0), "chinese_ink/img0.png");
  EXPECT_EQ(reader.source_path(9), "ukiyo_e/img2.png");
  for (int64_t i = 0; i < reader.size(); ++i) {
    const data::RgbImage src = data::load_image(in + "/" + reader.source_path(i));
    const data::RgbImage want = data::resize_square(src, 16, data::ResizePolicy::kCrop);
    std::vector<uint8_t> got(16 * 16 * 3);
    reader.read_images(i, 1, got.data());
    EXPECT_EQ(got, want.pixels) << "image " << i;
  }
  // Split per culture: round(n * 0.25) capped at n-1 -> 1 of 5, 1 of 2, 1 of 3 in val.
  EXPECT_EQ(reader.val_indices().size(), 3u);
  EXPECT_EQ(reader.train_indices().size() + reader.val_indices().size(), 10u);
}

TEST(Ingest, SkipsDefectsCountsThemAndRemovesDuplicates) {
  const std::string dir = testutil::temp_dir("ingest-defects");
  const std::string in = make_folder(dir, true);
  std::ostringstream log;
  const data::IngestReport r = data::ingest(options(in, dir + "/c.h5"), log);
  EXPECT_EQ(r.files_seen, 13);  // 10 + broken.jpg + notes.txt + zz_copy.png (hidden ignored)
  EXPECT_EQ(r.unreadable, 1);
  EXPECT_EQ(r.not_image, 1);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.images_written, 10);
  EXPECT_NE(log.str().find("monet/broken.jpg"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("chinese_ink/zz_copy.png: duplicate of chinese_ink/img1.png"),
            std::string::npos)
      << log.str();

  data::IngestOptions strict = options(in, dir + "/s.h5");
  strict.strict = true;
  EXPECT_THROW(data::ingest(strict, log), data::IngestError);
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.h5.partial"));
}

TEST(Ingest, OutputIsByteIdenticalAcrossRunsAndThreadCounts) {
  const std::string dir = testutil::temp_dir("ingest-det");
  const std::string in = make_folder(dir, true);
  std::ostringstream log;
  data::IngestOptions a = options(in, dir + "/a.h5");
  a.threads = 1;
  data::IngestOptions b = options(in, dir + "/b.h5");
  b.threads = 3;
  data::ingest(a, log);
  data::ingest(b, log);
  const std::string fa = testutil::read_file(dir + "/a.h5"),
                    fb = testutil::read_file(dir + "/b.h5");
  ASSERT_GT(fa.size(), 1000u);
  EXPECT_TRUE(fa == fb) << "ingest output differs between runs";
  // A different split seed must change the file (the split dataset).
  data::IngestOptions c = options(in, dir + "/c.h5");
  c.seed = 99;
  c.val_fraction = 0.4;
  data::ingest(c, log);
  EXPECT_FALSE(testutil::read_file(dir + "/c.h5") == fa);
}

TEST(Ingest, SplitIsPerCultureAndDeterministic) {
  const std::string dir = testutil::temp_dir("ingest-split");
  const std::string in = make_folder(dir, false);
  std::ostringstream log;
  data::IngestOptions o = options(in, dir + "/a.h5");
  o.val_fraction = 0.5;
  data::ingest(o, log);
  data::CorpusReader r(dir + "/a.h5");
  std::vector<int> val(3, 0);
  for (int64_t i : r.val_indices()) ++val[size_t(r.labels()[size_t(i)])];
  EXPECT_EQ(val, (std::vector<int>{
                     3, 1, 2}));  // round(5/2)=3 (half away from zero), 1 of 2, round(1.5)=2 of 3
}

TEST(Ingest, PolicyAndBadInput) {
  const std::string dir = testutil::temp_dir("ingest-bad");
  std::ostringstream log;
  EXPECT_THROW(data::ingest(options(dir + "/missing", dir + "/x.h5"), log), data::IngestError);
  std::filesystem::create_directories(dir + "/in/empty_culture");
  std::filesystem::create_directories(dir + "/in/full");
  data::save_png(dir + "/in/full/a.png", testutil::pattern_image(9, 9, 1));
  try {
    data::ingest(options(dir + "/in", dir + "/x.h5"), log);
    FAIL() << "no exception";
  } catch (const data::IngestError& e) {
    EXPECT_NE(std::string(e.what()).find("empty_culture"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir + "/in/empty_culture");
  data::IngestOptions pad = options(dir + "/in", dir + "/p.h5");
  pad.policy = data::ResizePolicy::kPad;
  data::ingest(pad, log);
  EXPECT_EQ(data::CorpusReader(dir + "/p.h5").size(), 1);
}

TEST(Ingest, GrayscaleAndRgbaBecomeRgb) {
  const std::string dir = testutil::temp_dir("ingest-gray");
  std::filesystem::create_directories(dir + "/in/scans");
  std::vector<uint8_t> gray(6 * 6, 100), rgba(6 * 6 * 4);
  for (size_t i = 0; i < rgba.size(); i += 4) {
    rgba[i] = 10;
    rgba[i + 1] = 20;
    rgba[i + 2] = 30;
    rgba[i + 3] = 40;
  }
  ASSERT_TRUE(stbi_write_png((dir + "/in/scans/a_gray.png").c_str(), 6, 6, 1, gray.data(), 6));
  ASSERT_TRUE(stbi_write_png((dir + "/in/scans/b_rgba.png").c_str(), 6, 6, 4, rgba.data(), 24));
  std::ostringstream log;
  const data::IngestReport r = data::ingest(options(dir + "/in", dir + "/c.h5"), log);
  EXPECT_EQ(r.images_written, 2);
  EXPECT_EQ(r.grayscale, 1);
  data::CorpusReader reader(dir + "/c.h5");
  std::vector<uint8_t> px(16 * 16 * 3 * 2);
  reader.read_images(0, 2, px.data());
  for (size_t i = 0; i < 16 * 16 * 3; ++i) ASSERT_EQ(px[i], 100);
  const size_t second = 16 * 16 * 3;
  EXPECT_EQ(px[second], 10);  // alpha dropped, colour kept
  EXPECT_EQ(px[second + 1], 20);
  EXPECT_EQ(px[second + 2], 30);
}
