#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/corpus_reader.h"
#include "tests/data/h5_tamper.h"
#include "tests/data/test_util.h"

using namespace culturegan;
using data::CorpusError;

namespace {

// A fresh valid corpus: 2 cultures (6 + 4 images) of 8x8, chunks of 2 images.
std::string fresh() {
  return testutil::make_corpus(testutil::temp_dir("errors"), {6, 4}, 8, 0.2, 2);
}

// Opening `path` must throw exactly one CorpusError whose message names the file and
// contains every one of `parts`.
void expect_error(const std::string& path, const std::vector<std::string>& parts) {
  try {
    data::CorpusReader r(path);
    FAIL() << "no error for " << path;
  } catch (const CorpusError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace

TEST(CorpusErrors, ValidCorpusOpens) {
  const std::string p = fresh();
  data::CorpusReader r(p);
  EXPECT_EQ(r.size(), 10);
  EXPECT_EQ(r.culture_counts(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(r.layout().chunk_images, 2);
  EXPECT_TRUE(r.layout().fletcher32);
  EXPECT_EQ(r.source_path(7), "c1/img1.png");
  EXPECT_THROW(r.source_path(10), CorpusError);
  std::vector<uint8_t> buf(8 * 8 * 3 * 2);
  EXPECT_THROW(r.read_images(9, 2, buf.data()), CorpusError);
}

TEST(CorpusErrors, MissingDataset) {
  const std::string p = fresh();
  testutil::delete_dataset(p, "/labels");
  expect_error(p, {"dataset /labels", "missing", "expected int32 rank 1"});
  const std::string q = fresh();
  testutil::delete_dataset(q, "/content_sha256");
  expect_error(q, {"dataset /content_sha256", "missing"});
}

TEST(CorpusErrors, WrongDtypeOrRank) {
  const std::string p = fresh();
  testutil::replace_dataset(p, "/labels", H5T_IEEE_F64LE, {10, 2});
  expect_error(p, {"dataset /labels", "expected int32 rank 1", "found float64 rank 2 [10,2]"});
  const std::string q = fresh();
  testutil::replace_dataset(q, "/images", H5T_STD_U8LE, {10, 8, 8, 4});
  expect_error(
      q, {"dataset /images", "expected uint8 rank 4 [10,8,8,3]", "found uint8 rank 4 [10,8,8,4]"});
  const std::string r = fresh();
  testutil::replace_dataset(r, "/split", H5T_STD_I32LE, {10});
  expect_error(r, {"dataset /split", "expected uint8 rank 1 of length 10", "found int32"});
}

TEST(CorpusErrors, LabelsOutOfRange) {
  const std::string p = fresh();
  std::vector<int32_t> labels = {0, 0, 0, 9, 0, 0, 1, 1, 1, 1};
  testutil::overwrite_dataset(p, "/labels", H5T_NATIVE_INT32, labels.data());
  expect_error(p, {"dataset /labels", "expected values in [0,2)", "found 9 at index 3"});
}

TEST(CorpusErrors, EmptyCulture) {
  const std::string p = fresh();
  std::vector<int32_t> labels(10, 0);
  std::vector<int64_t> counts = {10, 0};
  testutil::overwrite_dataset(p, "/labels", H5T_NATIVE_INT32, labels.data());
  testutil::overwrite_dataset(p, "/culture_counts", H5T_NATIVE_INT64, counts.data());
  expect_error(p, {"dataset /labels", "culture 'c1' (label 1) has no images"});
}

TEST(CorpusErrors, CountsSplitAndSchemaVersion) {
  const std::string p = fresh();
  std::vector<int64_t> counts = {5, 5};
  testutil::overwrite_dataset(p, "/culture_counts", H5T_NATIVE_INT64, counts.data());
  expect_error(p, {"dataset /culture_counts", "expected 6 for culture 'c0'", "found 5"});
  const std::string q = fresh();
  std::vector<uint8_t> split(10, 2);
  testutil::overwrite_dataset(q, "/split", H5T_NATIVE_UINT8, split.data());
  expect_error(q, {"dataset /split", "expected 0 (train) or 1 (val), found 2"});
  const std::string r = fresh();
  testutil::overwrite_int_attr(r, "schema_version", 2);
  expect_error(r, {"attribute /schema_version", "expected 1, found 2"});
}

TEST(CorpusErrors, TruncatedNotHdf5AndMissingFiles) {
  const std::string p = fresh();
  const std::string bytes = testutil::read_file(p);
  testutil::write_file(p, bytes.substr(0, bytes.size() / 2));
  expect_error(p, {"file", "cannot open as HDF5", "truncated"});
  const std::string dir = testutil::temp_dir("errors-nothdf5");
  testutil::write_file(dir + "/x.h5", "this is a text file, not HDF5\n");
  expect_error(dir + "/x.h5", {"not an HDF5 file"});
  testutil::write_file(dir + "/empty.h5", "");
  expect_error(dir + "/empty.h5", {"not an HDF5 file"});
  expect_error(dir + "/missing.h5", {"does not exist"});
  expect_error(dir, {"is a directory"});
}

TEST(CorpusErrors, CorruptImageChunkFailsOnReadNotSilently) {
  const std::string p = fresh();
  const auto [addr, size] = testutil::chunk_location(p, "/images", 1);  // images 2..3
  ASSERT_GT(size, 0u);
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(addr + 5));
    f.put('\x55').put('\x66');
  }
  data::CorpusReader r(p);  // metadata intact: opens
  std::vector<uint8_t> buf(8 * 8 * 3 * 2);
  EXPECT_NO_THROW(r.read_images(0, 2, buf.data()));
  try {
    r.read_images(2, 2, buf.data());
    FAIL() << "corrupt chunk read without error";
  } catch (const CorpusError& e) {
    EXPECT_NE(std::string(e.what()).find(p + ": dataset /images: read of images [2, 4) failed"),
              std::string::npos)
        << e.what();
  }
}
