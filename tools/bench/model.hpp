#pragma once
// The arithmetic of the benchmark, free of I/O: the network's lower bound on a drain's wall
// time, and the figures derived from one measured run. Unit-tested in tests/unit/bench.
//
// The bound models what any reconciler that follows the spec's rules must wait for, given one
// latency L_crm per CRM.COM call, L_bill per billing post, and `concurrency` posts in flight:
//   - logging in and listing are a chain: a page's offset depends on the previous page's
//     outcome (the offset RULE), so there is one charges/list in flight at a time, and a drain
//     needs floor(charges / page_size) + 1 of them (the last one short, to see the end);
//   - a charge is posted after the page that carried it was listed, and acknowledged after its
//     post answered: login, first page, ceil(posts / concurrency) waves of posts, last ack;
//   - acknowledgements carry at most ack_batch charges, one call in flight at a time, and start
//     after the first page: login, first page, ceil(acknowledged / ack_batch) calls.
// The bound is the longest of those three chains; listing and acknowledging overlap with
// billing, which is what a pipelined engine can achieve. CPU, disk and the ack linger are
// not in it: at 0 ms the bound is zero (infinitely fast) and only the CPU and fsync bound a run.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chargerecon::bench {

// What one seeded backlog asks of a reconciler.
struct workload {
  std::uint64_t charges = 0;       // processed charges in charges/list at start
  std::uint64_t posts = 0;         // billable ones (APPROVED): one billing post each, held ones included
  std::uint64_t acknowledged = 0;  // the ones that end acknowledged (all but held)
};

struct network {
  double crm_latency_s = 0;      // per CRM.COM call
  double billing_latency_s = 0;  // per billing post
  std::size_t concurrency = 1;   // billing posts in flight
  std::size_t page_size = 50;    // charges/list number_of_results
  std::size_t ack_batch = 50;    // charges per acknowledge call
};

struct network_bound {
  std::uint64_t list_calls = 0;
  std::uint64_t ack_calls = 0;
  std::uint64_t post_waves = 0;
  double list_chain_s = 0;
  double bill_chain_s = 0;
  double ack_chain_s = 0;
  double seconds = 0;      // the longest chain
  std::string limited_by;  // "listing", "billing" or "acknowledging"; "none" at zero latency
  // charges / seconds; nullopt when the network imposes no bound (zero latency).
  std::optional<double> charges_per_second;
};

// Throws nothing; zero page_size, ack_batch or concurrency are treated as 1.
network_bound compute_bound(const workload& w, const network& n);

// One process's measured run.
struct measurement {
  std::uint64_t charges = 0;  // processed charges of the backlog it drained
  double wall_s = 0;          // spawn to exit
  double cpu_user_s = 0;
  double cpu_system_s = 0;
  std::uint64_t max_rss_kib = 0;  // peak RSS (VmHWM sampled while it runs)
  // Median fdatasync of a 4 KiB write in the run's directory just before it: the disk's
  // commit latency at that moment (shared machines vary tenfold), which bounds a ledger.
  double fsync_probe_ms = 0;
  std::uint64_t crm_calls = 0;  // every CRM.COM call crm-sim counted (logins included)
  std::uint64_t billing_posts = 0;
  bool audit_ok = false;
  int exit_status = -1;
  // chargerecond only: from spawn to READY=1 (sd_notify) when started again on the ledger its
  // run left behind; unset when not measured or READY never came.
  std::optional<double> ready_ms;
};

struct derived {
  double charges_per_second = 0;
  double cpu_s_per_1000 = 0;
  double max_rss_mib = 0;
  double crm_calls_per_charge = 0;
  double posts_per_charge = 0;
};

// Zero charges or zero wall time give zeros rather than infinities.
derived derive(const measurement& m);

// a / b, or nullopt when b is zero or either is missing.
std::optional<double> ratio(std::optional<double> a, std::optional<double> b);

}  // namespace chargerecon::bench
