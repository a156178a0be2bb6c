// The invalid corpus, testdata/invalid/*.yaml: one broken rule per file, the
// first line `# field: PATH` naming the offending field, and `# cel: MESSAGE`
// on the files that break one of the schema's CEL rules. The API server
// (through kubectl apply and through our own client, src/kube) and ctask
// validate must all refuse every file and name the field: client and server
// agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/document.h"
#include "api/validate.h"
#include "cluster/cluster_env.h"
#include "cluster/kube_fixture.h"
#include "kube/object_cache.h"

namespace ctask::testing {
namespace {

std::filesystem::path CorpusDir() {
  return SourceRoot() + "/tests/cluster/testdata/invalid";
}

struct Tags {
  std::string field;  // "# field: ..."
  std::string cel;    // "# cel: ...", empty when the file breaks no CEL rule
};

// The leading comment lines' tags.
Tags ReadTags(const std::filesystem::path& file) {
  Tags tags;
  std::istringstream in(ReadFile(file));
  for (std::string line; std::getline(in, line) && line.starts_with("#");) {
    if (line.starts_with("# field: ")) tags.field = line.substr(9);
    if (line.starts_with("# cel: ")) tags.cel = line.substr(7);
  }
  return tags;
}

std::string TestName(const ::testing::TestParamInfo<std::filesystem::path>& info) {
  std::string name = info.param.stem().string();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// ctask names a map key as Kubernetes' field.Path does, `spec.nodeSelector[disk]`;
// the API server's schema validation writes `spec.nodeSelector.disk`. The
// same field either way: compare in the server's form (list indexes, all
// digits, keep their brackets).
std::string DottedKeys(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t close = text[i] == '[' ? text.find(']', i) : std::string::npos;
    if (close != std::string::npos && close > i + 1 && text.find_first_not_of("0123456789", i + 1) < close &&
        text.find_first_of(" \n", i + 1) > close) {
      out += '.' + text.substr(i + 1, close - i - 1);
      i = close;
    } else {
      out += text[i];
    }
  }
  return out;
}

class InvalidCorpusTest : public KubeClientTest, public ::testing::WithParamInterface<std::filesystem::path> {
 protected:
  std::string NamespacePrefix() const override { return "ctask-invalid"; }
};

TEST_P(InvalidCorpusTest, RefusedByServerAndClientNamingTheField) {
  const std::filesystem::path& file = GetParam();
  const Tags tags = ReadTags(file);
  ASSERT_FALSE(tags.field.empty()) << file << ": the first line must be '# field: spec.xxx'";
  ASSERT_NO_FATAL_FAILURE(InstallCrd());

  // Through our client, as the operator would write: each document in
  // turn (a later one with the same name is an update of the earlier, as
  // kubectl apply treats it); the last write must be refused.
  Result<std::vector<api::Document>> docs = api::ReadDocumentsFile(file.string());
  ASSERT_TRUE(docs.has_value()) << docs.error().message();
  std::map<std::string, std::string> versions;  // name -> resourceVersion
  std::optional<Error> refused;
  for (const api::Document& doc : *docs) {
    api::Json object = doc.value;
    if (!object.is_object() || object.value("kind", "") != "ContainerTask") continue;
    object["metadata"]["namespace"] = ns();
    const std::string name = object["metadata"].value("name", "");
    Result<api::Json> written;
    if (auto it = versions.find(name); it != versions.end()) {
      object["metadata"]["resourceVersion"] = it->second;
      written = client().Update(kube::resources::ContainerTasks(), ns(), object);
    } else {
      written = client().Create(kube::resources::ContainerTasks(), ns(), object);
    }
    if (!written) {
      refused = written.error();
      break;
    }
    versions[name] = kube::ResourceVersionOf(*written);
  }
  ASSERT_TRUE(refused.has_value()) << "our client's write was accepted";
  EXPECT_EQ(refused->code(), ErrorCode::kInvalidArgument) << refused->message();
  // 422 Invalid from validation; 400 BadRequest when the body does not
  // even decode (a string where an object belongs).
  EXPECT_TRUE(refused->http_status() == 422 || refused->http_status() == 400) << refused->message();
  EXPECT_NE(refused->message().find(tags.field), std::string::npos)
      << "the client's error does not name " << tags.field << ": " << refused->message();
  if (!tags.cel.empty()) {
    EXPECT_NE(refused->message().find(tags.cel), std::string::npos) << refused->message();
  }

  // What the client created is gone again before kubectl applies the file.
  for (const auto& [name, version] : versions) {
    ASSERT_TRUE(client().Delete(kube::resources::ContainerTasks(), ns(), name).has_value());
  }

  BinaryResult server = Kubectl({"apply", "-f", file.string(), "-n", ns()});
  EXPECT_NE(server.exit_code, 0) << "kubectl apply took it: " << Said(server);
  EXPECT_NE(server.err.find(tags.field), std::string::npos)
      << "kubectl does not name " << tags.field << ": " << Said(server);
  if (!tags.cel.empty()) {
    EXPECT_NE(server.err.find(tags.cel), std::string::npos) << "not the CEL rule's message: " << Said(server);
  }

  BinaryResult client = RunBinary({"validate", "-f", file.string()});
  EXPECT_EQ(client.exit_code, 1) << "ctask validate: " << Said(client);
  const std::string said = DottedKeys(client.out + client.err);
  EXPECT_NE(said.find(tags.field), std::string::npos)
      << "ctask validate does not name " << tags.field << ": " << Said(client);
  if (!tags.cel.empty()) {
    EXPECT_NE(said.find(tags.cel), std::string::npos) << "not the CEL rule's message: " << Said(client);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, InvalidCorpusTest, ::testing::ValuesIn(FilesIn(CorpusDir(), ".yaml")), TestName);

// The CRD's CEL rules' messages, in file order.
std::vector<std::string> CrdRuleMessages() {
  std::istringstream in(ReadFile(SourceRoot() + "/crds/ctask.io_containertasks.yaml"));
  std::vector<std::string> messages;
  bool in_rule = false;
  for (std::string line; std::getline(in, line);) {
    const size_t text = line.find_first_not_of(' ');
    if (text == std::string::npos) continue;
    const std::string_view trimmed = std::string_view(line).substr(text);
    if (trimmed.starts_with("- rule:")) {
      in_rule = true;
    } else if (in_rule && trimmed.starts_with("message: ")) {
      std::string message(trimmed.substr(9));
      if (message.size() >= 2 && (message.front() == '"' || message.front() == '\'')) {
        message = message.substr(1, message.size() - 2);
      }
      messages.push_back(message);
      in_rule = false;
    }
  }
  return messages;
}

// Every CEL rule of the CRD has a corpus file that breaks it (tagged with the
// rule's message), so a new rule cannot go untested against the server.
TEST(InvalidCorpusCoverage, EveryCelRuleIsBrokenByACorpusFile) {
  std::set<std::string> tagged;
  for (const auto& file : FilesIn(CorpusDir(), ".yaml")) {
    const Tags tags = ReadTags(file);
    EXPECT_FALSE(tags.field.empty()) << file << ": no '# field:' line";
    if (!tags.cel.empty()) tagged.insert(tags.cel);
  }
  const std::vector<std::string> rules = CrdRuleMessages();
  const size_t rule_lines = [] {
    const std::string crd = ReadFile(SourceRoot() + "/crds/ctask.io_containertasks.yaml");
    size_t count = 0;
    for (size_t at = crd.find("- rule:"); at != std::string::npos; at = crd.find("- rule:", at + 1)) ++count;
    return count;
  }();
  ASSERT_EQ(rules.size(), rule_lines) << "a rule without a message in the CRD";
  EXPECT_EQ(rules.size(), api::kCelRuleCount) << "the CRD's CEL rules and the client's twins differ in number";
  EXPECT_GE(tagged.size(), rules.size());
  for (const std::string& message : rules) {
    EXPECT_TRUE(tagged.contains(message)) << "no corpus file is tagged '# cel: " << message << "'";
  }
  for (size_t i = 0; i < api::kCelRuleCount; ++i) {
    EXPECT_TRUE(tagged.contains(api::kCelRuleMessages[i]))
        << "no corpus file is tagged '# cel: " << api::kCelRuleMessages[i] << "'";
  }
}

}  // namespace
}  // namespace ctask::testing
