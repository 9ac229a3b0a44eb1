// <request-client>: the seed experiment's client (apps::RequestClient),
// `count` requests over one connection, one at a time; `instances` copies on
// the host. A run expects each to get expect-responses responses.
#include <array>
#include <memory>

#include "support.hpp"
#include "tcpmig/scenario/apps.hpp"

namespace tcpmig::scenario {
namespace {

class RequestClientKind final : public AppKind {
 public:
  [[nodiscard]] std::string_view element() const override { return "request-client"; }
  [[nodiscard]] std::span<const std::string_view> attributes() const override { return kAttributes; }

  [[nodiscard]] std::shared_ptr<const AppSettings> read(AttributeReader& in) const override {
    auto s = std::make_shared<RequestClientSettings>();
    apps::RequestClientConfig& c = s->config;
    c.server = *in.address("server", true);
    if (const auto v = in.integer("port", 1, 65535)) c.port = static_cast<uint16_t>(*v);
    if (const auto v = in.integer("count", 1, 1'000'000)) c.count = static_cast<uint32_t>(*v);
    if (const auto v = in.integer("first-index", 0, 1'000'000'000)) c.first_index = static_cast<uint32_t>(*v);
    if (const auto v = in.duration("interval")) c.interval = *v;
    if (const auto v = in.duration("start")) c.start = sim::Time::zero() + *v;
    if (const auto v = in.name("name")) c.name = *v;
    if (const auto v = in.line("request-prefix")) c.request_prefix = *v;
    if (const auto v = in.boolean("close-when-done")) c.close_when_done = *v;
    if (const auto v = in.boolean("nodelay")) c.nodelay = *v;
    if (const auto v = in.integer("instances", 1, 10'000)) s->instances = static_cast<uint32_t>(*v);
    s->expect_responses = c.count;
    if (const auto v = in.integer("expect-responses", 0, c.count)) s->expect_responses = static_cast<uint32_t>(*v);
    return s;
  }
  [[nodiscard]] std::string name(const AppSettings& s) const override { return of(s).config.name; }

  [[nodiscard]] std::unique_ptr<AppInstance> start(const AppSpec& spec, AppContext& ctx) const override {
    const RequestClientSettings& s = of(*spec.settings);
    auto live = std::make_unique<Live>();
    for (uint32_t k = 0; k < s.instances; ++k) {
      apps::RequestClientConfig cfg = s.config;
      cfg.name = instance_name(spec, k);
      cfg.start = ctx.base() + s.config.start.since_start();
      live->clients.push_back(std::make_unique<apps::RequestClient>(ctx.stack(), cfg, ctx.console()));
    }
    return live;
  }
  void collect(const AppSpec& spec, const AppInstance* live, std::vector<AppResult>& out) const override {
    const RequestClientSettings& s = of(*spec.settings);
    for (uint32_t k = 0; k < s.instances; ++k) {
      AppResult r = app_support::result_of(spec, instance_name(spec, k), live != nullptr);
      r.expected = s.expect_responses;
      r.has_expected = true;
      if (live != nullptr) {
        const apps::RequestClient& c = *static_cast<const Live*>(live)->clients[k];
        r.sent = c.sent();
        r.responses = c.received();
        r.bytes = c.bytes_received();
        app_support::set_deliveries(r, c.deliveries());
        r.completed = c.completed();
        if (c.closed()) r.closed = c.close_reason();
      }
      out.push_back(std::move(r));
    }
  }

  [[nodiscard]] std::string summary(const AppResult& r) const override {
    return std::to_string(r.sent) + " requests sent, " + std::to_string(r.responses) + " responses (" +
           std::to_string(r.expected) + " expected), connection " + app_support::connection_text(r.closed);
  }
  void json(JsonWriter& w, const AppResult& r) const override {
    w.key("requests_sent");
    w.value(r.sent);
    w.key("responses");
    w.value(r.responses);
    w.key("expected_responses");
    w.value(r.expected);
    w.key("bytes");
    w.value(r.bytes);
    app_support::json_deliveries(w, r);
    app_support::json_time(w, "completed_ns", r.completed);
    app_support::json_closed(w, r.closed);
  }
  void expect(const AppResult& r, std::vector<std::string>& failures) const override {
    if (r.responses >= r.expected) return;
    failures.push_back("request-client " + r.name + " got " + std::to_string(r.responses) + " of " +
                       std::to_string(r.expected) + " expected responses" +
                       (r.started ? "" : " (its host never started)"));
  }

 private:
  static constexpr std::array<std::string_view, 12> kAttributes{
      "server", "port", "count", "first-index", "interval", "start", "name", "request-prefix", "close-when-done",
      "nodelay", "instances", "expect-responses"};
  struct Live final : AppInstance {
    std::vector<std::unique_ptr<apps::RequestClient>> clients;  // one per instance
  };
  static const RequestClientSettings& of(const AppSettings& s) { return static_cast<const RequestClientSettings&>(s); }
  /// "<label>", or "<label>/<k>" with several instances.
  static std::string instance_name(const AppSpec& spec, uint32_t k) {
    return of(*spec.settings).instances == 1 ? spec.label : spec.label + "/" + std::to_string(k);
  }
};

}  // namespace

TCPMIG_APP_KIND(request_client, RequestClientKind)

}  // namespace tcpmig::scenario
