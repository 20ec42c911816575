// chargerecon-bench: the throughput benchmark (bench/runner.hpp), wiring only.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench/process.hpp"
#include "bench/runner.hpp"

int main(int argc, char** argv) {
  using namespace chargerecon;
  bench::stop_children_on_signals();
  auto options = bench::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "chargerecon-bench: %s\n%s", options.error().diagnostic.c_str(), bench::usage_text);
    return 2;
  }
  if (options->help) {
    std::fputs(bench::usage_text, stdout);
    return 0;
  }
  if (options->build_dir.empty()) {
    // <build>/tools/bench/chargerecon-bench
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
      std::fprintf(stderr, "chargerecon-bench: cannot find my own build directory; give --build\n");
      return 2;
    }
    options->build_dir = self.parent_path().parent_path().parent_path();
  }
  auto report = bench::run_bench(*options);
  if (!report) {
    std::fprintf(stderr, "chargerecon-bench: %s\n", report.error().to_string().c_str());
    return 1;
  }
  const auto table = bench::format_table(*report);
  std::fputs(table.c_str(), stdout);
  if (options->out) {
    std::ofstream out(*options->out, std::ios::trunc);
    out << bench::format_json(*report);
    out.close();
    if (!out) {
      std::fprintf(stderr, "chargerecon-bench: cannot write %s\n", options->out->c_str());
      return 1;
    }
  }
  bool ok = true;
  for (const auto& r : report->results) ok = ok && r.engine.audit_ok && r.baseline.audit_ok;
  return ok ? 0 : 1;
}
