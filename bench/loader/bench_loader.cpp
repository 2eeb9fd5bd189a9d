// culturegan-bench-loader: images/s of culturegan's Loader (with augmentation) on the
// shared corpus at 64/128/256 px with 1 and 2 threads, against (a) python3-h5py +
// torch.utils.data.DataLoader with the same augmentation (python_loader.py) and (b) the
// images/s the quickstart trainer consumes, all measured in this run. Also peak memory
// of the loader on the corpus and on a 4x larger copy (must not grow with corpus size).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "data/corpus_writer.h"
#include "data/ingest.h"
#include "data/loader.h"

using namespace culturegan::data;
namespace fs = std::filesystem;

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * double(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// Peak resident memory of this process (VmHWM), MiB.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return NAN;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct LoaderRun {
  double images_per_second = 0, peak_rss_growth_mib = 0;
  double images_per_cpu_second = 0;  // load-independent efficiency (the machine is shared)
};

LoaderRun measure_loader(const std::string& corpus_path, int threads, double seconds, int batch,
                         float min_area) {
  const double base = rss_mib();
  std::atomic<bool> stop{false};
  std::atomic<double> peak{base};
  std::thread sampler_thread([&] {
    while (!stop) {
      const double r = rss_mib();
      if (r > peak) peak = r;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  LoaderRun run;
  {
    auto corpus = std::make_shared<const CorpusReader>(corpus_path);
    std::vector<int32_t> labels;
    for (int64_t i : corpus->train_indices()) labels.push_back(corpus->labels()[size_t(i)]);
    SamplerOptions so;
    so.seed = 1;
    LoaderOptions lo;
    lo.batch_size = batch;
    lo.threads = threads;
    lo.prefetch = 4;
    lo.hflip = true;
    lo.random_resized_crop = min_area;
    Loader loader(corpus, ShardedSampler(corpus->train_indices(), labels, so), 0, 1, lo);
    for (int i = 0; i < 2; ++i) loader.next();  // warm-up
    int64_t images = 0;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      images += loader.next().images.size(0);
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    run.images_per_second = images / elapsed;
    run.images_per_cpu_second = images / std::max(cpu_seconds() - cpu0, 1e-9);
  }
  stop = true;
  sampler_thread.join();
  run.peak_rss_growth_mib = peak - base;
  return run;
}

std::string capture(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *code = pclose(p);
  return out;
}

// The number after "key": in a JSON text (NaN if absent).
double json_number(const std::string& text, const std::string& key) {
  const size_t at = text.rfind("\"" + key + "\"");
  if (at == std::string::npos) return NAN;
  const size_t colon = text.find(':', at);
  return colon == std::string::npos ? NAN : std::strtod(text.c_str() + colon + 1, nullptr);
}

// A corpus with every image of `src` repeated `times` times (memory-flatness check).
void replicate(const std::string& src, const std::string& dst, int times) {
  CorpusReader r(src);
  CorpusWriterOptions wo;
  wo.image_size = r.image_size();
  CorpusWriter w(dst, r.cultures(), wo);
  const auto hashes = r.read_content_hashes();
  std::vector<uint8_t> buf(size_t(r.image_size()) * r.image_size() * 3);
  std::vector<uint8_t> split;
  for (int t = 0; t < times; ++t)
    for (int64_t i = 0; i < r.size(); ++i) {
      r.read_images(i, 1, buf.data());
      w.append(buf.data(), r.labels()[size_t(i)], r.source_path(i), hashes[size_t(i)]);
      split.push_back(r.split()[size_t(i)]);
    }
  w.finish_with_split(split);
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus_dir = CULTUREGAN_BENCH_CORPUS_DIR, work = "/tmp/culturegan-bench-loader";
  std::string python = CULTUREGAN_BENCH_PYTHON,
              script = CULTUREGAN_BENCH_SOURCE_DIR "/bench/loader/python_loader.py";
  std::string trainer = "", config = CULTUREGAN_BENCH_SOURCE_DIR "/configs/quickstart.toml";
  std::vector<int> sizes = {64, 128, 256};
  double seconds = 3.0, trainer_ips = 0.0;
  int batch = 32, trainer_steps = 30, trainer_np = 2;
  float min_area = 0.5f;
  bool json = false, python_all = false;
  CLI::App app{"culturegan-bench-loader: loader images/s vs. a Python DataLoader and the trainer"};
  app.add_flag("--json", json, "print one JSON object on stdout (progress goes to stderr)");
  app.add_option("--corpus-dir", corpus_dir, "image folder to ingest")->capture_default_str();
  app.add_option("--work-dir", work, "where corpora and runs go (reused when present)")
      ->capture_default_str();
  app.add_option("--sizes", sizes, "image sizes")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per measurement")->capture_default_str();
  app.add_option("--batch", batch, "per-rank batch")->capture_default_str();
  app.add_option("--min-area", min_area, "random resized crop: min area fraction")
      ->capture_default_str();
  app.add_option("--python", python, "python with torch and h5py")->capture_default_str();
  app.add_flag("--python-all-sizes", python_all,
               "run the Python reference at every size, not only 128 px");
  app.add_option("--trainer", trainer, "culturegan-train binary (default: next to this one)");
  app.add_option("--trainer-config", config, "trainer config")->capture_default_str();
  app.add_option("--trainer-steps", trainer_steps, "trainer steps to time")->capture_default_str();
  app.add_option("--trainer-np", trainer_np, "trainer ranks (mpirun -np)")->capture_default_str();
  app.add_option("--trainer-images-per-second", trainer_ips,
                 "use this instead of running the trainer");
  std::string memory_probe;
  app.add_option("--memory-probe", memory_probe,
                 "internal: run the loader on this corpus, print peak RSS")
      ->group("");
  CLI11_PARSE(app, argc, argv);
  if (!memory_probe.empty()) {  // a fresh process, so VmHWM is this corpus's peak alone
    torch::set_num_threads(1);
    measure_loader(memory_probe, 2, seconds, batch, min_area);
    std::cout << fmt::format("{{\"peak_rss_mib\":{:.1f}}}\n", peak_rss_mib());
    return 0;
  }
  setenv("OMP_NUM_THREADS", "1",
         1);  // the loader uses no intra-op parallelism; Python workers get 1 too
  torch::set_num_threads(1);
  if (trainer.empty())
    trainer = (fs::canonical("/proc/self/exe").parent_path() / "culturegan-train").string();
  fs::create_directories(work);
  std::ostream& log = std::cerr;

  std::ostringstream rows;
  double ours_128_2t = NAN, python_128 = NAN, ours_trainer_size_1t = NAN, ours_128_2t_cpu = NAN,
         python_128_cpu = NAN;
  int trainer_size = 64;
  std::map<int, std::string> corpora;
  for (int s : sizes) {
    const std::string path = fmt::format("{}/corpus-{}.h5", work, s);
    if (!fs::exists(path)) {
      IngestOptions io;
      io.input_dir = corpus_dir;
      io.output_path = path;
      io.size = s;
      io.threads = 2;
      const IngestReport r = ingest(io, log);
      log << fmt::format(
          "ingest {} px: {} images from {} files ({} unreadable, {} not images, {} duplicates, {} "
          "grayscale) in {:.2f} s\n",
          s, r.images_written, r.files_seen, r.unreadable, r.not_image, r.duplicates, r.grayscale,
          r.seconds);
    }
    corpora[s] = path;
    for (int t : {1, 2}) {
      const LoaderRun run = measure_loader(path, t, seconds, batch, min_area);
      log << fmt::format(
          "loader {:>3} px, {} thread(s): {:>8.0f} images/s ({:.0f} images per CPU second)\n", s, t,
          run.images_per_second, run.images_per_cpu_second);
      rows << fmt::format(
          "{}{{\"size\":{},\"threads\":{},\"images_per_second\":{:.1f},\"images_per_cpu_second\":{:"
          ".1f}}}",
          rows.tellp() > 0 ? "," : "", s, t, run.images_per_second, run.images_per_cpu_second);
      if (s == 128 && t == 2) ours_128_2t_cpu = run.images_per_cpu_second;
      if (s == 128 && t == 2) ours_128_2t = run.images_per_second;
      if (s == trainer_size && t == 1) ours_trainer_size_1t = run.images_per_second;
    }
  }
  std::ostringstream py_rows;
  for (int s : sizes) {
    if (s != 128 && !python_all) continue;
    int code = 0;
    const std::string out = capture(
        fmt::format("OMP_NUM_THREADS=1 {} {} {} --batch {} --workers 2 --seconds {} --min-area {}",
                    python, script, corpora[s], batch, seconds, min_area),
        &code);
    const double ips = code == 0 ? json_number(out, "images_per_second") : NAN;
    const double ipc = code == 0 ? json_number(out, "images_per_cpu_second") : NAN;
    log << fmt::format(
        "python DataLoader {:>3} px, 2 workers: {:>8.0f} images/s ({:.0f} images per CPU "
        "second){}\n",
        s, ips, ipc, code ? " (FAILED: " + out + ")" : "");
    py_rows << fmt::format(
        "{}{{\"size\":{},\"workers\":2,\"images_per_second\":{:.1f},\"images_per_cpu_second\":{:."
        "1f}}}",
        py_rows.tellp() > 0 ? "," : "", s, ips, ipc);
    if (s == 128) python_128 = ips, python_128_cpu = ipc;
  }
  // Memory must not grow with the corpus: the 128 px corpus vs. a 4x copy.
  double rss_1x = NAN, rss_4x = NAN;
  if (corpora.count(128)) {
    const std::string big = work + "/corpus-128-x4.h5";
    if (!fs::exists(big)) replicate(corpora[128], big, 4);
    auto probe = [&](const std::string& path) {
      int code = 0;
      const std::string out = capture(
          fmt::format("{} --memory-probe {} --seconds {} --batch {} --min-area {}",
                      fs::canonical("/proc/self/exe").string(), path, seconds, batch, min_area),
          &code);
      return code == 0 ? json_number(out, "peak_rss_mib") : NAN;
    };
    rss_1x = probe(corpora[128]);
    rss_4x = probe(big);
    log << fmt::format(
        "peak RSS of a process running the loader, 128 px, 2 threads: {:.1f} MiB (corpus, {:.0f} "
        "MiB file) vs "
        "{:.1f} MiB (4x corpus, {:.0f} MiB file)\n",
        rss_1x, fs::file_size(corpora[128]) / 1048576.0, rss_4x, fs::file_size(big) / 1048576.0);
  }
  std::string trainer_source = "flag";
  if (trainer_ips <= 0 && fs::exists(trainer) && corpora.count(trainer_size)) {
    const std::string run_dir = work + "/trainer-run";
    fs::remove_all(run_dir);
    int code = 0;
    const std::string cmd = fmt::format(
        "OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np {} "
        "--oversubscribe {} "
        "--config {} --set data.corpus={} --set train.steps={} --set run.dir={} 2>&1",
        trainer_np, trainer, config, corpora[trainer_size], trainer_steps, run_dir);
    const std::string out = capture(cmd, &code);
    std::ifstream summary(run_dir + "/summary.json");
    std::stringstream text;
    text << summary.rdbuf();
    trainer_ips = json_number(text.str(), "images_per_second");
    trainer_source =
        fmt::format("measured: mpirun -np {} culturegan-train {} steps", trainer_np, trainer_steps);
    if (code != 0 || !(trainer_ips > 0)) {
      log << "trainer run failed (exit " << code << "):\n" << out << '\n';
      trainer_ips = NAN;
    }
  }
  if (!(trainer_ips > 0)) trainer_ips = NAN, trainer_source = "unavailable";
  log << fmt::format("trainer consumption ({}): {:.1f} images/s\n", trainer_source, trainer_ips);

  const double vs_python = ours_128_2t / python_128,
               vs_trainer = ours_trainer_size_1t / trainer_ips;
  const double vs_python_cpu = ours_128_2t_cpu / python_128_cpu;
  auto num = [](double v) {
    return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("null");
  };
  if (json) {
    std::cout << fmt::format(
        "{{\"loader_vs_python\":{},\"loader_vs_trainer\":{},\"loader_vs_python_per_cpu_second\":{},"
        "\"loader\":[{}],\"python\":[{}],"
        "\"trainer_images_per_second\":{},\"trainer_source\":\"{}\",\"trainer_image_size\":{},"
        "\"peak_rss_mib_corpus\":{},\"peak_rss_mib_corpus_x4\":{},\"batch\":{},\"min_area\":{},"
        "\"seconds\":{}}}\n",
        num(vs_python), num(vs_trainer), num(vs_python_cpu), rows.str(), py_rows.str(),
        num(trainer_ips), trainer_source, trainer_size, num(rss_1x), num(rss_4x), batch, min_area,
        seconds);
  } else {
    std::cout << fmt::format(
        "loader_vs_python (128 px, 2 threads vs 2 workers): {}  (target >= 3)\n", num(vs_python));
    std::cout << fmt::format("loader_vs_trainer ({} px, 1 thread vs trainer): {}  (target >= 20)\n",
                             trainer_size, num(vs_trainer));
    std::cout << fmt::format("loader_vs_python per CPU second (128 px): {}\n", num(vs_python_cpu));
    std::cout << fmt::format("peak RSS: {} MiB (corpus) vs {} MiB (4x corpus)\n", num(rss_1x),
                             num(rss_4x));
  }
  return 0;
}
