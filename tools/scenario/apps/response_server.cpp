// <response-server>: the seed experiment's server (apps::ResponseServer),
// answering every request line with its response line.
#include <array>
#include <memory>

#include "support.hpp"
#include "tcpmig/scenario/apps.hpp"

namespace tcpmig::scenario {
namespace {

class ResponseServerKind final : public AppKind {
 public:
  [[nodiscard]] std::string_view element() const override { return "response-server"; }
  [[nodiscard]] std::span<const std::string_view> attributes() const override { return kAttributes; }

  [[nodiscard]] std::shared_ptr<const AppSettings> read(AttributeReader& in) const override {
    auto s = std::make_shared<ResponseServerSettings>();
    apps::ResponseServerConfig& c = s->config;
    if (const auto v = in.integer("port", 1, 65535)) c.port = static_cast<uint16_t>(*v);
    if (const auto v = in.line("response")) c.response = *v;
    if (const auto v = in.name("name")) c.name = *v;
    if (const auto v = in.integer("backlog", 1, 65535)) c.backlog = static_cast<uint32_t>(*v);
    if (const auto v = in.boolean("nodelay")) c.nodelay = *v;
    return s;
  }
  [[nodiscard]] std::string name(const AppSettings& s) const override { return of(s).config.name; }
  [[nodiscard]] std::optional<uint16_t> listen_port(const AppSettings& s) const override {
    return of(s).config.port;
  }

  [[nodiscard]] std::unique_ptr<AppInstance> start(const AppSpec& spec, AppContext& ctx) const override {
    auto live = std::make_unique<Live>();
    live->server = std::make_unique<apps::ResponseServer>(ctx.stack(), of(*spec.settings).config, ctx.console());
    return live;
  }
  void collect(const AppSpec& spec, const AppInstance* live, std::vector<AppResult>& out) const override {
    AppResult r = app_support::result_of(spec, spec.label, live != nullptr);
    if (live != nullptr) {
      const apps::ResponseServer& server = *static_cast<const Live*>(live)->server;
      r.requests = server.received();
      r.connections = server.connections();
    }
    out.push_back(std::move(r));
  }

  [[nodiscard]] std::string summary(const AppResult& r) const override {
    return std::to_string(r.requests) + " requests, " + std::to_string(r.connections) + " connections accepted";
  }
  void json(JsonWriter& w, const AppResult& r) const override {
    w.key("requests");
    w.value(r.requests);
    w.key("connections");
    w.value(r.connections);
  }
  void expect(const AppResult&, std::vector<std::string>&) const override {}

 private:
  static constexpr std::array<std::string_view, 5> kAttributes{"port", "response", "name", "backlog", "nodelay"};
  struct Live final : AppInstance {
    std::unique_ptr<apps::ResponseServer> server;
  };
  static const ResponseServerSettings& of(const AppSettings& s) { return static_cast<const ResponseServerSettings&>(s); }
};

}  // namespace

TCPMIG_APP_KIND(response_server, ResponseServerKind)

}  // namespace tcpmig::scenario
