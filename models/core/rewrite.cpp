// Rewriting a migrated flow's packets (rules in rewrite.hpp and rule 5 of migrator.hpp).
#include "rewrite.hpp"

namespace tcpmig::core::detail {

namespace flag = wire::tcp_flag;

void rewrite_to_backend(Segment& s, const Mapping& m) {
  s.set_dst(m.backend);
  const bool ack = s.any(flag::ACK);
  if (ack) s.set_ack(s.ack() - m.seq_delta);
  if (!s.any(flag::SYN)) s.set_window(rescale_window(s.window(), m.c2s_from, m.c2s_to));
  const SegmentOptions& o = s.options();
  if (o.ts >= 0 && ack && o.tsecr != 0) s.set_tsecr(o.tsecr - m.ts_delta);
  if (o.sack >= 0) {
    if (!m.backend_sack) {
      s.nop_sack();
      return;
    }
    for (std::size_t i = 0; i < o.sack_blocks(); ++i) {
      for (int edge = 0; edge < 2; ++edge) s.set_sack_edge(i, edge, s.sack_edge(i, edge) - m.seq_delta);
    }
  }
}

void rewrite_to_client(Segment& s, const Mapping& m) {
  s.set_src(m.service);
  s.set_seq(s.seq() + m.seq_delta);
  if (!s.any(flag::SYN)) s.set_window(rescale_window(s.window(), m.s2c_from, m.s2c_to));
  const SegmentOptions& o = s.options();
  if (o.ts >= 0) s.set_tsval(o.tsval + m.ts_delta);
}

}  // namespace tcpmig::core::detail
