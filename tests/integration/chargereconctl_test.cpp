// chargereconctl end to end: the real binary against a real crm-sim (the operator's netflix
// calls, reconcile --with-crm) and against ledgers that the real chargerecond filled, including
// while that daemon runs and holds its lock.
//
// Every wait is bounded; crm-sim's charges are seeded.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ledger/sqlite_ledger.hpp"
#include "support/crm_sim_fixture.hpp"
#include "support/daemon_fixture.hpp"
#include "support/ledger_faults.hpp"
#include "support/process.hpp"

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int exit_problems = 1;
constexpr int exit_unavailable = 69;
constexpr int exit_config = 78;

struct ctl_result {
  int status = -1;
  std::string out;
  std::string err;
  std::string describe() const { return "exit " + std::to_string(status) + "\nstdout:\n" + out + "\nstderr:\n" + err; }
  boost::json::value json() const { return boost::json::parse(out); }
};

std::filesystem::path ctl_program() {
#ifdef CHARGERECON_CHARGERECONCTL_PATH
  return CHARGERECON_CHARGERECONCTL_PATH;
#else
  return {};
#endif
}

// Runs chargereconctl --config <the fixture's> ARGS as the daemon's operator would, with the
// fixture's credentials directory, and waits for it (bounded).
class ctl_runner {
 public:
  // `extra_env` is added to every run (a fault shim's LD_PRELOAD).
  explicit ctl_runner(const daemon_fixture& f, environment extra_env = {}) : fixture_(f), extra_env_(std::move(extra_env)) {}

  ctl_result operator()(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", fixture_.config_path().string()});
    const auto n = std::to_string(++runs_);
    const auto out = dir_ / ("ctl-" + n + ".out");
    const auto err = dir_ / ("ctl-" + n + ".err");
    environment env{
        {"CREDENTIALS_DIRECTORY", fixture_.credentials_dir().string()}, {"USER", "tester"}, {"SUDO_USER", ""}};
    env.insert(env.end(), extra_env_.begin(), extra_env_.end());
    auto child = child_process::spawn(ctl_program(), args, env, out, err);
    ctl_result r;
    const auto status = child.wait(120s);
    if (!status) {
      r.err = "chargereconctl did not finish within 120 s\n" + child.output();
      return r;
    }
    r.status = *status;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }

 private:
  const daemon_fixture& fixture_;
  environment extra_env_;
  temp_dir dir_{"chargereconctl-runs"};
  unsigned runs_ = 0;
};

class chargereconctl_integration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ctl_program().empty()) GTEST_SKIP() << "chargereconctl is not part of this build";
  }
};

// The customer of crm-sim's first APPROVED charge: billing-fake refuses it, so that charges
// are held whatever the seed draws.
std::string first_approved_customer(const crm_sim& sim) {
  for (const auto& c : sim.state().charges)
    if (c.status == "APPROVED") return c.customer;
  throw std::runtime_error("crm-sim generated no APPROVED charge");
}

// crm-sim with a backlog without PENDING charges, billing-fake refusing the customer of its
// first APPROVED charge (so some charges end held), and a daemon fixture over both.
struct peers_refusing_one_customer {
  crm_sim sim;
  billing_fake billing;
  daemon_fixture daemon;

  peers_refusing_one_customer(std::size_t backlog, unsigned seed)
      : sim({"--backlog", std::to_string(backlog), "--seed", std::to_string(seed), "--pending-ratio", "0", "--quiet"}),
        billing({"--reject-customers", first_approved_customer(sim)}),
        daemon(settings(sim, billing)) {}

  static daemon_settings settings(const crm_sim& sim, const billing_fake& billing) {
    daemon_settings s;
    s.crm_base_url = sim.base_url();
    s.billing_url = billing.bill_url();
    return s;
  }
};

// Polls the ledger of a running daemon (bounded: 60 s) until it has parked charges as held
// (billing refused them) and, with `settled`, has no charge left unfinished. Their numbers.
std::vector<std::string> wait_for_held(const daemon_fixture& f, bool settled) {
  std::vector<std::string> held;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (bool done = false; !done && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
    if (!std::filesystem::exists(f.ledger_path())) continue;
    held.clear();
    bool unfinished = false;
    for (const auto& c : f.ledger_charges()) {
      if (c.state == ledger::charge_state::held) held.push_back(c.number);
      unfinished = unfinished || ledger::is_unfinished(c.state);
    }
    done = !held.empty() && !(settled && unfinished);
  }
  return held;
}

