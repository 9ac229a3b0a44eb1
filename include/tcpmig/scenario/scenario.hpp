// Scenario description and loader: an XML scenario file (format in
// scenarios/README.md, schema in scenarios/tcpmig-scenario.xsd) read into a
// checked, plain description of topology, applications, migrations and
// outputs that the runner (runner.hpp) turns into model objects.
//
// Place in the layers: scenario loading (tools/scenario), above the models.
// This header names only model *configuration* types (tcp::TcpConfig,
// net::LinkParams, apps configs, core::Config/Trigger); loading builds no
// simulation, so it needs no gateway and never touches the file system
// except to read the scenario file itself.
// Rules:
// - Loading validates everything that can be checked before a run: unknown
//   elements or attributes, missing or malformed values, names and
//   references, duplicates, impossible values, and the topology itself (it is
//   built once in a scratch network, so every error the network model would
//   raise is reported at the element that causes it).
// - The first error ends loading. It is reported as one line,
//   `FILE:LINE:COLUMN: error: <what was found>; expected <what>`, with the
//   position of the offending attribute (or element, or character).
// - Parameters: <param name default> declares ${name}; every attribute value
//   may use ${name} references, replaced by the value before the attribute is
//   read. Overrides (the CLI's --set) replace defaults; naming an undeclared
//   parameter is an error.
// - Everything is kept in document order; the runner creates objects in that
//   order, so a scenario describes one deterministic run per seed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcpmig/core/migrator.hpp"
#include "tcpmig/net/network.hpp"
#include "tcpmig/records/migration.hpp"
#include "tcpmig/scenario/app_kind.hpp"
#include "tcpmig/sim/time.hpp"
#include "tcpmig/tcp/config.hpp"

