// Names and constants of corpus format v1 (docs/corpus-format.md is the normative text).
#pragma once
#include <cstdint>

namespace culturegan::data::format {

constexpr int32_t kSchemaVersion = 1;
constexpr const char* kFormatName = "culturegan-corpus";

// Root attributes.
constexpr const char* kAttrSchemaVersion = "schema_version";  // int32 scalar, = 1
constexpr const char* kAttrFormat = "format";                 // string, "culturegan-corpus"
constexpr const char* kAttrImageSize = "image_size";          // int32 scalar, S

// Datasets (N images, C cultures).
constexpr const char* kImages = "/images";             // uint8 [N,S,S,3], chunks of whole images
constexpr const char* kLabels = "/labels";             // int32 [N] in [0,C)
constexpr const char* kSplit = "/split";               // uint8 [N], 0 train, 1 val
constexpr const char* kSourcePaths = "/source_paths";  // fixed string [N], relative to input
constexpr const char* kContentSha256 = "/content_sha256";  // uint8 [N,32], of the source file
constexpr const char* kCultures = "/cultures";             // fixed string [C], sorted
constexpr const char* kCultureCounts = "/culture_counts";  // int64 [C], images per culture

constexpr uint8_t kTrain = 0;
constexpr uint8_t kVal = 1;

// Sanity bounds the reader enforces before allocating anything.
constexpr int64_t kMaxImages = int64_t{1} << 31;
constexpr int32_t kMaxImageSize = 8192;
constexpr int64_t kMaxCultures = 65536;
constexpr int64_t kMaxStringBytes = 4096;

}  // namespace culturegan::data::format
