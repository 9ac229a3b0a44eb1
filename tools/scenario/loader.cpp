// The scenario loader: XML (pugixml, parsed in place so every element and
// attribute keeps its offset in the text) -> a checked scenario::Scenario.
// See include/tcpmig/scenario/scenario.hpp for the rules and
// scenarios/README.md for the format.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <pugixml.hpp>

#include "tcpmig/scenario/files.hpp"
#include "tcpmig/scenario/scenario.hpp"
#include "tcpmig/tcp/congestion.hpp"
#include "tcpmig/scenario/units.hpp"
#include "tcpmig/sim/simulator.hpp"

namespace tcpmig::scenario {

std::string Diagnostic::text() const {
  std::string out = file;
  if (pos.line != 0) {
    out += ':' + std::to_string(pos.line) + ':' + std::to_string(pos.column);
  }
  out += ": error: ";
  out += message;
  return out;
}

const NodeSpec* Scenario::find_node(std::string_view node_name) const {
  for (const NodeSpec& n : nodes) {
    if (n.name == node_name) return &n;
  }
  return nullptr;
}

namespace {

// What each value kind expects, for messages.
constexpr const char* kExpectDuration =
    "a duration: a number with ns, us, ms or s (e.g. 250ms), from 0 to 1000000s";
constexpr const char* kExpectRate = "a rate: a number with bps, kbps, Mbps or Gbps (e.g. 100Mbps), or infinite";
constexpr const char* kExpectSize =
    "a size in bytes: an integer, or a number with B, kB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. 64KiB)";
constexpr const char* kExpectBool = "true or false";
constexpr const char* kExpectProbability = "a probability from 0 to 1 (e.g. 0.02) or a percentage (e.g. 2%)";
constexpr const char* kExpectEndpoint = "an IPv4 address and port, a.b.c.d:port (port 1 to 65535)";
constexpr const char* kExpectIp = "an IPv4 address a.b.c.d";
constexpr const char* kExpectIfAddr = "an IPv4 address with prefix length, a.b.c.d/len (len 0 to 32)";
constexpr const char* kExpectName =
    "a name of letters, digits, '_', '.' and '-' (at most 64 characters), other than . and ..";

// The attributes each element accepts: the loader's allow-lists, also handed
// to the schema test through scenario_elements() (application kinds bring
// their own, app_kind.hpp).
constexpr std::array<std::string_view, 2> kParamAttributes{"name", "default"};
constexpr std::array<std::string_view, 40> kTcpAttributes{
    "mss", "initial-cwnd", "rto-min", "rto-initial", "rto-max", "rto-after-syn-retransmit", "delayed-ack",
    "quickack", "timestamps", "sack", "dsack", "window-scaling", "nagle", "time-wait", "fin-wait2-timeout",
    "syn-retries", "synack-retries", "retries", "recv-buffer", "send-buffer", "window-scale-space", "ts-tick",
    "ts-random-offset", "isn", "ephemeral-port-min", "ephemeral-port-max", "slow-start-after-idle",
    "invalid-ack-ratelimit", "challenge-ack-limit", "dupthresh", "congestion-control", "app-latency",
    "loss-detection", "tail-loss-probe", "rmem", "wmem", "moderate-rcvbuf", "comp-sack-delay", "comp-sack-nr",
    "limit-output-bytes"};
constexpr std::array<std::string_view, 4> kHostAttributes{"name", "add-at", "add-on", "boot-delay"};
constexpr std::array<std::string_view, 9> kGatewayAttributes{"name",           "client-facing", "max-flows",
                                                             "hold-packets",   "replay-rto",    "replay-retries",
                                                             "close-linger",   "reset-old-backend", "ttl"};
constexpr std::array<std::string_view, 1> kNodeAttributes{"name"};  // <router>, <switch>
constexpr std::array<std::string_view, 30> kLinkAttributes{
    "a",          "b",           "a-addr",      "b-addr",        "mtu",           "add-at",
    "rate",       "rate-ab",     "rate-ba",     "delay",         "delay-ab",      "delay-ba",
    "queue",      "queue-ab",    "queue-ba",    "queue-bytes",   "queue-bytes-ab", "queue-bytes-ba",
    "loss",       "loss-ab",     "loss-ba",     "duplicate",     "duplicate-ab",  "duplicate-ba",
    "reorder",    "reorder-ab",  "reorder-ba",  "reorder-delay", "reorder-delay-ab", "reorder-delay-ba"};
constexpr std::array<std::string_view, 11> kMigrationAttributes{
    "name", "gateway", "service", "target", "flow", "trigger", "at", "count", "safe-point", "expect", "request-at"};
constexpr std::array<std::string_view, 3> kOutputsAttributes{"pcap", "trace", "summary"};

/// The error that ends loading (caught at the API boundary).
struct LoadError {
  SourcePos pos;        // where
  std::string message;  // "<found>; expected <what>"
};

/// An attribute that is present, with its value after ${param} substitution.
struct Attr {
  pugi::xml_attribute xml;  // the attribute itself (position, raw text)
  std::string value;        // substituted value
};

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
    if (out.size() > 120) {
      out += "...";
      break;
    }
  }
  out += '"';
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

class Loader {
 public:
  Loader(std::string_view text, std::string_view file, std::span<const Override> overrides)
      : text_(text), overrides_(overrides) {
    s_.file = std::string(file);
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Scenario load();

 private:
  // ---- positions and errors
  [[nodiscard]] SourcePos pos_at(std::size_t offset) const;
  [[nodiscard]] std::optional<std::size_t> offset_of(const char* p) const;
  [[nodiscard]] SourcePos pos_of(pugi::xml_node n) const;
  [[nodiscard]] SourcePos pos_of(pugi::xml_attribute a, pugi::xml_node owner) const;
  [[noreturn]] static void fail(SourcePos pos, const std::string& found, const std::string& expected) {
    throw LoadError{pos, found + "; expected " + expected};
  }
  [[noreturn]] void fail_attr(const Attr& a, pugi::xml_node owner, const std::string& what,
                              const std::string& expected) const;
  [[noreturn]] void fail_value(const Attr& a, pugi::xml_node owner, const std::string& expected) const {
    fail_attr(a, owner, "", expected);
  }

  // ---- generic element checks
  void check_element(pugi::xml_node n, std::span<const std::string_view> allowed, bool text_allowed = false,
                     bool children_allowed = false) const;
  std::optional<Attr> attr(pugi::xml_node n, const char* name) const;
  Attr required(pugi::xml_node n, const char* name, const char* expected) const;
  [[nodiscard]] std::string substitute(pugi::xml_attribute a, pugi::xml_node owner) const;

  // ---- typed attributes (nullopt when absent; errors when malformed)
  std::optional<sim::Duration> duration(pugi::xml_node n, const char* name, bool positive = false) const;
  std::optional<uint64_t> rate(pugi::xml_node n, const char* name) const;
  std::optional<uint64_t> size(pugi::xml_node n, const char* name, uint64_t min, uint64_t max) const;
  /// "MIN DEFAULT MAX" sizes (tcp_rmem / tcp_wmem), increasing, each 1 byte to 1 GiB.
  std::optional<std::array<uint32_t, 3>> size_triple(pugi::xml_node n, const char* name) const;
  std::optional<bool> boolean(pugi::xml_node n, const char* name) const;
  std::optional<double> probability(pugi::xml_node n, const char* name) const;
  std::optional<uint64_t> integer(pugi::xml_node n, const char* name, uint64_t min, uint64_t max) const;
  std::optional<core::Endpoint> endpoint(pugi::xml_node n, const char* name) const;
  std::optional<std::string> name_attr(pugi::xml_node n, const char* name) const;
  std::optional<std::string> line_attr(pugi::xml_node n, const char* name) const;
  /// Fails unless the address of attribute `a` is a usable unicast address.
  void check_unicast(const Attr& a, pugi::xml_node n, wire::Ipv4Address ip) const;

  // ---- sections
  class ElementReader;
  void read_params(pugi::xml_node root);
  void read_topology(pugi::xml_node topo);
  void read_host(pugi::xml_node n);
  void read_tcp(pugi::xml_node n, tcp::TcpConfig& cfg);
  void read_gateway(pugi::xml_node n);
  void read_link(pugi::xml_node n);
  void read_apps(pugi::xml_node apps_node);
  void read_app(pugi::xml_node n);
  void read_migrations(pugi::xml_node migs);
  void read_migration(pugi::xml_node n);
  void read_outputs(pugi::xml_node n);
  void add_node(NodeSpec spec, pugi::xml_node n);

  // ---- cross checks
  void check_references();
  void check_scratch_network();

  std::string_view text_;                      // the scenario text as given
  std::span<const Override> overrides_;        // --set values
  std::vector<char> buf_;                      // copy parsed in place (offsets = text offsets)
  std::vector<std::size_t> line_starts_;       // offset of the first byte of each line
  pugi::xml_document doc_;                     // the parsed tree (points into buf_)
  Scenario s_;                                 // what is being built
  std::vector<pugi::xml_node> node_elems_;     // element of each s_.nodes entry
  std::vector<pugi::xml_node> link_elems_;     // element of each s_.links entry
  std::vector<pugi::xml_node> app_elems_;      // element of each s_.apps entry
  std::vector<pugi::xml_node> mig_elems_;      // element of each s_.migrations entry
  // Indexes by name (loading stays linear in the number of elements).
  std::map<std::string, std::size_t, std::less<>> node_at_;       // node name -> s_.nodes index
  std::map<std::string, std::size_t, std::less<>> param_at_;      // parameter name -> s_.params index
  std::map<std::string, std::size_t, std::less<>> migration_at_;  // migration name -> s_.migrations index
};

SourcePos Loader::pos_at(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const auto line = static_cast<std::size_t>(it - line_starts_.begin());  // 1-based
  const std::size_t start = line_starts_[line - 1];
  uint32_t column = 1;
  for (std::size_t i = start; i < offset; ++i) {
    if ((static_cast<unsigned char>(text_[i]) & 0xc0) != 0x80) ++column;  // count characters, not bytes
  }
  return SourcePos{static_cast<uint32_t>(line), column};
}

std::optional<std::size_t> Loader::offset_of(const char* p) const {
  const auto base = reinterpret_cast<std::uintptr_t>(buf_.data());
  const auto q = reinterpret_cast<std::uintptr_t>(p);
  if (q < base || q >= base + buf_.size()) return std::nullopt;
  return static_cast<std::size_t>(q - base);
}

SourcePos Loader::pos_of(pugi::xml_node n) const {
  if (n.type() == pugi::node_element) {
    if (const auto off = offset_of(n.name()); off && *off > 0) return pos_at(*off - 1);  // the '<'
  } else if (const auto off = offset_of(n.value())) {
    return pos_at(*off);
  }
  const auto d = n.offset_debug();
  return d >= 0 ? pos_at(static_cast<std::size_t>(d)) : SourcePos{1, 1};
}

SourcePos Loader::pos_of(pugi::xml_attribute a, pugi::xml_node owner) const {
  if (const auto off = offset_of(a.name())) return pos_at(*off);
  return pos_of(owner);
}

void Loader::fail_attr(const Attr& a, pugi::xml_node owner, const std::string& what,
                       const std::string& expected) const {
  std::string found = std::string(a.xml.name()) + "=" + quote(a.xml.value());
  if (a.value != a.xml.value()) found += " (= " + quote(a.value) + ")";
  if (!what.empty()) found += " " + what;
  fail(pos_of(a.xml, owner), found, expected);
}

void Loader::check_element(pugi::xml_node n, std::span<const std::string_view> allowed, bool text_allowed,
                           bool children_allowed) const {
  std::vector<std::string_view> seen;
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view name = a.name();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      fail(pos_of(a, n), "attribute " + std::string(name) + " given twice on <" + n.name() + ">",
           "each attribute at most once");
    }
    seen.push_back(name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::vector<std::string> names;
      for (const std::string_view s : allowed) names.emplace_back(s);
      fail(pos_of(a, n), "unknown attribute " + std::string(name) + " on <" + n.name() + ">",
           names.empty() ? std::string("no attributes") : "one of: " + join(names, ", "));
    }
  }
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      if (!text_allowed && !trim(c.value()).empty()) {
        fail(pos_of(c), "text " + quote(trim(c.value())) + " inside <" + n.name() + ">",
             children_allowed ? "only child elements" : "an empty element");
      }
    } else if (c.type() == pugi::node_element && !children_allowed) {
      fail(pos_of(c), "element <" + std::string(c.name()) + "> inside <" + n.name() + ">", "no child elements");
    }
  }
}

