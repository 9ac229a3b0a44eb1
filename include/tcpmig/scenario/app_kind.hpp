// Application kinds: every element a scenario's <apps> may hold
// (<response-server>, <request-client>, <bulk-sender>, <bulk-sink>) is one
// AppKind, and each kind lives in one file of tools/scenario/apps/: its
// element and attributes, how it reads them, how it starts on a host, what it
// reports and what a run expects of it. The loader's allow-lists, the runner,
// the summary and summary.json all ask the registry (app_kinds()); a test
// checks that the schema (scenarios/tcpmig-scenario.xsd) lists the same
// elements and attributes.
//
// Place in the layers: scenario loading (tools/scenario), on the models.
// Adding a kind: a file tools/scenario/apps/<kind>.cpp defining
// `const AppKind& app_kind_<kind>()` (the build finds it and lists it in the
// registry, in file-name order), its element in the XSD, and its paragraph in
// scenarios/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcpmig/sim/time.hpp"
#include "tcpmig/wire/address.hpp"

namespace tcpmig::apps {
class Console;
}
namespace tcpmig::tcp {
class TcpStack;
}
namespace tcpmig::records {
class JsonWriter;
}

namespace tcpmig::scenario {

class AppKind;
using records::JsonWriter;
struct AppSpec;
struct AppResult;
struct Scenario;

/// What an entry's attributes said; each kind derives its own.
struct AppSettings {
  virtual ~AppSettings() = default;
};

/// An application's live objects once its host is up; each kind derives its own.
class AppInstance {
 public:
  virtual ~AppInstance() = default;
};

/// Reads the attributes of one element for its kind (the loader implements
/// it). Each getter returns nullopt when the attribute is absent and ends
/// loading with a FILE:LINE:COLUMN error when its value is malformed or out
/// of range; ${param} references are already replaced.
class AttributeReader {
 public:
  virtual ~AttributeReader() = default;
  virtual std::optional<uint64_t> integer(const char* name, uint64_t min, uint64_t max) = 0;
  virtual std::optional<uint64_t> size(const char* name, uint64_t min, uint64_t max) = 0;
  virtual std::optional<sim::Duration> duration(const char* name) = 0;
  virtual std::optional<bool> boolean(const char* name) = 0;
  /// A name ([A-Za-z0-9_.-]+, not "." or "..").
  virtual std::optional<std::string> name(const char* name) = 0;
  /// One line of text.
  virtual std::optional<std::string> line(const char* name) = 0;
  /// A unicast address a host can have; `required` ends loading when absent.
  virtual std::optional<wire::Ipv4Address> address(const char* name, bool required) = 0;
  /// The value as written (after ${param} replacement), for references.
  virtual std::optional<std::string> text(const char* name) = 0;
  /// The index in Scenario::apps of the earlier entry of kind `kind` whose
  /// label (name attribute, else node) is `label`.
  virtual std::optional<std::size_t> earlier(const AppKind& kind, std::string_view label) = 0;
  /// Ends loading: attribute `name` "<found>; expected <expected>".
  [[noreturn]] virtual void fail(const char* name, const std::string& found, const std::string& expected) = 0;
};

/// A problem one entry finds once the whole scenario is read (AppKind::check).
struct AppProblem {
  const char* attribute;  ///< where to report it
  std::string found;      ///< what is wrong
  std::string expected;   ///< what would be right
};

/// What a kind gets to start an entry on its host.
class AppContext {
 public:
  virtual ~AppContext() = default;
  /// The host's TCP stack.
  virtual tcp::TcpStack& stack() = 0;
  /// Where console lines go.
  virtual apps::Console& console() = 0;
  /// When the host's applications start: the entry's start times count from here.
  virtual sim::Time base() const = 0;
  /// The live objects of an earlier entry (Scenario::apps index), or null when its host is not up.
  virtual AppInstance* instance(std::size_t app_index) = 0;
  /// Stops the run with an error at the entry (exit 2).
  virtual void fail(const AppSpec& spec, const std::string& found, const std::string& expected) = 0;
};

/// One kind of application.
class AppKind {
 public:
  virtual ~AppKind() = default;
  /// Its element ("request-client"); summaries and summary.json call the kind by it.
  [[nodiscard]] virtual std::string_view element() const = 0;
  /// Its attributes besides `node` (the loader refuses any other).
  [[nodiscard]] virtual std::span<const std::string_view> attributes() const = 0;
  /// Reads the attributes into its settings.
  [[nodiscard]] virtual std::shared_ptr<const AppSettings> read(AttributeReader& in) const = 0;
  /// Its label (console lines, results, references): the name attribute, or "" for the node's name.
  [[nodiscard]] virtual std::string name(const AppSettings& settings) const = 0;
  /// The TCP port it listens on, for servers (one listener per host and port).
  [[nodiscard]] virtual std::optional<uint16_t> listen_port(const AppSettings&) const { return std::nullopt; }
  /// Checks what needs the whole scenario (references to other entries).
  [[nodiscard]] virtual std::optional<AppProblem> check(const AppSpec&, const Scenario&) const { return std::nullopt; }
  /// Starts the entry on its host.
  [[nodiscard]] virtual std::unique_ptr<AppInstance> start(const AppSpec& spec, AppContext& ctx) const = 0;
  /// Its results, one per instance; `live` is null when its host never came up.
  virtual void collect(const AppSpec& spec, const AppInstance* live, std::vector<AppResult>& out) const = 0;
  /// Its summary line after "<element> <name>: ".
  [[nodiscard]] virtual std::string summary(const AppResult& r) const = 0;
  /// Its summary.json fields after type, node, name and started.
  virtual void json(JsonWriter& w, const AppResult& r) const = 0;
  /// What a run expects of it: one failure line per unmet expectation.
  virtual void expect(const AppResult& r, std::vector<std::string>& failures) const = 0;
};

/// Every kind, in a fixed order (their files' names).
std::span<const AppKind* const> app_kinds();
/// The kind whose element is `element`, or nullptr.
const AppKind* find_app_kind(std::string_view element);

/// In tools/scenario/apps/<file>.cpp, inside namespace tcpmig::scenario:
/// defines `const AppKind& app_kind_<file>()`, which the generated registry
/// lists (the kind object is made on first use).
#define TCPMIG_APP_KIND(file, Type)  \
  const AppKind& app_kind_##file();  \
  const AppKind& app_kind_##file() { \
    static const Type kind;          \
    return kind;                     \
  }

}  // namespace tcpmig::scenario