// A configuration for the netflix calls only: billing is never called.
daemon_settings crm_only(const crm_sim& sim) {
  daemon_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = "http://127.0.0.1:9/bill";
  return s;
}

TEST_F(chargereconctl_integration, promotions_and_subscriptions_against_crm_sim) {
  crm_sim sim({"--quiet", "--customers", "5"});
  daemon_fixture f(crm_only(sim));
  ctl_runner ctl(f);

  const auto promos = ctl({"promotions", "--json"});
  ASSERT_EQ(promos.status, 0) << promos.describe();
  std::vector<std::string> codes;
  const auto promo_list = promos.json();
  for (const auto& p : promo_list.as_array()) codes.emplace_back(p.at("code").as_string());
  EXPECT_THAT(codes, ElementsAre("NFX-BASIC-1M", "NFX-STD-3M", "NFX-PREM-BUNDLE"));
  const auto promos_text = ctl({"promotions"});
  ASSERT_EQ(promos_text.status, 0) << promos_text.describe();
  EXPECT_THAT(promos_text.out, HasSubstr("NFX-STD-3M"));
  EXPECT_THAT(promos_text.out, HasSubstr("Netflix Standard, three months half price"));

  const auto show = ctl({"subscription", "show", "--customer", "C0002", "--json"});
  ASSERT_EQ(show.status, 0) << show.describe();
  const auto subs = show.json().as_array();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].at("subscription_number").as_string(), "SUB000002");
  EXPECT_EQ(subs[0].at("netflix_state").as_string(), "ACTIVE");
  EXPECT_EQ(subs[0].at("life_cycle_state").as_string(), "EFFECTIVE");
  EXPECT_THAT(std::string(subs[0].at("prices_set").as_string()), HasSubstr("EUR 11.99"));

  const auto by_netflix = ctl({"subscription", "show", "--netflix-id", "NFX-C0002"});
  ASSERT_EQ(by_netflix.status, 0) << by_netflix.describe();
  EXPECT_THAT(by_netflix.out, HasSubstr("subscription SUB000002"));

  // Suspend and unsuspend, each seen through subscriptions/show.
  const auto suspend = ctl({"subscription", "suspend", "--customer", "C0002"});
  ASSERT_EQ(suspend.status, 0) << suspend.describe();
  EXPECT_EQ(suspend.out, "C0002: suspended\n");
  EXPECT_EQ(ctl({"subscription", "show", "--customer", "C0002", "--json"}).json().at(0).at("netflix_state").as_string(),
            "SUSPENDED");
  const auto unsuspend = ctl({"subscription", "unsuspend", "--customer", "C0002", "--json"});
  ASSERT_EQ(unsuspend.status, 0) << unsuspend.describe();
  EXPECT_FALSE(unsuspend.json().at("suspended").as_bool());
  EXPECT_EQ(ctl({"subscription", "show", "--customer", "C0002", "--json"}).json().at(0).at("netflix_state").as_string(),
            "ACTIVE");

  // A sign-up for a new customer: a token and a URL, and the subscription then exists.
  const auto create = ctl({"subscription", "create", "--customer", "C9001", "--promotion", "NFX-STD-3M", "--channel",
                           "WEB", "--validity", "1h", "--email", "c9001@example.net", "--json"});
  ASSERT_EQ(create.status, 0) << create.describe();
  const auto signup = create.json();
  EXPECT_EQ(signup.at("token").as_string().size(), 32u);
  EXPECT_THAT(std::string(signup.at("url").as_string()), HasSubstr("https://signup.netflix.example/activate?token="));
  const auto created = ctl({"subscription", "show", "--customer", "C9001", "--json"});
  ASSERT_EQ(created.status, 0) << created.describe();
  EXPECT_EQ(created.json().at(0).at("netflix_state").as_string(), "PENDING_SIGN_UP");
  EXPECT_EQ(created.json().at(0).at("life_cycle_state").as_string(), "NOT_EFFECTIVE");

  // CRM.COM refusing the call (no such customer) is exit 1 with its answer quoted.
  const auto missing = ctl({"subscription", "show", "--customer", "C404"});
  EXPECT_EQ(missing.status, exit_problems) << missing.describe();
  EXPECT_THAT(missing.err, HasSubstr("No netflix subscription for that customer"));
  const auto bad_promo = ctl({"subscription", "create", "--customer", "C9002", "--promotion", "NOPE"});
  EXPECT_EQ(bad_promo.status, exit_problems) << bad_promo.describe();
  // Usage errors never reach CRM.COM.
  EXPECT_EQ(ctl({"subscription", "create", "--customer", "C9003", "--channel", "FAX"}).status, 64);
  EXPECT_EQ(sim.state().calls_to("subscriptions/create"), 2u);
}