std::string Loader::substitute(pugi::xml_attribute a, pugi::xml_node owner) const {
  const std::string_view raw = a.value();
  std::string out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t ref = raw.find("${", pos);
    if (ref == std::string_view::npos) {
      out.append(raw.substr(pos));
      break;
    }
    out.append(raw.substr(pos, ref - pos));
    const std::size_t close = raw.find('}', ref + 2);
    const Attr as_is{a, std::string(raw)};
    if (close == std::string_view::npos) fail_attr(as_is, owner, "has an unterminated ${", "${name}");
    const std::string_view name = raw.substr(ref + 2, close - ref - 2);
    const auto at = param_at_.find(name);
    const Param* found = at == param_at_.end() ? nullptr : &s_.params[at->second];
    if (found == nullptr) {
      std::vector<std::string> names;
      for (const Param& p : s_.params) names.push_back(p.name);
      fail_attr(as_is, owner, "uses ${" + std::string(name) + "}, which is not declared",
                names.empty() ? std::string("a <param> declaring it (this scenario declares none)")
                              : "a declared parameter: " + join(names, ", "));
    }
    out += found->value;
    pos = close + 1;
  }
  return out;
}

std::optional<Attr> Loader::attr(pugi::xml_node n, const char* name) const {
  const pugi::xml_attribute a = n.attribute(name);
  if (!a) return std::nullopt;
  std::string value = substitute(a, n);
  // An attribute that is only a reference to an empty parameter is absent:
  // a parameter can then switch an attribute off (trigger="at" with at="${at}"
  // and count="${after}", the unused one set to "").
  const std::string_view raw = a.value();
  if (value.empty() && raw.size() > 3 && raw.substr(0, 2) == "${" && raw.find('}') == raw.size() - 1) {
    return std::nullopt;
  }
  return Attr{a, std::move(value)};
}

Attr Loader::required(pugi::xml_node n, const char* name, const char* expected) const {
  auto a = attr(n, name);
  if (!a) {
    fail(pos_of(n), "<" + std::string(n.name()) + "> without attribute " + name,
         std::string(name) + "=\"" + expected + "\"");
  }
  return *a;
}

std::optional<sim::Duration> Loader::duration(pugi::xml_node n, const char* name, bool positive) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_duration(a->value);
  if (!v) fail_value(*a, n, kExpectDuration);
  if (positive && *v == sim::Duration::zero()) fail_value(*a, n, "a duration above 0 (e.g. 200ms)");
  return v;
}

std::optional<uint64_t> Loader::rate(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_rate(a->value);
  if (!v) fail_value(*a, n, kExpectRate);
  return v;
}

std::optional<uint64_t> Loader::size(pugi::xml_node n, const char* name, uint64_t min, uint64_t max) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_size(a->value);
  if (!v) fail_value(*a, n, kExpectSize);
  if (*v < min || *v > max) {
    fail_value(*a, n, "a size from " + std::to_string(min) + " to " + std::to_string(max) + " bytes");
  }
  return v;
}

