// fuzz_corpus_replay <tests/fuzz>: runs every fuzz target over its seed corpus
// (corpus/<target>/) and every input that once broke it (regressions/<target>/), in the
// ordinary build (GCC, and the sanitizer builds), so that what fuzzing found stays fixed.
// A folder named after no target is an error: a typo must not silently skip inputs.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace {

namespace fs = std::filesystem;
namespace fz = chargerecon::fuzz;

struct target {
  std::string_view name;
  void (*run)(std::string_view);
};

constexpr target targets[] = {
    {"list_charges", &fz::list_charges},
    {"acknowledge", &fz::acknowledge},
    {"promotions", &fz::promotions},
    {"show_subscription", &fz::show_subscription},
    {"create_subscription", &fz::create_subscription},
    {"login", &fz::login},
    {"devices", &fz::devices},
    {"status_answer", &fz::status_answer},
    {"jwt", &fz::jwt},
    {"config", &fz::config},
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz directory>\n", argv[0]);
    return 64;
  }
  const fs::path root = argv[1];
  int problems = 0;
  std::size_t inputs = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    if (!fs::is_directory(root / kind)) continue;
    for (const auto& dir : fs::directory_iterator(root / kind)) {
      const auto name = dir.path().filename().string();
      const auto* t = std::find_if(std::begin(targets), std::end(targets), [&](const target& x) { return x.name == name; });
      if (!dir.is_directory() || t == std::end(targets)) {
        std::fprintf(stderr, "%s: not the folder of a fuzz target\n", dir.path().c_str());
        ++problems;
        continue;
      }
      std::vector<fs::path> files;
      for (const auto& f : fs::directory_iterator(dir.path()))
        if (f.is_regular_file()) files.push_back(f.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        fz::set_current_input(f.string());
        fz::run_guarded(t->run, read_all(f));
        ++inputs;
      }
    }
  }
  fz::set_current_input({});
  if (!fs::is_directory(root / "corpus")) {
    std::fprintf(stderr, "%s: no corpus folder\n", (root / "corpus").c_str());
    ++problems;
  }
  for (const auto& t : targets) {
    if (fs::is_directory(root / "corpus" / std::string(t.name)) && !fs::is_empty(root / "corpus" / std::string(t.name)))
      continue;
    std::fprintf(stderr, "fuzz target %.*s has no seed corpus\n", static_cast<int>(t.name.size()), t.name.data());
    ++problems;
  }
  std::printf("replayed %zu inputs over %zu fuzz targets\n", inputs, std::size(targets));
  return problems == 0 ? 0 : 1;
}
