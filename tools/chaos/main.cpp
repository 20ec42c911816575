// chargerecon-chaos: the chaos run (chaos/runner.hpp), wiring only.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/process.hpp"
#include "chaos/options.hpp"
#include "chaos/report.hpp"
#include "chaos/runner.hpp"

int main(int argc, char** argv) {
  using namespace chargerecon;
  bench::stop_children_on_signals();
  auto options = chaos::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "chargerecon-chaos: %s\n\n%s", options.error().diagnostic.c_str(),
                 chaos::usage_text().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(chaos::usage_text().c_str(), stdout);
    return 0;
  }
  if (options->build_dir.empty()) options->build_dir = CHARGERECON_BUILD_DIR;
  auto report = chaos::run_chaos(*options);
  if (!report) {
    std::fprintf(stderr, "chargerecon-chaos: %s\n", report.error().to_string().c_str());
    return 1;
  }
  std::fputs(chaos::render_text(*report).c_str(), stdout);
  if (options->report) {
    std::ofstream out(*options->report, std::ios::trunc);
    out << chaos::render_json(*report);
    out.close();
    if (!out) {
      std::fprintf(stderr, "chargerecon-chaos: cannot write %s\n", options->report->c_str());
      return 1;
    }
  }
  return report->passed() ? 0 : 1;
}