std::optional<std::array<uint32_t, 3>> Loader::size_triple(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  static constexpr const char* kExpect =
      "three sizes MIN DEFAULT MAX, not decreasing, from 1 byte to 1GiB (e.g. 4096 131072 6MiB)";
  std::array<uint32_t, 3> out{};
  std::size_t k = 0;
  std::string_view rest = a->value;
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \t"), rest.size());
    const auto v = parse_size(rest.substr(0, end));
    if (k == 3 || !v || *v < 1 || *v > (uint64_t{1} << 30)) fail_value(*a, n, kExpect);
    out[k++] = static_cast<uint32_t>(*v);
    rest.remove_prefix(end);
  }
  if (k != 3 || out[0] > out[1] || out[1] > out[2]) fail_value(*a, n, kExpect);
  return out;
}

std::optional<bool> Loader::boolean(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_bool(a->value);
  if (!v) fail_value(*a, n, kExpectBool);
  return v;
}

std::optional<double> Loader::probability(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_probability(a->value);
  if (!v) fail_value(*a, n, kExpectProbability);
  return v;
}

std::optional<uint64_t> Loader::integer(pugi::xml_node n, const char* name, uint64_t min, uint64_t max) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_uint(a->value, max);
  if (!v || *v < min) {
    fail_value(*a, n, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

std::optional<core::Endpoint> Loader::endpoint(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  const auto v = parse_endpoint(a->value);
  if (!v) fail_value(*a, n, kExpectEndpoint);
  return v;
}

std::optional<std::string> Loader::name_attr(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  if (!valid_name(a->value)) fail_value(*a, n, kExpectName);
  return a->value;
}

std::optional<std::string> Loader::line_attr(pugi::xml_node n, const char* name) const {
  const auto a = attr(n, name);
  if (!a) return std::nullopt;
  if (a->value.empty() || a->value.size() > 4096 || a->value.find_first_of("\r\n") != std::string::npos ||
      a->value.find('\0') != std::string::npos) {
    fail_value(*a, n, "one line of text (1 to 4096 characters, no line breaks)");
  }
  return a->value;
}

void Loader::check_unicast(const Attr& a, pugi::xml_node n, wire::Ipv4Address ip) const {
  if (const char* problem = address_problem(ip)) {
    fail_attr(a, n, problem, "a unicast address a host can have (not 0.0.0.0, loopback, multicast or reserved)");
  }
}

// ------------------------------------------------------------------ sections

void Loader::read_params(pugi::xml_node root) {
  for (pugi::xml_node c = root.child("param"); c; c = c.next_sibling("param")) {
    check_element(c, kParamAttributes);
    // Parameter attributes are literal: no ${...} inside a declaration.
    const pugi::xml_attribute name_a = c.attribute("name");
    const pugi::xml_attribute default_a = c.attribute("default");
    if (!name_a) fail(pos_of(c), "<param> without attribute name", "name=\"NAME\"");
    if (!default_a) fail(pos_of(c), "<param> without attribute default", "default=\"VALUE\"");
    const std::string name = name_a.value();
    if (!valid_name(name)) fail_value(Attr{name_a, name}, c, kExpectName);
    if (std::string_view(default_a.value()).find("${") != std::string_view::npos) {
      fail_value(Attr{default_a, default_a.value()}, c, "a literal default (parameters cannot refer to others)");
    }
    if (const auto at = param_at_.find(name); at != param_at_.end()) {
      fail_value(Attr{name_a, name}, c,
                 "a parameter name not declared before (first declared at line " +
                     std::to_string(s_.params[at->second].pos.line) + ")");
    }
    param_at_.emplace(name, s_.params.size());
    Param p;
    p.name = name;
    p.default_value = default_a.value();
    p.value = p.default_value;
    p.pos = pos_of(c);
    s_.params.push_back(std::move(p));
  }
  for (const Override& o : overrides_) {
    const auto at = param_at_.find(o.name);
    if (at == param_at_.end()) {
      std::vector<std::string> names;
      for (const Param& p : s_.params) names.push_back(p.name);
      throw LoadError{SourcePos{}, std::string(o.flag) + " " + o.name + "=" + o.value + " names no parameter of this scenario; expected " +
                                       (names.empty() ? "no " + std::string(o.flag) + " (the scenario declares no parameters)"
                                                      : "one of: " + join(names, ", "))};
    }
    Param& p = s_.params[at->second];
    p.value = o.value;
    p.overridden = true;
  }
}

void Loader::add_node(NodeSpec spec, pugi::xml_node n) {
  if (const auto at = node_at_.find(spec.name); at != node_at_.end()) {
    fail(pos_of(n.attribute("name"), n), "duplicate node name " + quote(spec.name),
         "a name not used before (first used at line " + std::to_string(s_.nodes[at->second].pos.line) + ")");
  }
  node_at_.emplace(spec.name, s_.nodes.size());
  spec.pos = pos_of(n);
  s_.nodes.push_back(std::move(spec));
  node_elems_.push_back(n);
}

void Loader::read_tcp(pugi::xml_node n, tcp::TcpConfig& cfg) {
  check_element(n, kTcpAttributes);
  if (const auto a = attr(n, "mss")) {
    const auto v = parse_uint(a->value, 65535);
    if (!v || (*v != 0 && *v < 88)) fail_value(*a, n, "an integer from 88 to 65535, or 0 (derived from the MTU)");
    cfg.mss = static_cast<uint16_t>(*v);
  }
  if (const auto v = integer(n, "initial-cwnd", 1, 1000)) cfg.initial_cwnd_segments = static_cast<uint32_t>(*v);
  if (const auto v = duration(n, "rto-min", true)) cfg.rto_min = *v;
  if (const auto v = duration(n, "rto-initial", true)) cfg.rto_initial = *v;
  if (const auto v = duration(n, "rto-max", true)) cfg.rto_max = *v;
  if (const auto v = duration(n, "rto-after-syn-retransmit", true)) cfg.rto_after_syn_retransmit = *v;
  if (const auto v = duration(n, "delayed-ack")) cfg.delayed_ack = *v;
  if (const auto v = boolean(n, "quickack")) cfg.quickack = *v;
  if (const auto v = boolean(n, "timestamps")) cfg.timestamps = *v;
  if (const auto v = boolean(n, "sack")) cfg.sack = *v;
  if (const auto v = boolean(n, "dsack")) cfg.dsack = *v;
  if (const auto v = boolean(n, "window-scaling")) cfg.window_scaling = *v;
  if (const auto v = boolean(n, "nagle")) cfg.nagle = *v;
  if (const auto v = duration(n, "time-wait")) cfg.time_wait = *v;
  if (const auto v = duration(n, "fin-wait2-timeout")) cfg.fin_wait2_timeout = *v;
  if (const auto v = integer(n, "syn-retries", 0, 100)) cfg.syn_retries = static_cast<uint32_t>(*v);
  if (const auto v = integer(n, "synack-retries", 0, 100)) cfg.synack_retries = static_cast<uint32_t>(*v);
  if (const auto v = integer(n, "retries", 0, 100)) cfg.retries = static_cast<uint32_t>(*v);
  if (const auto v = size(n, "recv-buffer", 1, uint64_t{1} << 30)) cfg.recv_buffer = static_cast<uint32_t>(*v);
  if (const auto v = size(n, "send-buffer", 1, uint64_t{1} << 30)) cfg.send_buffer = static_cast<uint32_t>(*v);
  if (const auto v = size(n, "window-scale-space", 0, uint64_t{1} << 30)) {
    cfg.window_scale_space = static_cast<uint32_t>(*v);
  }
  if (const auto v = duration(n, "ts-tick", true)) cfg.ts_tick = *v;
  if (const auto v = boolean(n, "ts-random-offset")) cfg.ts_random_offset = *v;
  if (const auto v = integer(n, "isn", 0, 0xffffffffULL)) cfg.isn = static_cast<uint32_t>(*v);
  if (const auto v = integer(n, "ephemeral-port-min", 1, 65535)) cfg.ephemeral_port_min = static_cast<uint16_t>(*v);
  if (const auto v = integer(n, "ephemeral-port-max", 1, 65535)) cfg.ephemeral_port_max = static_cast<uint16_t>(*v);
  if (const auto v = boolean(n, "slow-start-after-idle")) cfg.slow_start_after_idle = *v;
  if (const auto v = duration(n, "invalid-ack-ratelimit")) cfg.invalid_ack_ratelimit = *v;
  if (const auto v = integer(n, "challenge-ack-limit", 0, 0xffffffffULL)) {
    cfg.challenge_ack_limit = static_cast<uint32_t>(*v);
  }
  if (const auto v = integer(n, "dupthresh", 1, 1000)) cfg.dupthresh = static_cast<uint32_t>(*v);
  if (const auto a = attr(n, "congestion-control")) {
    const auto names = tcp::congestion_control_names();
    if (std::find(names.begin(), names.end(), a->value) == names.end()) {
      std::string list;
      for (std::size_t i = 0; i < names.size(); ++i) list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
      fail_attr(*a, n, "names no congestion control algorithm", list);
    }
    cfg.congestion_control = a->value;
  }
  if (const auto a = attr(n, "loss-detection")) {
    if (a->value == "rack") {
      cfg.loss_detection = tcp::TcpConfig::LossDetection::Rack;
    } else if (a->value == "dupthresh") {
      cfg.loss_detection = tcp::TcpConfig::LossDetection::Dupthresh;
    } else {
      fail_value(*a, n, "rack or dupthresh");
    }
  }
  if (const auto v = boolean(n, "tail-loss-probe")) cfg.tail_loss_probe = *v;
  if (const auto v = size_triple(n, "rmem")) cfg.rmem = *v;
  if (const auto v = size_triple(n, "wmem")) cfg.wmem = *v;
  if (const auto v = boolean(n, "moderate-rcvbuf")) cfg.moderate_rcvbuf = *v;
  if (const auto v = duration(n, "comp-sack-delay")) cfg.comp_sack_delay = *v;
  if (const auto v = integer(n, "comp-sack-nr", 0, 255)) cfg.comp_sack_nr = static_cast<uint32_t>(*v);
  if (const auto v = size(n, "limit-output-bytes", 0, uint64_t{1} << 30)) cfg.limit_output_bytes = static_cast<uint32_t>(*v);
  if (const auto a = attr(n, "app-latency")) {
    auto l = parse_app_latency(a->value);
    if (!l) {
      fail_value(*a, n,
                 "none, a duration (300us), uniform:LO:HI (uniform:100us:900us) or table:P=D,... from 0 to 100% "
                 "(table:0=100us,50%=200us,99%=2ms,100%=8ms)");
    }
    cfg.app_latency = std::move(*l);
  }
  if (cfg.rto_min > cfg.rto_max) {
    const auto a = attr(n, "rto-min") ? *attr(n, "rto-min") : *attr(n, "rto-max");
    fail_attr(a, n, "makes rto-min above rto-max", "rto-min <= rto-max (rto-max defaults to 120s)");
  }
  if (cfg.ephemeral_port_min > cfg.ephemeral_port_max) {
    const auto a = attr(n, "ephemeral-port-min") ? *attr(n, "ephemeral-port-min") : *attr(n, "ephemeral-port-max");
    fail_attr(a, n, "makes an empty port range", "ephemeral-port-min <= ephemeral-port-max (32768-60999 by default)");
  }
}

void Loader::read_host(pugi::xml_node n) {
  check_element(n, kHostAttributes, false, true);
  NodeSpec spec;
  spec.type = NodeType::Host;
  const Attr name = required(n, "name", "NAME");
  if (!valid_name(name.value)) fail_value(name, n, kExpectName);
  spec.name = name.value;
  spec.add_at = duration(n, "add-at");
  if (const auto a = attr(n, "add-on")) {
    if (!valid_name(a->value)) fail_value(*a, n, "the name of a <migration>");
    if (spec.add_at) fail_attr(*a, n, "together with add-at", "either add-at or add-on, not both");
    spec.add_on = a->value;
  }
  if (const auto v = duration(n, "boot-delay")) {
    if (!spec.runtime()) {
      fail_attr(*attr(n, "boot-delay"), n, "on a host present from the start",
                "boot-delay only with add-at or add-on");
    }
    spec.boot_delay = *v;
  }
  bool have_tcp = false;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (std::string_view(c.name()) != "tcp") {
      fail(pos_of(c), "element <" + std::string(c.name()) + "> inside <host>", "only <tcp>");
    }
    if (have_tcp) fail(pos_of(c), "a second <tcp> inside <host>", "at most one <tcp>");
    have_tcp = true;
    read_tcp(c, spec.tcp);
  }
  add_node(std::move(spec), n);
}

void Loader::read_gateway(pugi::xml_node n) {
  check_element(n, kGatewayAttributes);
  NodeSpec spec;
  spec.type = NodeType::Gateway;
  const Attr name = required(n, "name", "NAME");
  if (!valid_name(name.value)) fail_value(name, n, kExpectName);
  spec.name = name.value;
  const Attr cf = required(n, "client-facing", "NODE[,NODE...]");
  std::string_view rest = cf.value;
  std::set<std::string, std::less<>> named;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string item = trim(rest.substr(0, comma));
    if (!valid_name(item)) fail_value(cf, n, "a comma-separated list of node names linked to this gateway");
    if (!named.insert(item).second) fail_attr(cf, n, "names " + item + " twice", "each node once");
    spec.client_facing.push_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  core::Config& c = spec.gateway;
  if (const auto v = integer(n, "max-flows", 1, uint64_t{1} << 24)) c.max_flows = static_cast<uint32_t>(*v);
  if (const auto v = integer(n, "hold-packets", 0, 1'000'000)) c.hold_packets = static_cast<uint32_t>(*v);
  if (const auto v = duration(n, "replay-rto", true)) c.replay_rto = v->ns();
  if (const auto v = integer(n, "replay-retries", 0, 100)) c.replay_retries = static_cast<uint32_t>(*v);
  if (const auto v = duration(n, "close-linger")) c.close_linger = v->ns();
  if (const auto v = boolean(n, "reset-old-backend")) c.reset_old_backend = *v;
  if (const auto v = integer(n, "ttl", 1, 255)) c.ttl = static_cast<uint8_t>(*v);
  add_node(std::move(spec), n);
}

void Loader::read_link(pugi::xml_node n) {
  check_element(n, kLinkAttributes);
  LinkSpec l;
  const Attr a = required(n, "a", "NODE");
  const Attr b = required(n, "b", "NODE");
  if (!valid_name(a.value)) fail_value(a, n, kExpectName);
  if (!valid_name(b.value)) fail_value(b, n, kExpectName);
  l.a = a.value;
  l.b = b.value;
  for (const char* which : {"a-addr", "b-addr"}) {
    if (const auto v = attr(n, which)) {
      const auto ia = net::InterfaceAddress::parse(v->value);
      if (!ia) fail_value(*v, n, kExpectIfAddr);
      check_unicast(*v, n, ia->ip);
      // In a subnet of more than two addresses (RFC 3021 allows /31 and /32
      // to use every one), the first is the network and the last the broadcast.
      if (ia->prefix_len <= 30) {
        const uint32_t net = ia->ip.value & ia->mask();
        const std::string subnet = wire::to_string(wire::Ipv4Address{net}) + "/" + std::to_string(ia->prefix_len);
        if (ia->ip.value == net) fail_attr(*v, n, "is the network address of " + subnet, "a host address in it");
        if (ia->ip.value == (net | ~ia->mask())) {
          fail_attr(*v, n, "is the broadcast address of " + subnet, "a host address in it");
        }
      }
      (which[0] == 'a' ? l.a_addr : l.b_addr) = ia;
    }
  }
  if (l.a_addr && l.b_addr && (!l.a_addr->contains(l.b_addr->ip) || !l.b_addr->contains(l.a_addr->ip))) {
    fail_attr(*attr(n, "b-addr"), n,
              "is not in the subnet of a-addr=" + quote(attr(n, "a-addr")->value) + " (or has another prefix)",
              "both ends of a link in one subnet");
  }
  if (const auto v = integer(n, "mtu", 68, net::Packet::capacity - 14)) l.mtu = static_cast<uint32_t>(*v);
  l.add_at = duration(n, "add-at");
  // Each parameter: the plain attribute sets both directions, -ab / -ba one.
  const auto each = [&](const char* base, auto&& apply) {
    const std::string b_ab = std::string(base) + "-ab";
    const std::string b_ba = std::string(base) + "-ba";
    apply(base, l.ab);
    apply(base, l.ba);
    apply(b_ab.c_str(), l.ab);
    apply(b_ba.c_str(), l.ba);
  };
  each("rate", [&](const char* k, net::LinkParams& p) {
    if (const auto v = rate(n, k)) p.rate_bps = *v;
  });
  each("delay", [&](const char* k, net::LinkParams& p) {
    if (const auto v = duration(n, k)) p.delay = *v;
  });
  each("queue", [&](const char* k, net::LinkParams& p) {
    if (const auto v = integer(n, k, 0, 1'000'000'000)) p.queue_packets = static_cast<uint32_t>(*v);
  });
  each("queue-bytes", [&](const char* k, net::LinkParams& p) {
    if (const auto v = size(n, k, 0, kMaxSize)) p.queue_bytes = *v;
  });
  each("loss", [&](const char* k, net::LinkParams& p) {
    if (const auto v = probability(n, k)) p.loss = *v;
  });
  each("duplicate", [&](const char* k, net::LinkParams& p) {
    if (const auto v = probability(n, k)) p.duplicate = *v;
  });
  each("reorder", [&](const char* k, net::LinkParams& p) {
    if (const auto v = probability(n, k)) p.reorder = *v;
  });
  each("reorder-delay", [&](const char* k, net::LinkParams& p) {
    if (const auto v = duration(n, k)) p.reorder_delay = *v;
  });
  l.pos = pos_of(n);
  s_.links.push_back(std::move(l));
  link_elems_.push_back(n);
}

void Loader::read_topology(pugi::xml_node topo) {
  check_element(topo, {}, false, true);
  for (pugi::xml_node c = topo.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view kind = c.name();
    if (kind == "link") {
      read_link(c);
      continue;
    }
    const auto type = parse_word<NodeType>(kind);
    if (!type) {
      std::string nodes;
      for (const std::string_view w : EnumWords<NodeType>::words) nodes += "<" + std::string(w) + ">, ";
      fail(pos_of(c), "element <" + std::string(kind) + "> inside <topology>", nodes + "or <link>");
    }
    switch (*type) {
      case NodeType::Host: read_host(c); break;
      case NodeType::Gateway: read_gateway(c); break;
      case NodeType::Router:
      case NodeType::Switch:
      case NodeType::Count: {
        check_element(c, kNodeAttributes);
        NodeSpec spec;
        spec.type = *type;
        const Attr name = required(c, "name", "NAME");
        if (!valid_name(name.value)) fail_value(name, c, kExpectName);
        spec.name = name.value;
        add_node(std::move(spec), c);
        break;
      }
    }
  }
  if (s_.nodes.empty()) fail(pos_of(topo), "a <topology> without nodes", "at least one <host>");
}

/// What an application kind reads its attributes through: the loader's
/// typed attribute readers for one element (app_kind.hpp).
class Loader::ElementReader final : public AttributeReader {
 public:
  ElementReader(const Loader& l, pugi::xml_node n) : l_(l), n_(n) {}
  std::optional<uint64_t> integer(const char* name, uint64_t min, uint64_t max) override {
    return l_.integer(n_, name, min, max);
  }
  std::optional<uint64_t> size(const char* name, uint64_t min, uint64_t max) override {
    return l_.size(n_, name, min, max);
  }
  std::optional<sim::Duration> duration(const char* name) override { return l_.duration(n_, name); }
  std::optional<bool> boolean(const char* name) override { return l_.boolean(n_, name); }
  std::optional<std::string> name(const char* name) override { return l_.name_attr(n_, name); }
  std::optional<std::string> line(const char* name) override { return l_.line_attr(n_, name); }
  std::optional<wire::Ipv4Address> address(const char* name, bool required) override {
    const std::optional<Attr> a = required ? std::optional<Attr>(l_.required(n_, name, "a.b.c.d")) : l_.attr(n_, name);
    if (!a) return std::nullopt;
    const auto ip = wire::Ipv4Address::parse(a->value);
    if (!ip) l_.fail_value(*a, n_, kExpectIp);
    l_.check_unicast(*a, n_, *ip);
    return ip;
  }
  std::optional<std::string> text(const char* name) override {
    const auto a = l_.attr(n_, name);
    return a ? std::optional<std::string>(a->value) : std::nullopt;
  }
  std::optional<std::size_t> earlier(const AppKind& kind, std::string_view label) override {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < l_.s_.apps.size(); ++i) {
      if (l_.s_.apps[i].kind == &kind && l_.s_.apps[i].label == label) found = i;  // the last one above
    }
    return found;
  }
  [[noreturn]] void fail(const char* name, const std::string& found, const std::string& expected) override {
    const auto a = l_.attr(n_, name);
    if (!a) Loader::fail(l_.pos_of(n_), found, expected);
    l_.fail_attr(*a, n_, found, expected);
  }

 private:
  const Loader& l_;    // the loader whose readers it uses
  pugi::xml_node n_;   // the element
};

void Loader::read_app(pugi::xml_node n) {
  const std::string_view element = n.name();
  AppSpec app;
  app.kind = find_app_kind(element);
  if (app.kind == nullptr) {
    std::vector<std::string> names;
    for (const AppKind* k : app_kinds()) names.push_back("<" + std::string(k->element()) + ">");
    fail(pos_of(n), "element <" + std::string(element) + "> inside <apps>", "one of " + join(names, ", "));
  }
  std::vector<std::string_view> allowed{"node"};
  const auto own = app.kind->attributes();
  allowed.insert(allowed.end(), own.begin(), own.end());
  check_element(n, allowed);
  ElementReader in(*this, n);
  app.settings = app.kind->read(in);
  const Attr node = required(n, "node", "HOST");
  if (!valid_name(node.value)) fail_value(node, n, kExpectName);
  app.node = node.value;
  const std::string name = app.kind->name(*app.settings);
  app.label = name.empty() ? app.node : name;
  app.pos = pos_of(n);
  s_.apps.push_back(std::move(app));
  app_elems_.push_back(n);
}

void Loader::read_apps(pugi::xml_node apps_node) {
  check_element(apps_node, {}, false, true);
  for (pugi::xml_node c = apps_node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) read_app(c);
  }
}

void Loader::read_migration(pugi::xml_node n) {
  check_element(n, kMigrationAttributes);
  MigrationSpec m;
  const Attr name = required(n, "name", "NAME");
  if (!valid_name(name.value)) fail_value(name, n, kExpectName);
  if (const auto at = migration_at_.find(name.value); at != migration_at_.end()) {
    fail_attr(name, n, "is a duplicate migration name",
              "a name not used before (first used at line " + std::to_string(s_.migrations[at->second].pos.line) +
                  ")");
  }
  migration_at_.emplace(name.value, s_.migrations.size());
  m.name = name.value;
  const Attr gw = required(n, "gateway", "GATEWAY");
  if (!valid_name(gw.value)) fail_value(gw, n, kExpectName);
  m.gateway = gw.value;
  const Attr service = required(n, "service", "a.b.c.d:port");
  const auto svc = parse_endpoint(service.value);
  if (!svc) fail_value(service, n, kExpectEndpoint);
  check_unicast(service, n, svc->ip);
  m.service = *svc;
  const Attr target = required(n, "target", "a.b.c.d:port");
  const auto tgt = parse_endpoint(target.value);
  if (!tgt) fail_value(target, n, kExpectEndpoint);
  check_unicast(target, n, tgt->ip);
  m.target = *tgt;
  m.flow_client = endpoint(n, "flow");
  if (m.flow_client) check_unicast(*attr(n, "flow"), n, m.flow_client->ip);

  using Kind = core::Trigger::Kind;
  const Attr trig = required(n, "trigger", "now|at|after-requests|after-segments|after-bytes");
  const auto at_attr = attr(n, "at");
  const auto count_attr = attr(n, "count");
  const std::string& t = trig.value;
  const auto kind = parse_word<Kind>(t);
  if (!kind) fail_value(trig, n, word_list<Kind>());
  const bool wants_count = *kind == Kind::AfterRequests || *kind == Kind::AfterSegments || *kind == Kind::AfterBytes;
  if (*kind == Kind::AtTime && !at_attr) {
    fail(pos_of(n), "trigger=\"at\" without attribute at", "at=\"TIME\" (e.g. 1.5s)");
  }
  if (*kind != Kind::AtTime && at_attr) fail_attr(*at_attr, n, "with trigger=" + quote(t), "at only with trigger=\"at\"");
  if (wants_count && !count_attr) {
    fail(pos_of(n), "trigger=" + quote(t) + " without attribute count", "count=\"N\" (N >= 1)");
  }
  if (!wants_count && count_attr) {
    fail_attr(*count_attr, n, "with trigger=" + quote(t),
              "count only with trigger=\"after-requests\", \"after-segments\" or \"after-bytes\"");
  }
  switch (*kind) {
    case Kind::Now: m.trigger = core::Trigger::now(); break;
    case Kind::AtTime: m.trigger = core::Trigger::at_time(duration(n, "at")->ns()); break;
    // The core counts a flow's bytes in 32 bits, its requests in 16 (core/migrator.hpp).
    case Kind::AfterBytes: m.trigger = core::Trigger::after_bytes(*size(n, "count", 1, 0xffffffffULL)); break;
    case Kind::AfterRequests: m.trigger = core::Trigger::after_requests(*integer(n, "count", 1, 0xffff)); break;
    case Kind::AfterSegments:
    case Kind::Count: m.trigger = core::Trigger::after_segments(*integer(n, "count", 1, 0xffffffffULL)); break;
  }
  if (const auto sp = attr(n, "safe-point")) {
    const auto v = parse_word<core::SafePoint>(sp->value);
    if (!v) fail_value(*sp, n, word_list<core::SafePoint>());
    m.trigger.safe_point = *v;
  }
  if (const auto e = attr(n, "expect")) {
    const auto v = parse_word<Expect>(e->value);
    if (!v) fail_value(*e, n, word_list<Expect>());
    m.expect = *v;
  }
  if (const auto v = duration(n, "request-at")) {
    m.request_at = *v;
    if (*kind == Kind::AtTime && m.trigger.at < v->ns()) {
      fail_attr(*attr(n, "request-at"), n, "is later than at", "request-at <= at");
    }
  }
  m.pos = pos_of(n);
  s_.migrations.push_back(std::move(m));
  mig_elems_.push_back(n);
}

void Loader::read_migrations(pugi::xml_node migs) {
  check_element(migs, {}, false, true);
  for (pugi::xml_node c = migs.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (std::string_view(c.name()) != "migration") {
      fail(pos_of(c), "element <" + std::string(c.name()) + "> inside <migrations>", "<migration>");
    }
    read_migration(c);
  }
}

void Loader::read_outputs(pugi::xml_node n) {
  check_element(n, kOutputsAttributes);
  if (const auto v = boolean(n, "pcap")) s_.outputs.pcap = *v;
  if (const auto v = boolean(n, "trace")) s_.outputs.trace = *v;
  if (const auto v = boolean(n, "summary")) s_.outputs.summary = *v;
}

// -------------------------------------------------------------- cross checks

void Loader::check_references() {
  const auto node_index = [&](std::string_view name) -> int {
    const auto at = node_at_.find(name);
    return at == node_at_.end() ? -1 : static_cast<int>(at->second);
  };
  const auto node_names = [&] {
    std::vector<std::string> names;
    for (const NodeSpec& nd : s_.nodes) names.push_back(nd.name);
    return join(names, ", ");
  };

  // Links: ends exist, no self-links, addresses where L3 needs them, none on switches.
  std::map<wire::Ipv4Address, std::size_t> owners;  // address -> link index that assigned it
  std::vector<int> link_count(s_.nodes.size(), 0);
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    const LinkSpec& l = s_.links[i];
    const pugi::xml_node e = link_elems_[i];
    const int ia = node_index(l.a);
    const int ib = node_index(l.b);
    if (ia < 0) fail_attr(*attr(e, "a"), e, "names no node", "a node of the topology: " + node_names());
    if (ib < 0) fail_attr(*attr(e, "b"), e, "names no node", "a node of the topology: " + node_names());
    if (ia == ib) fail_attr(*attr(e, "b"), e, "is the same node as a", "two different nodes");
    ++link_count[static_cast<std::size_t>(ia)];
    ++link_count[static_cast<std::size_t>(ib)];
    for (int side = 0; side < 2; ++side) {
      const NodeSpec& nd = s_.nodes[static_cast<std::size_t>(side == 0 ? ia : ib)];
      const auto& addr = side == 0 ? l.a_addr : l.b_addr;
      const char* key = side == 0 ? "a-addr" : "b-addr";
      if (nd.type == NodeType::Switch && addr) {
        fail_attr(*attr(e, key), e, "on the switch " + nd.name, std::string("no ") + key + " on a switch end");
      }
      if (nd.type != NodeType::Switch && !addr) {
        fail(pos_of(e), "<link> without " + std::string(key) + " for the " + node_type_name(nd.type) + " " + nd.name,
             std::string(key) + "=\"a.b.c.d/len\" (only switch ends have no address)");
      }
      if (addr) {
        const auto [it, fresh] = owners.emplace(addr->ip, i);
        if (!fresh) {
          fail_attr(*attr(e, key), e, "repeats an address already assigned",
                    "a unique address (first assigned at line " + std::to_string(s_.links[it->second].pos.line) +
                        ")");
        }
      }
    }
  }
  // Runtime links: each end exists at add-at. A runtime host joins by then
  // (add-at no later than the link's); an add-on host joins at a time only
  // the run knows, so a link with add-at cannot touch it.
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    const LinkSpec& l = s_.links[i];
    if (!l.add_at) continue;
    const pugi::xml_node e = link_elems_[i];
    for (const int end : {node_index(l.a), node_index(l.b)}) {
      const NodeSpec& nd = s_.nodes[static_cast<std::size_t>(end)];
      const pugi::xml_node ne = node_elems_[static_cast<std::size_t>(end)];
      if (!nd.add_on.empty()) {
        fail_attr(*attr(e, "add-at"), e,
                  "on a link to " + nd.name + ", which joins when migration " + nd.add_on + " triggers",
                  "no add-at on a link to an add-on host (the link is created when the host joins)");
      }
      if (nd.add_at && *nd.add_at > *l.add_at) {
        fail_attr(*attr(e, "add-at"), e,
                  "is earlier than host " + nd.name + " joins (add-at=" + quote(attr(ne, "add-at")->value) +
                      " at line " + std::to_string(nd.pos.line) + ")",
                  "a link add-at no earlier than the add-at of each runtime host it links");
      }
    }
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (link_count[i] == 0 && s_.nodes[i].type != NodeType::Switch) {
      fail(s_.nodes[i].pos, std::string(node_type_name(s_.nodes[i].type)) + " " + s_.nodes[i].name + " has no link",
           "at least one <link> with a=\"" + s_.nodes[i].name + "\" or b=\"" + s_.nodes[i].name + "\"");
    }
  }

  // Gateways: client-facing names are direct neighbours.
  std::set<std::pair<std::string_view, std::string_view>> linked_pairs;  // both orders
  for (const LinkSpec& l : s_.links) {
    linked_pairs.emplace(l.a, l.b);
    linked_pairs.emplace(l.b, l.a);
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    const NodeSpec& g = s_.nodes[i];
    if (g.type != NodeType::Gateway) continue;
    for (const std::string& cf : g.client_facing) {
      const bool linked = linked_pairs.count({g.name, cf}) != 0;
      if (!linked) {
        fail_attr(*attr(node_elems_[i], "client-facing"), node_elems_[i],
                  "names " + cf + ", which has no link to " + g.name,
                  "names of nodes linked directly to the gateway");
      }
    }
  }

  // Apps run on hosts; listeners are unique per host and port.
  std::set<std::pair<std::string, uint16_t>> listeners;
  for (std::size_t i = 0; i < s_.apps.size(); ++i) {
    const AppSpec& a = s_.apps[i];
    const pugi::xml_node e = app_elems_[i];
    const int idx = node_index(a.node);
    if (idx < 0) fail_attr(*attr(e, "node"), e, "names no node", "a host of the topology: " + node_names());
    const NodeSpec& nd = s_.nodes[static_cast<std::size_t>(idx)];
    if (nd.type != NodeType::Host) {
      fail_attr(*attr(e, "node"), e, "names the " + std::string(node_type_name(nd.type)) + " " + nd.name,
                "a host (applications run on hosts)");
    }
    if (const auto port = a.kind->listen_port(*a.settings)) {
      if (!listeners.emplace(a.node, *port).second) {
        fail(pos_of(e), "a second listener on " + a.node + " port " + std::to_string(*port),
             "one server or sink per host and port");
      }
    }
  }

  // What each application checks of the whole scenario (references to others).
  for (std::size_t i = 0; i < s_.apps.size(); ++i) {
    if (const auto p = s_.apps[i].kind->check(s_.apps[i], s_)) {
      fail_attr(*attr(app_elems_[i], p->attribute), app_elems_[i], p->found, p->expected);
    }
  }

  // Migrations: on gateways.
  for (std::size_t i = 0; i < s_.migrations.size(); ++i) {
    MigrationSpec& m = s_.migrations[i];
    const pugi::xml_node e = mig_elems_[i];
    const int idx = node_index(m.gateway);
    if (idx < 0) fail_attr(*attr(e, "gateway"), e, "names no node", "the name of a <gateway>");
    const NodeSpec& nd = s_.nodes[static_cast<std::size_t>(idx)];
    if (nd.type != NodeType::Gateway) {
      fail_attr(*attr(e, "gateway"), e, "names the " + std::string(node_type_name(nd.type)) + " " + nd.name,
                "the name of a <gateway>");
    }
  }

  // The host that owns each address (links hold the addresses).
  std::map<wire::Ipv4Address, std::size_t> host_of;
  for (const LinkSpec& l : s_.links) {
    if (l.a_addr) host_of.emplace(l.a_addr->ip, static_cast<std::size_t>(node_index(l.a)));
    if (l.b_addr) host_of.emplace(l.b_addr->ip, static_cast<std::size_t>(node_index(l.b)));
  }

  // Runtime hosts added on a migration: the migration exists, has one host,
  // and the host owns the migration's target address.
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    NodeSpec& h = s_.nodes[i];
    if (h.add_on.empty()) continue;
    const pugi::xml_node e = node_elems_[i];
    const auto at = migration_at_.find(h.add_on);
    if (at == migration_at_.end()) {
      std::vector<std::string> names;
      for (const MigrationSpec& m : s_.migrations) names.push_back(m.name);
      fail_attr(*attr(e, "add-on"), e, "names no migration",
                names.empty() ? std::string("the name of a <migration> (there are none)")
                              : "the name of a <migration>: " + join(names, ", "));
    }
    MigrationSpec& m = s_.migrations[at->second];
    if (!m.provisioned_by.empty()) {
      fail_attr(*attr(e, "add-on"), e, "names a migration that already provisions " + m.provisioned_by,
                "one host per migration");
    }
    const auto owner = host_of.find(m.target.ip);
    if (owner == host_of.end() || owner->second != i) {
      fail_attr(*attr(e, "add-on"), e,
                "names migration " + m.name + ", whose target " + core::endpoint_text(m.target) +
                    " is not an address of " + h.name,
                "a host that owns its migration's target address");
    }
    m.provisioned_by = h.name;
  }

  // A migration to its own service address: its flows start there, so it only
  // makes sense behind another migration of that service that moves them away
  // and is requested no later (a return; requests at the same time are made
  // in document order). Otherwise the replay would hit the live connection.
  for (std::size_t i = 0; i < s_.migrations.size(); ++i) {
    const MigrationSpec& m = s_.migrations[i];
    if (!(m.target == m.service)) continue;
    bool away_first = false;
    for (std::size_t j = 0; j < s_.migrations.size() && !away_first; ++j) {
      const MigrationSpec& o = s_.migrations[j];
      away_first = o.gateway == m.gateway && o.service == m.service && !(o.target == o.service) &&
                   (o.request_at < m.request_at || (o.request_at == m.request_at && j < i));
    }
    if (away_first) continue;
    fail_attr(*attr(mig_elems_[i], "target"), mig_elems_[i],
              "is the migration's own service address, where its flows already are",
              "another backend (a migration back to the service only follows another migration of it, "
              "requested no later)");
  }

  // Add-on cycles: the migration that adds a host must be able to trigger
  // without it, so its service is neither an address of that host nor of an
  // add-on host that itself waits (through its migration) for the first.
  // Each add-on host waits for at most one other (the owner of its
  // migration's service): a walk with three colours finds every cycle once.
  const auto waits_for = [&](std::size_t h) -> std::optional<std::size_t> {
    const MigrationSpec& m = s_.migrations[migration_at_.find(s_.nodes[h].add_on)->second];
    const auto owner = host_of.find(m.service.ip);
    if (owner == host_of.end() || s_.nodes[owner->second].add_on.empty()) return std::nullopt;
    return owner->second;
  };
  enum class Walk : uint8_t { New, OnPath, Done };
  std::vector<Walk> walk(s_.nodes.size(), Walk::New);
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (s_.nodes[i].add_on.empty() || walk[i] != Walk::New) continue;
    std::vector<std::size_t> path;
    std::optional<std::size_t> cur = i;
    while (cur && walk[*cur] == Walk::New) {
      walk[*cur] = Walk::OnPath;
      path.push_back(*cur);
      cur = waits_for(*cur);
    }
    if (cur && walk[*cur] == Walk::OnPath) {  // a cycle from *cur back to it
      const auto from = std::find(path.begin(), path.end(), *cur);
      std::string text;
      for (auto h = from; h != path.end(); ++h) {
        const NodeSpec& nd = s_.nodes[*h];
        const MigrationSpec& mh = s_.migrations[migration_at_.find(nd.add_on)->second];
        text += nd.name + " joins when " + mh.name + " triggers, whose service " + core::endpoint_text(mh.service) +
                " is an address of " + s_.nodes[host_of.find(mh.service.ip)->second].name + "; ";
      }
      text.resize(text.size() - 2);
      fail_attr(*attr(node_elems_[*cur], "add-on"), node_elems_[*cur], "makes a cycle (" + text + ")",
                "a migration whose service is up before the host it adds");
    }
    for (const std::size_t h : path) walk[h] = Walk::Done;
  }
}