namespace tcpmig::scenario {

/// A place in the scenario text; line 0 means "no position".
struct SourcePos {
  uint32_t line = 0;    ///< 1-based line
  uint32_t column = 0;  ///< 1-based column, in characters
};

/// One error found while loading.
struct Diagnostic {
  std::string file;     ///< the scenario's display name (its path)
  SourcePos pos;        ///< where; line 0 when the error has no position
  std::string message;  ///< "<what was found>; expected <what>"
  /// "FILE:LINE:COLUMN: error: MESSAGE" (or "FILE: error: MESSAGE" without position).
  [[nodiscard]] std::string text() const;
};

/// A declared parameter and the value it has in this run.
struct Param {
  std::string name;           ///< referenced as ${name}
  std::string default_value;  ///< from the file
  std::string value;          ///< the default or the override
  bool overridden = false;    ///< value came from an override
  SourcePos pos;              ///< the <param> element
};

/// The scenario's words for the values of an enum, in enumerator order: the
/// loader parses with them, its messages list them, summaries print them.
/// One specialisation per enum below; its size is checked against the enum.
template <class E>
struct EnumWords;

/// The word for `e` ("?" for a value outside the enum).
template <class E>
constexpr std::string_view word_of(E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < EnumWords<E>::words.size() ? EnumWords<E>::words[i] : std::string_view("?");
}
/// The value whose word is `text`.
template <class E>
constexpr std::optional<E> parse_word(std::string_view text) {
  for (std::size_t i = 0; i < EnumWords<E>::words.size(); ++i) {
    if (EnumWords<E>::words[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}
/// Every word, for messages: "a, b or c".
template <class E>
std::string word_list() {
  std::string out;
  const auto& w = EnumWords<E>::words;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i != 0) out += i + 1 == w.size() ? " or " : ", ";
    out += w[i];
  }
  return out;
}

/// What a topology node is.
enum class NodeType : uint8_t { Host, Gateway, Router, Switch, Count };
template <>
struct EnumWords<NodeType> {
  static constexpr std::array<std::string_view, 4> words{"host", "gateway", "router", "switch"};
  static_assert(words.size() == static_cast<std::size_t>(NodeType::Count));
};
/// "host", "gateway", "router", "switch".
inline const char* node_type_name(NodeType t) { return word_of(t).data(); }

/// Trigger kinds as the scenario writes them (trigger="after-requests").
template <>
struct EnumWords<core::Trigger::Kind> {
  static constexpr std::array<std::string_view, 5> words{"now", "at", "after-requests", "after-segments",
                                                         "after-bytes"};
  static_assert(words.size() == static_cast<std::size_t>(core::Trigger::Kind::Count));
};
/// Safe points as the scenario writes them (safe-point="client-data").
template <>
struct EnumWords<core::SafePoint> {
  static constexpr std::array<std::string_view, 3> words = records::safe_point_words;
};

/// One <host>, <gateway>, <router> or <switch>.
struct NodeSpec {
  std::string name;                        ///< unique; becomes trace field and file name
  NodeType type = NodeType::Host;          ///< element kind
  SourcePos pos;                           ///< the element
  tcp::TcpConfig tcp;                      ///< hosts: TCP settings (<tcp>), Linux defaults otherwise
  std::optional<sim::Duration> add_at;     ///< runtime host: joins the network at this time
  std::string add_on;                      ///< runtime host: joins when this migration triggers
  sim::Duration boot_delay;                ///< runtime host: from joining to its apps (and target) being up
  core::Config gateway;                    ///< gateways: migration core settings
  std::vector<std::string> client_facing;  ///< gateways: neighbours whose packets travel client->server
  /// True for a host that joins while the simulation runs.
  [[nodiscard]] bool runtime() const { return add_at.has_value() || !add_on.empty(); }
};

/// One <link>: a point-to-point link with an interface on each end.
struct LinkSpec {
  std::string a, b;                              ///< node names of the two ends
  std::optional<net::InterfaceAddress> a_addr;   ///< address of a's new interface (none on switches)
  std::optional<net::InterfaceAddress> b_addr;   ///< address of b's new interface (none on switches)
  net::LinkParams ab;                            ///< direction a -> b
  net::LinkParams ba;                            ///< direction b -> a
  uint32_t mtu = 1500;                           ///< MTU of both new interfaces
  /// Runtime link: created at this time (each end present by then; never an
  /// add-on host). Without it, the link exists from the start, or from when
  /// the later of its runtime ends joins.
  std::optional<sim::Duration> add_at;
  SourcePos pos;                                 ///< the element
};

/// One application under <apps>: its kind (app_kind.hpp) and what its
/// attributes said. Start times count from when the host's apps start: t = 0
/// for hosts present from the beginning, the end of boot-delay for runtime hosts.
struct AppSpec {
  const AppKind* kind = nullptr;            ///< its kind (app_kinds())
  std::string node;                         ///< the host it runs on
  std::string label;                        ///< console label and reference: its name attribute, else the node
  SourcePos pos;                            ///< the element
  std::shared_ptr<const AppSettings> settings;  ///< the kind's own settings
  /// The settings as the kind's type (the kind's own files and tests know it).
  template <class T>
  [[nodiscard]] const T& settings_as() const {
    return dynamic_cast<const T&>(*settings);
  }
};

/// How a migration (or a bulk sender) must end for the run to succeed.
enum class Expect : uint8_t { Completed, Aborted, Any, Count };
template <>
struct EnumWords<Expect> {
  static constexpr std::array<std::string_view, 3> words{"completed", "aborted", "any"};
  static_assert(words.size() == static_cast<std::size_t>(Expect::Count));
};
/// "completed", "aborted", "any".
inline const char* expect_name(Expect e) { return word_of(e).data(); }

/// One <migration>.
struct MigrationSpec {
  std::string name;                          ///< unique; referenced by add-on
  std::string gateway;                       ///< the gateway node that migrates
  SourcePos pos;                             ///< the element
  core::Endpoint service;                    ///< the address clients connect to
  core::Endpoint target;                     ///< the new backend
  std::optional<core::Endpoint> flow_client; ///< only this client's flow (migrate_flow), else every flow
  core::Trigger trigger;                     ///< when it fires (and the safe point)
  sim::Duration request_at;                  ///< when the request is handed to the gateway
  Expect expect = Expect::Completed;         ///< required outcome
  std::string provisioned_by;                ///< host with add-on = name (the target boots on trigger), or empty
};

/// <outputs>: what a run writes into its output directory.
struct Outputs {
  bool pcap = true;     ///< <node>-<iface>.pcap per interface
  bool trace = true;    ///< trace.txt (and the trace fingerprint)
  bool summary = true;  ///< summary.json
};

/// A loaded, checked scenario.
struct Scenario {
  std::string file;                        ///< display name it was loaded from
  std::string name;                        ///< <scenario name>
  std::string description;                 ///< <description> text, trimmed
  std::vector<Param> params;               ///< in declaration order
  std::vector<NodeSpec> nodes;             ///< in document order
  std::vector<LinkSpec> links;             ///< in document order
  std::vector<AppSpec> apps;               ///< in document order
  std::vector<MigrationSpec> migrations;   ///< in document order
  Outputs outputs;                         ///< <outputs>
  /// The node named `name`, or nullptr.
  [[nodiscard]] const NodeSpec* find_node(std::string_view name) const;
};

/// A --set name=value.
struct Override {
  std::string name;   ///< parameter name
  std::string value;  ///< its value for this run
  std::string_view flag = "--set";  ///< the command-line flag it came from (error messages)
};

/// A scenario, or the error that stopped loading.
struct LoadResult {
  std::optional<Scenario> scenario;  ///< set on success
  std::optional<Diagnostic> error;   ///< set on failure
  [[nodiscard]] bool ok() const { return scenario.has_value(); }
};

/// An element of the scenario format and the attributes the loader accepts on it.
struct ElementAttributes {
  std::string element;                  ///< its name
  std::vector<std::string> attributes;  ///< every attribute it may have
};
/// Every element inside <scenario> with its attributes: the loader's
/// allow-lists (application kinds included), for the schema test and docs.
std::vector<ElementAttributes> scenario_elements();

/// Loads a scenario from memory; `display_name` names it in errors. Never
/// throws on bad input and never touches the file system.
LoadResult load_scenario(std::string_view text, std::string_view display_name,
                         std::span<const Override> overrides = {});
/// Reads and loads a scenario file (display name = `path`): a regular file or
/// a pipe of at most kMaxScenarioBytes (tcpmig/scenario/files.hpp).
LoadResult load_scenario_file(const std::string& path, std::span<const Override> overrides = {});

}  // namespace tcpmig::scenario
