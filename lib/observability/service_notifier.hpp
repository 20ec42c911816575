#pragma once
// systemd's notify protocol (sd_notify): READY once the ledger is open and the first login
// succeeded, STATUS lines with the backlog, STOPPING on shutdown, WATCHDOG pings sent from the
// event loop itself so that a stalled loop is restarted. Outside systemd ($NOTIFY_SOCKET unset)
// every call is a no-op.

#include <chrono>
#include <optional>
#include <string_view>

namespace chargerecon::obs {

class service_notifier {
 public:
  void ready() const;
  void status(std::string_view text) const;
  void stopping() const;
  void reloading() const;
  void watchdog() const;

  // Half of WatchdogSec when the watchdog is enabled for this process: how often to ping.
  std::optional<std::chrono::microseconds> watchdog_ping_interval() const;
};

}  // namespace chargerecon::obs
