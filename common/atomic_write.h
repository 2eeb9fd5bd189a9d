// Atomic writes: a file or a directory appears complete under its final name or not at all,
// and survives a crash once the call returns (temp name, write, fsync, rename, fsync of the
// parent directory; POSIX rename(2) is atomic within one file system). Used by checkpoints,
// the generator bundle and corpus ingest. No dependency beyond the C++ and POSIX libraries.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

namespace culturegan::common {

/// What failed and where: "<path>: <operation> failed: <strerror>", e.g.
/// "runs/x/generator.bundle.tmp-123: write failed: No space left on device".
class AtomicWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// fsync(2) of a file, or of a directory (its entries). Throws AtomicWriteError.
void fsync_path(const std::string& path, bool directory);

/// Writes `bytes` to `path` (create or truncate, mode 0644) without fsync: for files inside a
/// temp directory that commit_directory() fsyncs. Throws AtomicWriteError naming the path and
/// errno's text (ENOSPC, EACCES, EIO, ...); a short write counts as EIO.
void write_file(const std::string& path, std::string_view bytes);

/// Writes `bytes` to `path` atomically: `<path>.tmp-<pid>` in the same directory, fsync,
/// rename over `path`, fsync of the parent. On failure the temp file is removed and `path`
/// keeps its old content. Throws AtomicWriteError.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Publishes a finished temp file (written by another library, e.g. HDF5): fsync `temp`,
/// rename it to `path`, fsync the parent. Throws AtomicWriteError (then `temp` is kept).
void commit_file(const std::string& temp, const std::string& path);

/// Publishes a temp directory written with write_file(): fsyncs every regular file in it and
/// the directory, moves an existing `final_dir` aside to `<final_dir>.old-<pid>`, renames
/// `temp_dir` to `final_dir`, fsyncs the parent, then removes the old one. At every moment a
/// complete `final_dir` exists except during one rename. On failure the old one is moved back
/// and `temp_dir` removed. Throws AtomicWriteError.
void commit_directory(const std::string& temp_dir, const std::string& final_dir);

}  // namespace culturegan::common