void Loader::check_scratch_network() {
  // Build the topology once in a throwaway network: it raises every error the
  // network model knows (names, addresses, switch loops) at the element that
  // causes it. Then the run's timeline: hosts and links with add-at in time
  // order (hosts first at equal times, document order among equals), then the
  // add-on hosts in document order. A host joins with each link whose other
  // end already exists (unless the link waits for its own add-at), as it
  // would during a run.
  sim::Simulator sim(1);
  net::Network network(sim);
  std::vector<bool> linked(s_.links.size(), false);
  std::vector<bool> due(s_.links.size(), false);  // runtime link: its add-at has come
  std::vector<std::vector<std::size_t>> links_at(s_.nodes.size());  // links of each node, in document order
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    links_at[node_at_.find(s_.links[i].a)->second].push_back(i);
    links_at[node_at_.find(s_.links[i].b)->second].push_back(i);
  }
  // Creates link i if it is due and both its ends are in the network.
  const auto add_link = [&](std::size_t i) {
    if (linked[i]) return;
    const LinkSpec& l = s_.links[i];
    if (l.add_at && !due[i]) return;
    net::Node* a = network.find_node(l.a);
    net::Node* b = network.find_node(l.b);
    if (a == nullptr || b == nullptr) return;
    try {
      net::Interface& ia = a->add_interface(l.a_addr);
      net::Interface& ib = b->add_interface(l.b_addr);
      network.connect(ia, ib, l.ab, l.ba);
    } catch (const std::invalid_argument& ex) {
      fail(l.pos, std::string("a link the network model rejects: ") + ex.what(), "a valid link");
    }
    linked[i] = true;
  };
  const auto add = [&](std::size_t i) {
    const NodeSpec& nd = s_.nodes[i];
    try {
      switch (nd.type) {
        case NodeType::Host: network.add_host(nd.name); break;
        case NodeType::Gateway:
        case NodeType::Router: network.add_router(nd.name); break;
        case NodeType::Switch:
        case NodeType::Count: network.add_switch(nd.name); break;
      }
    } catch (const std::invalid_argument& ex) {
      fail(nd.pos, std::string("a node the network model rejects: ") + ex.what(), "a valid node");
    }
  };
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (!s_.nodes[i].runtime()) add(i);
  }
  for (std::size_t i = 0; i < s_.links.size(); ++i) add_link(i);

  struct Step {
    sim::Duration at;  // add-at
    bool link;         // a link (false: a host)
    std::size_t index;  // in s_.links or s_.nodes
  };
  std::vector<Step> timeline;
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (s_.nodes[i].add_at) timeline.push_back(Step{*s_.nodes[i].add_at, false, i});
  }
  for (std::size_t i = 0; i < s_.links.size(); ++i) {
    if (s_.links[i].add_at) timeline.push_back(Step{*s_.links[i].add_at, true, i});
  }
  std::stable_sort(timeline.begin(), timeline.end(), [](const Step& x, const Step& y) {
    return x.at != y.at ? x.at < y.at : !x.link && y.link;
  });
  // Only a joining host's own links, or a link that falls due, can appear.
  for (const Step& st : timeline) {
    if (st.link) {
      due[st.index] = true;
      add_link(st.index);
    } else {
      add(st.index);
      for (const std::size_t l : links_at[st.index]) add_link(l);
    }
  }
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    if (!s_.nodes[i].add_on.empty()) {
      add(i);
      for (const std::size_t l : links_at[i]) add_link(l);
    }
  }
}

