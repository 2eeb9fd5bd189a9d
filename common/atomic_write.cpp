#include "common/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace culturegan::common {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw AtomicWriteError(path + ": " + what + " failed: " + std::strerror(err));
}

std::string parent_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) fail(path, "open for fsync", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(path, "fsync", err);
}

void write_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, "create", errno);
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = w == 0 ? EIO : errno;
      ::close(fd);
      fail(path, "write", err);
    }
    off += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) fail(path, "write", errno);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    write_file(tmp, bytes);
    commit_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void commit_file(const std::string& temp, const std::string& path) {
  fsync_path(temp, false);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    throw AtomicWriteError(path + ": rename from " + temp + " failed: " + std::strerror(err));
  }
  fsync_path(parent_of(path), true);
}

void commit_directory(const std::string& temp_dir, const std::string& final_dir) {
  std::error_code ec;
  auto cleanup = [&] {
    std::error_code ignore;
    fs::remove_all(temp_dir, ignore);
  };
  try {
    for (const auto& e : fs::directory_iterator(temp_dir))
      if (e.is_regular_file()) fsync_path(e.path().string(), false);
    fsync_path(temp_dir, true);
  } catch (const fs::filesystem_error& e) {
    cleanup();
    throw AtomicWriteError(temp_dir + ": cannot list: " + e.code().message());
  } catch (...) {
    cleanup();
    throw;
  }
  const std::string old = final_dir + ".old-" + std::to_string(::getpid());
  const bool had_old = fs::exists(final_dir, ec);
  if (had_old) {
    fs::rename(final_dir, old, ec);
    if (ec) {
      cleanup();
      throw AtomicWriteError(final_dir + ": cannot move the old one aside: " + ec.message());
    }
  }
  fs::rename(temp_dir, final_dir, ec);
  if (ec) {
    const std::string why = ec.message();
    cleanup();
    std::error_code ignore;
    if (had_old) fs::rename(old, final_dir, ignore);
    throw AtomicWriteError(final_dir + ": cannot rename into place: " + why);
  }
  try {
    fsync_path(parent_of(final_dir), true);
  } catch (...) {
    std::error_code ignore;
    if (had_old) fs::remove_all(old, ignore);
    throw;
  }
  if (had_old) fs::remove_all(old, ec);
}

}  // namespace culturegan::common