TEST_F(chargereconctl_integration, devices_are_sent_in_thousands_and_refused_esns_are_printed) {
  crm_sim sim({"--quiet"});
  daemon_fixture f(crm_only(sim));
  ctl_runner ctl(f);

  std::string esns;
  for (int i = 0; i < 2500; ++i) esns += "  ESN-" + std::to_string(100000 + i) + "\r\n";
  esns += "\nbad esn!\n";  // crm-sim refuses ESNs with spaces or punctuation
  const auto file = f.dir() / "esns.txt";
  write_file(file, esns);

  const auto reg = ctl({"devices", "register", "--group-name", "Lobby", "--file", file.string()});
  EXPECT_EQ(reg.status, exit_problems) << reg.describe();
  EXPECT_THAT(reg.out, HasSubstr("registered 2500 of 2501 devices"));
  EXPECT_THAT(reg.out, HasSubstr("refused by CRM.COM (1):\nbad esn!\n"));
  const auto state = sim.state();
  EXPECT_EQ(state.registered_devices, 2500u);
  EXPECT_EQ(state.calls_to("operators/register_devices"), 3u);  // 1000 + 1000 + 501

  // Registering them again: every one refused (already registered), listed in JSON.
  const auto again = ctl({"devices", "register", "--group-name", "Lobby", "--file", file.string(), "--json"});
  EXPECT_EQ(again.status, exit_problems) << again.describe();
  EXPECT_EQ(again.json().at("failed").as_array().size(), 2501u);

  // A clean file unregisters cleanly: exit 0.
  std::string good;
  for (int i = 0; i < 1200; ++i) good += "ESN-" + std::to_string(100000 + i) + "\n";
  const auto good_file = f.dir() / "good.txt";
  write_file(good_file, good);
  const auto unreg = ctl({"devices", "unregister", "--group-code", "LOBBY-1", "--file", good_file.string(), "--json"});
  EXPECT_EQ(unreg.status, 0) << unreg.describe();
  EXPECT_EQ(unreg.json().at("sent").as_int64(), 1200);
  EXPECT_TRUE(unreg.json().at("failed").as_array().empty());
  EXPECT_EQ(sim.state().registered_devices, 1300u);

  const auto empty_file = f.dir() / "empty.txt";
  write_file(empty_file, "\n \n");
  const auto empty = ctl({"devices", "register", "--group-id", "7", "--file", empty_file.string()});
  EXPECT_EQ(empty.status, 64) << empty.describe();
  EXPECT_THAT(empty.err, HasSubstr("holds no ESN"));
}

TEST_F(chargereconctl_integration, refused_credentials_and_an_unreachable_crm_say_what_to_do) {
  temp_dir dir("chargereconctl-sim");
  write_file(dir / "password", "not-the-fixtures-password\n", 0600);
  crm_sim sim({"--quiet", "--password-file", (dir / "password").string()});
  daemon_fixture f(crm_only(sim));
  ctl_runner ctl(f);
  const auto refused = ctl({"promotions"});
  EXPECT_EQ(refused.status, exit_config) << refused.describe();
  EXPECT_THAT(refused.err, HasSubstr("check crm.username, crm.organisation and the password"));

  crm_sim gone({"--quiet"});
  daemon_fixture g(crm_only(gone));
  ASSERT_EQ(gone.stop(), 0);
  ctl_runner ctl_g(g);
  const auto unreachable = ctl_g({"promotions"});
  EXPECT_EQ(unreachable.status, exit_unavailable) << unreachable.describe();
  EXPECT_THAT(unreachable.err, HasSubstr("check crm.base_url and the network"));

  // No secret where the configuration says: a configuration error naming the way out.
  ctl_runner no_secret(f);
  std::filesystem::remove(f.credentials_dir() / "crm-password");
  const auto missing = no_secret({"promotions"});
  EXPECT_EQ(missing.status, exit_config) << missing.describe();
  EXPECT_THAT(missing.err, HasSubstr("CREDENTIALS_DIRECTORY"));
  EXPECT_THAT(missing.err, Not(HasSubstr("not-the-fixtures-password")));
}

