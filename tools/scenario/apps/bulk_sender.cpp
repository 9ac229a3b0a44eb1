// <bulk-sender>: sends `bytes` of the bulk pattern (apps::BulkSender) and
// closes. Unless expect="any", a run expects the transfer to complete: every
// byte acknowledged and the connection closed normally (exit 1 otherwise,
// with or without an expect-bytes on the sink).
#include <array>
#include <memory>

#include "support.hpp"
#include "tcpmig/scenario/apps.hpp"

namespace tcpmig::scenario {
namespace {

class BulkSenderKind final : public AppKind {
 public:
  [[nodiscard]] std::string_view element() const override { return "bulk-sender"; }
  [[nodiscard]] std::span<const std::string_view> attributes() const override { return kAttributes; }

  [[nodiscard]] std::shared_ptr<const AppSettings> read(AttributeReader& in) const override {
    auto s = std::make_shared<BulkSenderSettings>();
    apps::BulkSenderConfig& c = s->config;
    c.server = *in.address("server", true);
    if (const auto v = in.integer("port", 1, 65535)) c.port = static_cast<uint16_t>(*v);
    if (const auto v = in.size("bytes", 1, kMaxSize)) c.bytes = *v;
    if (const auto v = in.duration("start")) c.start = sim::Time::zero() + *v;
    if (const auto v = in.name("name")) c.name = *v;
    if (const auto v = in.text("expect")) {
      const auto e = parse_word<Expect>(*v);
      if (!e || *e == Expect::Aborted) in.fail("expect", "", "completed or any");
      s->expect = *e;
    }
    return s;
  }
  [[nodiscard]] std::string name(const AppSettings& s) const override { return of(s).config.name; }

  [[nodiscard]] std::unique_ptr<AppInstance> start(const AppSpec& spec, AppContext& ctx) const override {
    apps::BulkSenderConfig cfg = of(*spec.settings).config;
    cfg.start = ctx.base() + cfg.start.since_start();
    auto live = std::make_unique<Live>();
    live->sender = std::make_unique<apps::BulkSender>(ctx.stack(), cfg, ctx.console());
    return live;
  }
  void collect(const AppSpec& spec, const AppInstance* live, std::vector<AppResult>& out) const override {
    const BulkSenderSettings& s = of(*spec.settings);
    AppResult r = app_support::result_of(spec, spec.label, live != nullptr);
    r.expected = s.config.bytes;
    r.has_expected = s.expect == Expect::Completed;
    if (live != nullptr) {
      const apps::BulkSender& sender = *static_cast<const Live*>(live)->sender;
      r.sent = sender.queued();
      r.completed = sender.completed();
      if (sender.closed()) r.closed = sender.close_reason();
    }
    out.push_back(std::move(r));
  }

  [[nodiscard]] std::string summary(const AppResult& r) const override {
    return std::to_string(r.sent) + " bytes sent, connection " + app_support::connection_text(r.closed);
  }
  void json(JsonWriter& w, const AppResult& r) const override {
    w.key("bytes_sent");
    w.value(r.sent);
    w.key("bytes");
    w.value(r.expected);
    app_support::json_time(w, "completed_ns", r.completed);
    app_support::json_closed(w, r.closed);
  }
  void expect(const AppResult& r, std::vector<std::string>& failures) const override {
    if (!r.has_expected || (r.closed == tcp::CloseReason::Normal && r.sent == r.expected)) return;
    const std::string of_total = std::to_string(r.sent) + " of " + std::to_string(r.expected) + " bytes handed to TCP";
    std::string what;
    if (!r.started) {
      what = "never started (its host never booted)";
    } else if (!r.closed) {
      what = "did not finish: " + of_total + " when the run ended";
    } else {
      what = std::string("gave up: connection closed (") + tcp::close_reason_name(*r.closed) + ") with " + of_total;
    }
    failures.push_back("bulk-sender " + r.name + " " + what + "; expected every byte delivered and the connection "
                                                             "closed normally (or expect=\"any\")");
  }

 private:
  static constexpr std::array<std::string_view, 6> kAttributes{"server", "port", "bytes", "start", "name", "expect"};
  struct Live final : AppInstance {
    std::unique_ptr<apps::BulkSender> sender;
  };
  static const BulkSenderSettings& of(const AppSettings& s) { return static_cast<const BulkSenderSettings&>(s); }
};

}  // namespace

TCPMIG_APP_KIND(bulk_sender, BulkSenderKind)

}  // namespace tcpmig::scenario
