#include "support/ledger_faults.hpp"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace chargerecon::test {
namespace {

// The shim's words for the faults (support/fault_shim/ledger_fault_shim.c).
const char* control_word(storage_fault f) {
  switch (f) {
    case storage_fault::disk_full: return "ENOSPC\n";
    case storage_fault::read_only: return "EROFS\n";
    case storage_fault::corrupt_reads: return "CORRUPT\n";
    case storage_fault::none: break;
  }
  return "";
}

}  // namespace

std::filesystem::path ledger_faults::shim_path() {
#ifdef CHARGERECON_LEDGER_FAULT_SHIM_PATH
  return CHARGERECON_LEDGER_FAULT_SHIM_PATH;
#else
  return {};
#endif
}

ledger_faults::ledger_faults(std::filesystem::path ledger_path, std::filesystem::path control_file)
    : ledger_path_(std::move(ledger_path)), control_file_(std::move(control_file)) {
  set(storage_fault::none);
}

ledger_faults::~ledger_faults() {
  std::error_code ignored;
  std::filesystem::remove(control_file_, ignored);
}

environment ledger_faults::variables() const {
  return {{"CHARGERECON_FAULT_PATH_PREFIX", ledger_path_.string()},
          {"CHARGERECON_FAULT_CONTROL", control_file_.string()}};
}

environment ledger_faults::preload_env() const {
  const auto shim = shim_path();
  if (shim.empty() || !std::filesystem::exists(shim))
    throw std::runtime_error("the ledger fault shim is not built (" + shim.string() + ")");
  auto env = variables();
  env.emplace_back("LD_PRELOAD", shim.string());
  // AddressSanitizer insists on coming first among preloaded libraries; the shim only forwards
  // to whatever comes next (the sanitizer's interceptors included), so the order is harmless.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.emplace_back("ASAN_OPTIONS", std::string(asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0");
  return env;
}

void ledger_faults::set(storage_fault f) const {
  if (f == storage_fault::none) {
    std::filesystem::remove(control_file_);
    return;
  }
  // Written whole, then renamed: the shim never reads half a word.
  const auto tmp = control_file_.string() + ".tmp";
  write_file(tmp, control_word(f), 0600);
  std::filesystem::rename(tmp, control_file_);
}

}  // namespace chargerecon::test
