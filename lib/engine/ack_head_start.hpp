#pragma once
// How long the next charges/list call waits after acknowledgements went out between two list
// calls (reconciler::pass). Nothing orders two requests on two connections: a list call sent
// right behind the acknowledgements may reach CRM.COM first and repeat the page their charges
// were counted out of. That is harmless (the ledger absorbs repeats) but costs a list call, and
// list calls are the one chain that cannot overlap. The head start covers the jitter between
// two requests sent together, which grows with how long CRM.COM takes to answer: a sixteenth of
// the last list call, from 50 us (at loopback speed a list call takes about 1 ms, and a fixed
// 1 ms pause after each batch of acknowledgements cost a sixth of a 0 ms drain) to 1 ms (at
// 20 ms per call, 1 ms kept the repeats away: 204 list calls for 10,000 charges, not 321).

#include <chrono>

namespace chargerecon::engine {

std::chrono::microseconds ack_head_start(std::chrono::steady_clock::duration last_list_call) noexcept;

}  // namespace chargerecon::engine