// ------------------------------------------------------------------ top level

Scenario Loader::load() {
  if (const auto nul = text_.find('\0'); nul != std::string_view::npos) {
    fail(pos_at(nul), "a NUL byte", "XML text (UTF-8)");
  }
  buf_.assign(text_.begin(), text_.end());
  const pugi::xml_parse_result r =
      doc_.load_buffer_inplace(buf_.data(), buf_.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    fail(pos_at(r.offset >= 0 ? static_cast<std::size_t>(r.offset) : 0),
         std::string("malformed XML (") + r.description() + ")", "well-formed XML");
  }
  pugi::xml_node root;
  for (pugi::xml_node c = doc_.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      if (root) fail(pos_of(c), "a second top-level element <" + std::string(c.name()) + ">", "one <scenario>");
      root = c;
    } else if ((c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) && !trim(c.value()).empty()) {
      fail(pos_of(c), "text outside the root element", "only <scenario>");
    }
  }
  if (!root) fail(SourcePos{1, 1}, "no root element", "<scenario name=\"NAME\">");
  if (std::string_view(root.name()) != "scenario") {
    fail(pos_of(root), "root element <" + std::string(root.name()) + ">", "<scenario>");
  }

  // Attributes of <scenario>: name, and XML namespace / schema-location ones.
  for (pugi::xml_attribute a = root.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view n = a.name();
    const bool ok = n == "name" || n == "xmlns" || n.starts_with("xmlns:") || n.starts_with("xsi:");
    if (!ok) fail(pos_of(a, root), "unknown attribute " + std::string(n) + " on <scenario>", "name (and xmlns/xsi attributes)");
  }
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if ((c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) && !trim(c.value()).empty()) {
      fail(pos_of(c), "text " + quote(trim(c.value())) + " inside <scenario>", "only child elements");
    }
  }
  read_params(root);
  const Attr name = required(root, "name", "NAME");
  if (!valid_name(name.value)) fail_value(name, root, kExpectName);
  s_.name = name.value;

  // Children, in this order: description? param* topology apps? migrations? outputs?
  static constexpr std::array<std::string_view, 6> kOrder{"description", "param", "topology",
                                                           "apps", "migrations", "outputs"};
  int last = -1;
  pugi::xml_node topology;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view kind = c.name();
    const auto it = std::find(kOrder.begin(), kOrder.end(), kind);
    if (it == kOrder.end()) {
      fail(pos_of(c), "element <" + std::string(kind) + "> inside <scenario>",
           "<description>, <param>, <topology>, <apps>, <migrations> or <outputs>");
    }
    const int rank = static_cast<int>(it - kOrder.begin());
    if (rank < last || (rank == last && kind != "param")) {
      fail(pos_of(c), "<" + std::string(kind) + "> after <" + std::string(kOrder[static_cast<std::size_t>(last)]) + ">",
           "each section once, in the order description, param, topology, apps, migrations, outputs");
    }
    last = rank;
    if (kind == "description") {
      check_element(c, {}, true, false);
      s_.description = trim(c.text().get());
    } else if (kind == "topology") {
      topology = c;
      read_topology(c);
    } else if (kind == "apps") {
      read_apps(c);
    } else if (kind == "migrations") {
      read_migrations(c);
    } else if (kind == "outputs") {
      read_outputs(c);
    }
  }
  if (!topology) fail(pos_of(root), "a <scenario> without <topology>", "a <topology> section");
  check_references();
  check_scratch_network();
  return std::move(s_);
}

}  // namespace

