// <bulk-sink>: receives and checks the bulk pattern (apps::BulkSink). One
// that `continues` an earlier sink checks its bytes at the stream offset
// where that one stopped (a migrated stream held by two servers). A run
// expects no wrong byte and, with expect-bytes, exactly that many.
#include <array>
#include <memory>

#include "support.hpp"
#include "tcpmig/scenario/apps.hpp"

namespace tcpmig::scenario {
namespace {

class BulkSinkKind final : public AppKind {
 public:
  [[nodiscard]] std::string_view element() const override { return "bulk-sink"; }
  [[nodiscard]] std::span<const std::string_view> attributes() const override { return kAttributes; }

  [[nodiscard]] std::shared_ptr<const AppSettings> read(AttributeReader& in) const override {
    auto s = std::make_shared<BulkSinkSettings>();
    apps::BulkSinkConfig& c = s->config;
    if (const auto v = in.integer("port", 1, 65535)) c.port = static_cast<uint16_t>(*v);
    if (const auto v = in.name("name")) c.name = *v;
    if (const auto v = in.boolean("verify")) c.verify = *v;
    s->expect_bytes = in.size("expect-bytes", 0, kMaxSize);
    if (const auto v = in.text("continues")) {
      s->continues = in.earlier(*this, *v);
      if (!s->continues) {
        in.fail("continues", "names no earlier <bulk-sink>", "the name (or node) of a <bulk-sink> above this one");
      }
    }
    return s;
  }
  [[nodiscard]] std::string name(const AppSettings& s) const override { return of(s).config.name; }
  [[nodiscard]] std::optional<uint16_t> listen_port(const AppSettings& s) const override {
    return of(s).config.port;
  }
  /// The sink it continues runs on a host that is up no later than its own.
  [[nodiscard]] std::optional<AppProblem> check(const AppSpec& spec, const Scenario& s) const override {
    const auto continues = of(*spec.settings).continues;
    if (!continues) return std::nullopt;
    const NodeSpec* mine = s.find_node(spec.node);
    const NodeSpec* theirs = s.find_node(s.apps[*continues].node);
    if (!theirs->runtime() || mine->runtime()) return std::nullopt;
    return AppProblem{"continues", "names a sink on the runtime host " + theirs->name,
                      "a sink on a host present from the start (or both on runtime hosts)"};
  }

  [[nodiscard]] std::unique_ptr<AppInstance> start(const AppSpec& spec, AppContext& ctx) const override {
    const BulkSinkSettings& s = of(*spec.settings);
    apps::BulkSinkConfig cfg = s.config;
    if (s.continues) {
      const auto* before = static_cast<const Live*>(ctx.instance(*s.continues));
      cfg.continues = before == nullptr ? nullptr : before->sink.get();
      if (cfg.continues == nullptr) {
        ctx.fail(spec, "the sink it continues has not started", "the continued sink's host to start first");
      }
    }
    auto live = std::make_unique<Live>();
    live->sink = std::make_unique<apps::BulkSink>(ctx.stack(), cfg, ctx.console());
    return live;
  }
  void collect(const AppSpec& spec, const AppInstance* live, std::vector<AppResult>& out) const override {
    const BulkSinkSettings& s = of(*spec.settings);
    AppResult r = app_support::result_of(spec, spec.label, live != nullptr);
    if (s.expect_bytes) {
      r.has_expected = true;
      r.expected = *s.expect_bytes;
    }
    if (live != nullptr) {
      const apps::BulkReport& rep = static_cast<const Live*>(live)->sink->report();
      r.bytes = rep.bytes;
      r.errors = rep.errors;
      r.goodput_bps = rep.goodput_bps();
      r.finished = rep.finished;
      r.completed = rep.finished;
      app_support::set_deliveries(r, rep.deliveries);
    }
    out.push_back(std::move(r));
  }

  [[nodiscard]] std::string summary(const AppResult& r) const override {
    std::string fin = "-";
    if (r.finished) {
      fin.clear();
      sim::append_time(fin, *r.finished);
    }
    return std::to_string(r.bytes) + " bytes received, " + std::to_string(r.errors) + " wrong, goodput " +
           std::to_string(r.goodput_bps) + " bit/s, finished at " + fin;
  }
  void json(JsonWriter& w, const AppResult& r) const override {
    w.key("bytes");
    w.value(r.bytes);
    w.key("wrong_bytes");
    w.value(r.errors);
    w.key("goodput_bps");
    w.value(r.goodput_bps);
    app_support::json_deliveries(w, r);
    app_support::json_time(w, "finished_ns", r.finished);
    app_support::json_time(w, "completed_ns", r.completed);
    w.key("expected_bytes");
    if (r.has_expected) {
      w.value(r.expected);
    } else {
      w.null();
    }
  }
  void expect(const AppResult& r, std::vector<std::string>& failures) const override {
    if (r.errors > 0) {
      failures.push_back("bulk-sink " + r.name + " received " + std::to_string(r.errors) +
                         " bytes that differ from the sent stream");
    }
    if (r.has_expected && r.bytes != r.expected) {
      failures.push_back("bulk-sink " + r.name + " received " + std::to_string(r.bytes) + " bytes; expected " +
                         std::to_string(r.expected));
    }
  }

 private:
  static constexpr std::array<std::string_view, 5> kAttributes{"port", "name", "verify", "expect-bytes", "continues"};
  struct Live final : AppInstance {
    std::unique_ptr<apps::BulkSink> sink;
  };
  static const BulkSinkSettings& of(const AppSettings& s) { return static_cast<const BulkSinkSettings&>(s); }
};

}  // namespace

TCPMIG_APP_KIND(bulk_sink, BulkSinkKind)

}  // namespace tcpmig::scenario
