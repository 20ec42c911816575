#pragma once
// Storage faults under a ledger, for tests: the switch of support/fault_shim/ledger_fault_shim.c
// (which says how they are made and why that way). A test gives the ledger's path; every file
// whose path begins with it (the database, -wal, -shm, .lock) then fails its writes with ENOSPC
// (a full disk) or EROFS (a file system gone read-only), or the database file's pages read back
// damaged (corrupt_reads), while the fault is set, in a chargerecond started with preload_env()
// or in a test program the shim is linked into.

#include <filesystem>

#include "support/process.hpp"

namespace chargerecon::test {

enum class storage_fault { none, disk_full, read_only, corrupt_reads };

class ledger_faults {
 public:
  // CHARGERECON_LEDGER_FAULT_SHIM_PATH (empty when this build has no shim).
  static std::filesystem::path shim_path();

  // Faults for files under `ledger_path`; the switch is the file `control_file`, which must lie
  // elsewhere. Starts with no fault set.
  ledger_faults(std::filesystem::path ledger_path, std::filesystem::path control_file);
  ~ledger_faults();  // removes the control file
  ledger_faults(const ledger_faults&) = delete;
  ledger_faults& operator=(const ledger_faults&) = delete;

  // The shim's two variables.
  environment variables() const;
  // variables(), LD_PRELOAD of the shim, and ASAN_OPTIONS allowing a library ahead of the
  // AddressSanitizer runtime: the environment for a spawned chargerecond. Throws
  // std::runtime_error when the shim is not built.
  environment preload_env() const;

  // Sets (or, with none, clears) the fault: takes effect at the process's next system call.
  void set(storage_fault f) const;

 private:
  std::filesystem::path ledger_path_;
  std::filesystem::path control_file_;
};

}  // namespace chargerecon::test
