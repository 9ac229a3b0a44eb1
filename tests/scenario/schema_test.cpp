// The schema (scenarios/tcpmig-scenario.xsd) and the loader cannot drift:
// every element the loader reads has exactly the attributes the loader
// accepts (scenario_elements(), application kinds included), and the word
// lists of triggers, safe points and expectations are the loader's
// (EnumWords). Adding an application kind without its XSD entry fails here.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "tcpmig/scenario/scenario.hpp"

using namespace tcpmig;
using namespace tcpmig::scenario;

namespace {

const std::string kSchema = std::string(TCPMIG_SOURCE_DIR) + "/scenarios/tcpmig-scenario.xsd";

/// The xs:attribute names under `n`, not looking into nested xs:elements.
void attributes_of(pugi::xml_node n, std::set<std::string>& out) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    const std::string_view name = c.name();
    if (name == "xs:element") continue;
    if (name == "xs:attribute") out.insert(c.attribute("name").value());
    attributes_of(c, out);
  }
}

/// Every named xs:element of the schema and its attributes.
std::map<std::string, std::set<std::string>> schema_elements(const pugi::xml_document& doc) {
  std::map<std::string, std::set<std::string>> out;
  for (const pugi::xpath_node& x : doc.select_nodes("//xs:element[@name]")) {
    std::set<std::string>& attrs = out[x.node().attribute("name").value()];
    attributes_of(x.node(), attrs);
  }
  return out;
}

/// The words of a simpleType's pattern "a|b|c|.*$\{...\}.*" (the ${param} alternative dropped).
std::vector<std::string> pattern_words(const pugi::xml_document& doc, const char* type) {
  const pugi::xpath_node p =
      doc.select_node((std::string("//xs:simpleType[@name='") + type + "']//xs:pattern").c_str());
  REQUIRE_MESSAGE(p, type);
  std::vector<std::string> words;
  std::string_view rest = p.node().attribute("value").value();
  while (!rest.empty()) {
    const std::size_t bar = rest.find('|');
    const std::string_view w = rest.substr(0, bar);
    if (w.find('$') == std::string_view::npos) words.emplace_back(w);
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return words;
}

template <class E>
std::vector<std::string> words_of() {
  return {EnumWords<E>::words.begin(), EnumWords<E>::words.end()};
}

}  // namespace

TEST_CASE("the schema lists exactly the elements and attributes the loader reads") {
  pugi::xml_document doc;
  REQUIRE(doc.load_file(kSchema.c_str()));
  std::map<std::string, std::set<std::string>> schema = schema_elements(doc);
  REQUIRE(schema.count("scenario") == 1);
  schema.erase("scenario");  // its attributes (name, xmlns, xsi:*) are checked by the loader itself
  const std::vector<ElementAttributes> loader = scenario_elements();
  std::set<std::string> seen;
  for (const ElementAttributes& e : loader) {
    CAPTURE(e.element);
    seen.insert(e.element);
    REQUIRE(schema.count(e.element) == 1);
    const std::set<std::string> want(e.attributes.begin(), e.attributes.end());
    CHECK(schema[e.element] == want);
  }
  for (const auto& entry : schema) {
    const std::string& element = entry.first;
    CAPTURE(element);
    CHECK(seen.count(element) == 1);  // no element the loader does not read
  }
  // Every application kind is an element of <apps> in the schema.
  for (const AppKind* k : app_kinds()) {
    CAPTURE(std::string(k->element()));
    CHECK(doc.select_node(("//xs:element[@name='apps']//xs:element[@name='" + std::string(k->element()) + "']").c_str()));
  }
}

TEST_CASE("the schema's word lists are the loader's: triggers, safe points, expectations") {
  pugi::xml_document doc;
  REQUIRE(doc.load_file(kSchema.c_str()));
  CHECK(pattern_words(doc, "trigger") == words_of<core::Trigger::Kind>());
  CHECK(pattern_words(doc, "safePoint") == words_of<core::SafePoint>());
  CHECK(pattern_words(doc, "expect") == words_of<Expect>());
}
