// The libFuzzer entry point of one target: CMake compiles this file once per target, with
// CHARGERECON_FUZZ_TARGET naming the target's function (chargerecon::fuzz::list_charges, ...).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  chargerecon::fuzz::run_guarded(&CHARGERECON_FUZZ_TARGET,
                                 std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