TEST_F(chargereconctl_integration, reconcile_with_crm_agrees_after_a_drained_run_and_then_finds_each_disagreement) {
  crm_sim sim({"--backlog", "130", "--seed", "31", "--pending-ratio", "0", "--quiet"});
  const auto refused_customer = first_approved_customer(sim);
  billing_fake billing({"--reject-customers", refused_customer});
  daemon_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = billing.bill_url();
  daemon_fixture f(s);
  const auto run = f.run_once(120s);
  ASSERT_EQ(run.exit_status, 0) << run.describe();
  ctl_runner ctl(f);

  std::vector<std::string> held;
  for (const auto& c : f.ledger_charges())
    if (c.state == ledger::charge_state::held) held.push_back(c.number);
  ASSERT_FALSE(held.empty());

  // After the drained run: only the held charges (billing refused their customer) disagree; the pass
  // sees exactly those still listed, since a held charge is never acknowledged.
  const auto first = ctl({"reconcile", "--with-crm", "--json"});
  ASSERT_EQ(first.status, exit_problems) << first.describe();
  auto report = first.json();
  for (const auto& finding : report.at("findings").as_array())
    EXPECT_EQ(finding.at("kind").as_string(), "held") << boost::json::serialize(finding);
  EXPECT_EQ(report.at("findings").as_array().size(), held.size());
  EXPECT_EQ(report.at("crm").at("listed").as_int64(), static_cast<std::int64_t>(held.size()));
  EXPECT_TRUE(report.at("crm").at("left_list_judged").as_bool());
  EXPECT_EQ(report.at("charges").as_int64(), 130);

  // A person releases every held charge; the next daemon run acknowledges them: all agree.
  for (const auto& number : held) {
    const auto r = ctl({"release", number, "--reason", "billing cannot bill this customer; written off"});
    ASSERT_EQ(r.status, 0) << r.describe();
    EXPECT_THAT(r.out, HasSubstr("held -> ack_pending (released by tester)"));
  }
  const auto second_run = f.run_once(120s);
  ASSERT_EQ(second_run.exit_status, 0) << second_run.describe();
  const auto clean = ctl({"reconcile", "--with-crm"});
  EXPECT_EQ(clean.status, 0) << clean.describe();
  EXPECT_THAT(clean.out, HasSubstr("0 disagreements over 130 charges"));
  EXPECT_THAT(clean.out, HasSubstr("CRM.COM lists 0 processed charges"));
  EXPECT_TRUE(sim.state().find(held.front())->acknowledged);
  EXPECT_FALSE(sim.state().find(held.front())->reference_number);

  // CRM.COM lists charges the ledger never saw (no daemon runs now), and the ledger waits for
  // a charge CRM.COM no longer lists.
  ASSERT_EQ(sim.post_charges(R"([{"number":"X1","billing_system_customer_identifier":"C0001",)"
                             R"("amount":12.5,"currency":"EUR","charge_status":"APPROVED"},)"
                             R"({"number":"X2","billing_system_customer_identifier":"C0002",)"
                             R"("amount":0.5,"currency":"EUR","charge_status":"DECLINED",)"
                             R"("received_on":"2020-01-01T00:00:00"}])"),
            2u);
  {
    ledger::sqlite_ledger_options o;
    o.path = f.ledger_path();
    auto store = ledger::sqlite_ledger::open(o, obs::event_log::null());
    ASSERT_TRUE(store) << store.error().to_string();
    const std::vector<ledger::observed_charge> ghost{{"GHOST1", "C0003", "APPROVED", "3.30", "EUR", "{}"}};
    const auto two_hours_ago = ledger::to_timestamp(std::chrono::system_clock::now()) - 2h;
    ASSERT_TRUE((*store)->record_page(ghost, two_hours_ago));
  }
  const auto acks_before = sim.state().calls_to("charges/acknowledge");
  const auto found = ctl({"reconcile", "--with-crm", "--older-than", "1h"});
  EXPECT_EQ(found.status, exit_problems) << found.describe();
  EXPECT_THAT(found.out, HasSubstr("crm_unknown X1 status=APPROVED customer=C0001 amount=12.5 EUR"));
  EXPECT_THAT(found.out, HasSubstr("crm_unknown X2 status=DECLINED"));
  EXPECT_THAT(found.out, HasSubstr("crm_left_list GHOST1 state=seen"));
  EXPECT_THAT(found.out, HasSubstr("not_billed GHOST1 state=seen"));
  EXPECT_THAT(found.out, HasSubstr("4 disagreements over 131 charges"));
  EXPECT_THAT(found.out, HasSubstr("at stake: EUR 16.30"));
  // The pass only reads: nothing was acknowledged.
  EXPECT_FALSE(sim.state().find("X1")->acknowledged);
  EXPECT_EQ(sim.state().calls_to("charges/acknowledge"), acks_before);
}

