// Following a flow's handshake and both directions (rules in tracking.hpp).
#include "tracking.hpp"

namespace tcpmig::core::detail {

namespace {

namespace flag = wire::tcp_flag;

/// TSvals compare like sequence numbers (RFC 7323 section 5.3): `v` is not older than `highest`.
bool ts_not_older(uint32_t v, uint32_t highest) { return SeqNumber{v} >= SeqNumber{highest}; }

}  // namespace

TcpOptions client_options(const Flow& f, const FlowCold& c) {
  TcpOptions o;
  o.mss = c.client_mss;
  if (f.client_ws != kNoScale) o.window_scale = f.client_ws;
  o.sack_permitted = (f.opts & kClientSack) != 0;
  o.timestamps = (f.opts & kClientTs) != 0;
  return o;
}

TcpOptions backend_options(const Flow& f, const FlowCold& c) {
  TcpOptions o;
  o.mss = c.backend_mss;
  if (f.opts & kBackWs) o.window_scale = f.backend_ws;
  o.sack_permitted = (f.opts & kBackSack) != 0;
  o.timestamps = (f.opts & kBackTs) != 0;
  return o;
}

void record_client_syn(Flow& f, FlowCold& c, const Segment& syn) {
  const SegmentOptions& o = syn.options();
  c.client_isn = syn.seq();
  f.client_nxt = syn.seq() + 1;
  c.client_mss = o.values.mss;
  f.client_ws = o.values.window_scale.value_or(kNoScale);
  c.client_syn_window = syn.window();
  f.client_window = syn.window();
  f.opts = static_cast<uint8_t>((o.values.sack_permitted ? kClientSack : 0) | (o.values.timestamps ? kClientTs : 0));
  f.orig_ws = f.backend_ws = kNoScale;
  f.client_tsval = o.tsval;
}

void record_server_synack(Flow& f, FlowCold& c, const Segment& synack) {
  const SegmentOptions& o = synack.options();
  f.opts = static_cast<uint8_t>(f.opts & (kClientSack | kClientTs));
  if (o.values.sack_permitted && (f.opts & kClientSack)) f.opts |= kOrigSack | kBackSack;
  if (o.values.timestamps && (f.opts & kClientTs)) f.opts |= kOrigTs | kBackTs;
  if (o.values.window_scale && f.client_ws != kNoScale) {
    f.opts |= kOrigWs | kBackWs;
    f.orig_ws = f.backend_ws = *o.values.window_scale;
  }
  c.backend_mss = o.values.mss;
  f.server_nxt = synack.seq() + 1;
  f.client_ack = synack.seq();  // the client's ACK of the SYN-ACK moves it to server_nxt (half_open())
  f.server_ack = synack.ack();
  if (o.values.timestamps) f.server_tsval = o.tsval;
  f.flags |= kSynAcked;
  if (f.state == FlowState::SynSent) f.state = FlowState::Established;
}

ClientStep track_client(Flow& f, const Segment& s) {
  ClientStep step{f.client_nxt, f.client_ack, false};
  const SeqNumber end = s.end();
  step.new_data = s.payload_len() > 0 && end > step.prev_nxt;
  const SegmentOptions& o = s.options();
  if (o.values.timestamps && ts_not_older(o.tsval, f.client_tsval)) f.client_tsval = o.tsval;
  if (s.seq_len() > 0 && end > f.client_nxt) f.client_nxt = end;
  if (s.any(flag::ACK) && f.has(kSynAcked) && s.ack() > f.client_ack) f.client_ack = s.ack();
  if (!s.any(flag::SYN)) f.client_window = s.window();
  if (step.new_data) {
    if ((f.segments == 0 || f.has(kServerSpoke)) && f.requests != 0xffff) ++f.requests;
    ++f.segments;
    f.flags &= static_cast<uint8_t>(~kServerSpoke);
  }
  if (s.any(flag::FIN)) f.flags |= kClientFin;
  if (s.any(flag::RST)) f.flags |= kReset;
  return step;
}

SeqNumber track_server(Flow& f, const Segment& s) {
  const SeqNumber prev = f.server_nxt;
  const SeqNumber end = s.seq() + f.seq_delta + s.seq_len();
  if (s.seq_len() > 0 && end > f.server_nxt) f.server_nxt = end;
  if (s.payload_len() > 0) f.flags |= kServerSpoke;
  if (s.any(flag::ACK) && s.ack() > f.server_ack) f.server_ack = s.ack();
  const SegmentOptions& o = s.options();
  if (o.values.timestamps && ts_not_older(o.tsval + f.ts_delta, f.server_tsval)) {
    f.server_tsval = o.tsval + f.ts_delta;
  }
  if (s.any(flag::FIN)) f.flags |= kServerFin;
  if (s.any(flag::RST)) f.flags |= kReset;
  return prev;
}

bool half_open(const Flow& f) {
  // Before the client's ACK of the SYN-ACK nothing but the SYN-ACK moved the
  // server's numbers, and the client sent no data.
  return !f.has(kSynAcked) ||
         (f.client_ack + 1 == f.server_nxt && f.segments == 0 && !f.has(kServerSpoke | kEnded | kMapped));
}

bool finished(const Flow& f) {
  // A FIN is the last thing each side sends: both are acknowledged when the
  // acknowledgments reached the highest sequence numbers.
  return f.has(kReset) || (f.has(kClientFin) && f.has(kServerFin) && f.server_ack == f.client_nxt &&
                           f.client_ack == f.server_nxt);
}

}  // namespace tcpmig::core::detail
