// Fuzz target: generator bundle load, as culturegan-infer and `culturegan-train --init-from`
// do it: models::load_bundle, then models::make_culture_generator (builds the network the
// spec describes and copies the weights in).
// Input, by the first byte:
//   even: the rest is a bundle file as is (a zip archive written by torch::pickle_save);
//   odd:  the rest is a list of records, each "<name>\n" + 4-byte little-endian length +
//         bytes, which the harness writes as a valid zip (caffe2 PyTorchStreamWriter, the
//         writer pickle_save uses; bit 1 of the first byte: deflate the records). Zip CRCs are
//         then right, so mutations reach the unpickler and load_bundle's own checks instead of
//         stopping at a CRC mismatch.
// Clean rejection: models::BundleError naming the file. Anything else is a finding.
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/bundle.h"
#include "models/culture_generator.h"
#include "tests/fuzz/fuzz_util.h"

using namespace culturegan;

namespace {

// Records "<name>\n" + u32le length + bytes → a zip; false when the list is malformed.
bool build_zip(std::string_view in, bool compress, std::string& zip) {
  zip.clear();
  caffe2::serialize::PyTorchStreamWriter writer([&zip](const void* p, size_t n) -> size_t {
    zip.append(static_cast<const char*>(p), n);
    return n;
  });
  int records = 0;
  while (!in.empty() && records < 4096) {
    const size_t nl = in.find('\n');
    if (nl == std::string_view::npos || nl == 0 || nl > 256 || in.size() - nl - 1 < 4) return false;
    const std::string name(in.substr(0, nl));
    const auto* b = reinterpret_cast<const uint8_t*>(in.data() + nl + 1);
    const size_t len = b[0] | b[1] << 8 | b[2] << 16 | static_cast<size_t>(b[3]) << 24;
    in.remove_prefix(nl + 5);
    if (len > in.size()) return false;
    // The writer refuses duplicates and odd names with c10::Error: not the input under test.
    try {
      writer.writeRecord(name, in.data(), len, compress);
    } catch (const c10::Error&) {
      return false;
    }
    in.remove_prefix(len);
    ++records;
  }
  try {
    writer.writeEndOfFile();
  } catch (const c10::Error&) {
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string path = (fuzz::scratch_dir() / "fuzz.bundle").string();
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    std::string zip;
    if (!build_zip(rest, data[0] & 2, zip)) return 0;
    fuzz::write_bytes(path, zip);
  } else {
    fuzz::write_bytes(path, rest);
  }
  try {
    const models::GeneratorBundle bundle = models::load_bundle(path);
    (void)models::make_culture_generator(bundle, path);
  } catch (const models::BundleError& e) {
    const std::string msg = e.what();
    fuzz::note(msg);
    if (msg.find(path) == std::string::npos) fuzz::bad_message("does not name the file", msg);
  }
  return 0;
}