std::vector<ElementAttributes> scenario_elements() {
  const auto list = [](std::span<const std::string_view> names) {
    return std::vector<std::string>(names.begin(), names.end());
  };
  std::vector<ElementAttributes> out{
      {"description", {}},
      {"param", list(kParamAttributes)},
      {"topology", {}},
      {"host", list(kHostAttributes)},
      {"tcp", list(kTcpAttributes)},
      {"gateway", list(kGatewayAttributes)},
      {"router", list(kNodeAttributes)},
      {"switch", list(kNodeAttributes)},
      {"link", list(kLinkAttributes)},
      {"apps", {}},
      {"migrations", {}},
      {"migration", list(kMigrationAttributes)},
      {"outputs", list(kOutputsAttributes)},
  };
  for (const AppKind* k : app_kinds()) {
    ElementAttributes e{std::string(k->element()), {"node"}};
    for (const std::string_view a : k->attributes()) e.attributes.emplace_back(a);
    out.push_back(std::move(e));
  }
  return out;
}

LoadResult load_scenario(std::string_view text, std::string_view display_name, std::span<const Override> overrides) {
  LoadResult result;
  try {
    Loader loader(text, display_name, overrides);
    result.scenario = loader.load();
  } catch (const LoadError& e) {
    result.error = Diagnostic{std::string(display_name), e.pos, e.message};
  } catch (const std::bad_alloc&) {
    result.error = Diagnostic{std::string(display_name), SourcePos{}, "out of memory; expected a smaller scenario"};
  }
  return result;
}

LoadResult load_scenario_file(const std::string& path, std::span<const Override> overrides) {
  std::string text;
  std::string error;
  if (!read_input(path, InputKind{"scenario file", kMaxScenarioBytes}, text, error)) {
    LoadResult r;
    r.error = Diagnostic{path, SourcePos{}, error};
    return r;
  }
  return load_scenario(text, path, overrides);
}

}  // namespace tcpmig::scenario