TEST_F(chargereconctl_integration, ledger_commands_work_while_the_daemon_runs_and_holds_its_lock) {
  peers_refusing_one_customer peers(60, 32);
  auto& f = peers.daemon;
  auto daemon = f.start();
  ctl_runner ctl(f);

  const auto held = wait_for_held(f, false);
  ASSERT_FALSE(held.empty()) << daemon.describe();
  ASSERT_TRUE(daemon.running()) << daemon.describe();

  const auto status = ctl({"status", "--json"});
  ASSERT_EQ(status.status, 0) << status.describe();
  EXPECT_EQ(status.json().at("total").as_int64(), 60);
  EXPECT_GE(status.json().at("counts").at("held").as_int64(), 1);

  const auto show = ctl({"show", held.front()});
  ASSERT_EQ(show.status, 0) << show.describe();
  EXPECT_THAT(show.out, HasSubstr("billing -> held"));

  // retry writes next to the running daemon; billing refuses again, so it comes back held,
  // and the trail holds the person's retry between the two refusals.
  const auto retry = ctl({"retry", held.front(), "--reason", "customer fixed in billing?", "--by", "ops-1"});
  ASSERT_EQ(retry.status, 0) << retry.describe();
  bool held_again = false;
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (!held_again && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
    const auto trail = f.ledger_events(held.front());
    held_again = trail.size() >= 2 && trail[trail.size() - 2].kind == "retry" && trail.back().to &&
                 *trail.back().to == ledger::charge_state::held;
  }
  EXPECT_TRUE(held_again) << daemon.describe();
  const auto trail = ctl({"show", held.front(), "--json"});
  ASSERT_EQ(trail.status, 0) << trail.describe();
  bool retry_audited = false;
  const auto trail_json = trail.json();
  for (const auto& e : trail_json.at("events").as_array())
    retry_audited = retry_audited || (e.at("kind").as_string() == "retry" && e.at("actor").as_string() == "ops-1" &&
                                      e.at("reason").as_string() == "customer fixed in billing?");
  EXPECT_TRUE(retry_audited) << trail.out;

  const auto csv = ctl({"export", "--since", "2000-01-01", "--until", "2100-01-01"});
  ASSERT_EQ(csv.status, 0) << csv.describe();
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 61);  // header + one line per charge
  EXPECT_THAT(csv.err, HasSubstr("exported 60 charges"));

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

// Read commands open the ledger read-only: on a file system that refuses every write to the
// ledger's files (the fault shim, preloaded into chargereconctl alone: as root too, unlike
// chmod) they all work next to the running daemon, and the first command that writes is
// refused with exit 69 and a next step. (A WAL ledger is read without writing only while its
// -wal and -shm files exist, which they do while the daemon runs.)
TEST_F(chargereconctl_integration, read_commands_work_on_a_ledger_nothing_can_write_and_a_write_is_refused) {
  peers_refusing_one_customer peers(80, 33);
  auto& f = peers.daemon;
  auto daemon = f.start();
  const auto parked = wait_for_held(f, true);
  ASSERT_FALSE(parked.empty()) << daemon.describe();
  const auto& held = parked.front();

  ledger_faults faults(f.ledger_path(), f.dir() / "fault");
  faults.set(storage_fault::read_only);
  ctl_runner ctl(f, faults.preload_env());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status"}, {"list", "--state", "held"}, {"show", held},
        {"export", "--since", "2000-01-01", "--until", "2100-01-01"}, {"reconcile"}}) {
    const auto r = ctl(args);
    // reconcile exits 1: the held charges disagree.
    EXPECT_EQ(r.status, args.front() == "reconcile" ? exit_problems : 0) << args.front() << "\n" << r.describe();
  }
  const auto retry = ctl({"retry", held, "--reason", "try again"});
  EXPECT_EQ(retry.status, exit_unavailable) << retry.describe();
  EXPECT_THAT(retry.err, HasSubstr("read-only")) << retry.describe();
  faults.set(storage_fault::none);
  // Nothing changed: still held.
  for (const auto& c : f.ledger_charges()) {
    if (c.number == held) {
      EXPECT_EQ(c.state, ledger::charge_state::held);
    }
  }
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0) << daemon.describe();
}

}  // namespace
}  // namespace chargerecon::test
